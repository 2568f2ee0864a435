/**
 * A tenant's sender register: which "from" identities it may use, with which provider and
 * where. Routing picks from it; a request's explicit `from` must be one of them.
 */
import type { ProviderName, SenderKind } from "./providers";

export interface RegisteredSender {
  id: string;
  provider: ProviderName;
  kind: SenderKind;
  /** Normalized by validateSenderValue. */
  value: string;
  /** ISO 3166-1 alpha-2 codes this sender may send to; empty = any country. */
  countries: string[];
}

export type SenderValueCheck = { ok: true; value: string } | { ok: false; reason: string };

// E.164 allows 15 digits; 8 keeps out fragments while admitting the shortest national plans.
const E164 = /^\+[1-9]\d{7,14}$/;
const SHORT_CODE = /^\d{3,8}$/;
// The character set carriers accept everywhere; all-digit IDs would read as (spoofed) numbers.
const ALPHANUMERIC = /^[A-Za-z0-9 ]{1,11}$/;
const HAS_LETTER = /[A-Za-z]/;
const MESSAGING_SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

/** Checks a sender value for its kind and provider and returns it normalized. */
export function validateSenderValue(
  kind: SenderKind,
  value: string,
  provider: ProviderName,
): SenderValueCheck {
  const trimmed = value.trim();
  switch (kind) {
    case "phone":
      return E164.test(trimmed)
        ? { ok: true, value: trimmed }
        : { ok: false, reason: "a phone sender must be in E.164: + and 8 to 15 digits" };
    case "short_code":
      return SHORT_CODE.test(trimmed)
        ? { ok: true, value: trimmed }
        : { ok: false, reason: "a short code must be 3 to 8 digits" };
    case "alphanumeric":
      return ALPHANUMERIC.test(trimmed) && HAS_LETTER.test(trimmed)
        ? { ok: true, value: trimmed }
        : {
            ok: false,
            reason:
              "an alphanumeric sender ID must be 1 to 11 letters, digits or spaces, with at least one letter",
          };
    case "messaging_service":
      if (provider !== "twilio") {
        return { ok: false, reason: "messaging services exist only with twilio" };
      }
      return MESSAGING_SERVICE_SID.test(trimmed)
        ? { ok: true, value: trimmed }
        : { ok: false, reason: "a messaging service must be a Twilio SID: MG and 32 hex digits" };
  }
}

/**
 * Destinations where an alphanumeric sender ID cannot be used: carriers reject it or replace it
 * with a number of their choosing, so a number (or a messaging service holding numbers) is
 * required. Compiled from provider country guidelines (Twilio, AWS, Vonage and others agree on
 * these); such lists change, and the set only holds countries where the sources concur. Not
 * included: countries that merely require registering the ID first (IN, SA, ...), where the
 * tenant registers it, and VN, where registered brand names are the norm.
 */
export const ALPHANUMERIC_SENDER_UNSUPPORTED: ReadonlySet<string> = new Set([
  // North American Numbering Plan: 10DLC, toll-free and short codes only.
  "US",
  "CA",
  "PR",
  "CN",
  // Latin America: carriers overwrite alphanumeric IDs with a short code or random number.
  "AR",
  "BR",
  "CL",
  "CO",
  "DO",
  "EC",
  "GT",
  "HN",
  "NI",
  "PA",
  "PE",
  "UY",
]);

/** Why the sender cannot send to the country, or undefined when it can. */
export function senderUnfitReason(sender: RegisteredSender, country: string): string | undefined {
  if (sender.countries.length > 0 && !sender.countries.includes(country)) {
    return `sender ${sender.value} is registered for ${sender.countries.join(", ")} only`;
  }
  if (sender.kind === "alphanumeric" && ALPHANUMERIC_SENDER_UNSUPPORTED.has(country)) {
    return `alphanumeric sender ${sender.value} cannot be used in ${country}, which requires a number`;
  }
  return undefined;
}

export function senderFits(sender: RegisteredSender, country: string): boolean {
  return senderUnfitReason(sender, country) === undefined;
}

// A brand name is what recipients recognise best; where one is not allowed, a messaging service
// lets the provider pick a suitable number, then short codes (throughput) before long numbers.
const PREFERENCE: readonly SenderKind[] = [
  "alphanumeric",
  "messaging_service",
  "short_code",
  "phone",
];

// Plain code-unit comparison: unlike localeCompare it cannot vary with the runtime's locale.
function byId(a: RegisteredSender, b: RegisteredSender): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function byPreference(a: RegisteredSender, b: RegisteredSender): number {
  return PREFERENCE.indexOf(a.kind) - PREFERENCE.indexOf(b.kind) || byId(a, b);
}

/** The tenant's best sender for this provider and destination, or undefined if none fits. */
export function pickSender(
  senders: readonly RegisteredSender[],
  provider: ProviderName,
  country: string,
): RegisteredSender | undefined {
  // Countries that require a number have already lost their alphanumeric senders to senderFits.
  return senders
    .filter((sender) => sender.provider === provider && senderFits(sender, country))
    .sort(byPreference)[0];
}

// Formatting people put in numbers; "00" is the international prefix almost everywhere.
function asE164(from: string): string {
  const compact = from.replace(/[\s\-().]/g, "");
  return compact.startsWith("00") ? `+${compact.slice(2)}` : compact;
}

/** Whether a requested `from` names this sender (phones compared as E.164). */
export function isSender(sender: RegisteredSender, from: string): boolean {
  const requested = sender.kind === "phone" ? asE164(from) : from.trim();
  return requested === sender.value;
}

/**
 * The sender a requested `from` names, or undefined when it is not the tenant's. The same value
 * may be registered with several providers; this returns the first by id.
 */
export function findOwnSender(
  senders: readonly RegisteredSender[],
  from: string,
): RegisteredSender | undefined {
  return senders.filter((sender) => isSender(sender, from)).sort(byId)[0];
}
