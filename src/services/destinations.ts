import { sql } from "drizzle-orm";
import type { Services } from "../context";
import { ApiError } from "../errors";
import { forgetTenantKeys } from "./api-keys";

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
