/**
 * Consent and opt-out rules, without I/O: channels, the promotional footer, which provider
 * errors mean "this person opted out", and the CSV shape of an opt-out list.
 */
import type { CountryCode } from "libphonenumber-js/max";
import { parsePhoneNumberFromString } from "libphonenumber-js/max";
import { type NormalizedPhone, normalizePhone } from "./phone";

/** The channels an opt-out can cover; an opt-out covers all of them unless narrowed. */
export const OPT_OUT_CHANNELS = ["sms", "email", "voice", "web", "other"] as const;
export type OptOutChannel = (typeof OPT_OUT_CHANNELS)[number];

export const CONSENT_PURPOSES = ["marketing", "transactional"] as const;
export type ConsentPurpose = (typeof CONSENT_PURPOSES)[number];
export const CONSENT_METHODS = ["web", "sms", "voice", "paper", "other"] as const;
export type ConsentMethod = (typeof CONSENT_METHODS)[number];

export const DEFAULT_OPT_OUT_FOOTER = "Reply STOP to opt out";

/** Channels deduplicated, in the canonical order. */
export function canonicalChannels(channels: readonly string[]): OptOutChannel[] {
  return OPT_OUT_CHANNELS.filter((channel) => channels.includes(channel));
}

/**
 * A promotional body with the opt-out footer on its own last line, unless the body already
 * carries it. Applied before encoding and segments are computed, so it is counted and priced.
 */
export function withOptOutFooter(body: string, footer: string): string {
  if (body.toLowerCase().includes(footer.toLowerCase())) return body;
  return `${body.trimEnd()}\n${footer}`;
}

/**
 * Provider errors that mean the recipient is on the provider's opt-out list: Twilio 21610
 * (replied STOP), Africa's Talking per-recipient 406 UserInBlacklist, End User Messaging's
 * ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT, SNS's `OptedOut` error (modelled for
 * SNS's SMS operations; Publish itself usually takes the message and only the delivery log,
 * which reaches no webhook, says "Phone number is opted out"). Codes are per provider: 406
 * means nothing of the kind at Twilio.
 */
const PROVIDER_OPT_OUT_CODES: Readonly<Record<string, readonly string[]>> = {
  twilio: ["21610"],
  africastalking: ["406"],
  "aws-sms-voice": ["ConflictException:DESTINATION_PHONE_NUMBER_OPTED_OUT"],
  "aws-sns": ["OptedOut"],
};

export function isProviderOptOut(provider: string, errorCode: string | undefined): boolean {
  return (
    errorCode !== undefined && (PROVIDER_OPT_OUT_CODES[provider]?.includes(errorCode) ?? false)
  );
}

/**
 * A person's number for consent and opt-out records: like a message's destination, but a
 * valid landline is kept too (a person may opt out of calls). The E.164 form is the one
 * messages use, so the SMS guard finds it.
 */
export function normalizeSubjectPhone(
  input: string,
  defaultRegion: CountryCode,
): Exclude<NormalizedPhone, { ok: true }> | { ok: true; e164: string } {
  const phone = normalizePhone(input, defaultRegion);
  if (phone.ok || phone.reason !== "not_mobile_capable") return phone;
  const text = input.trim();
  for (const candidate of text.startsWith("00") ? [text, `+${text.slice(2)}`] : [text]) {
    const parsed = parsePhoneNumberFromString(candidate, { defaultCountry: defaultRegion });
    if (parsed?.isValid() && !parsed.ext) return { ok: true, e164: parsed.number };
  }
  return phone;
}

export interface OptOutCsvRow {
  line: number;
  phone: string;
  channels: OptOutChannel[];
  source: string | null;
  reason: string | null;
}

export type OptOutCsv =
  | { ok: true; rows: OptOutCsvRow[]; errors: { line: number; message: string }[] }
  | { ok: false; message: string };

/** RFC 4180 records: quoted fields may hold commas, doubled quotes and line breaks. */
function* csvRecords(text: string): Generator<{ line: number; fields: string[] }> {
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;
  let startLine = 1;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') quoted = false;
      else {
        if (char === "\n") line++;
        field += char;
      }
    } else if (char === '"' && field === "") quoted = true;
    else if (char === ",") {
      fields.push(field);
      field = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i++;
      fields.push(field);
      yield { line: startLine, fields };
      fields = [];
      field = "";
      line++;
      startLine = line;
    } else field += char;
  }
  if (field !== "" || fields.length > 0) {
    fields.push(field);
    yield { line: startLine, fields };
  }
}

const SOURCE_PATTERN = /^[a-z0-9_.:-]{1,64}$/i;

/**
 * An opt-out list in CSV: a header naming the columns (`phone`, and optionally `channels`,
 * `source`, `reason`; others are ignored, so an export imports as is), then one person per
 * line. Channels in a cell are separated by `;`, `|`, spaces or (quoted) commas; empty means
 * all. Blank lines are skipped. Bad rows are reported by line number; numbers are normalized.
 */
export function parseOptOutCsv(text: string, defaultRegion: CountryCode): OptOutCsv {
  const records = csvRecords(text.replace(/^\uFEFF/, ""));
  const first = records.next();
  if (first.done) return { ok: false, message: "The CSV is empty: expected a header line" };
  const header = first.value.fields.map((name) => name.trim().toLowerCase());
  const column = (name: string) => header.indexOf(name);
  const [phoneAt, channelsAt, sourceAt, reasonAt] = ["phone", "channels", "source", "reason"].map(
    column,
  ) as [number, number, number, number];
  if (phoneAt < 0) {
    return { ok: false, message: 'The first line must be a header with a "phone" column' };
  }
  const rows: OptOutCsvRow[] = [];
  const errors: { line: number; message: string }[] = [];
  for (const { line, fields } of records) {
    if (fields.every((field) => field.trim() === "")) continue;
    const cell = (at: number) => (at >= 0 ? (fields[at] ?? "").trim() : "");
    const phone = normalizeSubjectPhone(cell(phoneAt), defaultRegion);
    if (!phone.ok) {
      errors.push({ line, message: `phone: ${phone.reason}` });
      continue;
    }
    const names = cell(channelsAt)
      .toLowerCase()
      .split(/[\s;|,]+/)
      .filter(Boolean);
    const unknown = names.filter((name) => !(OPT_OUT_CHANNELS as readonly string[]).includes(name));
    if (unknown.length > 0) {
      errors.push({ line, message: `channels: unknown ${unknown.join(", ")}` });
      continue;
    }
    const source = cell(sourceAt);
    if (source !== "" && !SOURCE_PATTERN.test(source)) {
      errors.push({ line, message: "source: letters, digits and _.:- only, at most 64" });
      continue;
    }
    const reason = cell(reasonAt);
    rows.push({
      line,
      phone: phone.e164,
      channels: names.length > 0 ? canonicalChannels(names) : [...OPT_OUT_CHANNELS],
      source: source || null,
      reason: reason ? reason.slice(0, 500) : null,
    });
  }
  return { ok: true, rows, errors };
}

/** One CSV field: quoted when needed; free text that a spreadsheet would run as a formula is defused. */
function csvField(value: string, freeText: boolean): string {
  const safe = freeText && /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export interface OptOutCsvRecord {
  phone: string;
  channels: readonly string[];
  source: string;
  reason: string | null;
  created_at: string;
}

export const OPT_OUT_CSV_HEADER = "phone,channels,source,reason,created_at";

/** CSV lines (with their line breaks) for opt-outs; `parseOptOutCsv` reads them back. */
export function optOutCsvLines(records: readonly OptOutCsvRecord[]): string {
  return records
    .map(
      (r) =>
        `${[
          csvField(r.phone, false),
          r.channels.join(";"),
          csvField(r.source, true),
          csvField(r.reason ?? "", true),
          r.created_at,
        ].join(",")}\r\n`,
    )
    .join("");
}
