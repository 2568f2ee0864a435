import { Ratelimit } from "@upstash/ratelimit";
import { sql } from "drizzle-orm";
import type { Services } from "../context";
import {
  deploymentRateLimits,
  type LimitCheck,
  limitsFor,
  type SendIdentity,
  type TenantRateLimits,
} from "../domain/rate-limits";
import { ApiError } from "../errors";
import { openRedis } from "../kv/redis";
import { forgetTenantKeys } from "./api-keys";

/**
 * Rate limits with `@upstash/ratelimit` (sliding windows, state in Upstash). All limits of a
 * send are checked at once: one `limit()` per limit, issued together on an auto-pipelining
 * client, so they travel in ONE Upstash request. Each limit's script is atomic, so
 * concurrent sends never over-admit. When one limit refuses, the tokens the others took are
 * given back (the library's negative `rate`), so a refusal by one limit uses up none of the
 * others; the same happens when the send is not accepted after all (an idempotent replay,
 * an opted-out recipient). Denials are remembered in the isolate (`ephemeralCache`) until
 * their window resets, so a client hammering a full limit costs no Upstash request.
 */

export interface RateLimitState {
  /** The tightest limit: what the RateLimit-* headers report. */
  limit: number;
  remaining: number;
  /** Unix ms when it resets. */
  reset: number;
}

export interface Admission {
  state: RateLimitState | null;
  /** Gives the tokens back: the send was not accepted after all. */
  release(): Promise<void>;
}

/** Per isolate: one limiter config → its denial cache (the library's `ephemeralCache`). */
const denialCaches = new Map<string, Map<string, number>>();

function limiterFor(redis: ReturnType<typeof openRedis>, check: LimitCheck): Ratelimit {
  const config = `${check.tokens}/${check.window}`;
  let cache = denialCaches.get(config);
  if (!cache) {
    cache = new Map();
    denialCaches.set(config, cache);
  }
  return new Ratelimit({
    redis,
    limiter: Ratelimit.slidingWindow(check.tokens, check.window),
    prefix: "rl",
    ephemeralCache: cache,
    analytics: false,
  });
}

export function rateLimitHeaders(state: RateLimitState, now: number): Record<string, string> {
  return {
    "RateLimit-Limit": String(state.limit),
    "RateLimit-Remaining": String(Math.max(state.remaining, 0)),
    "RateLimit-Reset": String(Math.max(Math.ceil((state.reset - now) / 1000), 0)),
  };
}

/**
 * Takes one token from every limit of the send, or none: 429 `rate_limited` naming the limit
 * that refused, with Retry-After and its RateLimit-* headers.
 */
export async function admitSend(
  s: Services,
  tenantLimits: TenantRateLimits | null | undefined,
  send: SendIdentity,
): Promise<Admission> {
  const checks = limitsFor(deploymentRateLimits(s.config.RATE_LIMIT_POLICY), tenantLimits, send);
  if (checks.length === 0) return { state: null, release: async () => {} };
  const redis = openRedis(
    s.config.UPSTASH_REDIS_REST_URL,
    s.config.UPSTASH_REDIS_REST_TOKEN,
    s.io,
    {
      autoPipeline: true,
    },
  );
  const limiters = checks.map((check) => limiterFor(redis, check));
  const results = await Promise.all(
    limiters.map((limiter, i) => limiter.limit(checks[i]?.identifier ?? "")),
  );
  const giveBack = async (which: number[]) => {
    await Promise.all(
      which.map((i) => limiters[i]?.limit(checks[i]?.identifier ?? "", { rate: -1 })),
    );
  };
  const taken = results.flatMap((r, i) => (r.success && r.reason !== "cacheBlock" ? [i] : []));
  const refused = results.findIndex((r) => !r.success);
  const now = s.now().getTime();
  if (refused >= 0) {
    await giveBack(taken);
    const result = results[refused];
    const check = checks[refused];
    if (!result || !check) throw new Error("rate limit result missing");
    const state = { limit: result.limit, remaining: 0, reset: result.reset };
    const retryAfter = Math.max(Math.ceil((result.reset - now) / 1000), 1);
    throw new ApiError(
      "rate_limited",
      `Rate limit reached: ${check.name} (${check.tokens}); retry in ${retryAfter} s`,
      [{ path: "limit", message: check.name }],
      { ...rateLimitHeaders(state, now), "Retry-After": String(retryAfter) },
    );
  }
  const tightest = results.reduce((a, b) => (b.remaining < a.remaining ? b : a));
  return {
    state: { limit: tightest.limit, remaining: tightest.remaining, reset: tightest.reset },
    release: () => giveBack(taken),
  };
}

/** Admin: a tenant's tier and overrides; the cached keys are refreshed so it applies at once. */
export async function setTenantRateLimits(
  s: Services,
  tenantId: string,
  limits: TenantRateLimits | null,
): Promise<void> {
  const result = await s.db.execute(sql`
    update tenants set rate_limits = ${limits === null ? null : JSON.stringify(limits)}::jsonb
    where id = ${tenantId}`);
  if (result.rowCount === 0) throw new ApiError("not_found", `No tenant ${tenantId}`);
  await forgetTenantKeys(s, tenantId);
}
