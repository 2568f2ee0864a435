import { randomUUID } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisBackends } from "./helpers.mjs";

// Windows of an hour: no test can straddle a window boundary or see a refill.
/** A limit of 5 against 8 calls in one window: the first 5 pass, the rest are refused. */
const FIVE_OF_EIGHT = [true, true, true, true, true, false, false, false];

const ALGORITHMS = {
  fixedWindow: (limit) => Ratelimit.fixedWindow(limit, "1 h"),
  slidingWindow: (limit) => Ratelimit.slidingWindow(limit, "1 h"),
  tokenBucket: (limit) => Ratelimit.tokenBucket(1, "1 h", limit),
};

describe.each(await redisBackends())("@upstash/ratelimit on $name", ({ unavailable, start }) => {
  if (unavailable) {
    it.skip(unavailable);
    return;
  }

  let redis;
  let stop;

  beforeAll(async () => {
    ({ redis, stop } = await start("t"));
  });
  afterAll(() => stop?.());

  /** Every call goes to Redis: no ephemeral cache, no timeout that would let calls pass. */
  const limiter = (limiterOf, limit) =>
    new Ratelimit({
      redis,
      limiter: limiterOf(limit),
      prefix: `test:${randomUUID()}`,
      ephemeralCache: false,
      timeout: 0,
    });
  const call = async (ratelimit, identifier) => {
    const result = await ratelimit.limit(identifier);
    await result.pending;
    return result;
  };

  describe.each(Object.entries(ALGORITHMS))("%s", (_, limiterOf) => {
    it("admits exactly 5 of 8 calls and counts remaining down", async () => {
      const ratelimit = limiter(limiterOf, 5);
      const results = [];
      for (let i = 0; i < 8; i++) results.push(await call(ratelimit, "client"));
      expect(results.map((r) => r.success)).toEqual(FIVE_OF_EIGHT);
      expect(results.map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0]);
      expect(results.every((r) => r.limit === 5)).toBe(true);
    });

    it("keeps identifiers independent", async () => {
      const ratelimit = limiter(limiterOf, 2);
      await call(ratelimit, "busy");
      await call(ratelimit, "busy");
      expect((await call(ratelimit, "busy")).success).toBe(false);
      expect(await call(ratelimit, "idle")).toMatchObject({ success: true, remaining: 1 });
    });

    it("reports remaining tokens, also for identifiers it has not seen", async () => {
      const ratelimit = limiter(limiterOf, 5);
      expect((await ratelimit.getRemaining("unseen")).remaining).toBe(5);
      for (let i = 0; i < 3; i++) await call(ratelimit, "client");
      expect((await ratelimit.getRemaining("client")).remaining).toBe(2);
    });

    it("admits exactly 10 of 20 concurrent calls", async () => {
      const ratelimit = limiter(limiterOf, 10);
      const results = await Promise.all(Array.from({ length: 20 }, () => call(ratelimit, "burst")));
      expect(results.filter((r) => r.success)).toHaveLength(10);
    });
  });

  it("cachedFixedWindow admits exactly 5 of 8 calls", async () => {
    const ratelimit = new Ratelimit({
      redis,
      limiter: Ratelimit.cachedFixedWindow(5, "1 h"),
      prefix: `test:${randomUUID()}`,
      ephemeralCache: new Map(),
      timeout: 0,
    });
    const results = [];
    for (let i = 0; i < 8; i++) results.push(await call(ratelimit, "client"));
    expect(results.map((r) => r.success)).toEqual(FIVE_OF_EIGHT);
    expect(results.slice(0, 5).map((r) => r.remaining)).toEqual([4, 3, 2, 1, 0]);
  });
});
