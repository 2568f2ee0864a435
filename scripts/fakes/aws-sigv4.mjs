// SigV4 verification for the fake AWS servers, done the way AWS does it: recompute the signature
// over the request as received, using the SignedHeaders the client listed. The recomputation is
// @smithy/signature-v4 (the AWS SDK's signer), deliberately not aws4fetch, which our clients use:
// a bug shared by signer and checker would otherwise pass unnoticed.
import { createHash, timingSafeEqual } from "node:crypto";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";

// AWS rejects requests signed more than 5 minutes away from its clock.
const MAX_SKEW_MS = 5 * 60_000;
const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/**
 * @typedef {"missing" | "incomplete" | "unknown_key" | "bad_token" | "expired" | "wrong_scope" | "mismatch"} SigV4Problem
 * @typedef {{ problem: SigV4Problem, message: string }} SigV4Failure
 */

/** `20150830T123600Z` → Date, or null. */
function parseAmzDate(value) {
  const m = AMZ_DATE.exec(value ?? "");
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : null;
}

const fail = (problem, message) => ({ problem, message });

/**
 * @param {{ method: string, url: URL, headers: Record<string, string | string[] | undefined>, body: string }} request
 *   as common.mjs hands it over: Node's lower-cased headers, the UTF-8 body
 * @param {{ accessKeyId: string, secretAccessKey: string, sessionToken?: string, region: string, service: string }} expected
 * @returns {Promise<SigV4Failure | null>} null when the signature is valid
 */
export async function verifySigV4(request, expected) {
  const headers = /** @type {Record<string, string>} */ ({});
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = [value].flat().join(",");
  }
  // common.mjs hands bodies over decoded; re-encoding restores the exact bytes of valid UTF-8,
  // which every form or JSON body our clients and the SDKs send is.
  const body = Buffer.from(request.body, "utf8");
  if (!headers.authorization) return fail("missing", "Request is missing Authentication Token");
  const auth = AUTHORIZATION.exec(headers.authorization);
  if (!auth) {
    return fail(
      "incomplete",
      `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=${headers.authorization}`,
    );
  }
  const [, accessKeyId, scopeDate, region, service, signedHeaderList, signature] = auth;
  const signedHeaders = signedHeaderList.split(";");
  if (!signedHeaders.includes("host") || !signedHeaders.includes("x-amz-date")) {
    return fail(
      "incomplete",
      "'Host' and 'X-Amz-Date' must be SignedHeaders in the AWS Authorization.",
    );
  }
  if (accessKeyId !== expected.accessKeyId) {
    return fail("unknown_key", "The security token included in the request is invalid.");
  }
  if ((headers["x-amz-security-token"] ?? null) !== (expected.sessionToken ?? null)) {
    return fail("bad_token", "The security token included in the request is invalid.");
  }
  const signedAt = parseAmzDate(headers["x-amz-date"]);
  if (!signedAt || headers["x-amz-date"].slice(0, 8) !== scopeDate) {
    return fail(
      "incomplete",
      "X-Amz-Date is missing, malformed or outside the credential scope date.",
    );
  }
  const now = new Date();
  if (Math.abs(now.getTime() - signedAt.getTime()) > MAX_SKEW_MS) {
    return fail(
      "expired",
      `Signature expired: ${headers["x-amz-date"]} is now earlier or later than 5 minutes from ${now.toISOString()}.`,
    );
  }
  if (region !== expected.region) {
    return fail("wrong_scope", `Credential should be scoped to a valid region, not '${region}'.`);
  }
  if (service !== expected.service) {
    return fail(
      "wrong_scope",
      `Credential should be scoped to correct service: '${expected.service}'.`,
    );
  }
  // A declared payload hash is what gets signed: it must then be the body's.
  const declaredHash = headers["x-amz-content-sha256"];
  if (declaredHash && declaredHash !== createHash("sha256").update(body).digest("hex")) {
    return fail(
      "mismatch",
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    );
  }

  const query = {};
  for (const [key, value] of request.url.searchParams) {
    query[key] = key in query ? [query[key], value].flat() : value;
  }
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: expected.accessKeyId,
      secretAccessKey: expected.secretAccessKey,
      sessionToken: expected.sessionToken,
    },
    region,
    service,
    sha256: Sha256,
    applyChecksum: false,
  });
  const recomputed = await signer.sign(
    {
      method: request.method,
      protocol: "http:",
      hostname: request.url.hostname,
      path: request.url.pathname,
      query,
      headers: Object.fromEntries(signedHeaders.map((name) => [name, headers[name] ?? ""])),
      body: new Uint8Array(body),
    },
    { signingDate: signedAt, signableHeaders: new Set(signedHeaders) },
  );
  const expectedAuth = AUTHORIZATION.exec(recomputed.headers.authorization ?? "");
  const ok =
    expectedAuth !== null &&
    expectedAuth[5] === signedHeaderList &&
    timingSafeEqual(Buffer.from(expectedAuth[6], "hex"), Buffer.from(signature, "hex"));
  return ok
    ? null
    : fail(
        "mismatch",
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
      );
}

/**
 * A fake AWS service's handler: `handle` behind the signature check, which AWS makes before
 * anything else. A request whose signature fails is answered `refuse(status, code, message)`, in
 * the service's own error shape, with the status and code `errors` gives its problem.
 *
 * @param {{
 *   expected: { accessKeyId: string, secretAccessKey: string, sessionToken?: string, region: string, service: string },
 *   errors: Record<SigV4Problem, [number, string]>,
 *   refuse: (status: number, code: string, message: string) => object,
 *   handle: (request: object) => object | Promise<object>,
 * }} options
 */
export function requireSigV4({ expected, errors, refuse, handle }) {
  return async (request) => {
    const failure = await verifySigV4(request, expected);
    if (!failure) return handle(request);
    const [status, code] = errors[failure.problem];
    return refuse(status, code, failure.message);
  };
}
