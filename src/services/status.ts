import { type SQL, sql } from "drizzle-orm";
import type { Services } from "../context";
import { isFinal, MESSAGE_STATUSES, type MessageStatus, statusRank } from "../domain/status";
import { newId } from "../lib/ids";
import type { Receipt } from "../providers/types";

/** The domain's ranks as SQL, so the database applies exactly the same rule. */
const rankOf = (column: SQL): SQL =>
  sql`(case ${column} ${sql.raw(
    MESSAGE_STATUSES.map((s) => `when '${s}' then ${statusRank(s)}`).join(" "),
  )} end)`;

export interface StatusChange {
  messageId: string;
  status: MessageStatus;
  source: "api" | "dispatch" | "scheduler" | "provider";
  provider?: string;
  providerStatus?: string;
  errorCode?: string;
  reason?: string;
  occurredAt: Date;
}

/**
 * The one place a message's status changes. Monotonic (never backwards), the
 * first final status wins, and every report is kept as an event, applied or
 * not, so duplicates and out-of-order receipts are harmless and visible. One
 * statement: the row lock serializes concurrent reports for the same message.
 *
 * Returns whether the change was applied, or null when the message is unknown.
 */
export async function applyStatus(s: Services, change: StatusChange): Promise<boolean | null> {
  const now = s.now();
  const final = isFinal(change.status);
  const result = await s.db.execute<{ applied: boolean }>(sql`
    with target as (
      select id, tenant_id, status from messages where id = ${change.messageId} for update
    ), updated as (
      update messages m set
        status = ${change.status},
        status_reason = coalesce(${change.reason ?? null}, m.status_reason),
        updated_at = ${now},
        completed_at = case when ${final} then ${now} else m.completed_at end,
        dispatch_state = case when ${final} then 'done' else m.dispatch_state end
      from target
      where m.id = target.id and ${rankOf(sql`target.status`)} < ${statusRank(change.status)}
      returning m.id
    )
    insert into message_events (id, message_id, tenant_id, status, applied, source, provider,
      provider_status, error_code, occurred_at, received_at)
    select ${newId("evt", now.getTime())}, target.id, target.tenant_id, ${change.status},
      exists (select 1 from updated), ${change.source}, ${change.provider ?? null},
      ${change.providerStatus ?? null}, ${change.errorCode ?? null}, ${change.occurredAt}, ${now}
    from target
    returning applied`);
  const row = result.rows[0];
  return row ? row.applied : null;
}

/**
 * A delivery receipt from any provider (webhook or sandbox): find the message
 * by our id when the provider carried it, else by the provider's id.
 */
export async function receiveReceipt(s: Services, receipt: Receipt): Promise<boolean | null> {
  const messageId = receipt.messageId ?? (await findByProviderId(s, receipt));
  if (!messageId) {
    s.log.warn("receipt for an unknown message", {
      provider: receipt.provider,
      provider_message_id: receipt.providerMessageId,
    });
    return null;
  }
  return applyStatus(s, {
    messageId,
    status: receipt.status,
    source: "provider",
    provider: receipt.provider,
    providerStatus: receipt.providerStatus,
    ...(receipt.errorCode ? { errorCode: receipt.errorCode, reason: receipt.errorCode } : {}),
    occurredAt: receipt.occurredAt,
  });
}

async function findByProviderId(s: Services, receipt: Receipt): Promise<string | undefined> {
  const result = await s.db.execute<{ id: string }>(sql`
    select id from messages
    where provider = ${receipt.provider} and provider_message_id = ${receipt.providerMessageId}
    limit 1`);
  return result.rows[0]?.id;
}
