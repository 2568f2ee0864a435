import type { MessageType } from "./providers";
import { checkQuietHours, type QuietHoursPolicy } from "./quiet-hours";

/**
 * When a message may go out: now, later (`send_at`, or the next instant inside
 * its quiet-hours window in the recipient's time zones), or never (its
 * deadline comes first: a message is never sent late).
 */
export type SendPlan =
  | { status: "queued"; scheduledFor: null; deadline: Date | null }
  | { status: "scheduled"; scheduledFor: Date; deadline: Date | null; reason: ScheduleReason }
  | { status: "expired"; scheduledFor: Date; deadline: Date; reason: string };

/** Why a message waits: stored as its status reason (the audit records quiet-hours deferrals). */
export type ScheduleReason = "quiet hours" | "send_at";

export interface PlanInput {
  type: MessageType;
  e164: string;
  country: string;
  now: Date;
  policy: QuietHoursPolicy;
  sendAt?: Date | undefined;
  validUntil?: Date | undefined;
  validitySeconds?: number | undefined;
  recipientTimeZone?: string | undefined;
}

const earliest = (...dates: (Date | undefined)[]) =>
  dates.filter((d): d is Date => d !== undefined).sort((a, b) => a.getTime() - b.getTime())[0];

export function planSend(input: PlanInput): SendPlan {
  const deadline =
    earliest(
      input.validUntil,
      input.validitySeconds === undefined
        ? undefined
        : new Date(input.now.getTime() + input.validitySeconds * 1000),
    ) ?? null;
  const wanted = input.sendAt && input.sendAt > input.now ? input.sendAt : input.now;
  const window = checkQuietHours({
    type: input.type,
    e164: input.e164,
    country: input.country,
    now: wanted,
    policy: input.policy,
    ...(input.recipientTimeZone ? { recipientTimeZone: input.recipientTimeZone } : {}),
  });
  const at = window.allowed ? wanted : window.nextAllowedAt;
  if (deadline && at >= deadline) {
    return {
      status: "expired",
      scheduledFor: at,
      deadline,
      reason: window.allowed ? "send_at is after valid_until" : "quiet hours last past valid_until",
    };
  }
  if (at > input.now) {
    const reason = window.allowed ? "send_at" : "quiet hours";
    return { status: "scheduled", scheduledFor: at, deadline, reason };
  }
  return { status: "queued", scheduledFor: null, deadline };
}
