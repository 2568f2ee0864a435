import { type SQL, sql } from "drizzle-orm";
import type { Services } from "../context";
import type { ContentPolicyDocument } from "../domain/content-rules";
import type { TenantRateLimits } from "../domain/rate-limits";
import { ApiError } from "../errors";
import { forgetTenantKeys } from "./api-keys";

/**
 * Admin settings a tenant's API keys carry in their cache (the accept path reads them from
 * there, without a query): each update refreshes those keys, so it applies within seconds.
 * A null value restores the deployment's setting.
 */
async function updateTenant(s: Services, tenantId: string, assignment: SQL): Promise<void> {
  const result = await s.db.execute(sql`update tenants set ${assignment} where id = ${tenantId}`);
  if (result.rowCount === 0) throw new ApiError("not_found", `No tenant ${tenantId}`);
  await forgetTenantKeys(s, tenantId);
}

const jsonb = (value: unknown) => sql`${value === null ? null : JSON.stringify(value)}::jsonb`;

export const setTenantRateLimits = (s: Services, id: string, limits: TenantRateLimits | null) =>
  updateTenant(s, id, sql`rate_limits = ${jsonb(limits)}`);

export const setTenantContentPolicy = (
  s: Services,
  id: string,
  policy: ContentPolicyDocument | null,
) => updateTenant(s, id, sql`content_policy = ${jsonb(policy)}`);

/** `{"daily": "100.00", "monthly": "2000.00"}` USD, as given. */
export const setTenantBudget = (
  s: Services,
  id: string,
  budget: { daily?: string | undefined; monthly?: string | undefined } | null,
) => updateTenant(s, id, sql`budget = ${jsonb(budget)}`);

export const setTenantCountries = (s: Services, id: string, countries: string[] | null) =>
  updateTenant(
    s,
    id,
    sql`allowed_countries = ${countries === null ? null : sql.param(countries)}::text[]`,
  );
