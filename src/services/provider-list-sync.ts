import { sql } from "drizzle-orm";
import type { Services } from "../context";
import { deploymentProviderNames, optOutListClients } from "./provider-registry";

/**
 * Keeps the providers' own opt-out lists in step with ours: an opt-out is pushed to End User
 * Messaging's list (PutOptedOutNumber), an opt-in removed from it (DeleteOptedOutNumber) and
 * given back at SNS (OptInPhoneNumber; SNS has no call to add a number to its list). The
 * local opt-out is already recorded and effective; this outbox (`provider_opt_out_sync`)
 * only carries it further, so a provider failure loses nothing: the row stays and the
 * scheduler retries it with backoff. Rows are deleted once the provider has the change.
 */

type Action = "opt_out" | "opt_in";

/** Which providers take which action. */
const PROVIDERS_FOR: Record<Action, readonly string[]> = {
  opt_out: ["aws-sms-voice"],
  opt_in: ["aws-sms-voice", "aws-sns"],
};

/** A row that failed this often (or permanently) stays as a dead letter, with its last error. */
export const MAX_SYNC_ATTEMPTS = 8;
const BASE_BACKOFF_MS = 60_000;
const MAX_BACKOFF_MS = 6 * 3600_000;
/** A claimed row is leased this long: a crashed invocation's row is retried after it. */
const LEASE_MS = 120_000;

type SyncRow = {
  id: string;
  tenant_id: string;
  provider: string;
  action: Action;
  phone_sealed: string;
  attempts: number;
};

/**
 * Queues the change for each provider the tenant sends through (the deployment's, or its own
 * credentials): ONE statement, made only when an opt-out or opt-in actually changed. Pushed
 * right after the response; the scheduler retries what fails.
 */
export async function queueProviderListSync(
  s: Services,
  tenantId: string,
  phone: string,
  action: Action,
): Promise<void> {
  const deployment = deploymentProviderNames(s.config);
  const now = s.now();
  const sealed = await s.pii.seal(tenantId, phone);
  const result = await s.db.execute<{ id: string }>(sql`
    insert into provider_opt_out_sync (id, tenant_id, provider, action, phone_sealed,
      next_attempt_at, created_at)
    select 'pos_' || md5(random()::text || p.name), ${tenantId}, p.name, ${action}, ${sealed},
      ${now}, ${now}
    from unnest(${sql.param([...PROVIDERS_FOR[action]])}::text[]) as p(name)
    where p.name = any(${sql.param(deployment)}::text[]) or exists (
      select 1 from provider_credentials c where c.tenant_id = ${tenantId} and c.provider = p.name)
    returning id`);
  const ids = result.rows.map((row) => row.id);
  if (ids.length > 0) s.background(() => pushDue(s, s.now(), ids));
}

/** Pushes due rows (or only `ids`); returns how many the providers took. */
export async function pushDue(s: Services, now: Date, ids?: string[]): Promise<number> {
  const only = ids ? sql`and id = any(${sql.param(ids)}::text[])` : sql``;
  const claimed = await s.db.execute<SyncRow>(sql`
    update provider_opt_out_sync set next_attempt_at = ${new Date(now.getTime() + LEASE_MS)}
    where id in (
      select id from provider_opt_out_sync
      where next_attempt_at <= ${now} and attempts < ${MAX_SYNC_ATTEMPTS} ${only}
      order by next_attempt_at limit ${s.config.SCHEDULER_BATCH_SIZE}
      for update skip locked)
    returning id, tenant_id, provider, action, phone_sealed, attempts`);
  let pushed = 0;
  for (const row of claimed.rows) {
    if (await pushOne(s, row)) pushed += 1;
  }
  return pushed;
}

async function pushOne(s: Services, row: SyncRow): Promise<boolean> {
  const clients = await optOutListClients(s, row.tenant_id);
  const client = clients[row.provider as keyof typeof clients];
  const result = client
    ? await client.apply(row.action, await s.pii.open(row.tenant_id, row.phone_sealed))
    : { ok: false as const, retryable: false, error: "no credentials for this provider" };
  if (result.ok) {
    await s.db.execute(sql`delete from provider_opt_out_sync where id = ${row.id}`);
    return true;
  }
  const attempts = result.retryable ? row.attempts + 1 : MAX_SYNC_ATTEMPTS;
  const backoff = Math.min(BASE_BACKOFF_MS * 2 ** row.attempts, MAX_BACKOFF_MS);
  await s.db.execute(sql`
    update provider_opt_out_sync set attempts = ${attempts}, last_error = ${result.error},
      next_attempt_at = ${new Date(s.now().getTime() + backoff)}
    where id = ${row.id}`);
  s.log.warn("provider opt-out list not updated", {
    provider: row.provider,
    action: row.action,
    retryable: result.retryable,
    error: result.error,
  });
  return false;
}
