import { sql } from "drizzle-orm";
import type { Services } from "../context";
import {
  type ConsentMethod,
  type ConsentPurpose,
  DEFAULT_OPT_OUT_FOOTER,
} from "../domain/compliance";
import type { QuietHoursPolicy } from "../domain/quiet-hours";
import { ApiError } from "../errors";
import { newId } from "../lib/ids";
import { forgetTenantKeys } from "./api-keys";
import { recordBlockedSend } from "./audit";
import { consentGivenAt, subjectPhoneOrThrow } from "./opt-outs";

/**
 * Consent evidence (append-only: a withdrawal is a new row) and the rules it feeds:
 * promotional messages need marketing consent on record, when the tenant requires it (the
 * default), and carry the tenant's opt-out footer.
 */

export interface ConsentInput {
  phone: string;
  purpose: ConsentPurpose;
  method: ConsentMethod;
  evidence: string;
  withdrawn?: boolean | undefined;
  givenAt?: Date | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

interface ConsentRow extends Record<string, unknown> {
  id: string;
  phone_sealed: string | null;
  purpose: ConsentPurpose;
  method: ConsentMethod;
  withdrawn: boolean;
  given_at: Date | string;
  evidence_sealed: string | null;
  created_at: Date | string;
}

/** What a consent row seals: the evidence and where it came from are personal data too. */
interface SealedEvidence {
  ip: string | null;
  user_agent: string | null;
  evidence: string | null;
}

/** Seals one consent's number and evidence for the row that records it. */
export async function sealConsent(
  s: Services,
  tenantId: string,
  phone: string,
  evidence: { ip?: string | undefined; userAgent?: string | undefined; evidence: string },
): Promise<{ phoneSealed: string; evidenceSealed: string }> {
  const sealed: SealedEvidence = {
    ip: evidence.ip ?? null,
    user_agent: evidence.userAgent ?? null,
    evidence: evidence.evidence,
  };
  const [phoneSealed, evidenceSealed] = await Promise.all([
    s.pii.seal(tenantId, phone),
    s.pii.sealJson(tenantId, sealed),
  ]);
  return { phoneSealed, evidenceSealed };
}

async function view(s: Services, tenantId: string, row: ConsentRow) {
  const [phone, evidence] = await Promise.all([
    row.phone_sealed ? s.pii.open(tenantId, row.phone_sealed) : null,
    row.evidence_sealed ? s.pii.openJson<SealedEvidence>(tenantId, row.evidence_sealed) : null,
  ]);
  return {
    id: row.id,
    phone,
    purpose: row.purpose,
    method: row.method,
    withdrawn: row.withdrawn,
    given_at: new Date(row.given_at).toISOString(),
    ip: evidence?.ip ?? null,
    user_agent: evidence?.user_agent ?? null,
    evidence: evidence?.evidence ?? null,
    created_at: new Date(row.created_at).toISOString(),
  };
}

const consentColumns = sql`id, phone_sealed, purpose, method, withdrawn, given_at,
  evidence_sealed, created_at`;

export async function recordConsent(s: Services, tenantId: string, input: ConsentInput) {
  const phone = subjectPhoneOrThrow(s, input.phone);
  const now = s.now();
  const givenAt = consentGivenAt(s, input.givenAt);
  const [digest, sealed] = await Promise.all([
    s.pii.digest(phone),
    sealConsent(s, tenantId, phone, input),
  ]);
  const result = await s.db.execute<ConsentRow>(sql`
    insert into consents (id, tenant_id, phone_digest, phone_sealed, purpose, method, withdrawn,
      given_at, evidence_sealed, created_at)
    values (${newId("cns", now.getTime())}, ${tenantId}, ${digest}, ${sealed.phoneSealed},
      ${input.purpose}, ${input.method}, ${input.withdrawn ?? false}, ${givenAt},
      ${sealed.evidenceSealed}, ${now})
    returning ${consentColumns}`);
  const row = result.rows[0];
  if (!row) throw new Error("consent insert returned no row");
  return view(s, tenantId, row);
}

/**
 * A number's consent evidence, latest first (by when it was given), with where each purpose
 * stands: the latest row of a purpose holds, so a withdrawal wins over older consent.
 */
export async function listConsents(s: Services, tenantId: string, phoneInput: string) {
  const phone = subjectPhoneOrThrow(s, phoneInput);
  const digests = await s.pii.digests(phone);
  const result = await s.db.execute<ConsentRow>(sql`
    select ${consentColumns} from consents
    where tenant_id = ${tenantId} and phone_digest = any(${sql.param(digests)}::text[])
    order by given_at desc, id desc`);
  const data = await Promise.all(result.rows.map((row) => view(s, tenantId, row)));
  const holds = (purpose: ConsentPurpose) =>
    data.find((c) => c.purpose === purpose)?.withdrawn === false;
  return { phone, marketing: holds("marketing"), transactional: holds("transactional"), data };
}

/**
 * The opt-out footer a promotional message ends with, after checking marketing consent when
 * the tenant requires it. ONE query (tenant settings and the latest marketing consent
 * together), made only for promotional messages.
 */
export async function promotionalFooter(
  s: Services,
  tenantId: string,
  phone: string,
  digests: string[],
): Promise<string> {
  const result = await s.db.execute<{
    require_marketing_consent: boolean;
    opt_out_footer: string | null;
    consented: boolean | null;
  }>(sql`
    select t.require_marketing_consent, t.opt_out_footer, (
      select not c.withdrawn from consents c
      where c.tenant_id = t.id and c.phone_digest = any(${sql.param(digests)}::text[])
        and c.purpose = 'marketing'
      order by c.given_at desc, c.id desc limit 1) as consented
    from tenants t where t.id = ${tenantId}`);
  const tenant = result.rows[0];
  if (!tenant) throw new ApiError("not_found", `No tenant ${tenantId}`);
  if (tenant.require_marketing_consent && tenant.consented !== true) {
    await recordBlockedSend(s, tenantId, digests[0], "promotional", "consent_required");
    throw new ApiError(
      "consent_required",
      `Promotional messages need marketing consent on record for ${phone} (POST /v1/consents)`,
    );
  }
  return tenant.opt_out_footer ?? DEFAULT_OPT_OUT_FOOTER;
}

export interface ComplianceSettings {
  require_marketing_consent: boolean;
  opt_out_footer: string;
  /** The tenant's own quiet-hours document (on top of the deployment's), or null. */
  quiet_hours: QuietHoursPolicy | null;
}

/** Admin: a tenant's consent requirement and footer (null restores the default footer). */
export async function setTenantCompliance(
  s: Services,
  tenantId: string,
  input: {
    requireMarketingConsent?: boolean | undefined;
    optOutFooter?: string | null | undefined;
    quietHours?: QuietHoursPolicy | null | undefined;
  },
): Promise<ComplianceSettings> {
  const sets = [
    input.requireMarketingConsent === undefined
      ? null
      : sql`require_marketing_consent = ${input.requireMarketingConsent}`,
    input.optOutFooter === undefined ? null : sql`opt_out_footer = ${input.optOutFooter}`,
    input.quietHours === undefined
      ? null
      : sql`quiet_hours_policy = ${input.quietHours === null ? null : JSON.stringify(input.quietHours)}::jsonb`,
  ].filter((set) => set !== null);
  const columns = sql`require_marketing_consent, opt_out_footer, quiet_hours_policy`;
  const result = await s.db.execute<{
    require_marketing_consent: boolean;
    opt_out_footer: string | null;
    quiet_hours_policy: QuietHoursPolicy | null;
  }>(
    sets.length > 0
      ? sql`update tenants set ${sql.join(sets, sql`, `)} where id = ${tenantId}
          returning ${columns}`
      : sql`select ${columns} from tenants where id = ${tenantId}`,
  );
  const row = result.rows[0];
  if (!row) throw new ApiError("not_found", `No tenant ${tenantId}`);
  // The accept path reads the quiet-hours policy from the cached API key: refresh those.
  if (input.quietHours !== undefined) await forgetTenantKeys(s, tenantId);
  return {
    require_marketing_consent: row.require_marketing_consent,
    opt_out_footer: row.opt_out_footer ?? DEFAULT_OPT_OUT_FOOTER,
    quiet_hours: row.quiet_hours_policy,
  };
}
