/** What the AWS contract tests share: one test identity, one region, a send request. */
import type { ReceivedRequest } from "../../scripts/fakes/common.mjs";
import type { SendRequest } from "../../src/providers/types";

export const REGION = "eu-west-1";
export const CREDENTIALS = {
  accessKeyId: "AKIAIOSFODNN7CONTRACT",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCONTRACTKEY",
};
export const SESSION_TOKEN = "FwoGZXIvYXdzEContractTestSessionToken//////////wEaDA==";
/** Long enough for a loaded CI machine; the hang cases use their own short timeout. */
export const TIMEOUT_MS = 5_000;
export const HANG_TIMEOUT_MS = 200;

/** A US number whose last three digits pick the fakes' behaviour (scripts/fakes/common.mjs). */
export const magicNumber = (suffix: string) => `+1415555${suffix.padStart(4, "0")}`;

export const smsRequest = (overrides: Partial<SendRequest> = {}): SendRequest => ({
  messageId: "msg_01JCONTRACT0000000000000",
  to: magicNumber("100"),
  country: "US",
  sender: null,
  // Non-ASCII and XML/form metacharacters: the encodings must carry them intact.
  body: "Your code is 123456 — don't share it & <keep> it safe ✓",
  type: "transactional",
  segments: 1,
  ...overrides,
});

export const header = (request: ReceivedRequest, name: string): string => {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : (value ?? "");
};

/**
 * A Query-protocol Publish form: its plain parameters, and its message attributes keyed by name
 * (entry numbering is arbitrary), each with the entry's other members as sent.
 */
export function publishForm(body: string) {
  const params: Record<string, string> = {};
  const entries: Record<string, Record<string, string>> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const entry = /^MessageAttributes\.entry\.(\d+)\.(.+)$/.exec(key);
    if (entry?.[1] && entry[2]) {
      entries[entry[1]] = { ...entries[entry[1]], [entry[2]]: value };
    } else {
      params[key] = value;
    }
  }
  const attributes: Record<string, Record<string, string>> = {};
  for (const { Name, ...members } of Object.values(entries)) attributes[`${Name}`] = members;
  return { params, attributes };
}

/** The Authorization header's parts: `{ accessKeyId, date, region, service }` and SignedHeaders. */
export function authorization(request: ReceivedRequest) {
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=[0-9a-f]{64}$/.exec(
      header(request, "authorization"),
    );
  if (!match)
    throw new Error(`not a SigV4 Authorization header: ${header(request, "authorization")}`);
  const [, accessKeyId, date, region, service, signedHeaders = ""] = match;
  return { accessKeyId, date, region, service, signedHeaders: signedHeaders.split(";") };
}
