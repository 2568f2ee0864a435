/**
 * Recipient phone number normalisation and masking.
 *
 * Uses the "max" metadata build: it is the only one that validates the digits of a number
 * against the assigned ranges (not just its length) and tells mobile ranges from landlines.
 */
import type { CountryCode, NumberType, PhoneNumber } from "libphonenumber-js/max";
import { parsePhoneNumberFromString } from "libphonenumber-js/max";

export type PhoneRejection = "invalid_format" | "invalid_number" | "not_mobile_capable";

export type NormalizedPhone =
  | { ok: true; e164: string; country: CountryCode }
  | { ok: false; reason: PhoneRejection };

/**
 * Number types we send SMS to. An allowlist, so a type we have not thought about is refused
 * rather than billed for a message that cannot arrive.
 * - FIXED_LINE_OR_MOBILE: plans that do not distinguish the two (US, CA, MX, ...); refusing
 *   them would refuse all of North America.
 * - PERSONAL_NUMBER: "follow-me" numbers (e.g. UK 070) that forward, SMS included, to a mobile.
 * Refused: FIXED_LINE, TOLL_FREE, PREMIUM_RATE, SHARED_COST, UAN (company numbers), VOICEMAIL
 * (access numbers, not subscribers), PAGER (paging networks, not SMS) and VOIP: numbers the
 * metadata singles out as VoIP (UK 056, FR 09, global +882/+883) are mostly landline
 * replacements without SMS. Revisit VOIP if a provider confirms reachability.
 */
export const SMS_CAPABLE_TYPES: ReadonlySet<NumberType> = new Set<NumberType>([
  "MOBILE",
  "FIXED_LINE_OR_MOBILE",
  "PERSONAL_NUMBER",
]);

function parse(text: string, defaultRegion: CountryCode): PhoneNumber | undefined {
  // extract: false: the whole string must be the number, nothing is fished out of text.
  return parsePhoneNumberFromString(text, { defaultCountry: defaultRegion, extract: false });
}

/**
 * libphonenumber only understands the default region's own international prefix (011 in the
 * US, 0011 in Australia), so "0033..." with region US reads as a US national number. A leading
 * "00" is the international prefix in most of the world, so when the number does not make
 * sense as typed it is retried with "+". Trying as typed first keeps "0011 44..." from
 * Australia working.
 */
function parseRecipient(input: string, defaultRegion: CountryCode): PhoneNumber | undefined {
  const asTyped = parse(input, defaultRegion);
  if (asTyped?.isValid() || !input.startsWith("00")) return asTyped;
  return parse(`+${input.slice(2)}`, defaultRegion);
}

/**
 * Parses a recipient given in national format (read in `defaultRegion`) or international
 * format ("+", "00" or the region's own international prefix), and returns it in E.164.
 * - invalid_format: not readable as a single phone number (letters, junk around it, an
 *   extension, far too short or long).
 * - invalid_number: readable, but no such number exists (wrong length, unassigned range).
 * - not_mobile_capable: a real number that cannot receive SMS (see SMS_CAPABLE_TYPES).
 */
export function normalizePhone(input: string, defaultRegion: CountryCode): NormalizedPhone {
  const parsed = parseRecipient(input.trim(), defaultRegion);
  // An extension reaches a switchboard, not a handset; dropping it silently would text the
  // wrong party.
  if (!parsed || parsed.ext) return { ok: false, reason: "invalid_format" };
  if (!parsed.isValid()) return { ok: false, reason: "invalid_number" };
  const type = parsed.getType();
  // Non-geographic numbers (+800, +882, ...) have no country, and routing and pricing are
  // per country, so they are unreachable for us whatever their type.
  if (!parsed.country || !type || !SMS_CAPABLE_TYPES.has(type)) {
    return { ok: false, reason: "not_mobile_capable" };
  }
  return { ok: true, e164: parsed.number, country: parsed.country };
}

const VISIBLE_TRAILING_DIGITS = 2;
// Below this many hidden digits the visible ones would narrow the number down too much.
const MIN_HIDDEN_DIGITS = 4;

/**
 * Masks a number for logs: keeps the country calling code (useful for routing issues) and the
 * last 2 digits, e.g. "+14155550100" -> "+1********00". One star per hidden digit. If the
 * calling code cannot be recognised, only the last digits are kept.
 */
export function maskPhone(e164: string): string {
  const digits = e164.replace(/\D/g, "");
  const callingCode = parsePhoneNumberFromString(`+${digits}`)?.countryCallingCode ?? "";
  const subscriber = digits.slice(callingCode.length);
  const showTail = subscriber.length - VISIBLE_TRAILING_DIGITS >= MIN_HIDDEN_DIGITS;
  const tail = showTail ? subscriber.slice(-VISIBLE_TRAILING_DIGITS) : "";
  return `+${callingCode}${"*".repeat(subscriber.length - tail.length)}${tail}`;
}

/**
 * "+" or its URL-encoded form "%2B" (provider webhooks are form-encoded) followed by at least
 * 6 digits. No upper bound: an over-long digit run is masked too, since over-masking a log
 * line is harmless and under-masking is not.
 */
const E164_IN_TEXT = /(\+|%2B)([1-9]\d{5,})/gi;

/** Masks every E.164-looking number in free text (log lines, provider error messages). */
export function maskPhonesInText(text: string): string {
  return text.replace(
    E164_IN_TEXT,
    (_match, prefix: string, digits: string) => prefix + maskPhone(`+${digits}`).slice(1),
  );
}
