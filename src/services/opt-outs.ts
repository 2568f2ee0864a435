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
import { sealConsent } from "./consents";
import { emitEvent } from "./events";
import { queueProviderListSync } from "./provider-list-sync";

/**
 * One home for opt-outs, whatever their origin: STOP replies (inbound.ts), the API and its
 * CSV import, and provider errors that say the person opted out (dispatch.ts). An opt-out is
 * effective at once: the database refuses any later message row to the number while the
 * opt-out covers `sms` (trigger, drizzle/0005 and 0008).
 */

export interface OptOutView {
  /** Null once the person's data was erased (the suppression itself stays). */
  phone: string | null;
  channels: OptOutChannel[];
  source: string;
  reason: string | null;
  created_at: string;
}

interface OptOutRow extends Record<string, unknown> {
  phone_digest: string;
  phone_sealed: string | null;
  channels: string[];
  source: string;
  reason: string | null;
  created_at: Date | string;
}

const view = async (s: Services, tenantId: string, row: OptOutRow): Promise<OptOutView> => ({
  phone: row.phone_sealed ? await s.pii.open(tenantId, row.phone_sealed) : null,
  channels: canonicalChannels(row.channels),
  source: row.source,
  reason: row.reason,
  created_at: new Date(row.created_at).toISOString(),
});

const digestList = (digests: string[]) => sql`${sql.param(digests)}::text[]`;

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
  const [digests, sealed] = await Promise.all([s.pii.digests(phone), s.pii.seal(tenantId, phone)]);
  // The row to widen is the one recorded under any key version; a new one takes the current.
  const result = await s.db.execute<OptOutRow & { created: boolean; changed: boolean }>(sql`
    with target as (
      select coalesce((
        select phone_digest from opt_outs
        where tenant_id = ${tenantId} and phone_digest = any(${digestList(digests)})
        order by phone_digest = ${digests[0]} desc limit 1), ${digests[0]}) as digest
    ), upsert as (
      insert into opt_outs (tenant_id, phone_digest, phone_sealed, source, channels, reason,
        created_at)
      select ${tenantId}, target.digest, ${sealed}, ${source},
        ${sql.param(canonicalChannels(channels))}::text[], ${reason}, ${now}
      from target
      on conflict (tenant_id, phone_digest) do update set channels = ${mergeChannels},
        phone_sealed = coalesce(opt_outs.phone_sealed, excluded.phone_sealed)
        where not (excluded.channels <@ opt_outs.channels)
      returning phone_digest, phone_sealed, channels, source, reason, created_at,
        (xmax = 0) as created, true as changed
    )
    select * from upsert
    union all
    select phone_digest, phone_sealed, channels, source, reason, created_at, false, false
    from opt_outs
    where tenant_id = ${tenantId} and phone_digest = (select digest from target)
      and not exists (select 1 from upsert)`);
  const row = result.rows[0];
  if (!row) throw new Error("opt-out upsert returned no row");
  const optOut = { ...(await view(s, tenantId, row)), phone };
  if (row.changed) {
    await emitEvent(
      s,
      tenantId,
      "optout.created",
      { ...optOut, created_at: now.toISOString() },
      row.phone_digest,
    );
    await queueProviderListSync(s, tenantId, phone, "opt_out");
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
  const digests = await s.pii.digests(phone);
  const mine = sql`tenant_id = ${tenantId} and phone_digest = any(${digestList(digests)})`;
  const result = await s.db.execute<{ changed: number }>(sql`
    with removed as (
      delete from opt_outs where ${mine} and channels <@ '{sms}'::text[]
      returning 1
    ), narrowed as (
      update opt_outs set channels = array_remove(channels, 'sms')
      where ${mine} and 'sms' = any(channels) and not (channels <@ '{sms}'::text[])
      returning 1
    )
    select (select count(*) from removed) + (select count(*) from narrowed) as changed`);
  const changed = Number(result.rows[0]?.changed ?? 0) > 0;
  if (changed) {
    const data = { phone, channels: ["sms"], source: "sms", created_at: s.now().toISOString() };
    await emitEvent(s, tenantId, "optin.created", data, digests[0]);
    await queueProviderListSync(s, tenantId, phone, "opt_in");
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

const optOutColumns = sql`phone_digest, phone_sealed, channels, source, reason, created_at`;

export async function getOptOut(s: Services, tenantId: string, phoneInput: string) {
  const phone = subjectPhoneOrThrow(s, phoneInput);
  const digests = await s.pii.digests(phone);
  const result = await s.db.execute<OptOutRow>(sql`
    select ${optOutColumns} from opt_outs
    where tenant_id = ${tenantId} and phone_digest = any(${digestList(digests)}) limit 1`);
  const row = result.rows[0];
  if (!row) throw new ApiError("not_found", `${phone} has not opted out`);
  return view(s, tenantId, row);
}

/** The cursor is opaque to clients: the last digest of the page, base64url-encoded. */
const encodeCursor = (digest: string) =>
  btoa(digest).replaceAll("+", "-").replaceAll("/", "_").replaceAll("=", "");

function decodeCursor(cursor: string): string {
  try {
    return atob(cursor.replaceAll("-", "+").replaceAll("_", "/"));
  } catch {
    throw new ApiError("validation_failed", "The cursor is not one this API returned", [
      { path: "cursor", message: "invalid cursor" },
    ]);
  }
}

/** A page of opt-outs in digest order (stable, and says nothing about the numbers). */
async function optOutPage(s: Services, tenantId: string, after: string | null, limit: number) {
  const result = await s.db.execute<OptOutRow>(sql`
    select ${optOutColumns} from opt_outs
    where tenant_id = ${tenantId} ${after === null ? sql`` : sql`and phone_digest > ${after}`}
    order by phone_digest limit ${limit}`);
  return result.rows;
}

/** A page of the tenant's opt-outs, by number. */
export async function listOptOuts(
  s: Services,
  tenantId: string,
  query: { cursor?: string | undefined; limit: number },
) {
  const after = query.cursor ? decodeCursor(query.cursor) : null;
  const rows = await optOutPage(s, tenantId, after, query.limit + 1);
  const page = rows.slice(0, query.limit);
  const data = await Promise.all(page.map((row) => view(s, tenantId, row)));
  const last = page.at(-1);
  const more = rows.length > query.limit && last;
  return { data, next_cursor: more ? encodeCursor(last.phone_digest) : null };
}

const EXPORT_PAGE = 5_000;

/**
 * Every opt-out of the tenant as CSV (read in pages), re-importable as is. Erased people
 * have no number left to export: their suppression stays here, by digest only.
 */
export async function exportOptOuts(s: Services, tenantId: string): Promise<string> {
  const parts = [`${OPT_OUT_CSV_HEADER}\r\n`];
  let after: string | null = null;
  for (;;) {
    const page = await optOutPage(s, tenantId, after, EXPORT_PAGE);
    const views = await Promise.all(page.map((row) => view(s, tenantId, row)));
    parts.push(optOutCsvLines(views.flatMap((v) => (v.phone ? [{ ...v, phone: v.phone }] : []))));
    const last = page.at(-1);
    if (!last || page.length < EXPORT_PAGE) return parts.join("");
    after = last.phone_digest;
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
    // Under the current HMAC key: during a key rotation, a number already opted out under the
    // old key gets a second row (both suppress; START clears both).
    const [digests, sealed] = await Promise.all([
      Promise.all(entries.map(([phone]) => s.pii.digest(phone))),
      Promise.all(entries.map(([phone]) => s.pii.seal(tenantId, phone))),
    ]);
    const result = await s.db.execute(sql`
      insert into opt_outs (tenant_id, phone_digest, phone_sealed, source, channels, reason,
        created_at)
      select ${tenantId}, r.digest, r.sealed, r.source, string_to_array(r.channels, ','),
        nullif(r.reason, ''), ${s.now()}
      from unnest(${sql.param(digests)}::text[], ${sql.param(sealed)}::text[],
        ${sql.param(entries.map(([, e]) => e.channels.join(",")))}::text[],
        ${sql.param(entries.map(([, e]) => e.source))}::text[],
        ${sql.param(entries.map(([, e]) => e.reason))}::text[])
        as r(digest, sealed, channels, source, reason)
      on conflict (tenant_id, phone_digest) do update set channels = ${mergeChannels}
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
  const [digests, sealed] = await Promise.all([
    s.pii.digests(phone),
    sealConsent(s, tenantId, phone, consent),
  ]);
  const mine = sql`tenant_id = ${tenantId} and phone_digest = any(${digestList(digests)})`;
  const result = await s.db.execute<{ opted_out_at: string | null; consent_id: string | null }>(
    sql`
    with target as (
      select max(created_at) as created_at from (
        select created_at from opt_outs where ${mine} for update) locked
    ), consent as (
      insert into consents (id, tenant_id, phone_digest, phone_sealed, purpose, method, withdrawn,
        given_at, evidence_sealed, created_at)
      select ${id}, ${tenantId}, ${digests[0]}, ${sealed.phoneSealed}, ${consent.purpose},
        ${consent.method}, false, ${givenAt}, ${sealed.evidenceSealed}, ${now}
      from target where target.created_at <= ${givenAt}
      returning id
    ), removed as (
      delete from opt_outs where ${mine} and exists (select 1 from consent)
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
  await emitEvent(
    s,
    tenantId,
    "optin.created",
    {
      phone,
      channels: [...OPT_OUT_CHANNELS],
      source: "api",
      consent_id: row.consent_id,
      created_at: now.toISOString(),
    },
    digests[0],
  );
  await queueProviderListSync(s, tenantId, phone, "opt_in");
  return { consent_id: row.consent_id };
}
