import type { Services } from "../context";
import { pumpingBucket } from "../domain/destination-policy";
import { generateCode, renderOtpBody } from "../domain/otp";
import { ApiError } from "../errors";
import { luaScript } from "../kv/scripts";
import { constantTimeEqual } from "../lib/crypto";
import type { Principal } from "./api-keys";
import { destinationOrThrow } from "./phone";
import { type AcceptedMessage, acceptMessage } from "./send";
import { blockRange, pumpingError } from "./send-policy";

/**
 * One-time codes. The code exists in clear only in the SMS: Redis keeps a keyed HMAC of it
 * (PII_HMAC_KEYS) with its TTL, per tenant, purpose and number; the message is an ordinary
 * `otp` message (every policy applies, never deferred by quiet hours, its body erased once
 * final). A new code replaces the previous one. Verification is single use, constant-time,
 * and a code dies after 5 wrong attempts; every failure reads the same.
 */

export const OTP_MAX_ATTEMPTS = 5;
export const OTP_COOLDOWN_SECONDS = 30;
/**
 * The verification side of the pumping defence: a range that got this many codes in an hour
 * with fewer than 1 in 10 verified is pumped (the numbers are the attacker's, nobody reads
 * the codes), and is blocked like a burst.
 */
const UNVERIFIED = { minSends: 20, windowSeconds: 3600, blockSeconds: 3600 };

export interface OtpRequest {
  to: string;
  purpose: string;
  length: number;
  ttlSeconds: number;
  template?: string | undefined;
  locale?: string | undefined;
  appDomain?: string | undefined;
  androidAppHash?: string | undefined;
}

const keysFor = (
  tenantId: string,
  purpose: string,
  digest: string,
  bucketDigest: string,
  at: Date,
) => {
  const window = Math.floor(at.getTime() / 1000 / UNVERIFIED.windowSeconds);
  return {
    code: `otp:code:${tenantId}:${purpose}:${digest}`,
    cooldown: `otp:cool:${tenantId}:${purpose}:${digest}`,
    sent: `otp:sent:${tenantId}:${bucketDigest}:${window}`,
    verified: `otp:ok:${tenantId}:${bucketDigest}:${window}`,
  };
};

/** The number, its range, and the Redis keys of its code for this purpose. */
async function codeSubject(s: Services, tenantId: string, to: string, purpose: string) {
  const phone = destinationOrThrow(s, to);
  const bucket = pumpingBucket(phone.e164);
  const [digests, bucketDigest] = await Promise.all([
    s.pii.digests(phone.e164),
    s.pii.digest(bucket),
  ]);
  const digest = digests[0] ?? "";
  return {
    phone,
    bucket,
    digests,
    keys: keysFor(tenantId, purpose, digest, bucketDigest, s.now()),
  };
}

/** What the HMAC covers: the code bound to its tenant, purpose and number. */
const macInput = (tenantId: string, purpose: string, e164: string, code: string) =>
  `otp:${tenantId}:${purpose}:${e164}:${code}`;

/**
 * KEYS: code, cooldown, range sends, range verifications. ARGV: mac, TTL, cooldown, window.
 * Refuses during the cooldown ({0, its TTL}); else replaces the code and counts the send.
 * Returns {1, 0, range sends, range verifications}.
 */
const ISSUE = luaScript<[number, number, number, number]>(`
local cooling = redis.call("TTL", KEYS[2])
if cooling > 0 then return {0, cooling, 0, 0} end
redis.call("SET", KEYS[2], "1", "EX", tonumber(ARGV[3]))
redis.call("DEL", KEYS[1])
redis.call("HSET", KEYS[1], "mac", ARGV[1], "attempts", 0)
redis.call("EXPIRE", KEYS[1], tonumber(ARGV[2]))
local sent = redis.call("INCR", KEYS[3])
if sent == 1 then redis.call("EXPIRE", KEYS[3], tonumber(ARGV[4])) end
return {1, 0, sent, tonumber(redis.call("GET", KEYS[4]) or "0")}`);

/**
 * KEYS: code. ARGV: max attempts. Counts the attempt before the caller compares, so
 * concurrent guesses all count; the attempt past the maximum deletes the code. Returns
 * {mac, attempts} or nil.
 */
const ATTEMPT = luaScript<[string, number] | null>(`
local mac = redis.call("HGET", KEYS[1], "mac")
if not mac then return false end
local attempts = redis.call("HINCRBY", KEYS[1], "attempts", 1)
if attempts > tonumber(ARGV[1]) then
  redis.call("DEL", KEYS[1])
  return false
end
return {mac, attempts}`);

export async function sendOtp(
  s: Services,
  principal: Principal,
  request: OtpRequest,
): Promise<{ message: AcceptedMessage; expiresAt: Date }> {
  const tenantId = principal.tenantId;
  const subject = await codeSubject(s, tenantId, request.to, request.purpose);
  const { phone, bucket, keys } = subject;
  const code = generateCode(request.length);
  const mac = await s.pii.digest(macInput(tenantId, request.purpose, phone.e164, code));
  await ISSUE.ready();
  const [issued, cooling, sent, verified] = await ISSUE.run(
    s.redis,
    [keys.code, keys.cooldown, keys.sent, keys.verified],
    [
      mac,
      String(request.ttlSeconds),
      String(OTP_COOLDOWN_SECONDS),
      String(UNVERIFIED.windowSeconds),
    ],
  );
  if (issued !== 1) {
    throw new ApiError(
      "otp_cooldown",
      `A code was just sent to this number for "${request.purpose}": retry in ${cooling} s`,
      undefined,
      { "Retry-After": String(cooling) },
    );
  }
  const undo = () => s.redis.del(keys.code, keys.cooldown);
  if (sent >= UNVERIFIED.minSends && verified * 10 < sent) {
    await undo();
    await blockRange(s, tenantId, bucket, UNVERIFIED.blockSeconds, {
      reason: "otp_unverified",
      sends: sent,
      verified,
      window_seconds: UNVERIFIED.windowSeconds,
    });
    throw pumpingError(bucket, UNVERIFIED.blockSeconds);
  }
  const body = renderOtpBody({ ...request, code });
  const accepted = await acceptMessage(
    s,
    principal,
    {
      to: phone.e164,
      body,
      type: "otp",
      validitySeconds: request.ttlSeconds,
      recipientDigests: subject.digests,
    },
    null,
    false,
  ).catch(async (error: unknown) => {
    // Not sent: the code must not stay valid, nor the cooldown hold the next request back.
    await undo();
    throw error;
  });
  if (accepted.kind !== "accepted") throw new Error("an OTP send has no idempotency key");
  return {
    message: accepted.response,
    expiresAt: new Date(s.now().getTime() + request.ttlSeconds * 1000),
  };
}

export type OtpVerdict = { valid: true } | { valid: false; reason: "invalid_or_expired" };

const INVALID: OtpVerdict = { valid: false, reason: "invalid_or_expired" };

export async function verifyOtp(
  s: Services,
  principal: Principal,
  input: { to: string; purpose: string; code: string },
): Promise<OtpVerdict> {
  const tenantId = principal.tenantId;
  const { phone, keys } = await codeSubject(s, tenantId, input.to, input.purpose);
  await ATTEMPT.ready();
  const attempt = await ATTEMPT.run(s.redis, [keys.code], [String(OTP_MAX_ATTEMPTS)]);
  if (!attempt) return INVALID;
  const [stored, attempts] = attempt;
  // The stored digest was written under the current HMAC key; a rotation since may have made
  // it an older one: compare with each.
  const candidates = await s.pii.digests(macInput(tenantId, input.purpose, phone.e164, input.code));
  let matches = false;
  for (const candidate of candidates) {
    if (await constantTimeEqual(candidate, stored)) matches = true;
  }
  if (!matches) {
    if (attempts >= OTP_MAX_ATTEMPTS) await s.redis.del(keys.code);
    return INVALID;
  }
  // Single use: of two concurrent right answers, only the one that deletes the code wins.
  if ((await s.redis.del(keys.code)) !== 1) return INVALID;
  await s.redis
    .pipeline()
    .incr(keys.verified)
    .expire(keys.verified, UNVERIFIED.windowSeconds)
    .exec();
  return { valid: true };
}
