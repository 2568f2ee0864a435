import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "@upstash/redis/cloudflare";
import type { LimitCheck } from "../domain/rate-limits";
import { ApiError } from "../errors";

/**
 * Rate limits with `@upstash/ratelimit` (sliding windows, state in Upstash). All limits of a
 * send are taken at once: one `limit()` per limit, issued together on an auto-pipelining
 * client, so they travel in the policy step's ONE Upstash request (src/services/send-policy.ts).
 * Each limit's script is atomic, so concurrent sends never over-admit. Tokens are given back
 * with the library's negative `rate` when the send is refused or not accepted after all, so a
 * refusal by one limit uses up none of the others. Denials are remembered in the isolate
 * (`ephemeralCache`) until their window resets: a client hammering a full limit costs less.
 */

export interface RateLimitState {
  /** The tightest limit: what the RateLimit-* headers report. */
  limit: number;
  remaining: number;
  /** Unix ms when it resets. */
  reset: number;
}

export interface TakenLimits {
  /** The limit that refused, if one did (its tokens are not taken). */
  refusal: { check: LimitCheck; limit: number; reset: number } | null;
  /** The tightest limit when none refused. */
  state: RateLimitState | null;
  /** Gives back every token taken. */
  giveBack(): Promise<void>;
}

/** Per isolate: one limiter config → its denial cache (the library's `ephemeralCache`). */
const denialCaches = new Map<string, Map<string, number>>();

/**
 * `failOpenAfterMs`: the library admits a request whose Redis call takes longer (its
 * default, 5 s, one timer per call); 0 waits for Redis, with no timer: a bulk send makes
 * thousands of calls at once, and workerd caps an invocation's active timers at 10,000.
 */
export function limiterFor(redis: Redis, check: LimitCheck, failOpenAfterMs = 5_000): Ratelimit {
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
    timeout: failOpenAfterMs,
  });
}

/** Takes a token from each limit, all issued in this tick (one pipeline on `redis`). */
export async function takeLimits(redis: Redis, checks: LimitCheck[]): Promise<TakenLimits> {
  const limiters = checks.map((check) => limiterFor(redis, check));
  const results = await Promise.all(
    limiters.map((limiter, i) => limiter.limit(checks[i]?.identifier ?? "")),
  );
  const taken = results.flatMap((r, i) => (r.success && r.reason !== "cacheBlock" ? [i] : []));
  const giveBack = async () => {
    await Promise.all(
      taken.map((i) => limiters[i]?.limit(checks[i]?.identifier ?? "", { rate: -1 })),
    );
  };
  const refused = results.findIndex((r) => !r.success);
  const refusedCheck = checks[refused];
  const refusedResult = results[refused];
  if (refusedCheck && refusedResult) {
    return {
      refusal: { check: refusedCheck, limit: refusedResult.limit, reset: refusedResult.reset },
      state: null,
      giveBack,
    };
  }
  const tightest = results.reduce<RateLimitState | null>(
    (a, b) => (a === null || b.remaining < a.remaining ? b : a),
    null,
  );
  return {
    refusal: null,
    state: tightest && {
      limit: tightest.limit,
      remaining: tightest.remaining,
      reset: tightest.reset,
    },
    giveBack,
  };
}

export function rateLimitHeaders(state: RateLimitState, now: number): Record<string, string> {
  return {
    "RateLimit-Limit": String(state.limit),
    "RateLimit-Remaining": String(Math.max(state.remaining, 0)),
    "RateLimit-Reset": String(Math.max(Math.ceil((state.reset - now) / 1000), 0)),
  };
}

/** 429 `rate_limited` naming the limit, with Retry-After and its RateLimit-* headers. */
export function rateLimitedError(
  refusal: NonNullable<TakenLimits["refusal"]>,
  now: number,
): ApiError {
  const retryAfter = Math.max(Math.ceil((refusal.reset - now) / 1000), 1);
  const state = { limit: refusal.limit, remaining: 0, reset: refusal.reset };
  return new ApiError(
    "rate_limited",
    `Rate limit reached: ${refusal.check.name} (${refusal.check.tokens}); retry in ${retryAfter} s`,
    [{ path: "limit", message: refusal.check.name }],
    { ...rateLimitHeaders(state, now), "Retry-After": String(retryAfter) },
  );
}
