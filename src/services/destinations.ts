import { sql } from "drizzle-orm";
import type { Services } from "../context";
import type { ContentPolicyDocument } from "../domain/content-rules";
import { ApiError } from "../errors";
import { forgetTenantKeys } from "./api-keys";

/** Admin: a tenant's content policy (null: the deployment's); applies within seconds. */
export async function setTenantContentPolicy(
  s: Services,
  tenantId: string,
  policy: ContentPolicyDocument | null,
): Promise<void> {
  const result = await s.db.execute(sql`
    update tenants set content_policy = ${policy === null ? null : JSON.stringify(policy)}::jsonb
    where id = ${tenantId}`);
  if (result.rowCount === 0) throw new ApiError("not_found", `No tenant ${tenantId}`);
  await forgetTenantKeys(s, tenantId);
}

/** Admin: a tenant's destination countries (null: the deployment's); applies within seconds. */
export async function setTenantCountries(
  s: Services,
  tenantId: string,
  countries: string[] | null,
): Promise<void> {
  const result = await s.db.execute(sql`
    update tenants set allowed_countries = ${countries === null ? null : sql.param(countries)}::text[]
    where id = ${tenantId}`);
  if (result.rowCount === 0) throw new ApiError("not_found", `No tenant ${tenantId}`);
  await forgetTenantKeys(s, tenantId);
}
