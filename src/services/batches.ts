import { sql } from "drizzle-orm";
import type { Services } from "../context";
import { FINAL_STATUSES, MESSAGE_STATUSES, type MessageStatus } from "../domain/status";
import { ApiError } from "../errors";
import { newId } from "../lib/ids";

/** A bulk send's progress (GET /v1/batches/{id}) and its cancellation. */

export interface BatchView {
  id: string;
  type: string;
  recipients: number;
  accepted: number;
  refused: number;
  /** Messages by status. */
  counts: Record<MessageStatus, number>;
  /** Messages no longer waiting to be sent (handed to a provider, or final). */
  dispatched: number;
  /** Messages in a final status. */
  finished: number;
  /** finished / accepted, 0–1 (1 for a batch without accepted recipients). */
  progress: number;
  completed: boolean;
  created_at: string;
  canceled_at: string | null;
}

const WAITING = new Set<string>(["queued", "scheduled"]);
const FINAL = new Set<string>(FINAL_STATUSES);

/** One statement: the batch and its messages' counts by status (index messages_batch_idx). */
export async function getBatch(s: Services, tenantId: string, id: string): Promise<BatchView> {
  const result = await s.db.execute<{
    id: string;
    type: string;
    recipients: number;
    accepted: number;
    created_at: Date | string;
    canceled_at: Date | string | null;
    counts: Record<string, number> | null;
  }>(sql`
    select b.id, b.type, b.recipients, b.accepted, b.created_at, b.canceled_at,
      (select jsonb_object_agg(status, n) from (
        select status, count(*)::int as n from messages
        where batch_id = b.id and tenant_id = b.tenant_id group by status) c) as counts
    from batches b where b.id = ${id} and b.tenant_id = ${tenantId}`);
  const row = result.rows[0];
  if (!row) throw new ApiError("not_found", `No batch ${id}`);
  const counts = Object.fromEntries(
    MESSAGE_STATUSES.map((status) => [status, row.counts?.[status] ?? 0]),
  ) as Record<MessageStatus, number>;
  const entries = Object.entries(counts);
  const dispatched = entries.reduce((sum, [st, n]) => sum + (WAITING.has(st) ? 0 : n), 0);
  const finished = entries.reduce((sum, [st, n]) => sum + (FINAL.has(st) ? n : 0), 0);
  return {
    id: row.id,
    type: row.type,
    recipients: row.recipients,
    accepted: row.accepted,
    refused: row.recipients - row.accepted,
    counts,
    dispatched,
    finished,
    progress: row.accepted === 0 ? 1 : finished / row.accepted,
    completed: finished === row.accepted,
    created_at: new Date(row.created_at).toISOString(),
    canceled_at: row.canceled_at === null ? null : new Date(row.canceled_at).toISOString(),
  };
}

/**
 * Cancels every message of the batch not yet handed to a provider (queued or scheduled, not
 * claimed by a dispatch at this moment), in one statement that records each one's status
 * event. Messages already sent go on. Returns how many were canceled.
 */
export async function cancelBatch(s: Services, tenantId: string, id: string): Promise<number> {
  const now = s.now();
  // Event ids: one time-ordered prefix, then the row's number (same shape as newId's).
  const eventPrefix = newId("evt", now.getTime()).slice(0, -6);
  const result = await s.db.execute<{ found: boolean; canceled: number }>(sql`
    with batch as (
      update batches set canceled_at = coalesce(canceled_at, ${now})
      where id = ${id} and tenant_id = ${tenantId} returning id
    ), canceled as (
      update messages set status = 'canceled', status_reason = 'canceled by the API (batch)',
        dispatch_state = 'done', lease_until = null, completed_at = ${now}, updated_at = ${now}
      where batch_id in (select id from batch) and tenant_id = ${tenantId}
        and status in ('queued', 'scheduled') and dispatch_state = 'pending'
      returning id
    ), recorded as (
      insert into message_events (id, message_id, tenant_id, status, applied, source,
        occurred_at, received_at)
      select ${eventPrefix} || lpad((row_number() over ())::text, 6, '0'), id, ${tenantId},
        'canceled', true, 'api', ${now}, ${now}
      from canceled
    )
    select exists (select 1 from batch) as found, (select count(*) from canceled)::int as canceled`);
  const row = result.rows[0];
  if (!row?.found) throw new ApiError("not_found", `No batch ${id}`);
  return row.canceled;
}
