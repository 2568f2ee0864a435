/**
 * Customer webhooks: the events a tenant can subscribe to, and the retry policy of a
 * delivery. Pure: the caller passes `now` and the jitter.
 */

/** The closed list of event types. */
export const EVENT_TYPES = [
  "message.sent",
  "message.delivered",
  "message.failed",
  "message.undelivered",
  "message.received",
  "optout.created",
  "optin.created",
  "pumping.detected",
  "budget.threshold",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A delivery is retried until this long after the event, then it is a dead letter. */
export const RETRY_WINDOW_MS = 24 * 60 * 60_000;
/** Dead letters in a row, with no success between them, that disable an endpoint. */
export const DISABLE_AFTER_DEAD_LETTERS = 5;

const BASE_DELAY_MS = 30_000;
const MAX_DELAY_MS = 60 * 60_000;

/** Before jitter: 30 s, 1 min, 2 min, 4 min, … capped at 1 h. `failures` counts from 1. */
export function retryDelayMs(failures: number): number {
  return Math.min(BASE_DELAY_MS * 2 ** Math.max(0, failures - 1), MAX_DELAY_MS);
}

export type AfterFailure = { kind: "retry"; at: Date } | { kind: "dead" };

/**
 * What follows a failed attempt: another one after the backoff (±20 % jitter, so an
 * endpoint's backlog does not come back in one burst), or a dead letter when the next
 * attempt would fall outside the retry window.
 */
export function afterFailure(f: {
  /** Attempts made so far, the failed one included. */
  attempts: number;
  createdAt: Date;
  now: Date;
  /** A random number in [0, 1). */
  jitter: number;
}): AfterFailure {
  const delay = Math.round(retryDelayMs(f.attempts) * (0.8 + 0.4 * f.jitter));
  const at = new Date(f.now.getTime() + delay);
  if (at.getTime() > f.createdAt.getTime() + RETRY_WINDOW_MS) return { kind: "dead" };
  return { kind: "retry", at };
}
