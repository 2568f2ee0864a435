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
import { budgetExceeded, budgetHeadroom, budgetReady, capsFor } from "./budgets";
import { limiterFor } from "./rate-limits";
import { pumpingBlockKey } from "./send-policy";

/**
 * The policy step of a bulk send (src/services/send-policy.ts is the single send's), set-based:
 * geo permissions (no I/O), then ONE Upstash request: a script that, for every recipient (in
 * calls of 2,000), looks the number up in the blocklists and takes its per-number rate-limit
 * token, and reads the range blocks, issued with the headroom of the limits recipients share (key, type,
 * country) and the budget check; then one more request that takes the shared limits' tokens
 * for the recipients still standing (as many as they allow: the rest are refused
 * `rate_limited`, not the whole batch; a limit a concurrent send drew on meanwhile gives only
 * what it has left).
 *
 * The pumping defence's burst counter is not fed by bulk sends: it watches public sign-up and
 * log-in forms, where pumping happens; a tenant's own list may well hold a whole range. Ranges
 * already blocked are refused.
 */

/**
 * The per-number limits are @upstash/ratelimit's sliding windows, taken here in the lookup
 * script on the library's own counters (`rl:<identifier>:<window index>`, the same rule), so
 * a bulk send and a single send count against the same limit (test/integration/bulk.test.ts
 * checks both ways). Written by hand because calling the library once per recipient is one
 * script call each: 10,000 recipients made 20 pipelines and about 2 s.
 */
/** Recipients per script call: a few thousand keeps each call short. */
const LOOKUP_CHUNK = 2_000;

const WINDOW_MS: Record<LimitCheck["window"], number> = {
  "1 m": 60_000,
  "1 h": 3_600_000,
  "1 d": 86_400_000,
};

/**
 * KEYS: global numbers, tenant numbers, global prefixes, tenant prefixes, then one range block
 * flag per distinct range. ARGV: now (ms), digests per number (k), per-number quotas (q), the
 * q quotas as (tokens, window ms), then for every number its k digests and its q limit
 * identifiers. Returns {number hit per number (0 none, 1 global, 2 tenant), global prefixes,
 * tenant prefixes, TTL per range flag, per number the quota that refused (0: its tokens were
 * taken; -1: blocked, none taken)}. The prefix sets are small: they are matched in the Worker.
 */
const BULK_LOOKUP = luaScript<[number[], string[], string[], number[], number[]]>(`
local now = tonumber(ARGV[1])
local k = tonumber(ARGV[2])
local q = tonumber(ARGV[3])
local base = 3 + 2 * q
local n = (#ARGV - base) / (k + q)
local function arg(i, j) return ARGV[base + (i - 1) * (k + q) + j] end
local function member(key, i)
  for j = 1, k do
    if redis.call("SISMEMBER", key, arg(i, j)) == 1 then return true end
  end
  return false
end
local hits, limited = {}, {}
for i = 1, n do
  if member(KEYS[1], i) then hits[i] = 1 elseif member(KEYS[2], i) then hits[i] = 2 else hits[i] = 0 end
  limited[i] = -1
  if hits[i] == 0 then
    limited[i] = 0
    local take = {}
    for j = 1, q do
      local tokens, window = tonumber(ARGV[2 + 2 * j]), tonumber(ARGV[3 + 2 * j])
      local index = math.floor(now / window)
      local current = "rl:" .. arg(i, k + j) .. ":" .. string.format("%d", index)
      local previous = "rl:" .. arg(i, k + j) .. ":" .. string.format("%d", index - 1)
      local used = tonumber(redis.call("GET", current) or "0")
      local before = tonumber(redis.call("GET", previous) or "0")
      before = math.floor((1 - (now % window) / window) * before)
      if before + used >= tokens then limited[i] = j break end
      take[j] = {current, window}
    end
    if limited[i] == 0 then
      for j = 1, q do
        if redis.call("INCRBY", take[j][1], 1) == 1 then
          redis.call("PEXPIRE", take[j][1], take[j][2] * 2 + 1000)
        end
      end
    end
  end
end
local ttls = {}
for b = 5, #KEYS do ttls[b - 4] = redis.call("TTL", KEYS[b]) end
return {hits, redis.call("SMEMBERS", KEYS[3]), redis.call("SMEMBERS", KEYS[4]), ttls, limited}`);

/**
 * KEYS: one shared limit's current and previous window counters (the library's, as above).
 * ARGV: tokens, now (ms), window (ms), wanted. Takes as many of the wanted tokens as the
 * sliding window has room for, never more (the library's `limit` with a rate takes all of it
 * or none), and returns how many.
 */
const TAKE_UP_TO = luaScript<number>(`
local tokens, now, window, wanted = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local used = tonumber(redis.call("GET", KEYS[1]) or "0")
local before = math.floor((1 - (now % window) / window) * tonumber(redis.call("GET", KEYS[2]) or "0"))
local take = math.min(wanted, math.max(0, tokens - before - used))
if take > 0 and redis.call("INCRBY", KEYS[1], take) == take then
  redis.call("PEXPIRE", KEYS[1], window * 2 + 1000)
end
return take`);

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
  /**
   * Each subject's estimate counted against the spend caps now (live messages sent now; 0 for
   * the rest, whose budget is reserved when they go out).
   */
  costs: number[],
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
  // The per-number quotas are the same for every recipient (one type, one tenant); each
  // recipient has its own identifiers for them.
  let perNumber: LimitCheck[] = [];
  const numberIds = new Map<number, string[]>();
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
    perNumber = checks.filter((check) => check.identifier.startsWith("dest:"));
    numberIds.set(
      i,
      perNumber.map((check) => check.identifier),
    );
    for (const check of checks) {
      if (check.identifier.startsWith("dest:")) continue;
      const group = shared.get(check.identifier) ?? { check, members: [] };
      group.members.push(i);
      shared.set(check.identifier, group);
    }
  }
  const bucketOf = new Map(
    standing.map((i) => [i, pumpingBucket((subjects[i] as BulkSubject).e164)] as const),
  );
  const buckets = [...new Set(bucketOf.values())];
  const bucketDigests = new Map(
    await Promise.all(buckets.map(async (b) => [b, await s.pii.digest(b)] as const)),
  );
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
  // All issued in this tick on the auto-pipelining client: one Upstash request.
  // The recipients in chunks: one script call each, all in the same pipeline (one request),
  // so no single call holds Redis for long.
  const now = Date.now();
  const chunks: number[][] = [];
  for (let start = 0; start < standing.length; start += LOOKUP_CHUNK) {
    chunks.push(standing.slice(start, start + LOOKUP_CHUNK));
  }
  const lookupChunk = (chunk: number[]) => {
    const chunkBuckets = [...new Set(chunk.map((i) => bucketOf.get(i) as string))];
    const result = BULK_LOOKUP.run(
      redis,
      [
        ...blocklistKeys(tenantId),
        ...chunkBuckets.map((b) => pumpingBlockKey(tenantId, bucketDigests.get(b) as string)),
      ],
      [
        String(now),
        String(k),
        String(perNumber.length),
        ...perNumber.flatMap((check) => [String(check.tokens), String(WINDOW_MS[check.window])]),
        ...chunk.flatMap((i) => [
          ...(subjects[i] as BulkSubject).digests,
          ...(numberIds.get(i) ?? []),
        ]),
      ],
    );
    return result.then(([hits, globalPrefixes, tenantPrefixes, ttls, limited]) => ({
      hits,
      globalPrefixes,
      tenantPrefixes,
      limited,
      blockedRanges: chunkBuckets.filter((_, b) => (ttls[b] ?? -2) !== -2),
    }));
  };
  // All issued in this tick on the auto-pipelining client: one Upstash request.
  const [lookups, headroom, budgetLeft] = await Promise.all([
    Promise.all(chunks.map(lookupChunk)),
    Promise.all(groups.map((g) => limiter(g.check).getRemaining(g.check.identifier))),
    costs.some((cost) => cost > 0)
      ? budgetHeadroom(redis, tenantId, s.now(), caps)
      : Number.POSITIVE_INFINITY,
  ]);
  const hits = lookups.flatMap((l) => l.hits);
  const limited = lookups.flatMap((l) => l.limited);
  // TTL -2: no block; anything else is one (see send-policy.ts).
  const blockedRanges = new Set(lookups.flatMap((l) => l.blockedRanges));
  const prefixSets = [
    new Set(lookups[0]?.globalPrefixes ?? []),
    new Set(lookups[0]?.tenantPrefixes ?? []),
  ];
  standing.forEach((i, position) => {
    const prefixes = prefixesOf((subjects[i] as BulkSubject).e164);
    const scopeIndex = prefixSets.findIndex((set) => prefixes.some((p) => set.has(p)));
    const prefix =
      scopeIndex < 0 ? undefined : prefixes.find((p) => prefixSets[scopeIndex]?.has(p));
    const blocked = describeBlock(hits[position] ?? 0, scopeIndex + 1, prefix);
    if (blocked) refuse(i, "recipient_blocked", `Refused: ${blocked}`);
    const bucket = bucketOf.get(i) as string;
    if (blockedRanges.has(bucket)) {
      refuse(i, "pumping_suspected", `The range ${bucket}XX is temporarily blocked`);
    }
  });
  /** Recipients whose per-number tokens the script took. */
  const numberTaken: number[] = [];
  standing.forEach((i, position) => {
    const refusedBy = limited[position] ?? -1;
    if (refusedBy === 0) numberTaken.push(i);
    const check = perNumber[refusedBy - 1];
    if (check) refuse(i, "rate_limited", `Rate limit reached: ${check.name} (${check.tokens})`);
  });
  // The budget: recipients in request order while their estimates fit; the first that does
  // not ends it (a caller can resume the list from there).
  const overBudget = budgetExceeded(caps).detail;
  let left = budgetLeft;
  let exhausted = false;
  for (const i of standing) {
    const cost = costs[i] ?? 0;
    if (refusals.has(i) || cost === 0) continue;
    exhausted ||= cost > left;
    if (exhausted) refuse(i, "budget_exceeded", overBudget);
    else left -= cost;
  }

  // The shared limits: as many of the recipients still standing as each has headroom for.
  const wanted = groups.map((g) => g.members.filter((i) => !refusals.has(i)));
  groups.forEach((g, n) => {
    const room = Math.max(0, headroom[n]?.remaining ?? 0);
    for (const i of (wanted[n] ?? []).slice(room)) {
      refuse(i, "rate_limited", `Rate limit reached: ${g.check.name} (${g.check.tokens})`);
    }
  });
  // Take them, each limit up to what it really has: a concurrent send may have used part of
  // the headroom read above. Recipients a limit could not cover are refused after all, and
  // what they took from the other limits is given back (a third request, only then).
  await TAKE_UP_TO.ready();
  const takeNow = Date.now();
  const charged = await Promise.all(
    groups.map(async (g) => {
      const wanting = g.members.filter((i) => !refusals.has(i));
      if (wanting.length === 0) return new Set<number>();
      const window = WINDOW_MS[g.check.window];
      const index = Math.floor(takeNow / window);
      const taken = await TAKE_UP_TO.run(
        redis,
        [`rl:${g.check.identifier}:${index}`, `rl:${g.check.identifier}:${index - 1}`],
        [String(g.check.tokens), String(takeNow), String(window), String(wanting.length)],
      );
      for (const i of wanting.slice(taken)) {
        refuse(i, "rate_limited", `Rate limit reached: ${g.check.name} (${g.check.tokens})`);
      }
      return new Set(wanting.slice(0, taken));
    }),
  );
  const giveBackShared = (indices: { has(i: number): boolean }) =>
    Promise.all(
      groups.map((g, n) => {
        const count = [...(charged[n] ?? [])].filter((i) => indices.has(i)).length;
        return count > 0 ? limiter(g.check).limit(g.check.identifier, { rate: -count }) : null;
      }),
    );
  const giveBack = async (indices: { has(i: number): boolean }) => {
    await Promise.all([
      giveBackNumbers(numberTaken.filter((i) => indices.has(i))),
      giveBackShared(indices),
    ]);
  };
  // Tokens taken for recipients a later check refused (one request, when there are any).
  await giveBack(refusals);
  return {
    refusals,
    release: (indices) => giveBack(new Set(indices.filter((i) => !refusals.has(i)))),
  };

  async function giveBackNumbers(indices: number[]) {
    await Promise.all(
      indices.flatMap((i) =>
        perNumber.map((check, j) =>
          limiter(check).limit(numberIds.get(i)?.[j] ?? "", { rate: -1 }),
        ),
      ),
    );
  }
}
