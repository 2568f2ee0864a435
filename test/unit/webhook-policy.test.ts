import { describe, expect, it } from "vitest";
import { afterFailure, RETRY_WINDOW_MS, retryDelayMs } from "../../src/domain/webhooks";

describe("webhook retry policy", () => {
  it("backs off 30 s, 1, 2, 4 … min, capped at 1 h", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9, 30].map(retryDelayMs)).toEqual([
      30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000,
      3_600_000,
    ]);
  });

  it("jitters within ±20 %", () => {
    const createdAt = new Date("2030-01-01T00:00:00Z");
    const at = (jitter: number) => {
      const step = afterFailure({ attempts: 1, createdAt, now: createdAt, jitter });
      return step.kind === "retry" ? step.at.getTime() - createdAt.getTime() : null;
    };
    expect(at(0)).toBe(24_000);
    expect(at(0.5)).toBe(30_000);
    expect(at(0.999999)).toBeLessThanOrEqual(36_000);
  });

  it("dead-letters once the next attempt would fall outside 24 h", () => {
    const createdAt = new Date("2030-01-01T00:00:00Z");
    const late = new Date(createdAt.getTime() + RETRY_WINDOW_MS - 60_000);
    expect(afterFailure({ attempts: 20, createdAt, now: late, jitter: 0.5 })).toEqual({
      kind: "dead",
    });
    expect(afterFailure({ attempts: 1, createdAt, now: late, jitter: 0 }).kind).toBe("retry");
  });

  it("gives about 30 attempts over the window", () => {
    const createdAt = new Date(0);
    let now = createdAt;
    let attempts = 1;
    for (;;) {
      const step = afterFailure({ attempts, createdAt, now, jitter: 0.5 });
      if (step.kind === "dead") break;
      now = step.at;
      attempts++;
    }
    expect(attempts).toBeGreaterThan(25);
    expect(attempts).toBeLessThan(35);
  });
});
