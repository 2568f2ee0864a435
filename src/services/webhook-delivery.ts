import { sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import type { Services } from "../context";
import { type AfterFailure, afterFailure, DISABLE_AFTER_DEAD_LETTERS } from "../domain/webhooks";
import type { Config } from "../env";
import { decryptJson } from "../lib/crypto";
import { checkWebhookTarget, type TargetCheck, type TargetPolicy } from "../webhooks/resolve-host";

/*
 * Delivering customer webhooks: claim (lease), re-check the target (SSRF), POST the
 * signed event, record the outcome. Failures come back with exponential backoff until
 * 24 h after the event, then the delivery is a dead letter; an endpoint whose
 * deliveries keep dying, or whose host now resolves to a private address, is disabled.
 *
 * Per-endpoint concurrency cap: at most MAX_IN_FLIGHT_PER_ENDPOINT deliveries of one
 * endpoint are `delivering` with a live lease at any time, enforced by the claim:
 *  1. in a transaction, lock the endpoints that have due deliveries
 *     (`for no key update skip locked`): one claimer per endpoint at a time; an
 *     endpoint another claimer holds is skipped this round (it is being served);
 *  2. a second statement, whose snapshot is taken after those locks are held and so
 *     sees every claim committed before, counts each endpoint's live leases and claims
 *     at most cap − live of its due deliveries (ranked per endpoint).
 * Two claimers (a Cron tick and the delivery after an emit) therefore never both see
 * the same free slot. A crashed delivery holds its slot until its lease expires.
 */

/** Longer than the DNS check, the POST timeout and the bookkeeping; ends a dead isolate's hold. */
const LEASE_MS = 60_000;
/** The customer's endpoint has this long to answer. */
export const DELIVERY_TIMEOUT_MS = 5_000;
const DNS_TIMEOUT_MS = 3_000;
/** Time a delivery needs before the budget ends, or it is given back. */
const DELIVERY_RESERVE_MS = DELIVERY_TIMEOUT_MS + DNS_TIMEOUT_MS + 1_000;
export const MAX_IN_FLIGHT_PER_ENDPOINT = 2;
/** Parallel deliveries in one invocation: within Workers' 6 simultaneous connections. */
const CONCURRENCY = 3;
const CLAIM_BATCH = 10;
/** Endpoints locked by one claim. */
const ENDPOINTS_PER_CLAIM = 25;
/** Per Cron tick: 3 subrequests each (A, AAAA, POST), well inside the invocation's limit. */
const MAX_PER_TICK = 100;
const ERROR_SNIPPET_CHARS = 200;
/** The delivery after an emit runs in waitUntil, which ends about 30 s after the response. */
const INLINE_BUDGET_MS = 25_000;

/** The AES-GCM additional data of an endpoint's sealed signing secret. */
export const secretContext = (tenantId: string, endpointId: string) =>
  `webhook-secret:${tenantId}:${endpointId}`;

/** The SSRF policy from the configuration, plus hosts known to be this gateway. */
export function targetPolicy(config: Config, selfHosts: string[] = []): TargetPolicy {
  const own = config.PUBLIC_BASE_URL ? [new URL(config.PUBLIC_BASE_URL).hostname] : [];
  return {
    dohUrl: config.WEBHOOK_DOH_URL,
    allowedHosts: config.WEBHOOK_ALLOWED_HOSTS,
    selfHosts: [...own, ...selfHosts],
    timeoutMs: DNS_TIMEOUT_MS,
  };
}

type ClaimedDelivery = {
  id: string;
  endpoint_id: string;
  tenant_id: string;
  event_type: string;
  /** `{ id, type, created_at, data }`, sealed (events carry numbers and bodies). */
  payload_sealed: string;
  attempts: number;
  created_at: string | Date;
  url: string;
  secret_ciphertext: string;
  endpoint_status: "active" | "disabled";
  disabled_reason: string | null;
};

/** One claim's lease: the claim's clock and the lease value that proves ownership. */
interface Lease {
  now: Date;
  until: Date;
}

const dueAt = (now: Date) => sql`d.status in ('pending', 'delivering')
  and d.next_attempt_at <= ${now} and (d.lease_until is null or d.lease_until < ${now})`;

/** Claims due deliveries (optionally only `ids`) within the per-endpoint cap. */
async function claimDeliveries(
  s: Services,
  lease: Lease,
  limit: number,
  ids?: string[],
): Promise<ClaimedDelivery[]> {
  const due = dueAt(lease.now);
  const only = ids ? sql`and d.id = any(${sql.param(ids)}::text[])` : sql``;
  return s.db.transaction(async (tx) => {
    const locked = await tx.execute<{ id: string }>(sql`
      select e.id from webhook_endpoints e
      where e.id in (
        select d.endpoint_id from webhook_deliveries d where ${due} ${only}
        group by d.endpoint_id order by min(d.next_attempt_at) limit ${ENDPOINTS_PER_CLAIM})
      for no key update skip locked`);
    if (locked.rows.length === 0) return [];
    const endpoints = sql.param(locked.rows.map((row) => row.id));
    const claimed = await tx.execute<ClaimedDelivery>(sql`
      with live as (
        select endpoint_id, count(*)::int as n from webhook_deliveries
        where endpoint_id = any(${endpoints}::text[]) and status = 'delivering'
          and lease_until >= ${lease.now}
        group by endpoint_id
      ), ranked as (
        select d.id, d.endpoint_id, d.next_attempt_at,
          row_number() over (partition by d.endpoint_id order by d.next_attempt_at, d.id) as rank
        from webhook_deliveries d
        where d.endpoint_id = any(${endpoints}::text[]) and ${due} ${only}
      ), chosen as (
        select r.id from ranked r left join live l on l.endpoint_id = r.endpoint_id
        where r.rank + coalesce(l.n, 0) <= ${MAX_IN_FLIGHT_PER_ENDPOINT}
        order by r.next_attempt_at limit ${limit}
      )
      update webhook_deliveries d set status = 'delivering', lease_until = ${lease.until},
        attempts = d.attempts + 1
      from chosen c, webhook_endpoints e
      where d.id = c.id and e.id = d.endpoint_id and ${due}
      returning d.id, d.endpoint_id, d.tenant_id, d.event_type, d.payload_sealed, d.attempts,
        d.created_at, e.url, e.secret_ciphertext, e.status as endpoint_status, e.disabled_reason`);
    return claimed.rows;
  });
}

/** Guards every outcome: the row is still ours (our lease), not re-claimed after expiry. */
const ours = (d: ClaimedDelivery, lease: Lease) =>
  sql`id = ${d.id} and status = 'delivering' and lease_until = ${lease.until}`;

/** Gives a claimed delivery back untouched (the invocation ran out of time). */
async function release(s: Services, d: ClaimedDelivery, lease: Lease): Promise<void> {
  await s.db.execute(sql`
    update webhook_deliveries set status = 'pending', lease_until = null,
      attempts = greatest(attempts - 1, 0)
    where ${ours(d, lease)}`);
}

async function recordDelivered(s: Services, d: ClaimedDelivery, lease: Lease): Promise<void> {
  await s.db.execute(sql`
    with delivered as (
      update webhook_deliveries set status = 'delivered', delivered_at = ${s.now()},
        lease_until = null, last_error = null
      where ${ours(d, lease)}
      returning endpoint_id
    )
    update webhook_endpoints set consecutive_failures = 0
    where id in (select endpoint_id from delivered) and consecutive_failures <> 0`);
}

/** Ends the endpoint's pending deliveries with it: replay re-queues them once it is fixed. */
const killPending = (reason: string) => sql`
  update webhook_deliveries set status = 'dead', lease_until = null,
    last_error = ${`endpoint disabled: ${reason}`}
  where status = 'pending'`;

async function recordFailure(
  s: Services,
  d: ClaimedDelivery,
  lease: Lease,
  error: string,
  step: AfterFailure,
): Promise<void> {
  if (step.kind === "retry") {
    await s.db.execute(sql`
      update webhook_deliveries set status = 'pending', lease_until = null,
        next_attempt_at = ${step.at}, last_error = ${error}
      where ${ours(d, lease)}`);
    return;
  }
  const reason = `${DISABLE_AFTER_DEAD_LETTERS} deliveries in a row became dead letters (last error: ${error})`;
  await s.db.execute(sql`
    with dead as (
      update webhook_deliveries set status = 'dead', lease_until = null, last_error = ${error}
      where ${ours(d, lease)}
      returning endpoint_id
    ), endpoint as (
      update webhook_endpoints x set consecutive_failures = x.consecutive_failures + 1,
        status = case when x.consecutive_failures + 1 >= ${DISABLE_AFTER_DEAD_LETTERS}
          then 'disabled' else x.status end,
        disabled_reason = case when x.status = 'active'
          and x.consecutive_failures + 1 >= ${DISABLE_AFTER_DEAD_LETTERS}
          then ${reason} else x.disabled_reason end
      where x.id in (select endpoint_id from dead)
      returning x.id, x.status
    )
    ${killPending(reason)}
      and endpoint_id in (select id from endpoint where status = 'disabled')`);
}

/** The target is refused now (its DNS changed): the delivery dies and the endpoint is disabled. */
async function recordRefusal(
  s: Services,
  d: ClaimedDelivery,
  lease: Lease,
  refusal: string,
): Promise<void> {
  const reason = `webhook URL refused at delivery: ${refusal}`;
  await s.db.execute(sql`
    with dead as (
      update webhook_deliveries set status = 'dead', lease_until = null, last_error = ${reason}
      where ${ours(d, lease)}
      returning endpoint_id
    ), endpoint as (
      update webhook_endpoints set status = 'disabled', disabled_reason = ${reason}
      where id in (select endpoint_id from dead) and status = 'active'
      returning id
    )
    ${killPending(reason)} and endpoint_id in (select id from endpoint)`);
}

/** The first characters of an error answer, for `last_error`. */
async function snippet(response: Response): Promise<string> {
  try {
    const text = (await response.text()).replace(/\s+/g, " ").trim();
    return text.length > ERROR_SNIPPET_CHARS ? `${text.slice(0, ERROR_SNIPPET_CHARS)}…` : text;
  } catch {
    return "";
  }
}

/** POSTs the signed event. Null when the endpoint took it (2xx), else why not. */
async function post(s: Services, d: ClaimedDelivery): Promise<string | null> {
  const secret = await decryptJson(
    s.config.ENCRYPTION_KEY ?? "",
    secretContext(d.tenant_id, d.endpoint_id),
    d.secret_ciphertext,
  ).catch(() => null);
  if (typeof secret !== "string") return "the endpoint's signing secret cannot be decrypted";
  const body = await s.pii.open(d.tenant_id, d.payload_sealed).catch(() => null);
  if (body === null) return "the event's payload cannot be decrypted";
  // The wall clock, not the claim's: receivers reject signatures older than a few minutes.
  const timestamp = s.now();
  let response: Response;
  try {
    response = await fetch(d.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "edge-sms-gateway-webhooks/1",
        "webhook-id": d.id,
        "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)),
        "webhook-signature": new Webhook(secret).sign(d.id, timestamp, body),
      },
      body,
      // A redirect could point anywhere, the gateway's own network included.
      redirect: "manual",
      signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
    });
  } catch (error) {
    if (error instanceof Error && error.name === "TimeoutError") {
      return `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`;
    }
    return `request failed: ${String(error)}`;
  }
  if (response.status >= 200 && response.status < 300) {
    await response.body?.cancel();
    return null;
  }
  if (response.status >= 300 && response.status < 400) {
    await response.body?.cancel();
    return `HTTP ${response.status}: redirects are not followed`;
  }
  const text = await snippet(response);
  return `HTTP ${response.status}${text ? `: ${text}` : ""}`;
}

/** Target checks made by this invocation, by URL: one DNS lookup per host per invocation. */
type TargetCache = Map<string, Promise<TargetCheck>>;

async function deliverClaimed(
  s: Services,
  d: ClaimedDelivery,
  lease: Lease,
  targets: TargetCache,
): Promise<void> {
  if (d.endpoint_status !== "active") {
    await s.db.execute(sql`
      update webhook_deliveries set status = 'dead', lease_until = null,
        last_error = ${`endpoint disabled: ${d.disabled_reason ?? "disabled"}`}
      where ${ours(d, lease)}`);
    return;
  }
  let target = targets.get(d.url);
  if (!target) {
    target = checkWebhookTarget(d.url, targetPolicy(s.config));
    targets.set(d.url, target);
  }
  const check = await target;
  if (!check.ok && check.unsafe) {
    s.log.warn("webhook target refused at delivery", {
      delivery_id: d.id,
      endpoint_id: d.endpoint_id,
      reason: check.reason,
    });
    await recordRefusal(s, d, lease, check.reason);
    return;
  }
  const error = check.ok ? await post(s, d) : check.reason;
  if (error === null) {
    await recordDelivered(s, d, lease);
  } else {
    const step = afterFailure({
      attempts: d.attempts,
      createdAt: new Date(d.created_at),
      now: lease.now,
      jitter: Math.random(),
    });
    await recordFailure(s, d, lease, error, step);
  }
  s.log.info("webhook delivery", {
    delivery_id: d.id,
    endpoint_id: d.endpoint_id,
    attempt: d.attempts,
    outcome: error === null ? "delivered" : "failed",
    error,
  });
}

/**
 * Claim, deliver (CONCURRENCY at a time), claim again, until nothing is due, `max`
 * deliveries were made or the budget is spent. What is left stays due.
 */
async function deliverLoop(
  s: Services,
  opts: { clock: () => Date; budgetEndsAt: number; max: number; ids?: string[] },
): Promise<number> {
  const targets: TargetCache = new Map();
  let total = 0;
  while (total < opts.max && Date.now() + DELIVERY_RESERVE_MS < opts.budgetEndsAt) {
    const now = opts.clock();
    const lease = { now, until: new Date(now.getTime() + LEASE_MS) };
    const batch = await claimDeliveries(
      s,
      lease,
      Math.min(CLAIM_BATCH, opts.max - total),
      opts.ids,
    );
    if (batch.length === 0) break;
    total += batch.length;
    const queue = [...batch];
    const worker = async () => {
      for (let d = queue.shift(); d; d = queue.shift()) {
        const delivery = d;
        if (Date.now() + DELIVERY_RESERVE_MS >= opts.budgetEndsAt) {
          await release(s, delivery, lease);
          continue;
        }
        // One delivery's failure must not stop the others; its lease lets a later tick retry.
        await deliverClaimed(s, delivery, lease, targets).catch((error: unknown) =>
          s.log.error("webhook delivery crashed", {
            delivery_id: delivery.id,
            error: String(error),
          }),
        );
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  }
  return total;
}

/**
 * For the Cron tick: delivers due deliveries (new ones the inline delivery could not
 * take, retries whose backoff elapsed, leases of dead isolates) in bounded batches,
 * within the per-endpoint cap, until `budgetEndsAt`. Returns how many it claimed.
 */
export function deliverDueWebhooks(s: Services, now: Date, budgetEndsAt: number): Promise<number> {
  return deliverLoop(s, { clock: () => now, budgetEndsAt, max: MAX_PER_TICK });
}

/** Right after an emit or a replay (in waitUntil): delivers these deliveries if it can. */
export async function deliverSoon(s: Services, ids: string[]): Promise<void> {
  await deliverLoop(s, {
    clock: () => s.now(),
    budgetEndsAt: Date.now() + INLINE_BUDGET_MS,
    max: ids.length,
    ids,
  });
}
