import { and, eq } from "drizzle-orm";
import type { Services } from "../context";
import { providerCredentials } from "../db/schema";
import type { ProviderName } from "../domain/providers";
import { ApiError } from "../errors";
import { encryptJson } from "../lib/crypto";
import { credentialContext, deploymentProviderNames } from "./provider-registry";

/**
 * A tenant's own provider credentials: sealed with AES-GCM (bound to tenant and
 * provider) before they reach the database, and never returned by the API.
 */
export async function storeCredentials(
  s: Services,
  tenantId: string,
  provider: ProviderName,
  credentials: unknown,
): Promise<void> {
  const key = s.config.ENCRYPTION_KEY;
  if (!key) {
    throw new ApiError(
      "encryption_unavailable",
      "This deployment has no ENCRYPTION_KEY, so it cannot store tenant credentials",
    );
  }
  const now = s.now();
  const ciphertext = await encryptJson(key, credentialContext(tenantId, provider), credentials);
  await s.db
    .insert(providerCredentials)
    .values({ tenantId, provider, ciphertext, updatedAt: now })
    .onConflictDoUpdate({
      target: [providerCredentials.tenantId, providerCredentials.provider],
      set: { ciphertext, updatedAt: now },
    });
}

export async function removeCredentials(s: Services, tenantId: string, provider: ProviderName) {
  const deleted = await s.db
    .delete(providerCredentials)
    .where(
      and(eq(providerCredentials.tenantId, tenantId), eq(providerCredentials.provider, provider)),
    )
    .returning({ provider: providerCredentials.provider });
  if (deleted.length === 0) throw new ApiError("not_found", `No ${provider} credentials stored`);
}

/** Which providers the tenant can use and whose credentials they are: never the secrets. */
export async function credentialStatus(s: Services, tenantId: string) {
  const own = await s.db
    .select({ provider: providerCredentials.provider, updatedAt: providerCredentials.updatedAt })
    .from(providerCredentials)
    .where(eq(providerCredentials.tenantId, tenantId));
  const deployment = new Set(deploymentProviderNames(s.config));
  const ownBy = new Map(own.map((row) => [row.provider, row.updatedAt]));
  return [...new Set([...deployment, ...ownBy.keys()])].sort().map((provider) => ({
    provider,
    source: ownBy.has(provider) ? ("tenant" as const) : ("deployment" as const),
    updated_at: ownBy.get(provider)?.toISOString() ?? null,
  }));
}
