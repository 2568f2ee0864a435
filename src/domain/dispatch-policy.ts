import type { MessageType } from "./providers";
/** How a provider call ended. Failure classes decide what dispatch may do next. */
export const FAILURE_OUTCOMES = [
  "rejected_permanent",
  "rejected_config",
  "throttled",
  "unavailable",
  "outcome_unknown",
] as const;
export type FailureOutcome = (typeof FAILURE_OUTCOMES)[number];
export type AttemptOutcome = "accepted" | FailureOutcome;

/**
 * What dispatch does after an attempt. Only failures that prove the provider did
 * not take the message move on to the next provider (failover) or come back
 * later (retry). An unknown outcome is never re-sent blindly: it waits for a
 * receipt until a deadline, except for OTP, where a second code is harmless and
 * speed matters, so it may fail over.
 */
export type NextStep =
  | { kind: "sent" }
  | { kind: "failed"; reason: string }
  | { kind: "failover" }
  | { kind: "retry"; at: Date }
  | { kind: "await_receipt"; until: Date };

export interface AttemptFacts {
  outcome: AttemptOutcome;
  errorCode?: string | undefined;
  type: MessageType;
  /** Attempts made so far for this message, this one included. */
  attemptsMade: number;
  maxAttempts: number;
  /** Whether the route has another provider left in this round. */
  hasNextProvider: boolean;
  /** Rounds already retried (0 on the first round): drives the backoff. */
  retryRound: number;
  now: Date;
  /** A random number in [0, 1), for jitter. */
  jitter: number;
  unknownOutcomeWaitMs: number;
}

const BASE_BACKOFF_MS = 30_000;
const MAX_BACKOFF_MS = 15 * 60_000;

/** Exponential: 30 s, 1 min, 2 min, … capped at 15 min (before jitter). */
export function backoffMs(retryNumber: number): number {
  return Math.min(BASE_BACKOFF_MS * 2 ** Math.max(0, retryNumber - 1), MAX_BACKOFF_MS);
}

/** "Equal jitter": half the backoff fixed, half random, so retries of many messages spread out. */
export const jittered = (ms: number, jitter: number) => Math.round(ms / 2 + (ms / 2) * jitter);

export function nextStep(f: AttemptFacts): NextStep {
  const canFailOver = f.hasNextProvider && f.attemptsMade < f.maxAttempts;
  switch (f.outcome) {
    case "accepted":
      return { kind: "sent" };
    case "rejected_permanent":
      return { kind: "failed", reason: f.errorCode ?? f.outcome };
    case "outcome_unknown":
      if (f.type === "otp" && canFailOver) return { kind: "failover" };
      return { kind: "await_receipt", until: new Date(f.now.getTime() + f.unknownOutcomeWaitMs) };
    case "rejected_config":
      // Waiting does not fix credentials or permissions: another provider or nothing.
      return canFailOver
        ? { kind: "failover" }
        : { kind: "failed", reason: f.errorCode ?? f.outcome };
    case "throttled":
    case "unavailable":
      if (f.attemptsMade >= f.maxAttempts) {
        return { kind: "failed", reason: `retries_exhausted: ${f.errorCode ?? f.outcome}` };
      }
      if (canFailOver) return { kind: "failover" };
      return {
        kind: "retry",
        at: new Date(f.now.getTime() + jittered(backoffMs(f.retryRound + 1), f.jitter)),
      };
  }
}
