import { sql } from "drizzle-orm";
import type { Services } from "../context";
import { EVENT_TYPES, type EventType } from "../domain/webhooks";
import { newId } from "../lib/ids";
import { deliverSoon } from "./webhook-delivery";

export { EVENT_TYPES, type EventType };

/**
 * Emits one event to the tenant's webhooks: one `webhook_deliveries` row per active
 * endpoint subscribed to the type, persisted in ONE `insert … select` before anything
 * is delivered, then delivered after the response (`s.background`); the Cron tick
 * retries what fails. A tenant with no endpoint costs that one statement, inserting
 * nothing.
 *
 * The payload is `{ id, type, created_at, data }`; `id` is the event's `evt_…` id.
 * Each delivery has its own id (the `webhook-id` header, stable across retries),
 * derived from the event and the endpoint. The payload is stored sealed (it carries numbers
 * and bodies); `subjectDigest` names the person it is about, so erasure can find it.
 */
export async function emitEvent(
  s: Services,
  tenantId: string,
  type: EventType,
  data: Record<string, unknown>,
  subjectDigest: string | null = null,
): Promise<void> {
  const now = s.now();
  const eventId = newId("evt", now.getTime());
  const payload = { id: eventId, type, created_at: now.toISOString(), data };
  const sealed = await s.pii.sealJson(tenantId, payload);
  // `whd_` + the event's time part + 16 hex digits of md5(event, endpoint): sortable like
  // every id, unique per endpoint, and computed in the statement itself.
  const idPrefix = `whd_${eventId.slice(4, 14)}`;
  const insert = () =>
    s.db.execute<{ id: string }>(sql`
    insert into webhook_deliveries
      (id, endpoint_id, tenant_id, event_type, event_id, payload_sealed, subject_digest, status,
        attempts, next_attempt_at, created_at)
    select ${idPrefix}::text || substr(md5(${eventId}::text || e.id), 1, 16), e.id, e.tenant_id,
      ${type}::text, ${eventId}::text, ${sealed}::text, ${subjectDigest}::text, 'pending', 0,
      ${now}::timestamptz, ${now}::timestamptz
    from webhook_endpoints e
    where e.tenant_id = ${tenantId} and e.status = 'active' and ${type}::text = any(e.event_types)
    returning id`);
  // An endpoint deleted while this ran fails the foreign key; the retry no longer sees it.
  const inserted = await insert().catch((error: { code?: string }) => {
    if (error.code === "23503") return insert();
    throw error;
  });
  const ids = inserted.rows.map((row) => row.id);
  if (ids.length > 0) s.background(() => deliverSoon(s, ids));
}
