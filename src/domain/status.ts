/**
 * Message status state machine.
 *
 * Statuses only move forward. Provider callbacks arrive out of order (a delivery receipt can
 * overtake the "sent" acknowledgement), so any forward jump is allowed, while going backwards
 * or leaving a final status is not: the first final status recorded wins.
 */

export const MESSAGE_STATUSES = [
  "scheduled",
  "queued",
  "sending",
  "sent",
  "delivered",
  "undelivered",
  "failed",
  "expired",
  "canceled",
] as const;

export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export const FINAL_STATUSES = [
  "delivered",
  "undelivered",
  "failed",
  "expired",
  "canceled",
] as const satisfies readonly MessageStatus[];

export type FinalStatus = (typeof FINAL_STATUSES)[number];

// A scheduled message (deferred by quiet hours or `send_at`) waits like a queued one.
// All final statuses share one rank: none of them may replace another.
const RANKS: Record<MessageStatus, number> = {
  scheduled: 0,
  queued: 0,
  sending: 1,
  sent: 2,
  delivered: 3,
  undelivered: 3,
  failed: 3,
  expired: 3,
  canceled: 3,
};

/** Progress order of a status. The database layer mirrors this in SQL; keep both in sync. */
export function statusRank(status: MessageStatus): number {
  return RANKS[status];
}

export function isFinal(status: MessageStatus): status is FinalStatus {
  return (FINAL_STATUSES as readonly MessageStatus[]).includes(status);
}

/** Whether a message in `from` may move to `to`. Staying in the same status is not a transition. */
export function canTransition(from: MessageStatus, to: MessageStatus): boolean {
  return !isFinal(from) && statusRank(to) > statusRank(from);
}
