import { describe, expect, it } from "vitest";
import { backoffMs, nextStep } from "../../src/domain/dispatch-policy";

const now = new Date("2026-01-01T00:00:00Z");

describe("nextStep", () => {
  it.each([
    ["accepted", { kind: "sent" }],
    ["rejected_permanent", { kind: "failed", reason: "E1" }],
    ["rejected_config", { kind: "failed", reason: "E1" }],
    ["outcome_unknown", { kind: "await_receipt" }],
  ] as const)("%s → %o", (outcome, expected) => {
    expect(nextStep(outcome, "E1", 1, 5, now)).toEqual(expected);
  });

  it.each(["throttled", "unavailable"] as const)(
    "%s is retried with backoff below the cap",
    (o) => {
      expect(nextStep(o, "E2", 1, 5, now)).toEqual({
        kind: "retry",
        at: new Date("2026-01-01T00:00:30Z"),
      });
      expect(nextStep(o, "E2", 4, 5, now)).toEqual({
        kind: "retry",
        at: new Date("2026-01-01T00:04:00Z"),
      });
    },
  );

  it.each(["throttled", "unavailable"] as const)(
    "%s fails once the attempts reach the cap",
    (o) => {
      expect(nextStep(o, "E2", 5, 5, now)).toEqual({
        kind: "failed",
        reason: "retries_exhausted: E2",
      });
    },
  );
});

describe("backoffMs", () => {
  it.each([
    [1, 30_000],
    [2, 60_000],
    [3, 120_000],
    [5, 480_000],
    [6, 900_000],
    [20, 900_000],
  ])("attempt %i waits %i ms", (attempt, ms) => {
    expect(backoffMs(attempt)).toBe(ms);
  });
});
