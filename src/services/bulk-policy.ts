import type { Ratelimit } from "@upstash/ratelimit";
import type { Services } from "../context";
import {
  countryAllowed,
  DEFAULT_ALLOWED_COUNTRIES,
  prefixesOf,
  pumpingBucket,
} from "../domain/destination-policy";
import type { MessageType } from "../domain/providers";
import { deploymentRateLimits, type LimitCheck, limitsFor } from "../domain/rate-limits";
import type { ErrorCode } from "../errors";
import { openRedis } from "../kv/redis";
import { luaScript } from "../kv/scripts";
import type { Principal } from "./api-keys";
import { blocklistKeys, describeBlock } from "./blocklist";
import { budgetExceeded, budgetReady, capsFor, checkBudget } from "./budgets";
import { limiterFor } from "./rate-limits";
import { pumpingBlockKey } from "./send-policy";

/**
 * The policy step of a bulk send (src/services/send-policy.ts is the single send's), set-based:
 * geo permissions (no I/O), then one round of Upstash requests issued together that reads the
 * blocklists and range blocks for every recipient (one script), the headroom of the limits
 * recipients share (key, type, country) and the budget, and takes each recipient's per-number
 * token (@upstash/ratelimit; its client caps an auto-pipeline at 1,000 commands, so 10,000
 * recipients are about 20 pipelines in flight at once); then one more request that takes the
 * shared limits' tokens for the recipients still standing (as many as they allow: the rest
 * are refused `rate_limited`, not the whole batch).
 *
 * The pumping defence's burst counter is not fed by bulk sends: it watches public sign-up and
 * log-in forms, where pumping happens; a tenant's own list may well hold a whole range. Ranges
 * already blocked are refused.
 */

/**
 * KEYS: global numbers, tenant numbers, global prefixes, tenant prefixes, then one range block
 * flag per distinct range. ARGV: digests per number (k), then every number's k digests.
 * Returns {number hit per number (0 none, 1 global, 2 tenant), global prefixes, tenant
 * prefixes, TTL per range flag}. The prefix sets are small: they are matched in the Worker.
 */
const BULK_LOOKUP = luaScript<[number[], string[], string[], number[]]>(`
local k = tonumber(ARGV[1])
local n = (#ARGV - 1) / k
local function member(key, i)
  for j = 1, k do
    if redis.call("SISMEMBER", key, ARGV[1 + (i - 1) * k + j]) == 1 then return true end
  end
  return false
end
local hits = {}
for i = 1, n do
  if member(KEYS[1], i) then hits[i] = 1 elseif member(KEYS[2], i) then hits[i] = 2 else hits[i] = 0 end
end
local ttls = {}
for b = 5, #KEYS do ttls[b - 4] = redis.call("TTL", KEYS[b]) end
return {hits, redis.call("SMEMBERS", KEYS[3]), redis.call("SMEMBERS", KEYS[4]), ttls}`);

export interface BulkSubject {
  e164: string;
  digests: string[];
  country: string;
}

export interface Refusal {
  code: ErrorCode;
  detail: string;
}

/** A limit shared by several recipients: one counter, taken once for all of them. */
interface SharedLimit {
  check: LimitCheck;
  members: number[];
}

export interface BulkAdmission {
  /** Why each refused recipient (by index) was refused. */
  refusals: Map<number, Refusal>;
  /** Gives back the tokens of these admitted recipients (their insert did not happen). */
  release(indices: number[]): Promise<void>;
}

export async function admitBulk(
  s: Services,
  principal: Principal,
  type: MessageType,
  subjects: BulkSubject[],
  /** The estimate of the live messages sent now, checked against the spend caps. */
  budgetMicros: number,
): Promise<BulkAdmission> {
  const refusals = new Map<number, Refusal>();
  const refuse = (i: number, code: ErrorCode, detail: string) => {
    if (!refusals.has(i)) refusals.set(i, { code, detail });
  };
  const allowed =
    principal.allowedCountries ?? s.config.ALLOWED_COUNTRIES ?? DEFAULT_ALLOWED_COUNTRIES;
  subjects.forEach((subject, i) => {
    if (!countryAllowed(subject.country, allowed)) {
      refuse(i, "destination_not_allowed", `Sending to ${subject.country} is not enabled`);
    }
  });
  const standing = subjects.flatMap((_, i) => (refusals.has(i) ? [] : [i]));
  if (standing.length === 0) return { refusals, release: async () => {} };

  const tenantId = principal.tenantId;
  const policy = deploymentRateLimits(s.config.RATE_LIMIT_POLICY);
  const perNumber: { check: LimitCheck; index: number }[] = [];
  const shared = new Map<string, SharedLimit>();
  for (const i of standing) {
    const subject = subjects[i] as BulkSubject;
    const checks = limitsFor(policy, principal.rateLimits, {
      keyId: principal.keyId,
      tenantId,
      destination: subject.digests[0] ?? "",
      country: subject.country,
      type,
    });
    for (const check of checks) {
      if (check.identifier.startsWith("dest:")) {
        perNumber.push({ check, index: i });
        continue;
      }
      const group = shared.get(check.identifier) ?? { check, members: [] };
      group.members.push(i);
      shared.set(check.identifier, group);
    }
  }
  const ranges = new Map<string, number[]>();
  for (const i of standing) {
    const bucket = pumpingBucket((subjects[i] as BulkSubject).e164);
    ranges.set(bucket, [...(ranges.get(bucket) ?? []), i]);
  }
  const rangeDigests = await Promise.all([...ranges.keys()].map((b) => s.pii.digest(b)));
  const k = subjects[0]?.digests.length ?? 1;
  const redis = openRedis(
    s.config.UPSTASH_REDIS_REST_URL,
    s.config.UPSTASH_REDIS_REST_TOKEN,
    s.io,
    { autoPipeline: true },
  );
  // One limiter per quota (not per recipient): 10,000 recipients share a handful.
  const limiters = new Map<string, Ratelimit>();
  const limiter = (check: LimitCheck) => {
    const config = `${check.tokens}/${check.window}`;
    let found = limiters.get(config);
    if (!found) {
      found = limiterFor(redis, check, 0);
      limiters.set(config, found);
    }
    return found;
  };
  await Promise.all([BULK_LOOKUP.ready(), budgetReady()]);
  const caps = capsFor(s, principal.budget);
  const groups = [...shared.values()];
  // All issued at once on the auto-pipelining client: pipelines of up to 1,000 commands.
  const [lookup, headroom, withinBudget, numberResults] = await Promise.all([
    BULK_LOOKUP.run(
      redis,
      [
        ...blocklistKeys(tenantId),
        ...rangeDigests.map((digest) => pumpingBlockKey(tenantId, digest)),
      ],
      [String(k), ...standing.flatMap((i) => (subjects[i] as BulkSubject).digests)],
    ),
    Promise.all(groups.map((g) => limiter(g.check).getRemaining(g.check.identifier))),
    budgetMicros > 0 ? checkBudget(redis, tenantId, s.now(), budgetMicros, caps) : true,
    Promise.all(perNumber.map(({ check }) => limiter(check).limit(check.identifier))),
  ]);

  const [hits, globalPrefixes, tenantPrefixes, rangeTtls] = lookup;
  const prefixSets = [new Set(globalPrefixes), new Set(tenantPrefixes)];
  standing.forEach((i, position) => {
    const prefixes = prefixesOf((subjects[i] as BulkSubject).e164);
    const scopeIndex = prefixSets.findIndex((set) => prefixes.some((p) => set.has(p)));
    const prefix =
      scopeIndex < 0 ? undefined : prefixes.find((p) => prefixSets[scopeIndex]?.has(p));
    const blocked = describeBlock(hits[position] ?? 0, scopeIndex + 1, prefix);
    if (blocked) refuse(i, "recipient_blocked", `Refused: ${blocked}`);
  });
  [...ranges.entries()].forEach(([bucket, members], r) => {
    // TTL -2: no block; anything else is one (see send-policy.ts).
    if ((rangeTtls[r] ?? -2) === -2) return;
    for (const i of members) {
      refuse(i, "pumping_suspected", `The range ${bucket}XX is temporarily blocked`);
    }
  });
  const numberTaken: { check: LimitCheck; index: number }[] = [];
  perNumber.forEach((entry, n) => {
    const result = numberResults[n];
    if (result?.success) {
      if (result.reason !== "cacheBlock") numberTaken.push(entry);
    } else refuse(entry.index, "rate_limited", `Rate limit reached: ${entry.check.name}`);
  });
  if (!withinBudget) {
    const { detail } = budgetExceeded(caps);
    for (const i of standing) refuse(i, "budget_exceeded", detail);
  }

  // The shared limits: as many of the recipients still standing as each has headroom for.
  const wanted = groups.map((g) => g.members.filter((i) => !refusals.has(i)));
  groups.forEach((g, n) => {
    const room = Math.max(0, headroom[n]?.remaining ?? 0);
    for (const i of (wanted[n] ?? []).slice(room)) {
      refuse(i, "rate_limited", `Rate limit reached: ${g.check.name} (${g.check.tokens})`);
    }
  });
  const takes = groups.map((g) => g.members.filter((i) => !refusals.has(i)).length);
  await Promise.all(
    groups.map((g, n) =>
      (takes[n] ?? 0) > 0 ? limiter(g.check).limit(g.check.identifier, { rate: takes[n] }) : null,
    ),
  );
  const giveBack = async (indices: Set<number>) => {
    await Promise.all([
      ...numberTaken
        .filter(({ index }) => indices.has(index))
        .map(({ check }) => limiter(check).limit(check.identifier, { rate: -1 })),
      ...groups.map((g, n) => {
        const count = g.members.filter((i) => indices.has(i) && (takes[n] ?? 0) > 0).length;
        return count > 0 ? limiter(g.check).limit(g.check.identifier, { rate: -count }) : null;
      }),
    ]);
  };
  // Per-number tokens taken for recipients a later check refused.
  const refusedAfterTaking = new Set(
    numberTaken.filter(({ index }) => refusals.has(index)).map(({ index }) => index),
  );
  if (refusedAfterTaking.size > 0) {
    await Promise.all(
      numberTaken
        .filter(({ index }) => refusedAfterTaking.has(index))
        .map(({ check }) => limiter(check).limit(check.identifier, { rate: -1 })),
    );
  }
  return {
    refusals,
    release: (indices) => giveBack(new Set(indices.filter((i) => !refusals.has(i)))),
  };
}
