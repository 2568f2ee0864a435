import { type SQL, sql } from "drizzle-orm";
import type { Services } from "../context";
import { unmatchedReceipts } from "../db/schema";
import { isFinal, MESSAGE_STATUSES, type MessageStatus, statusRank } from "../domain/status";
import { newId } from "../lib/ids";
import type { Receipt } from "../providers/types";
import { type EventType, emitEvent } from "./events";
import { routeStored, type StoredRoutable } from "./routing";

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
  /** The provider's identity of this report: a redelivered report is recorded once. */
  providerEventId?: string;
  errorCode?: string;
  reason?: string;
  occurredAt: Date;
}

export type StatusOutcome = "applied" | "ignored" | "duplicate" | "unknown_message" | "resent";

/** Statuses customers can subscribe to as `message.<status>` events. */
const EVENT_STATUSES = new Set<MessageStatus>(["sent", "delivered", "undelivered", "failed"]);

/**
 * The one place a message's status changes. Monotonic (never backwards), the
 * first final status wins, and every report is kept as an event, applied or
 * not, so duplicates and out-of-order receipts are harmless and visible; a
 * report the provider redelivers (same provider event id) is recorded once.
 * One statement: the row lock serializes concurrent reports for a message.
 */
export async function applyStatus(s: Services, change: StatusChange): Promise<StatusOutcome> {
  const now = s.now();
  const final = isFinal(change.status);
  const result = await s.db.execute<{
    found: boolean;
    applied: boolean;
    recorded: boolean;
    /** Whether an active endpoint of the tenant takes this status's event. */
    subscribed: boolean;
    tenant_id: string | null;
    to_sealed: string | null;
    subject_digest: string | null;
  }>(sql`
    with target as (
      select id, tenant_id, status, to_sealed, recipient_digests[1] as subject_digest
      from messages where id = ${change.messageId} for update
    ), updated as (
      update messages m set
        status = ${change.status},
        status_reason = coalesce(${change.reason ?? null}, m.status_reason),
        -- An OTP's body lives only until the message is final (privacy: nothing to leak later).
        body_sealed = case when ${final} and m.type = 'otp' then null else m.body_sealed end,
        updated_at = ${now},
        completed_at = case when ${final} then ${now} else m.completed_at end,
        dispatch_state = case when ${final} then 'done' else m.dispatch_state end
      from target
      where m.id = target.id and ${rankOf(sql`target.status`)} < ${statusRank(change.status)}
      returning m.id
    ), recorded as (
      insert into message_events (id, message_id, tenant_id, status, applied, source, provider,
        provider_status, provider_event_id, error_code, occurred_at, received_at)
      select ${newId("evt", now.getTime())}, target.id, target.tenant_id, ${change.status},
        exists (select 1 from updated), ${change.source}, ${change.provider ?? null},
        ${change.providerStatus ?? null}, ${change.providerEventId ?? null},
        ${change.errorCode ?? null}, ${change.occurredAt}, ${now}
      from target
      on conflict (provider, provider_event_id) do nothing
      returning id
    )
    select exists (select 1 from target) as found, exists (select 1 from updated) as applied,
      exists (select 1 from recorded) as recorded,
      exists (select 1 from webhook_endpoints e join target on e.tenant_id = target.tenant_id
        where e.status = 'active' and ${`message.${change.status}`} = any(e.event_types))
        as subscribed,
      (select tenant_id from target) as tenant_id, (select to_sealed from target) as to_sealed,
      (select subject_digest from target) as subject_digest`);
  const row = result.rows[0];
  if (!row?.found || !row.tenant_id) return "unknown_message";
  if (!row.recorded) return "duplicate";
  if (!row.applied) return "ignored";
  // Without a subscriber there is nothing to open, seal or insert (most messages of a batch).
  if (EVENT_STATUSES.has(change.status) && row.subscribed) {
    const to = row.to_sealed ? await s.pii.open(row.tenant_id, row.to_sealed) : null;
    const data = {
      message_id: change.messageId,
      status: change.status,
      to,
      provider: change.provider ?? null,
      error_code: change.errorCode ?? null,
      reason: change.reason ?? null,
      occurred_at: change.occurredAt.toISOString(),
    };
    await emitEvent(
      s,
      row.tenant_id,
      `message.${change.status}` as EventType,
      data,
      row.subject_digest,
    );
  }
  return "applied";
}

/**
 * A delivery receipt from any provider (webhook or sandbox): find the message
 * by our id when the provider carried it, else by the provider's id. A receipt
 * for a message we do not know is kept and flagged (the provider still gets its
 * 200, so it stops retrying).
 */
export async function receiveReceipt(
  s: Services,
  receipt: Receipt,
): Promise<{ outcome: StatusOutcome; messageId?: string }> {
  const messageId = receipt.messageId ?? (await findByProviderId(s, receipt));
  if (messageId && (await resendInstead(s, messageId, receipt))) {
    return { outcome: "resent", messageId };
  }
  const outcome = messageId
    ? await applyStatus(s, {
        messageId,
        status: receipt.status,
        source: "provider",
        provider: receipt.provider,
        providerStatus: receipt.providerStatus,
        ...(receipt.providerEventId ? { providerEventId: receipt.providerEventId } : {}),
        ...(receipt.errorCode ? { errorCode: receipt.errorCode, reason: receipt.errorCode } : {}),
        occurredAt: receipt.occurredAt,
      })
    : "unknown_message";
  if (outcome === "unknown_message") {
    await keepUnmatched(s, receipt);
    return { outcome };
  }
  return { outcome, ...(messageId ? { messageId } : {}) };
}

interface ResendCandidate extends Omit<StoredRoutable, "to_e164">, Record<string, unknown> {
  to_sealed: string | null;
  mode: string;
  status: MessageStatus;
  resent: boolean;
  tried: string[];
}

/**
 * A failed or undelivered receipt may buy one re-send through the next
 * provider of the route, where policy allows it for the message's type (OTP by
 * default): never after a final status, never twice. The receipt is kept as an
 * event (not applied) and the message goes back to dispatch; the new attempt
 * records which attempt it re-sends. The caller dispatches it.
 */
async function resendInstead(s: Services, messageId: string, receipt: Receipt): Promise<boolean> {
  if (receipt.status !== "undelivered" && receipt.status !== "failed") return false;
  const types = s.config.RESEND_ON_FAILURE_TYPES.split(",").map((t) => t.trim());
  const result = await s.db.execute<ResendCandidate>(sql`
    select tenant_id, mode, type, status, resent, to_sealed, country, segments, from_sender,
      pinned_provider,
      array(select a.provider from message_attempts a
            where a.message_id = m.id and a.started_at >= m.round_started_at) as tried
    from messages m where id = ${messageId}`);
  const m = result.rows[0];
  if (m?.mode !== "live" || m.resent || isFinal(m.status) || !types.includes(m.type)) {
    return false;
  }
  if (m.to_sealed === null) return false; // erased: nothing left to send to
  const { decision } = await routeStored(s, {
    ...m,
    to_e164: await s.pii.open(m.tenant_id, m.to_sealed),
  });
  if (!decision.chain.some((step) => !m.tried.includes(step.provider))) return false;
  const now = s.now();
  const reason = `resent after ${receipt.status} receipt${receipt.errorCode ? ` (${receipt.errorCode})` : ""}`;
  const claimed = await s.db.execute(sql`
    with resend as (
      update messages set resent = true, dispatch_state = 'pending', lease_until = null,
        next_attempt_at = ${now}, status_reason = ${reason}, updated_at = ${now}
      where id = ${messageId} and not resent and ${rankOf(sql`status`)} < ${statusRank("delivered")}
      returning id, tenant_id
    )
    insert into message_events (id, message_id, tenant_id, status, applied, source, provider,
      provider_status, provider_event_id, error_code, occurred_at, received_at)
    select ${newId("evt", now.getTime())}, id, tenant_id, ${receipt.status}, false, 'provider',
      ${receipt.provider}, ${receipt.providerStatus}, ${receipt.providerEventId ?? null},
      ${receipt.errorCode ?? null}, ${receipt.occurredAt}, ${now}
    from resend
    on conflict (provider, provider_event_id) do nothing`);
  return (claimed.rowCount ?? 0) > 0;
}

/** The sealing context of unmatched receipts, which belong to no tenant. */
export const UNMATCHED_CONTEXT = "unmatched-receipt";

async function keepUnmatched(s: Services, receipt: Receipt): Promise<void> {
  const now = s.now();
  s.log.warn("receipt for an unknown message", {
    provider: receipt.provider,
    provider_message_id: receipt.providerMessageId,
  });
  await s.db
    .insert(unmatchedReceipts)
    .values({
      id: newId("evt", now.getTime()),
      provider: receipt.provider,
      providerMessageId: receipt.providerMessageId,
      messageIdHint: receipt.messageId ?? null,
      providerEventId: receipt.providerEventId ?? null,
      status: receipt.status,
      providerStatus: receipt.providerStatus,
      errorCode: receipt.errorCode ?? null,
      // No tenant yet: sealed under a fixed context. Purged after the body retention.
      payloadSealed: await s.pii.sealJson(UNMATCHED_CONTEXT, receipt.raw ?? {}),
      receivedAt: now,
    })
    .onConflictDoNothing();
}

async function findByProviderId(s: Services, receipt: Receipt): Promise<string | undefined> {
  const result = await s.db.execute<{ id: string }>(sql`
    select id from messages
    where provider = ${receipt.provider} and provider_message_id = ${receipt.providerMessageId}
    limit 1`);
  return result.rows[0]?.id;
}
