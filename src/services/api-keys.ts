import { and, eq, isNull, sql } from "drizzle-orm";
import type { Services } from "../context";
import { apiKeys, tenants } from "../db/schema";
import type { ContentPolicyDocument } from "../domain/content-rules";
import type { QuietHoursPolicy } from "../domain/quiet-hours";
import type { TenantRateLimits } from "../domain/rate-limits";
import { ApiError } from "../errors";
import { randomBase62, sha256Hex } from "../lib/crypto";
import { newId } from "../lib/ids";

export const SCOPES = [
  "messages:send",
  "messages:read",
  "settings:read",
  "settings:write",
] as const;
export type Scope = (typeof SCOPES)[number];
export type KeyMode = "test" | "live";

export interface Principal {
  keyId: string;
  tenantId: string;
  mode: KeyMode;
  scopes: Scope[];
  expiresAt: string | null;
  /** The tenant's own quiet-hours policy (on top of the deployment's), cached with the key. */
  quietHours?: QuietHoursPolicy | null;
  /** The tenant's rate-limit tier and overrides, cached with the key too. */
  rateLimits?: TenantRateLimits | null;
  /** Destination countries the tenant may send to (null: the deployment's list). */
  allowedCountries?: string[] | null;
  /** The tenant's content policy document, cached with the key too. */
  contentPolicy?: ContentPolicyDocument | null;
  /** The tenant's spend caps document, cached with the key too. */
  budget?: unknown;
}

/** What the cache holds for a key hash: the principal, or a tombstone after revocation. */
type CachedKey = Principal | { revoked: true };

const CACHE_TTL_SECONDS = 300;
/** Longer than the cache TTL, so no stale positive entry can outlive the tombstone. */
const TOMBSTONE_TTL_SECONDS = 2 * CACHE_TTL_SECONDS;
const cacheKey = (hash: string) => `apikey:${hash}`;

export interface IssuedKey {
  id: string;
  key: string;
  prefix: string;
  mode: KeyMode;
  scopes: Scope[];
  expires_at: string | null;
  created_at: string;
}

export interface KeySpec {
  mode: KeyMode;
  scopes: Scope[];
  expiresAt: Date | null;
}

function newKeyRow(spec: KeySpec, now: Date) {
  const key = `sk_${spec.mode}_${randomBase62(32)}`;
  return { key, id: newId("key", now.getTime()), prefix: key.slice(0, 12) };
}

const issued = (
  row: { id: string; prefix: string },
  key: string,
  spec: KeySpec,
  now: Date,
): IssuedKey => ({
  id: row.id,
  key,
  prefix: row.prefix,
  mode: spec.mode,
  scopes: spec.scopes,
  expires_at: spec.expiresAt?.toISOString() ?? null,
  created_at: now.toISOString(),
});

/** Creates a tenant and its first key in one statement; the key is shown only here. */
export async function createTenant(s: Services, name: string, spec: KeySpec) {
  const now = s.now();
  const tenantId = newId("ten", now.getTime());
  const { key, id, prefix } = newKeyRow(spec, now);
  const hash = await sha256Hex(key);
  await s.db.execute(sql`
    with tenant as (
      insert into tenants (id, name, created_at) values (${tenantId}, ${name}, ${now})
    )
    insert into api_keys (id, tenant_id, hash, prefix, mode, scopes, expires_at, created_at)
    values (${id}, ${tenantId}, ${hash}, ${prefix}, ${spec.mode}, ${sql.param(spec.scopes)},
      ${spec.expiresAt}, ${now})`);
  return {
    id: tenantId,
    name,
    created_at: now.toISOString(),
    api_key: issued({ id, prefix }, key, spec, now),
  };
}

export async function addKey(s: Services, tenantId: string, spec: KeySpec): Promise<IssuedKey> {
  const now = s.now();
  const { key, id, prefix } = newKeyRow(spec, now);
  const hash = await sha256Hex(key);
  const result = await s.db.execute(sql`
    insert into api_keys (id, tenant_id, hash, prefix, mode, scopes, expires_at, created_at)
    select ${id}, id, ${hash}, ${prefix}, ${spec.mode}, ${sql.param(spec.scopes)},
      ${spec.expiresAt}, ${now}
    from tenants where id = ${tenantId}`);
  if (result.rowCount === 0) throw new ApiError("not_found", `No tenant ${tenantId}`);
  return issued({ id, prefix }, key, spec, now);
}

export async function listKeys(s: Services, tenantId: string) {
  const [tenant] = await s.db
    .select({ id: tenants.id })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  if (!tenant) throw new ApiError("not_found", `No tenant ${tenantId}`);
  const rows = await s.db
    .select()
    .from(apiKeys)
    .where(eq(apiKeys.tenantId, tenantId))
    .orderBy(apiKeys.id);
  return rows.map((k) => ({
    id: k.id,
    prefix: k.prefix,
    mode: k.mode,
    scopes: k.scopes as Scope[],
    expires_at: k.expiresAt?.toISOString() ?? null,
    revoked_at: k.revokedAt?.toISOString() ?? null,
    created_at: k.createdAt.toISOString(),
  }));
}

/** Revokes at once: the database row, and a tombstone over any cached copy. */
export async function revokeKey(s: Services, tenantId: string, keyId: string): Promise<void> {
  const [row] = await s.db
    .update(apiKeys)
    .set({ revokedAt: s.now() })
    .where(and(eq(apiKeys.id, keyId), eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)))
    .returning({ hash: apiKeys.hash });
  if (!row) throw new ApiError("not_found", `No active key ${keyId} for tenant ${tenantId}`);
  await s.redis.set<CachedKey>(
    cacheKey(row.hash),
    { revoked: true },
    { ex: TOMBSTONE_TTL_SECONDS },
  );
}

/**
 * Drops the tenant's cached principals after a change to what they carry (its quiet-hours
 * policy, its rate limits, its countries, its content policy): the next request reads the database. Revoked keys keep their tombstones.
 */
export async function forgetTenantKeys(s: Services, tenantId: string): Promise<void> {
  const rows = await s.db
    .select({ hash: apiKeys.hash })
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)));
  if (rows.length > 0) await s.redis.del(...rows.map((row) => cacheKey(row.hash)));
}

/**
 * Resolves a bearer key to its principal: one Redis round trip when cached,
 * else one Postgres query that fills the cache. The cache write is `NX`, so it
 * can never overwrite a revocation tombstone written meanwhile.
 */
export async function authenticate(s: Services, key: string): Promise<Principal> {
  const hash = await sha256Hex(key);
  let cached = await s.redis.get<CachedKey>(cacheKey(hash));
  if (!cached) {
    const [row] = await s.db
      .select({
        key: apiKeys,
        quietHours: tenants.quietHoursPolicy,
        rateLimits: tenants.rateLimits,
        allowedCountries: tenants.allowedCountries,
        contentPolicy: tenants.contentPolicy,
        budget: tenants.budget,
      })
      .from(apiKeys)
      .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
      .where(eq(apiKeys.hash, hash));
    if (!row) throw new ApiError("unauthorized", "The API key is not valid");
    cached = row.key.revokedAt
      ? { revoked: true }
      : {
          keyId: row.key.id,
          tenantId: row.key.tenantId,
          mode: row.key.mode,
          scopes: row.key.scopes as Scope[],
          expiresAt: row.key.expiresAt?.toISOString() ?? null,
          quietHours: (row.quietHours as QuietHoursPolicy | null) ?? null,
          rateLimits: (row.rateLimits as TenantRateLimits | null) ?? null,
          allowedCountries: row.allowedCountries ?? null,
          contentPolicy: (row.contentPolicy as ContentPolicyDocument | null) ?? null,
          budget: row.budget ?? null,
        };
    await s.redis.set(cacheKey(hash), cached, { ex: CACHE_TTL_SECONDS, nx: true });
  }
  if ("revoked" in cached) throw new ApiError("api_key_revoked", "The API key has been revoked");
  if (cached.expiresAt && Date.parse(cached.expiresAt) <= s.now().getTime()) {
    throw new ApiError("api_key_expired", "The API key has expired");
  }
  return cached;
}

export function requireScope(principal: Principal, scope: Scope): void {
  if (!principal.scopes.includes(scope)) {
    throw new ApiError("insufficient_scope", `The API key lacks the scope ${scope}`);
  }
}
