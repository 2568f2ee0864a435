import { sql } from "drizzle-orm";
import type { Services } from "../context";

/** Rows one tick handles per table: the rest waits for the next tick. */
export const PURGE_BATCH = 1000;

export type PurgeSummary = {
  bodies: number;
  inbound: number;
  receipts: number;
  deliveries: number;
};

/**
 * Retention, run by the scheduler: bodies (and other personal payloads) are kept
 * BODY_RETENTION_DAYS after the message's final state, not its creation, so a long-scheduled
 * message keeps its body until it has gone out. Inbound texts and bulk sends' stored answers
 * count from their receipt;
 * unmatched receipts and finished webhook deliveries (they carry numbers) are deleted. The
 * compliance audit's 4 years are enforced by its own trigger (drizzle/0011).
 */
export async function purgeExpiredPersonalData(s: Services, now: Date): Promise<PurgeSummary> {
  const cutoff = new Date(now.getTime() - s.config.BODY_RETENTION_DAYS * 86_400_000);
  const result = await s.db.execute<PurgeSummary>(sql`
    with bodies as (
      update messages set body_sealed = null
      where id in (select id from messages
        where body_sealed is not null and completed_at < ${cutoff} limit ${PURGE_BATCH})
      returning 1
    ), batch_responses as (
      -- A bulk send's stored answer (for idempotent replays) lists its recipients' numbers.
      update batches set response_sealed = null
      where id in (select id from batches
        where response_sealed is not null and created_at < ${cutoff} limit ${PURGE_BATCH})
    ), inbound as (
      update inbound_messages set body_sealed = null
      where id in (select id from inbound_messages
        where body_sealed is not null and received_at < ${cutoff} limit ${PURGE_BATCH})
      returning 1
    ), receipts as (
      delete from unmatched_receipts
      where id in (select id from unmatched_receipts where received_at < ${cutoff} limit ${PURGE_BATCH})
      returning 1
    ), deliveries as (
      delete from webhook_deliveries
      where id in (select id from webhook_deliveries
        where status in ('delivered', 'dead') and created_at < ${cutoff} limit ${PURGE_BATCH})
      returning 1
    ), audit as (
      delete from compliance_audit
      where id in (select id from compliance_audit
        where occurred_at < now() - interval '4 years' limit ${PURGE_BATCH})
    )
    select (select count(*) from bodies)::int as bodies,
      (select count(*) from inbound)::int as inbound,
      (select count(*) from receipts)::int as receipts,
      (select count(*) from deliveries)::int as deliveries`);
  return result.rows[0] ?? { bodies: 0, inbound: 0, receipts: 0, deliveries: 0 };
}
