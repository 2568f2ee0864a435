import { sql } from "drizzle-orm";
import type { Services } from "../context";
import type { EventType } from "../domain/webhooks";
import { ApiError } from "../errors";
import { encryptJson } from "../lib/crypto";
import { newId } from "../lib/ids";
import { checkWebhookTarget } from "../webhooks/resolve-host";
import { deliverSoon, secretContext, targetPolicy } from "./webhook-delivery";

/*
 * A tenant's webhook endpoints: registration (URL vetted against SSRF, signing secret
 * generated, sealed, shown once), listing with recent delivery counts, removal, the
 * deliveries of one endpoint, and replay of dead letters.
 */

/** Deliveries a replay re-queues at most at once; call again for more. */
const REPLAY_LIMIT = 1000;
const STATS_WINDOW_MS = 24 * 60 * 60_000;

export interface EndpointInput {
  url: string;
  event_types: EventType[];
}

type EndpointRow = {
  id: string;
  url: string;
  event_types: string[];
  status: "active" | "disabled";
  disabled_reason: string | null;
  created_at: string | Date;
};

const iso = (value: string | Date | null) =>
  value === null ? null : new Date(value).toISOString();

const view = (row: EndpointRow) => ({
  id: row.id,
  url: row.url,
  event_types: row.event_types as EventType[],
  status: row.status,
  disabled_reason: row.disabled_reason,
  created_at: iso(row.created_at) as string,
});

/** `whsec_` + base64 of 32 random bytes: the Standard Webhooks secret format. */
function newSigningSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

/** Refuses a URL the SSRF guard does not accept, with its reason. */
async function vetUrl(s: Services, url: string, requestHost?: string): Promise<void> {
  const check = await checkWebhookTarget(
    url,
    targetPolicy(s.config, requestHost ? [requestHost] : []),
  );
  if (!check.ok) {
    throw new ApiError("webhook_url_not_allowed", `The webhook URL is refused: ${check.reason}`, [
      { path: "url", message: check.reason },
    ]);
  }
}

/** Registers an endpoint. The secret is in this answer only; the database holds it sealed. */
export async function registerEndpoint(
  s: Services,
  tenantId: string,
  input: EndpointInput,
  requestHost?: string,
) {
  const key = s.config.ENCRYPTION_KEY;
  if (!key) {
    throw new ApiError(
      "encryption_unavailable",
      "This deployment has no ENCRYPTION_KEY, so it cannot store webhook signing secrets",
    );
  }
  await vetUrl(s, input.url, requestHost);
  const now = s.now();
  const id = newId("whk", now.getTime());
  const secret = newSigningSecret();
  const sealed = await encryptJson(key, secretContext(tenantId, id), secret);
  const eventTypes = [...new Set(input.event_types)];
  await s.db.execute(sql`
    insert into webhook_endpoints
      (id, tenant_id, url, event_types, secret_ciphertext, status, consecutive_failures, created_at)
    values (${id}, ${tenantId}, ${input.url}, ${sql.param(eventTypes)}::text[], ${sealed},
      'active', 0, ${now})`);
  return {
    ...view({
      id,
      url: input.url,
      event_types: eventTypes,
      status: "active",
      disabled_reason: null,
      created_at: now,
    }),
    secret,
  };
}

/** The tenant's endpoints (never their secrets), with their deliveries of the last 24 h. */
export async function listEndpoints(s: Services, tenantId: string) {
  const since = new Date(s.now().getTime() - STATS_WINDOW_MS);
  const result = await s.db.execute<
    EndpointRow & {
      pending: number;
      delivered: number;
      dead: number;
      last_delivered_at: string | Date | null;
    }
  >(sql`
    select e.id, e.url, e.event_types, e.status, e.disabled_reason, e.created_at,
      coalesce(st.pending, 0)::int as pending, coalesce(st.delivered, 0)::int as delivered,
      coalesce(st.dead, 0)::int as dead, st.last_delivered_at
    from webhook_endpoints e
    left join lateral (
      select count(*) filter (where d.status in ('pending', 'delivering')) as pending,
        count(*) filter (where d.status = 'delivered') as delivered,
        count(*) filter (where d.status = 'dead') as dead,
        max(d.delivered_at) as last_delivered_at
      from webhook_deliveries d where d.endpoint_id = e.id and d.created_at >= ${since}
    ) st on true
    where e.tenant_id = ${tenantId}
    order by e.id`);
  return result.rows.map((row) => ({
    ...view(row),
    deliveries_24h: {
      pending: row.pending,
      delivered: row.delivered,
      dead: row.dead,
      last_delivered_at: iso(row.last_delivered_at),
    },
  }));
}

/** Removes an endpoint and its delivery history; nothing more is sent to it. */
export async function removeEndpoint(s: Services, tenantId: string, id: string): Promise<void> {
  const remove = () =>
    s.db.execute<{ id: string }>(sql`
      with endpoint as (
        select id from webhook_endpoints where id = ${id} and tenant_id = ${tenantId}
      ), deliveries as (
        delete from webhook_deliveries where endpoint_id in (select id from endpoint)
      )
      delete from webhook_endpoints where id in (select id from endpoint) returning id`);
  let result: Awaited<ReturnType<typeof remove>>;
  try {
    result = await remove();
  } catch (error) {
    // An event emitted while deleting inserted a delivery the statement did not see: again.
    if ((error as { code?: string }).code !== "23503") throw error;
    result = await remove();
  }
  if (result.rows.length === 0) throw new ApiError("not_found", `No webhook endpoint ${id}`);
}

async function requireEndpoint(s: Services, tenantId: string, id: string) {
  const result = await s.db.execute<{ id: string; url: string }>(sql`
    select id, url from webhook_endpoints where id = ${id} and tenant_id = ${tenantId}`);
  const endpoint = result.rows[0];
  if (!endpoint) throw new ApiError("not_found", `No webhook endpoint ${id}`);
  return endpoint;
}

export const DELIVERY_STATUSES = ["pending", "delivering", "delivered", "dead"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One endpoint's deliveries, newest first: what failed and why. */
export async function listDeliveries(
  s: Services,
  tenantId: string,
  endpointId: string,
  filter: { status?: DeliveryStatus; limit: number },
) {
  await requireEndpoint(s, tenantId, endpointId);
  const result = await s.db.execute<{
    id: string;
    event_id: string;
    event_type: string;
    status: DeliveryStatus;
    attempts: number;
    next_attempt_at: string | Date;
    last_error: string | null;
    created_at: string | Date;
    delivered_at: string | Date | null;
  }>(sql`
    select id, event_id, event_type, status, attempts, next_attempt_at,
      last_error, created_at, delivered_at
    from webhook_deliveries
    where endpoint_id = ${endpointId} and tenant_id = ${tenantId}
      ${filter.status ? sql`and status = ${filter.status}` : sql``}
    order by created_at desc, id desc
    limit ${filter.limit}`);
  return result.rows.map((row) => ({
    id: row.id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at:
      row.status === "pending" || row.status === "delivering" ? iso(row.next_attempt_at) : null,
    last_error: row.last_error,
    created_at: iso(row.created_at) as string,
    delivered_at: iso(row.delivered_at),
  }));
}

/**
 * Re-queues the endpoint's dead letters (or one delivery, dead or delivered, by id) for
 * delivery now, with the same `webhook-id`. The URL is vetted again first; a disabled
 * endpoint is re-enabled, since a replay is the tenant saying it is fixed.
 */
export async function replayDeliveries(
  s: Services,
  tenantId: string,
  endpointId: string,
  deliveryId?: string,
): Promise<number> {
  const endpoint = await requireEndpoint(s, tenantId, endpointId);
  await vetUrl(s, endpoint.url);
  const now = s.now();
  const which = deliveryId
    ? sql`id = ${deliveryId} and status in ('dead', 'delivered')`
    : sql`status = 'dead'`;
  const result = await s.db.execute<{ id: string | null; found: boolean }>(sql`
    with endpoint as (
      update webhook_endpoints set status = 'active', disabled_reason = null,
        consecutive_failures = 0
      where id = ${endpointId} and tenant_id = ${tenantId}
      returning id
    ), requeued as (
      update webhook_deliveries set status = 'pending', next_attempt_at = ${now},
        lease_until = null
      where id in (
        select id from webhook_deliveries
        where endpoint_id in (select id from endpoint) and ${which}
        order by created_at limit ${REPLAY_LIMIT})
      returning id
    )
    select r.id, ${deliveryId ?? null}::text is null or exists (
        select 1 from webhook_deliveries
        where id = ${deliveryId ?? null} and endpoint_id = ${endpointId}) as found
    from (select 1) one left join requeued r on true`);
  if (deliveryId && !result.rows[0]?.found) {
    throw new ApiError("not_found", `No delivery ${deliveryId} for webhook endpoint ${endpointId}`);
  }
  const ids = result.rows.flatMap((row) => (row.id ? [row.id] : []));
  if (ids.length > 0) s.background(() => deliverSoon(s, ids));
  return ids.length;
}
