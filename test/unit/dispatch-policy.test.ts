import { describe, expect, it } from "vitest";
import {
  type AttemptFacts,
  type AttemptOutcome,
  backoffMs,
  jittered,
  nextStep,
} from "../../src/domain/dispatch-policy";

const now = new Date("2026-01-01T00:00:00Z");
const at = (iso: string) => new Date(iso);

const facts = (outcome: AttemptOutcome, overrides: Partial<AttemptFacts> = {}): AttemptFacts => ({
  outcome,
  errorCode: "E1",
  type: "transactional",
  attemptsMade: 1,
  maxAttempts: 5,
  hasNextProvider: true,
  retryRound: 0,
  now,
  jitter: 1,
  unknownOutcomeWaitMs: 3_600_000,
  ...overrides,
});

describe("nextStep", () => {
  it.each([
    // outcome, overrides, expected
    ["accepted", {}, { kind: "sent" }],
    ["rejected_permanent", {}, { kind: "failed", reason: "E1" }],
    ["rejected_config", {}, { kind: "failover" }],
    ["rejected_config", { hasNextProvider: false }, { kind: "failed", reason: "E1" }],
    ["unavailable", {}, { kind: "failover" }],
    ["throttled", {}, { kind: "failover" }],
    ["unavailable", { hasNextProvider: false }, { kind: "retry", at: at("2026-01-01T00:00:30Z") }],
    [
      "throttled",
      { hasNextProvider: false, retryRound: 2, jitter: 0 },
      { kind: "retry", at: at("2026-01-01T00:01:00Z") },
    ],
    ["unavailable", { attemptsMade: 5 }, { kind: "failed", reason: "retries_exhausted: E1" }],
    ["outcome_unknown", {}, { kind: "await_receipt", until: at("2026-01-01T01:00:00Z") }],
    ["outcome_unknown", { type: "otp" }, { kind: "failover" }],
    [
      "outcome_unknown",
      { type: "otp", hasNextProvider: false },
      { kind: "await_receipt", until: at("2026-01-01T01:00:00Z") },
    ],
    [
      "outcome_unknown",
      { type: "otp", attemptsMade: 5 },
      { kind: "await_receipt", until: at("2026-01-01T01:00:00Z") },
    ],
    ["rejected_config", { attemptsMade: 5 }, { kind: "failed", reason: "E1" }],
  ] as const)("%s with %o → %o", (outcome, overrides, expected) => {
    expect(nextStep(facts(outcome, overrides))).toEqual(expected);
  });

  it("never fails over an unknown outcome for non-OTP messages", () => {
    for (const type of ["transactional", "promotional"] as const) {
      expect(nextStep(facts("outcome_unknown", { type })).kind).toBe("await_receipt");
    }
  });
});

describe("backoff", () => {
  it.each([
    [1, 30_000],
    [2, 60_000],
    [3, 120_000],
    [5, 480_000],
    [6, 900_000],
    [20, 900_000],
  ])("retry %i waits up to %i ms", (retry, ms) => {
    expect(backoffMs(retry)).toBe(ms);
  });

  it.each([
    [0, 15_000],
    [0.5, 22_500],
    [1, 30_000],
  ])("equal jitter %f of 30 s → %i ms", (jitter, ms) => {
    expect(jittered(30_000, jitter)).toBe(ms);
  });
});
