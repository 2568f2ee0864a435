import type { Services } from "../context";
import { withOptOutFooter } from "../domain/compliance";
import {
  type ContentPolicy,
  type ContentPolicyDocument,
  checkContent,
  DEFAULT_CONTENT_POLICY,
} from "../domain/content-rules";
import { analyzeBody } from "../domain/encoding";
import type { Replacement } from "../domain/smart-encoding";
import { ApiError } from "../errors";

/**
 * The body a send will carry: content rules (src/domain/content-rules.ts) with the tenant's
 * policy over the deployment's, then, for promotional messages, the opt-out footer, which
 * must fit in the same segment limit (with `truncate`, the caller's text is cut, never the
 * footer).
 */

export interface ContentRequest {
  body: string;
  maxSegments?: number | undefined;
  truncate?: boolean | undefined;
  smartEncoding?: boolean | undefined;
}

export interface PreparedBody {
  body: string;
  truncated: boolean;
  smartEncoding: { replacements: Replacement[]; segments_saved: number } | null;
}

export function contentPolicyFor(
  s: Services,
  tenant: ContentPolicyDocument | null | undefined,
): ContentPolicy {
  return { ...DEFAULT_CONTENT_POLICY, ...s.config.CONTENT_POLICY, ...tenant };
}

/**
 * `footer` is asked for only once the rules passed (for promotional messages it costs the
 * consent query, which refuses without consent).
 */
export async function prepareBody(
  policy: ContentPolicy,
  request: ContentRequest,
  footerOf: (() => Promise<string>) | null,
): Promise<PreparedBody> {
  const result = checkContent(request.body, policy, {
    ...(request.maxSegments === undefined ? {} : { maxSegments: request.maxSegments }),
    truncate: request.truncate ?? false,
    smartEncoding: request.smartEncoding ?? false,
  });
  if (!result.ok) {
    const { rule, message, offending } = result.violation;
    throw new ApiError(rule, message, [{ path: "body", message: offending }]);
  }
  const smartEncoding = request.smartEncoding
    ? { replacements: result.replacements, segments_saved: result.segmentsSaved }
    : null;
  if (footerOf === null) return { body: result.body, truncated: result.truncated, smartEncoding };
  const footer = await footerOf();
  const limit = Math.min(request.maxSegments ?? policy.maxSegments, policy.maxSegments);
  const withFooter = withOptOutFooter(result.body, footer);
  const segments = analyzeBody(withFooter).segments;
  if (segments <= limit) {
    return { body: withFooter, truncated: result.truncated, smartEncoding };
  }
  if (!request.truncate) {
    throw new ApiError(
      "too_many_segments",
      `With the opt-out footer the body needs ${segments} segments; at most ${limit} are allowed.`,
      [{ path: "body", message: `${segments} segments with the footer` }],
    );
  }
  return {
    body: withOptOutFooter(longestPrefixFitting(result.body, footer, limit), footer),
    truncated: true,
    smartEncoding,
  };
}

/** Binary search: the longest prefix (whole characters) that fits with the footer. */
function longestPrefixFitting(body: string, footer: string, limit: number): string {
  const chars = Array.from(body);
  const fits = (n: number) =>
    analyzeBody(withOptOutFooter(chars.slice(0, n).join(""), footer)).segments <= limit;
  let low = 0;
  let high = chars.length;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return chars.slice(0, low).join("");
}
