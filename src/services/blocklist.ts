import { sql } from "drizzle-orm";
import type { Services } from "../context";
import { PREFIX_PATTERN } from "../domain/destination-policy";
import { ApiError } from "../errors";
import { newId } from "../lib/ids";
import { subjectPhoneOrThrow } from "./opt-outs";

/**
 * Number and prefix blocklists: global (admin) and per tenant. Postgres holds them; Redis
 * holds one set per scope and kind, so a send checks them inside the policy step's single
 * Upstash request (src/services/send-policy.ts). Numbers are digests in both places.
 */

type Scope = string | null; // a tenant id, or null for the global list

const scopeKey = (scope: Scope) => (scope === null ? "g" : `t:${scope}`);
const setKey = (scope: Scope, kind: "number" | "prefix") =>
  `bl:${scopeKey(scope)}:${kind === "number" ? "n" : "p"}`;
/** The table's fingerprint at the last refill: the scheduler refills when it differs. */
const SYNC_KEY = "bl:synced";
/** Every set key written, so a refill can drop the sets Postgres no longer fills. */
const INDEX_KEY = "bl:index";

export interface BlocklistEntry {
  id: string;
  kind: "number" | "prefix";
  /** The number (null once unreadable) or the prefix. */
  value: string | null;
  reason: string | null;
  created_at: string;
}

interface EntryRow extends Record<string, unknown> {
  id: string;
  kind: "number" | "prefix";
  value: string;
  value_sealed: string | null;
  reason: string | null;
  created_at: Date | string;
}

const context = (scope: Scope) => scope ?? "global";

async function view(s: Services, scope: Scope, row: EntryRow): Promise<BlocklistEntry> {
  return {
    id: row.id,
    kind: row.kind,
    value:
      row.kind === "prefix"
        ? row.value
        : row.value_sealed
          ? await s.pii.open(context(scope), row.value_sealed)
          : null,
    reason: row.reason,
    created_at: new Date(row.created_at).toISOString(),
  };
}

const inScope = (scope: Scope) =>
  scope === null ? sql`tenant_id is null` : sql`tenant_id = ${scope}`;

export async function addBlocklistEntry(
  s: Services,
  scope: Scope,
  input: { number?: string | undefined; prefix?: string | undefined; reason?: string | undefined },
): Promise<BlocklistEntry> {
  let kind: "number" | "prefix";
  let value: string;
  let sealed: string | null = null;
  if (input.number !== undefined) {
    const phone = subjectPhoneOrThrow(s, input.number, "number");
    kind = "number";
    value = await s.pii.digest(phone);
    sealed = await s.pii.seal(context(scope), phone);
  } else if (input.prefix !== undefined && PREFIX_PATTERN.test(input.prefix)) {
    kind = "prefix";
    value = input.prefix;
  } else {
    throw new ApiError("validation_failed", "Give a number, or a prefix such as +1900", [
      { path: input.prefix === undefined ? "number" : "prefix", message: "required" },
    ]);
  }
  const result = await s.db.execute<EntryRow>(sql`
    insert into blocklist_entries (id, tenant_id, kind, value, value_sealed, reason, created_at)
    values (${newId("blk", s.now().getTime())}, ${scope}, ${kind}, ${value}, ${sealed},
      ${input.reason ?? null}, ${s.now()})
    on conflict (coalesce(tenant_id, ''), kind, value) do update set reason = excluded.reason
    returning id, kind, value, value_sealed, reason, created_at`);
  const row = result.rows[0];
  if (!row) throw new Error("blocklist insert returned no row");
  const key = setKey(scope, kind);
  await s.redis.pipeline().sadd(key, value).sadd(INDEX_KEY, key).exec();
  return view(s, scope, row);
}

export async function listBlocklist(s: Services, scope: Scope): Promise<BlocklistEntry[]> {
  const result = await s.db.execute<EntryRow>(sql`
    select id, kind, value, value_sealed, reason, created_at from blocklist_entries
    where ${inScope(scope)} order by id`);
  return Promise.all(result.rows.map((row) => view(s, scope, row)));
}

export async function removeBlocklistEntry(s: Services, scope: Scope, id: string): Promise<void> {
  const result = await s.db.execute<{ kind: "number" | "prefix"; value: string }>(sql`
    delete from blocklist_entries where id = ${id} and ${inScope(scope)}
    returning kind, value`);
  const row = result.rows[0];
  if (!row) throw new ApiError("not_found", `No blocklist entry ${id}`);
  await s.redis.srem(setKey(scope, row.kind), row.value);
}

/** The four sets a send is looked up in: global and tenant numbers, global and tenant prefixes. */
export const blocklistKeys = (tenantId: string): [string, string, string, string] => [
  setKey(null, "number"),
  setKey(tenantId, "number"),
  setKey(null, "prefix"),
  setKey(tenantId, "prefix"),
];

/** Why a lookup (src/services/send-policy.ts) blocks the destination, or null. */
export function describeBlock(
  numberScope: number,
  prefixScope: number,
  prefix: string | undefined,
): string | null {
  const list = (scope: number) =>
    scope === 1 ? "the global blocklist" : "this tenant's blocklist";
  if (numberScope > 0) return `the number is on ${list(numberScope)}`;
  if (prefixScope > 0 && prefix) return `${prefix} is on ${list(prefixScope)}`;
  return null;
}

/**
 * Scheduler: refills Redis from Postgres when the table changed since the last refill (an
 * admin change, which writes Redis at once too; a flush; another database): one query and
 * one Redis request when nothing changed; otherwise two more of each, whatever else Redis
 * holds (the sets to drop are read from INDEX_KEY, not found by scanning the keyspace, which
 * costs a request per few hundred keys). An admin change does not mark Redis as in step: one
 * made while a refill runs may be undone by it, and the next tick's refill restores it.
 */
export async function syncBlocklistCache(s: Services): Promise<boolean> {
  const current = await s.db.execute<{ fingerprint: string }>(sql`
    select count(*)::text || ':' || coalesce(max(id), '') as fingerprint from blocklist_entries`);
  const fingerprint = current.rows[0]?.fingerprint ?? "0:";
  if ((await s.redis.get<string>(SYNC_KEY)) === fingerprint) return false;
  const rows = await s.db.execute<{
    tenant_id: string | null;
    kind: "number" | "prefix";
    value: string;
  }>(sql`select tenant_id, kind, value from blocklist_entries`);
  const members = new Map<string, string[]>();
  for (const row of rows.rows) {
    const key = setKey(row.tenant_id, row.kind);
    const values = members.get(key) ?? [];
    values.push(row.value);
    members.set(key, values);
  }
  const previous = await s.redis.smembers<string[]>(INDEX_KEY);
  // One transaction: a send never sees a set half refilled.
  const refill = s.redis.multi();
  refill.del(INDEX_KEY, ...new Set([...previous, ...members.keys()]));
  for (const [key, [first = "", ...rest]] of members) {
    refill.sadd(key, first, ...rest);
    refill.sadd(INDEX_KEY, key);
  }
  refill.set(SYNC_KEY, fingerprint);
  await refill.exec();
  return true;
}
