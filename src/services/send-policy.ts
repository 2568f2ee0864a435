import type { Services } from "../context";
import {
  countryAllowed,
  DEFAULT_ALLOWED_COUNTRIES,
  prefixesOf,
  pumpingBucket,
} from "../domain/destination-policy";
import type { MessageType } from "../domain/providers";
import { deploymentRateLimits, limitsFor, pumpingPolicyFor } from "../domain/rate-limits";
import { ApiError } from "../errors";
import { openRedis } from "../kv/redis";
import { luaScript } from "../kv/scripts";
import type { Principal } from "./api-keys";
import { audit } from "./audit";
import { blocklistKeys, describeBlock } from "./blocklist";
import { budgetExceeded, budgetReady, capsFor, checkBudget } from "./budgets";
import { emitEvent } from "./events";
import { type RateLimitState, rateLimitedError, takeLimits } from "./rate-limits";

/**
 * The policy step of a send, after validation and before the insert: geo permissions (no
 * I/O), then the blocklists, the SMS-pumping defence and every rate limit in ONE Upstash
 * request (the commands are issued in one tick on an auto-pipelining client). Whatever
 * refuses, the rate-limit tokens taken are given back.
 */

/**
 * The blocklist and pumping lookups as one atomic script, so they ride in the same pipeline
 * as the rate limits (@upstash/redis sends read commands such as SMISMEMBER in a separate
 * pipeline; a script is a write). Hand-written: no library does this lookup.
 * KEYS: global numbers, tenant numbers, global prefixes, tenant prefixes (sets), the range's
 * block flag, the range's counter. ARGV: counter window (s), n, n digests, then the prefixes.
 * Returns {number hit (0 none, 1 global, 2 tenant), prefix index (1-based, 0 none), prefix
 * hit scope, the block's TTL, the range's count after this send}.
 */
const POLICY_LOOKUP = luaScript<number[]>(`
local n = tonumber(ARGV[2])
local function first(key, from, to)
  for i = from, to do
    if redis.call("SISMEMBER", key, ARGV[i]) == 1 then return i end
  end
  return 0
end
local result = {0, 0, 0, 0, 0}
if first(KEYS[1], 3, 2 + n) > 0 then result[1] = 1
elseif first(KEYS[2], 3, 2 + n) > 0 then result[1] = 2 end
for scope = 1, 2 do
  local hit = first(KEYS[2 + scope], 3 + n, #ARGV)
  if hit > 0 then result[2] = hit - 2 - n; result[3] = scope; break end
end
result[4] = redis.call("TTL", KEYS[5])
result[5] = redis.call("INCR", KEYS[6])
if result[5] == 1 then redis.call("EXPIRE", KEYS[6], tonumber(ARGV[1])) end
return result`);

export interface SendSubject {
  e164: string;
  /** The number's digests under every HMAC key, current first. */
  digests: string[];
  country: string;
  type: MessageType;
  /** Digests of the caller's end user, when the request named one. */
  endUserIp?: string | undefined;
  endUserId?: string | undefined;
  /** A live message sent now: its estimated cost is checked against the spend caps. */
  budgetMicros?: number | undefined;
}

export interface Admission {
  state: RateLimitState | null;
  /** Gives the rate-limit tokens back: the send was not accepted after all. */
  release(): Promise<void>;
}

export async function admitSend(
  s: Services,
  principal: Principal,
  subject: SendSubject,
): Promise<Admission> {
  const tenantId = principal.tenantId;
  const allowed =
    principal.allowedCountries ?? s.config.ALLOWED_COUNTRIES ?? DEFAULT_ALLOWED_COUNTRIES;
  if (!countryAllowed(subject.country, allowed)) {
    throw new ApiError(
      "destination_not_allowed",
      `Sending to ${subject.country} is not enabled for this tenant`,
      [{ path: "to", message: `country ${subject.country} not in the allowed countries` }],
    );
  }
  const policy = deploymentRateLimits(s.config.RATE_LIMIT_POLICY);
  const pumping = pumpingPolicyFor(policy, principal.rateLimits);
  const checks = limitsFor(policy, principal.rateLimits, {
    keyId: principal.keyId,
    tenantId,
    destination: subject.digests[0] ?? "",
    country: subject.country,
    type: subject.type,
    endUserIp: subject.endUserIp,
    endUserId: subject.endUserId,
  });
  const redis = openRedis(
    s.config.UPSTASH_REDIS_REST_URL,
    s.config.UPSTASH_REDIS_REST_TOKEN,
    s.io,
    {
      autoPipeline: true,
    },
  );
  // A range of 100 numbers; its Redis keys hold it as a digest all the same.
  const bucket = pumpingBucket(subject.e164);
  const bucketDigest = await s.pii.digest(bucket);
  const window = Math.floor(s.now().getTime() / 1000 / pumping.windowSeconds);
  const blockKey = pumpingBlockKey(tenantId, bucketDigest);
  const prefixes = prefixesOf(subject.e164);
  await Promise.all([POLICY_LOOKUP.ready(), budgetReady()]);
  const caps = capsFor(s, principal.budget);
  // Both issued in this tick, both writes (EVALSHA): one pipeline, one Upstash request.
  const [lookup, withinBudget, limits] = await Promise.all([
    POLICY_LOOKUP.run(
      redis,
      [...blocklistKeys(tenantId), blockKey, `pump:count:${tenantId}:${bucketDigest}:${window}`],
      [
        String(pumping.windowSeconds),
        String(subject.digests.length),
        ...subject.digests,
        ...prefixes,
      ],
    ),
    subject.budgetMicros === undefined
      ? true
      : checkBudget(redis, tenantId, s.now(), subject.budgetMicros, caps),
    takeLimits(redis, checks),
  ]);
  const [numberScope = 0, prefixIndex = 0, prefixScope = 0, blockTtl = -2, count = 0] = lookup;
  const blocked = describeBlock(numberScope, prefixScope, prefixes[prefixIndex - 1]);
  const refuse = async (error: ApiError): Promise<never> => {
    await limits.giveBack();
    throw error;
  };
  if (blocked) {
    await refuse(
      new ApiError("recipient_blocked", `Refused: ${blocked}`, [{ path: "to", message: blocked }]),
    );
  }
  if (!withinBudget) await refuse(budgetExceeded(caps));
  // TTL -2: no block. Any other answer is a block (-1, a flag without expiry, should not
  // happen, but must not be read as "not blocked").
  if (blockTtl !== -2) {
    await refuse(pumpingError(bucket, blockTtl > 0 ? blockTtl : pumping.blockSeconds));
  }
  if (count > pumping.maxPerBucket) {
    await blockRange(s, tenantId, bucket, pumping.blockSeconds, {
      reason: "burst",
      sends: count,
      window_seconds: pumping.windowSeconds,
    });
    await refuse(pumpingError(bucket, pumping.blockSeconds));
  }
  if (limits.refusal) await refuse(rateLimitedError(limits.refusal, s.now().getTime()));
  return { state: limits.state, release: limits.giveBack };
}

/** The flag that blocks a tenant's sends to a number range (its digest). */
export const pumpingBlockKey = (tenantId: string, bucketDigest: string) =>
  `pump:block:${tenantId}:${bucketDigest}`;

/**
 * Blocks a number range for a tenant after a pumping signal (a burst; OTPs never verified):
 * the flag in Redis, a `pumping.detected` event, an audit record, a log line.
 */
export async function blockRange(
  s: Services,
  tenantId: string,
  bucket: string,
  blockSeconds: number,
  signal: Record<string, string | number>,
): Promise<void> {
  const bucketDigest = await s.pii.digest(bucket);
  await s.redis.set(pumpingBlockKey(tenantId, bucketDigest), "1", { ex: blockSeconds });
  const blockedUntil = new Date(s.now().getTime() + blockSeconds * 1000).toISOString();
  s.background(() =>
    emitEvent(s, tenantId, "pumping.detected", {
      range: `${bucket}XX`,
      ...signal,
      blocked_until: blockedUntil,
    }),
  );
  await audit(s, tenantId, "pumping.detected", null, { range: bucketDigest, ...signal });
  s.log.warn("SMS pumping suspected", { tenant_id: tenantId, range: `${bucket}XX`, ...signal });
}

export function pumpingError(bucket: string, retryAfter: number): ApiError {
  return new ApiError(
    "pumping_suspected",
    `Too many sends to the range ${bucket}XX in a short time: it is blocked for ${retryAfter} s`,
    [{ path: "to", message: `range ${bucket}XX temporarily blocked` }],
    { "Retry-After": String(retryAfter) },
  );
}
