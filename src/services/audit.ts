import { sql } from "drizzle-orm";
import type { Services } from "../context";

/**
 * The compliance audit (table `compliance_audit`, append-only, kept 4 years). Opt-outs,
 * consent and quiet-hours deferrals are written by triggers in the same transaction as the
 * change (drizzle/0011); what has no row of its own to trigger on is written here. Entries
 * name the person by digest only: the audit holds no personal data.
 */

export type AuditKind = "send.blocked" | "subject.erased" | "pumping.detected";

export async function audit(
  s: Services,
  tenantId: string,
  kind: AuditKind,
  subjectDigest: string | null,
  detail: Record<string, unknown>,
): Promise<void> {
  await s.db.execute(sql`
    insert into compliance_audit (tenant_id, kind, subject_digest, detail, occurred_at)
    values (${tenantId}, ${kind}, ${subjectDigest}, ${JSON.stringify(detail)}::jsonb, now())`);
}

/** A send refused for compliance (opted out, no consent): the blocked attempt on record. */
export function recordBlockedSend(
  s: Services,
  tenantId: string,
  subjectDigest: string | undefined,
  type: string,
  reason: "recipient_opted_out" | "consent_required",
): Promise<void> {
  return audit(s, tenantId, "send.blocked", subjectDigest ?? null, { type, reason });
}
