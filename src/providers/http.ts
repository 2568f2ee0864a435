import type { FailureOutcome } from "../domain/dispatch-policy";
import type { SendResult } from "./types";

/**
 * The one way provider clients call out: a single attempt (no retries: a retried
 * send could deliver twice), bounded by a timeout. Whatever happens is data.
 */
export type HttpOutcome =
  | { kind: "response"; status: number; headers: Headers; body: string }
  | { kind: "no_response"; errorCode: "timeout" | "network_error"; errorMessage: string };

export type FetchLike = (input: Request) => Promise<Response>;

export async function callOnce(
  request: Request,
  timeoutMs: number,
  fetchImpl: FetchLike = (r) => fetch(r),
): Promise<HttpOutcome> {
  try {
    const response = await fetchImpl(
      new Request(request, { signal: AbortSignal.timeout(timeoutMs) }),
    );
    return {
      kind: "response",
      status: response.status,
      headers: response.headers,
      body: await response.text(),
    };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === "TimeoutError";
    return {
      kind: "no_response",
      errorCode: timedOut ? "timeout" : "network_error",
      errorMessage: error instanceof Error ? error.message : String(error),
    };
  }
}

export const failure = (
  outcome: FailureOutcome,
  errorCode: string | number,
  errorMessage: string,
): SendResult => ({ outcome, errorCode: String(errorCode), errorMessage });

/**
 * What an unparseable or unexpected answer means: we cannot tell whether the
 * provider took the message (a 502/504 from a proxy, a truncated body…).
 */
export function unknownOutcome(outcome: HttpOutcome): SendResult {
  if (outcome.kind === "no_response") {
    return failure("outcome_unknown", outcome.errorCode, outcome.errorMessage);
  }
  return failure(
    "outcome_unknown",
    `http_${outcome.status}`,
    `Unexpected answer (HTTP ${outcome.status}): ${outcome.body.slice(0, 200)}`,
  );
}
