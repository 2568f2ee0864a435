import { sql } from "drizzle-orm";
import type { Services } from "../context";
import {
  type ConsentMethod,
  type ConsentPurpose,
  canonicalChannels,
  isProviderOptOut,
  normalizeSubjectPhone,
  OPT_OUT_CHANNELS,
  OPT_OUT_CSV_HEADER,
  type OptOutChannel,
  optOutCsvLines,
  parseOptOutCsv,
} from "../domain/compliance";
import { ApiError } from "../errors";
import { newId } from "../lib/ids";
import type { SendResult } from "../providers/types";
import { emitEvent } from "./events";

/**
 * One home for opt-outs, whatever their origin: STOP replies (inbound.ts), the API and its
 * CSV import, and provider errors that say the person opted out (dispatch.ts). An opt-out is
 * effective at once: the database refuses any later message row to the number while the
 * opt-out covers `sms` (trigger, drizzle/0005 and 0008).
 */

export interface OptOutView {
  phone: string;
  channels: OptOutChannel[];
  source: string;
  reason: string | null;
  created_at: string;
}

interface OptOutRow extends Record<string, unknown> {
  phone_e164: string;
  channels: string[];
  source: string;
  reason: string | null;
  created_at: Date | string;
}

const view = (row: OptOutRow): OptOutView => ({
  phone: row.phone_e164,
  channels: canonicalChannels(row.channels),
  source: row.source,
  reason: row.reason,
  created_at: new Date(row.created_at).toISOString(),
});

/** A person's number from the API, in E.164, or the invalid_phone_number problem on `path`. */
export function subjectPhoneOrThrow(s: Services, input: string, path = "phone"): string {
  const phone = normalizeSubjectPhone(input, s.config.DEFAULT_REGION);
  if (!phone.ok) {
    throw new ApiError("invalid_phone_number", `"${path}" is not a valid phone number`, [
      { path, message: phone.reason },
    ]);
  }
  return phone.e164;
}

/** Union of the channels: a second opt-out can widen one, never narrow it. */
const mergeChannels = sql`array(select distinct unnest(opt_outs.channels || excluded.channels))`;

/**
 * Records an opt-out, or widens an existing one to more channels, in one statement; emits
 * `optout.created` when it changed anything. `changed` is false when the number was already
 * opted out of those channels (a second STOP stays silent).
 */
async function upsertOptOut(
  s: Services,
  tenantId: string,
  phone: string,
  source: string,
  channels: readonly OptOutChannel[],
  reason: string | null,
): Promise<{ optOut: OptOutView; created: boolean; changed: boolean }> {
  const now = s.now();
  const result = await s.db.execute<OptOutRow & { created: boolean; changed: boolean }>(sql`
    with upsert as (
      insert into opt_outs (tenant_id, phone_e164, source, channels, reason, created_at)
      values (${tenantId}, ${phone}, ${source}, ${sql.param(canonicalChannels(channels))}::text[],
        ${reason}, ${now})
      on conflict (tenant_id, phone_e164) do update set channels = ${mergeChannels}
        where not (excluded.channels <@ opt_outs.channels)
      returning phone_e164, channels, source, reason, created_at, (xmax = 0) as created,
        true as changed
    )
    select * from upsert
    union all
    select phone_e164, channels, source, reason, created_at, false, false from opt_outs
    where tenant_id = ${tenantId} and phone_e164 = ${phone} and not exists (select 1 from upsert)`);
  const row = result.rows[0];
  if (!row) throw new Error("opt-out upsert returned no row");
  const optOut = view(row);
  if (row.changed) {
    await emitEvent(s, tenantId, "optout.created", { ...optOut, created_at: now.toISOString() });
  }
  return { optOut, created: row.created, changed: row.changed };
}

/**
 * Records an opt-out (universal across channels unless narrowed); returns whether it changed
 * anything, i.e. whether the person is newly opted out of one of these channels.
 */
export async function recordOptOut(
  s: Services,
  tenantId: string,
  phone: string,
  source: string,
  options: { channels?: readonly OptOutChannel[]; reason?: string | null } = {},
): Promise<boolean> {
  const { changed } = await upsertOptOut(
    s,
    tenantId,
    phone,
    source,
    options.channels ?? OPT_OUT_CHANNELS,
    options.reason ?? null,
  );
  return changed;
}

/**
 * A START reply: the person takes SMS back. An opt-out of SMS only is removed; one that also
 * covers other channels loses `sms` and keeps the rest. One statement (the two branches touch
 * disjoint rows).
 */
export async function recordOptIn(s: Services, tenantId: string, phone: string): Promise<boolean> {
  const result = await s.db.execute<{ changed: number }>(sql`
    with removed as (
      delete from opt_outs
      where tenant_id = ${tenantId} and phone_e164 = ${phone} and channels <@ '{sms}'::text[]
      returning 1
    ), narrowed as (
      update opt_outs set channels = array_remove(channels, 'sms')
      where tenant_id = ${tenantId} and phone_e164 = ${phone} and 'sms' = any(channels)
        and not (channels <@ '{sms}'::text[])
      returning 1
    )
    select (select count(*) from removed) + (select count(*) from narrowed) as changed`);
  const changed = Number(result.rows[0]?.changed ?? 0) > 0;
  if (changed) {
    await emitEvent(s, tenantId, "optin.created", {
      phone,
      channels: ["sms"],
      source: "sms",
      created_at: s.now().toISOString(),
    });
  }
  return changed;
}

/**
 * After a failed send attempt: when the provider's error says the person is on its opt-out
 * list, the opt-out is recorded here too (source `provider`), so the next send is refused
 * before any provider is called. Never fails the dispatch that called it.
 */
export async function recordProviderOptOut(
  s: Services,
  tenantId: string,
  phone: string,
  provider: string,
  result: SendResult,
): Promise<void> {
  if (result.outcome === "accepted" || !isProviderOptOut(provider, result.errorCode)) return;
  await recordOptOut(s, tenantId, phone, "provider", {
    reason: `${provider} ${result.errorCode}: ${result.errorMessage}`.slice(0, 500),
  }).catch((error: unknown) =>
    s.log.error("provider opt-out not recorded", { provider, error: String(error) }),
  );
}

export interface OptOutInput {
  phone: string;
  channels?: readonly OptOutChannel[] | undefined;
  source?: string | undefined;
  reason?: string | undefined;
}

/** POST /v1/opt-outs: the opt-out as it now stands, and whether it is new. */
export async function createOptOut(s: Services, tenantId: string, input: OptOutInput) {
  const phone = subjectPhoneOrThrow(s, input.phone);
  return upsertOptOut(
    s,
    tenantId,
    phone,
    input.source ?? "api",
    input.channels && input.channels.length > 0 ? input.channels : OPT_OUT_CHANNELS,
    input.reason ?? null,
  );
}

const optOutColumns = sql`phone_e164, channels, source, reason, created_at`;

export async function getOptOut(s: Services, tenantId: string, phoneInput: string) {
  const phone = subjectPhoneOrThrow(s, phoneInput);
  const result = await s.db.execute<OptOutRow>(sql`
    select ${optOutColumns} from opt_outs where tenant_id = ${tenantId} and phone_e164 = ${phone}`);
  const row = result.rows[0];
  if (!row) throw new ApiError("not_found", `${phone} has not opted out`);
  return view(row);
}

/** The cursor is opaque to clients: the last number of the page, base64url-encoded. */
const encodeCursor = (phone: string) =>
  btoa(phone).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

function decodeCursor(cursor: string): string {
  try {
    return atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    throw new ApiError("validation_failed", "The cursor is not one this API returned", [
      { path: "cursor", message: "invalid cursor" },
    ]);
  }
}

async function optOutPage(s: Services, tenantId: string, after: string | null, limit: number) {
  const result = await s.db.execute<OptOutRow>(sql`
    select ${optOutColumns} from opt_outs
    where tenant_id = ${tenantId} ${after === null ? sql`` : sql`and phone_e164 > ${after}`}
    order by phone_e164 limit ${limit}`);
  return result.rows.map(view);
}

/** A page of the tenant's opt-outs, by number. */
export async function listOptOuts(
  s: Services,
  tenantId: string,
  query: { cursor?: string | undefined; limit: number },
) {
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const rows = await optOutPage(s, tenantId, after, query.limit + 1);
  const data = rows.slice(0, query.limit);
  const last = data.at(-1);
  return { data, next_cursor: rows.length > query.limit && last ? encodeCursor(last.phone) : null };
}

const EXPORT_PAGE = 5_000;

/** Every opt-out of the tenant as CSV (read in pages by number), re-importable as is. */
export async function exportOptOuts(s: Services, tenantId: string): Promise<string> {
  const parts = [`${OPT_OUT_CSV_HEADER}\r\n`];
  let after: string | null = null;
  for (;;) {
    const page = await optOutPage(s, tenantId, after, EXPORT_PAGE);
    parts.push(optOutCsvLines(page));
    const last = page.at(-1);
    if (!last || page.length < EXPORT_PAGE) return parts.join("");
    after = last.phone;
  }
}

/**
 * POST /v1/opt-outs/import: good rows are recorded in one statement (a number listed twice is
 * merged; one already opted out of those channels is left as it is, so importing the same
 * file again changes nothing); bad rows are reported by line. Imports emit no events.
 */
export async function importOptOuts(s: Services, tenantId: string, csv: string) {
  const parsed = parseOptOutCsv(csv, s.config.DEFAULT_REGION);
  if (!parsed.ok) {
    throw new ApiError("validation_failed", parsed.message, [
      { path: "body", message: parsed.message },
    ]);
  }
  const byPhone = new Map<string, { channels: OptOutChannel[]; source: string; reason: string }>();
  for (const row of parsed.rows) {
    const seen = byPhone.get(row.phone);
    byPhone.set(row.phone, {
      channels: canonicalChannels([...(seen?.channels ?? []), ...row.channels]),
      source: seen?.source ?? row.source ?? "import",
      reason: seen?.reason ?? row.reason ?? "",
    });
  }
  let imported = 0;
  if (byPhone.size > 0) {
    const entries = [...byPhone];
    const result = await s.db.execute(sql`
      insert into opt_outs (tenant_id, phone_e164, source, channels, reason, created_at)
      select ${tenantId}, r.phone, r.source, string_to_array(r.channels, ','),
        nullif(r.reason, ''), ${s.now()}
      from unnest(${sql.param(entries.map(([phone]) => phone))}::text[],
        ${sql.param(entries.map(([, e]) => e.channels.join(",")))}::text[],
        ${sql.param(entries.map(([, e]) => e.source))}::text[],
        ${sql.param(entries.map(([, e]) => e.reason))}::text[]) as r(phone, channels, source, reason)
      on conflict (tenant_id, phone_e164) do update set channels = ${mergeChannels}
        where not (excluded.channels <@ opt_outs.channels)`);
    imported = result.rowCount ?? 0;
  }
  return {
    imported,
    unchanged: byPhone.size - imported,
    rejected: parsed.errors.length,
    errors: parsed.errors,
  };
}

/** How far ahead of our clock a consent's `given_at` may be (clock skew), not more. */
const MAX_FUTURE_SKEW_MS = 5 * 60_000;

/** When consent was given: now by default; never in the future. */
export function consentGivenAt(s: Services, givenAt: Date | undefined): Date {
  const now = s.now();
  if (givenAt && givenAt.getTime() > now.getTime() + MAX_FUTURE_SKEW_MS) {
    throw new ApiError("validation_failed", "Consent cannot be given in the future", [
      { path: "given_at", message: "in the future" },
    ]);
  }
  return givenAt ?? now;
}

export interface ConsentEvidence {
  purpose: ConsentPurpose;
  method: ConsentMethod;
  evidence: string;
  givenAt?: Date | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/**
 * DELETE /v1/opt-outs/{phone}: only with new consent evidence, given after the opt-out. The
 * consent row is recorded and the opt-out removed in one statement: both or neither.
 */
export async function removeOptOutWithConsent(
  s: Services,
  tenantId: string,
  phoneInput: string,
  consent: ConsentEvidence | undefined,
): Promise<{ consent_id: string }> {
  const phone = subjectPhoneOrThrow(s, phoneInput);
  if (!consent) {
    throw new ApiError(
      "consent_required",
      `Removing the opt-out of ${phone} needs new consent evidence: send {"consent": {...}}`,
    );
  }
  const now = s.now();
  const givenAt = consentGivenAt(s, consent.givenAt);
  const id = newId("cns", now.getTime());
  const result = await s.db.execute<{ opted_out_at: string | null; consent_id: string | null }>(
    sql`
    with target as (
      select created_at from opt_outs
      where tenant_id = ${tenantId} and phone_e164 = ${phone} for update
    ), consent as (
      insert into consents (id, tenant_id, phone_e164, purpose, method, withdrawn, given_at, ip,
        user_agent, evidence, created_at)
      select ${id}, ${tenantId}, ${phone}, ${consent.purpose}, ${consent.method}, false,
        ${givenAt}, ${consent.ip ?? null}, ${consent.userAgent ?? null}, ${consent.evidence}, ${now}
      from target where target.created_at <= ${givenAt}
      returning id
    ), removed as (
      delete from opt_outs
      where tenant_id = ${tenantId} and phone_e164 = ${phone} and exists (select 1 from consent)
      returning 1
    )
    select (select created_at from target) as opted_out_at, (select id from consent) as consent_id`,
  );
  const row = result.rows[0];
  if (!row?.opted_out_at) throw new ApiError("not_found", `${phone} has not opted out`);
  if (!row.consent_id) {
    throw new ApiError(
      "consent_required",
      `The consent must be newer than the opt-out (${new Date(row.opted_out_at).toISOString()})`,
      [{ path: "consent.given_at", message: "given before the opt-out" }],
    );
  }
  await emitEvent(s, tenantId, "optin.created", {
    phone,
    channels: [...OPT_OUT_CHANNELS],
    source: "api",
    consent_id: row.consent_id,
    created_at: now.toISOString(),
  });
  return { consent_id: row.consent_id };
}
