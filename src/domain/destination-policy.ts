/**
 * Where a tenant may send: geo permissions (destination countries), and the shapes the
 * blocklist and the SMS-pumping defence work on (number prefixes and number "buckets").
 */

/**
 * Destination countries allowed by default: markets the supported providers serve well and
 * where SMS pumping (artificially inflated traffic) is comparatively rare. Anything else,
 * including the non-geographic ranges (satellite and international networks, region "001"),
 * needs the operator to allow it, per deployment (ALLOWED_COUNTRIES) or per tenant.
 */
export const DEFAULT_ALLOWED_COUNTRIES: readonly string[] = [
  "US",
  "CA",
  "GB",
  "IE",
  "FR",
  "DE",
  "NL",
  "BE",
  "LU",
  "ES",
  "PT",
  "IT",
  "AT",
  "CH",
  "SE",
  "NO",
  "DK",
  "FI",
  "PL",
  "AU",
  "NZ",
  "JP",
  "SG",
  "IN",
  "ZA",
  "KE",
  "UG",
  "TZ",
  "RW",
  "NG",
  "GH",
  "MW",
  "ZM",
];

export function countryAllowed(country: string, allowed: readonly string[]): boolean {
  return allowed.includes(country);
}

/** Every proper prefix of an E.164 number, "+1", "+14", … (what prefix blocklists match). */
export function prefixesOf(e164: string): string[] {
  const prefixes: string[] = [];
  for (let end = 2; end < e164.length; end++) prefixes.push(e164.slice(0, end));
  return prefixes;
}

/** A prefix as the blocklist stores it: "+" and 1–14 digits. */
export const PREFIX_PATTERN = /^\+[1-9]\d{0,13}$/;

/**
 * SMS pumping sends to many numbers of one range, often sequential: the number without its
 * last two digits names the range (100 numbers) that the defence counts.
 */
export const pumpingBucket = (e164: string): string => e164.slice(0, -2);

export interface PumpingPolicy {
  /** More sends than this to one bucket within the window look like pumping. */
  maxPerBucket: number;
  windowSeconds: number;
  /** How long the bucket stays blocked for the tenant once detected. */
  blockSeconds: number;
}

export const DEFAULT_PUMPING_POLICY: PumpingPolicy = {
  maxPerBucket: 10,
  windowSeconds: 600,
  blockSeconds: 3600,
};
