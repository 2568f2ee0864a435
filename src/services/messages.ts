import { and, asc, desc, eq, lt } from "drizzle-orm";
import type { Services } from "../context";
import {
  type AttemptRow,
  type EventRow,
  type MessageRow,
  messageAttempts,
  messageEvents,
  messages,
} from "../db/schema";
import { formatMoney } from "../domain/pricing";
import type { MessageStatus } from "../domain/status";
import { ApiError } from "../errors";

const iso = (d: Date | null) => d?.toISOString() ?? null;

/** The API's view of a message: number and body opened (null once erased). */
export async function messageSummary(s: Services, m: MessageRow) {
  const [to, body] = await Promise.all([
    m.toSealed === null ? null : s.pii.open(m.tenantId, m.toSealed),
    m.bodySealed === null ? null : s.pii.open(m.tenantId, m.bodySealed),
  ]);
  return {
    id: m.id,
    status: m.status as MessageStatus,
    status_reason: m.statusReason,
    to,
    from: m.from,
    type: m.type,
    body,
    segments: m.segments,
    encoding: m.encoding,
    estimated_cost: formatMoney(m.estimatedCostMicros),
    currency: m.currency,
    provider: m.provider,
    provider_message_id: m.providerMessageId,
    metadata: m.metadata ?? {},
    batch_id: m.batchId,
    created_at: m.createdAt.toISOString(),
    updated_at: m.updatedAt.toISOString(),
    completed_at: iso(m.completedAt),
  };
}

const attemptView = (a: AttemptRow) => ({
  id: a.id,
  provider: a.provider,
  started_at: a.startedAt.toISOString(),
  ended_at: iso(a.endedAt),
  outcome: a.outcome,
  provider_message_id: a.providerMessageId,
  error_code: a.errorCode,
  error_message: a.errorMessage,
  cost: a.costMicros === null ? null : formatMoney(a.costMicros),
  currency: a.currency,
  resend_of: a.resendOf,
  sender: a.sender,
});

const eventView = (e: EventRow) => ({
  id: e.id,
  status: e.status as MessageStatus,
  applied: e.applied,
  source: e.source,
  provider: e.provider,
  provider_status: e.providerStatus,
  error_code: e.errorCode,
  occurred_at: e.occurredAt.toISOString(),
  received_at: e.receivedAt.toISOString(),
});

/**
 * A tenant's message with its attempts and events, in one query (drizzle's
 * relational query joins them as JSON). Another tenant's message is not found.
 */
export async function getMessage(s: Services, tenantId: string, id: string) {
  const row = await s.db.query.messages.findFirst({
    where: and(eq(messages.id, id), eq(messages.tenantId, tenantId)),
    with: {
      attempts: { orderBy: [asc(messageAttempts.startedAt), asc(messageAttempts.id)] },
      events: { orderBy: [asc(messageEvents.receivedAt), asc(messageEvents.id)] },
    },
  });
  if (!row) throw new ApiError("not_found", `No message ${id}`);
  return {
    ...(await messageSummary(s, row)),
    attempts: row.attempts.map(attemptView),
    events: row.events.map(eventView),
  };
}

export interface ListQuery {
  status?: MessageStatus | undefined;
  batchId?: string | undefined;
  limit: number;
  cursor?: string | undefined;
}

/** Newest first. Ids sort by creation time, so the cursor is the last id seen. */
export async function listMessages(s: Services, tenantId: string, query: ListQuery) {
  const rows = await s.db
    .select()
    .from(messages)
    .where(
      and(
        eq(messages.tenantId, tenantId),
        query.status ? eq(messages.status, query.status) : undefined,
        query.batchId ? eq(messages.batchId, query.batchId) : undefined,
        query.cursor ? lt(messages.id, query.cursor) : undefined,
      ),
    )
    .orderBy(desc(messages.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const more = rows.length > query.limit;
  const data = await Promise.all(page.map((row) => messageSummary(s, row)));
  return { data, next_cursor: more ? (page.at(-1)?.id ?? null) : null };
}
