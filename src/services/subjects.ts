import { sql } from "drizzle-orm";
import type { Services } from "../context";
import { audit } from "./audit";
import { subjectPhoneOrThrow } from "./opt-outs";

export interface ErasureSummary {
  messages: number;
  inbound_messages: number;
  consents: number;
  webhook_events: number;
  /** Whether an opt-out is kept (by digest only) so the person stays unreachable. */
  opt_out_kept: boolean;
}

/**
 * DELETE /v1/subjects/{phone}: erases what the tenant holds about a person, in ONE statement:
 * numbers, bodies and metadata of their messages (a message not sent yet then fails instead of
 * going out), the stored answers of bulk sends they were in, their inbound texts, their consent
 * evidence and the undelivered or kept webhook events about them. Their opt-out stays, reduced to the digest, so it is still honoured; the
 * audit keeps digest-only records of what happened, and of this erasure.
 */
export async function eraseSubject(
  s: Services,
  tenantId: string,
  phoneInput: string,
): Promise<ErasureSummary> {
  const phone = subjectPhoneOrThrow(s, phoneInput);
  const digests = await s.pii.digests(phone);
  const theirs = sql`${sql.param(digests)}::text[]`;
  const result = await s.db.execute<{
    messages: number;
    inbound_messages: number;
    consents: number;
    webhook_events: number;
    opt_out_kept: boolean;
  }>(sql`
    with messages_erased as (
      update messages set to_sealed = null, body_sealed = null, response_sealed = null,
        metadata = null, recipient_digests = '{}', updated_at = ${s.now()}
      where tenant_id = ${tenantId} and recipient_digests && ${theirs}
      returning batch_id
    ), batch_responses_erased as (
      -- A bulk send's stored answer lists every recipient: it goes (replays then refuse).
      update batches set response_sealed = null
      where tenant_id = ${tenantId} and id in (select batch_id from messages_erased)
    ), inbound_erased as (
      update inbound_messages set from_sealed = null, body_sealed = null, from_digest = 'erased'
      where tenant_id = ${tenantId} and from_digest = any(${theirs})
      returning 1
    ), consents_erased as (
      delete from consents where tenant_id = ${tenantId} and phone_digest = any(${theirs})
      returning 1
    ), events_erased as (
      delete from webhook_deliveries
      where tenant_id = ${tenantId} and subject_digest = any(${theirs})
      returning 1
    ), opt_out_kept as (
      update opt_outs set phone_sealed = null, reason = null
      where tenant_id = ${tenantId} and phone_digest = any(${theirs})
      returning 1
    )
    select (select count(*) from messages_erased)::int as messages,
      (select count(*) from inbound_erased)::int as inbound_messages,
      (select count(*) from consents_erased)::int as consents,
      (select count(*) from events_erased)::int as webhook_events,
      exists (select 1 from opt_out_kept) as opt_out_kept`);
  const row = result.rows[0];
  if (!row) throw new Error("erasure returned no row");
  const summary: ErasureSummary = { ...row };
  await audit(s, tenantId, "subject.erased", digests[0] ?? null, { ...summary });
  return summary;
}
