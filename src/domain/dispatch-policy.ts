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
 * What dispatch does after an attempt, by outcome. Only outcomes that prove the
 * provider did not take the message may lead to another send; an unknown
 * outcome parks the message until a receipt (or a later policy) settles it.
 */
export type NextStep =
  | { kind: "sent" }
  | { kind: "failed"; reason: string }
  | { kind: "retry"; at: Date }
  | { kind: "await_receipt" };

const BASE_BACKOFF_MS = 30_000;
const MAX_BACKOFF_MS = 15 * 60_000;

/** 30 s, 1 min, 2 min, … capped at 15 min. */
export function backoffMs(attemptNumber: number): number {
  return Math.min(BASE_BACKOFF_MS * 2 ** Math.max(0, attemptNumber - 1), MAX_BACKOFF_MS);
}

export function nextStep(
  outcome: AttemptOutcome,
  errorCode: string | undefined,
  attemptNumber: number,
  maxAttempts: number,
  now: Date,
): NextStep {
  switch (outcome) {
    case "accepted":
      return { kind: "sent" };
    case "rejected_permanent":
    case "rejected_config":
      return { kind: "failed", reason: errorCode ?? outcome };
    case "outcome_unknown":
      return { kind: "await_receipt" };
    case "throttled":
    case "unavailable":
      if (attemptNumber >= maxAttempts) {
        return { kind: "failed", reason: `retries_exhausted: ${errorCode ?? outcome}` };
      }
      return { kind: "retry", at: new Date(now.getTime() + backoffMs(attemptNumber)) };
  }
}
