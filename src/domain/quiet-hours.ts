/**
 * Quiet hours: when a message may reach a recipient, judged by the local time of the recipient's
 * number.
 *
 * - Rules (reference/providers.md §8): US TCPA and FTC TSR 08:00–21:00 local for solicitations,
 *   Florida 08:00–20:00 (Fla. Stat. § 501.616; Florida area codes are presumed to reach Florida
 *   residents), India promotional 09:00–21:00 IST (TRAI TCCCPR). Transactional messages are not
 *   restricted by default, OTPs never are.
 * - Number → time zones: libphonenumber's prefix map (src/domain/timezone-prefixes.ts, generated).
 *   A number can map to several zones (Idaho's 208 is partly Mountain, partly Pacific); a message
 *   is then allowed only while the local time is inside the window in EVERY candidate zone.
 * - Local wall times come from Intl.DateTimeFormat with the zone's IANA/CLDR ID, never from fixed
 *   offsets, so daylight-saving changes are honoured.
 *
 * Pure: no I/O, the clock is a parameter. The only state is memoisation (Intl formatters and the
 * prefix map are built once per isolate).
 */
import { z } from "zod";
import { COUNTRIES, MAX_PREFIX_LENGTH, PREFIXES, TIME_ZONES, ZONE_SETS } from "./timezone-prefixes";

// ---------------------------------------------------------------------------------------------
// Number → time zones

let prefixMap: Map<string, number> | undefined;

/** prefix digits → ZONE_SETS index, built on first use (about 3,250 entries). */
function prefixIndex(): Map<string, number> {
  if (prefixMap === undefined) {
    const map = new Map<string, number>();
    PREFIXES.forEach((list, set) => {
      if (list !== "") for (const prefix of list.split(" ")) map.set(prefix, set);
    });
    prefixMap = map;
  }
  return prefixMap;
}

function zonesOfSet(set: number): string[] {
  return (ZONE_SETS[set] ?? []).map((i) => TIME_ZONES[i] ?? "UTC");
}

/**
 * The time zones a number may be in (IANA/CLDR IDs as libphonenumber emits them, e.g.
 * "Asia/Calcutta"), never empty.
 *
 * 1. The longest prefix of the E.164 digits in libphonenumber's map.
 * 2. When that match is only the calling code of `country` (e.g. a US area code newer than the
 *    data, or a non-geographic range), or nothing matches at all: the zones of `country` (ISO
 *    3166 alpha-2, as `normalizePhone` returns it). For a shared calling code these are narrower
 *    than the calling code's: "+1" alone lists about 40 zones from Guam to Newfoundland, "US" 11.
 * 3. Last resort, "UTC": reached only for digits that start with no calling code AND an unknown
 *    `country`, i.e. not a valid number (every calling code has an entry in the data). UTC
 *    rather than an empty list (which would skip quiet hours) or an exception (which would fail
 *    dispatch): the window is still enforced, at a deterministic, documented place.
 */
export function timeZonesFor(e164: string, country: string): string[] {
  const digits = e164.startsWith("+") ? e164.slice(1) : e164;
  const index = prefixIndex();
  let match: { prefix: string; set: number } | undefined;
  if (/^\d+$/.test(digits)) {
    for (let length = Math.min(digits.length, MAX_PREFIX_LENGTH); length > 0; length--) {
      const prefix = digits.slice(0, length);
      const set = index.get(prefix);
      if (set !== undefined) {
        match = { prefix, set };
        break;
      }
    }
  }
  const region = country.toUpperCase();
  const entry = Object.hasOwn(COUNTRIES, region) ? COUNTRIES[region] : undefined;
  if (entry !== undefined && (match === undefined || match.prefix === entry[0])) {
    return zonesOfSet(entry[1]);
  }
  if (match !== undefined) return zonesOfSet(match.set);
  return ["UTC"];
}

const validZones = new Map<string, boolean>();

/** Whether Intl knows the zone (IANA ID, CLDR alias or "UTC"). */
export function isValidTimeZone(zone: string): boolean {
  let valid = validZones.get(zone);
  if (valid === undefined) {
    try {
      formatterFor(zone);
      valid = true;
    } catch {
      valid = false;
    }
    validZones.set(zone, valid);
  }
  return valid;
}

// ---------------------------------------------------------------------------------------------
// Policy

/** A daily window in recipient-local wall time, start inclusive, end exclusive: "08:00"–"21:00". */
export interface Window {
  start: string;
  end: string;
}

/** Types with a configurable window; OTPs are never deferred. */
export type WindowedMessageType = "promotional" | "transactional";

/** Per type: a window, `null` for "no restriction", absent to inherit the less specific rule. */
export type QuietHoursRule = Partial<Record<WindowedMessageType, Window | null>>;

/**
 * Precedence: byPrefix (the longest matching prefix that sets the type) > byCountry > the type's
 * default. A default that is absent or null means no restriction.
 */
export interface QuietHoursPolicy {
  promotional?: Window | null;
  transactional?: Window | null;
  /** ISO 3166 alpha-2 region ("US", "IN") → rule. */
  byCountry?: Record<string, QuietHoursRule>;
  /** E.164 prefix with "+" ("+1305") → rule. */
  byPrefix?: Record<string, QuietHoursRule>;
}

const FLORIDA_WINDOW: Window = { start: "08:00", end: "20:00" };

/**
 * Florida area codes (libphonenumber's geocoding data lists these 23 as Florida). Three are
 * overlays newer than the brief's list: 324 (904, Jacksonville), 645 (305/786, Miami) and 728
 * (561, Palm Beach).
 */
export const FLORIDA_AREA_CODES: readonly string[] = [
  "239",
  "305",
  "321",
  "324",
  "352",
  "386",
  "407",
  "448",
  "561",
  "645",
  "656",
  "689",
  "727",
  "728",
  "754",
  "772",
  "786",
  "813",
  "850",
  "863",
  "904",
  "941",
  "954",
];

/**
 * US TCPA/TSR 08:00–21:00 for promotional messages everywhere (a conservative default for
 * countries without a known rule), India 09:00–21:00 (TRAI), Florida 08:00–20:00. Transactional
 * messages are not restricted.
 */
export const DEFAULT_QUIET_HOURS: QuietHoursPolicy = {
  promotional: { start: "08:00", end: "21:00" },
  transactional: null,
  byCountry: { IN: { promotional: { start: "09:00", end: "21:00" } } },
  byPrefix: Object.fromEntries(
    FLORIDA_AREA_CODES.map((code) => [`+1${code}`, { promotional: FLORIDA_WINDOW }]),
  ),
};

const START_TIME = /^(?:[01]\d|2[0-3]):[0-5]\d$/;
const END_TIME = /^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/;

const isTime = (s: string) => END_TIME.test(s);

const windowSchema = z
  .strictObject({
    start: z.string().regex(START_TIME, 'expected "HH:MM", 00:00 to 23:59'),
    end: z.string().regex(END_TIME, 'expected "HH:MM", 00:00 to 24:00'),
  })
  .refine((w) => !isTime(w.start) || !isTime(w.end) || toMinutes(w.start) !== toMinutes(w.end), {
    message: "start and end must differ (use null for no restriction)",
  });

const ruleSchema = z.strictObject({
  promotional: windowSchema.nullable().optional(),
  transactional: windowSchema.nullable().optional(),
});

/**
 * A stored policy document (e.g. a tenant's override, JSON). Strict: unknown keys are refused, so
 * a typo ("promotinal") cannot silently leave the default in force. A window whose end is before
 * its start spans midnight ("22:00"–"06:00").
 */
export const quietHoursPolicySchema = z.strictObject({
  promotional: windowSchema.nullable().optional(),
  transactional: windowSchema.nullable().optional(),
  byCountry: z
    .record(z.string().regex(/^[A-Z]{2}$/, "expected an ISO region, e.g. US"), ruleSchema)
    .optional(),
  byPrefix: z
    .record(z.string().regex(/^\+[1-9]\d{0,14}$/, 'expected "+" and digits'), ruleSchema)
    .optional(),
}) satisfies z.ZodType<QuietHoursPolicy>;

function mergeRules(
  base: Record<string, QuietHoursRule> | undefined,
  override: Record<string, QuietHoursRule> | undefined,
): Record<string, QuietHoursRule> | undefined {
  if (override === undefined) return base;
  const merged: Record<string, QuietHoursRule> = { ...base };
  for (const [key, rule] of Object.entries(override)) merged[key] = { ...merged[key], ...rule };
  return merged;
}

/**
 * `override` on top of `base` (e.g. a tenant's document on DEFAULT_QUIET_HOURS): a type or rule
 * entry present in the override (null included) wins; absent ones are inherited.
 */
export function mergeQuietHoursPolicies(
  base: QuietHoursPolicy,
  override: QuietHoursPolicy,
): QuietHoursPolicy {
  const merged: QuietHoursPolicy = { ...base };
  if (override.promotional !== undefined) merged.promotional = override.promotional;
  if (override.transactional !== undefined) merged.transactional = override.transactional;
  const byCountry = mergeRules(base.byCountry, override.byCountry);
  if (byCountry !== undefined) merged.byCountry = byCountry;
  const byPrefix = mergeRules(base.byPrefix, override.byPrefix);
  if (byPrefix !== undefined) merged.byPrefix = byPrefix;
  return merged;
}

function ruleFor(rule: QuietHoursRule | undefined, type: WindowedMessageType) {
  return rule !== undefined && Object.hasOwn(rule, type) ? rule[type] : undefined;
}

/** The window that applies to a message, or null when it is not restricted. */
export function resolveQuietHoursWindow(
  policy: QuietHoursPolicy,
  type: WindowedMessageType,
  e164: string,
  country: string,
): Window | null {
  const digits = e164.replace(/\D/g, "");
  const prefixes = Object.entries(policy.byPrefix ?? {})
    .map(([prefix, rule]) => [prefix.replace(/\D/g, ""), rule] as const)
    .filter(([prefix]) => prefix !== "" && digits.startsWith(prefix))
    .sort(([a], [b]) => b.length - a.length);
  for (const [, rule] of prefixes) {
    const window = ruleFor(rule, type);
    if (window !== undefined) return window;
  }
  const byCountry = policy.byCountry ?? {};
  const region = country.toUpperCase();
  const countryWindow = ruleFor(
    Object.hasOwn(byCountry, region) ? byCountry[region] : undefined,
    type,
  );
  if (countryWindow !== undefined) return countryWindow;
  return policy[type] ?? null;
}

// ---------------------------------------------------------------------------------------------
// Local wall time

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** How far ahead nextAllowedAt is searched. */
const HORIZON = 8 * DAY;
/**
 * Offsets are sampled this far apart and transitions located by bisection: assumes a zone's UTC
 * offset changes at most once in 12 hours, true of every zone in current tz data.
 */
const SAMPLE_STEP = 12 * HOUR;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(zone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(zone, formatter);
  }
  return formatter;
}

/** The zone's UTC offset (ms, local − UTC) at instant `t`. */
function offsetAt(zone: string, t: number): number {
  const fields = { year: 0, month: 1, day: 1, hour: 0, minute: 0, second: 0 };
  for (const part of formatterFor(zone).formatToParts(t)) {
    if (part.type in fields) fields[part.type as keyof typeof fields] = Number(part.value);
  }
  const wall = Date.UTC(
    fields.year,
    fields.month - 1,
    fields.day,
    fields.hour % 24,
    fields.minute,
    fields.second,
  );
  return wall - Math.floor(t / 1000) * 1000;
}

interface Segment {
  start: number;
  end: number;
  offset: number;
}

/** [from, to) cut where the zone's offset changes, each piece with its constant offset. */
function offsetSegments(zone: string, from: number, to: number): Segment[] {
  const segments: Segment[] = [];
  let start = from;
  let offset = offsetAt(zone, from);
  for (let t = from; t < to; ) {
    const next = Math.min(t + SAMPLE_STEP, to);
    const nextOffset = offsetAt(zone, next);
    if (nextOffset !== offset) {
      // Bisect on whole seconds (offsets change on whole seconds): lo has the old offset, hi the new.
      let lo = Math.floor(t / 1000);
      let hi = Math.floor(next / 1000);
      while (hi - lo > 1) {
        const mid = Math.floor((lo + hi) / 2);
        if (offsetAt(zone, mid * 1000) === offset) lo = mid;
        else hi = mid;
      }
      const transition = Math.max(hi * 1000, from);
      segments.push({ start, end: transition, offset });
      start = transition;
      offset = nextOffset;
    }
    t = next;
  }
  segments.push({ start, end: to, offset });
  return segments.filter((s) => s.end > s.start);
}

interface Minutes {
  start: number;
  /** > start; past 1440 for a window that spans midnight. */
  end: number;
}

function toMinutes(time: string): number {
  const m = /^(\d{2}):(\d{2})$/.exec(time);
  const hours = Number(m?.[1]);
  const minutes = Number(m?.[2]);
  if (m === null || hours > 24 || minutes > 59 || (hours === 24 && minutes !== 0)) {
    throw new RangeError(`invalid quiet-hours time ${JSON.stringify(time)}`);
  }
  return hours * 60 + minutes;
}

/** start === end (refused by the schema) is read as the whole day. */
function windowMinutes(window: Window): Minutes {
  const start = toMinutes(window.start) % 1440;
  const end = toMinutes(window.end);
  return { start, end: end > start ? end : end + 1440 };
}

function insideAt(zone: string, w: Minutes, t: number): boolean {
  const local = (((t + offsetAt(zone, t)) % DAY) + DAY) % DAY;
  const minute = local / MINUTE;
  return (minute >= w.start && minute < w.end) || minute + 1440 < w.end;
}

type Interval = readonly [start: number, end: number];

/** The instants in [from, to) whose local wall time in `zone` is inside the window, merged. */
function allowedIntervals(zone: string, w: Minutes, from: number, to: number): Interval[] {
  const out: [number, number][] = [];
  for (const segment of offsetSegments(zone, from, to)) {
    const firstDay = Math.floor((segment.start + segment.offset) / DAY) - 1;
    const lastDay = Math.floor((segment.end + segment.offset) / DAY);
    for (let day = firstDay; day <= lastDay; day++) {
      const start = Math.max(day * DAY + w.start * MINUTE - segment.offset, segment.start);
      const end = Math.min(day * DAY + w.end * MINUTE - segment.offset, segment.end);
      if (start >= end) continue;
      const last = out[out.length - 1];
      if (last !== undefined && start <= last[1]) last[1] = Math.max(last[1], end);
      else out.push([start, end]);
    }
  }
  return out;
}

function intersect(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [aStart, aEnd] = a[i] as Interval;
    const [bStart, bEnd] = b[j] as Interval;
    const start = Math.max(aStart, bStart);
    const end = Math.min(aEnd, bEnd);
    if (start < end) out.push([start, end]);
    if (aEnd < bEnd) i++;
    else j++;
  }
  return out;
}

function firstAllowed(intervals: readonly Interval[], now: number): number | undefined {
  for (const [start, end] of intervals) if (end > now) return Math.max(start, now);
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Decision

export type QuietHoursMessageType = WindowedMessageType | "otp";

export interface QuietHoursInput {
  type: QuietHoursMessageType;
  e164: string;
  /** ISO region of the number (normalizePhone's `country`), for the fallback zones. */
  country: string;
  now: Date;
  policy: QuietHoursPolicy;
  /** A known recipient zone (IANA ID); replaces the number's candidates. Ignored if Intl does not know it. */
  recipientTimeZone?: string;
}

export type QuietHoursDecision =
  | { allowed: true }
  | { allowed: false; nextAllowedAt: Date; zones: string[] };

/**
 * Whether a message may be sent at `now`: OTPs always; otherwise when no window applies, or the
 * local time is inside the window in every candidate zone. If not, `nextAllowedAt` is the first
 * instant inside the window in all of them (exact: the UTC instant of e.g. 08:00 local on that
 * day, whatever the DST state), searched over the next 8 days.
 *
 * An invalid `recipientTimeZone` is ignored (the number's zones apply), so a bad hint cannot
 * switch quiet hours off; validate it at the API edge with isValidTimeZone.
 */
export function checkQuietHours(input: QuietHoursInput): QuietHoursDecision {
  if (input.type === "otp") return { allowed: true };
  const window = resolveQuietHoursWindow(input.policy, input.type, input.e164, input.country);
  if (window === null) return { allowed: true };
  const now = input.now.getTime();
  if (Number.isNaN(now)) throw new RangeError("checkQuietHours: invalid `now`");
  const w = windowMinutes(window);
  const zones =
    input.recipientTimeZone !== undefined && isValidTimeZone(input.recipientTimeZone)
      ? [input.recipientTimeZone]
      : timeZonesFor(input.e164, input.country);
  if (zones.every((zone) => insideAt(zone, w, now))) return { allowed: true };

  // Two days usually suffice; the full horizon only when the zones' windows rarely meet.
  let next: number | undefined;
  let perZone: Interval[][] = [];
  for (const horizon of [2 * DAY, HORIZON]) {
    perZone = zones.map((zone) => allowedIntervals(zone, w, now, now + horizon));
    next = firstAllowed(perZone.slice(1).reduce(intersect, perZone[0] ?? []), now);
    if (next !== undefined) break;
  }
  if (next === undefined) {
    // No instant in the next 8 days is inside the window in every zone (zones further apart
    // than 24 h minus the window's length, e.g. a 1-hour window across the US's 11 zones): fall
    // back to the window of the first zone alone, so the message is not held back indefinitely.
    const first = zones[0] ?? "UTC";
    if (insideAt(first, w, now)) return { allowed: true };
    next = firstAllowed(perZone[0] ?? [], now) ?? now + DAY;
  }
  return { allowed: false, nextAllowedAt: new Date(next), zones };
}

/**
 * The policy for one tenant: its own document (if any) on top of the deployment's
 * (QUIET_HOURS_POLICY, else the shipped default).
 */
export function effectiveQuietHours(
  deployment: QuietHoursPolicy | undefined,
  tenant: QuietHoursPolicy | null | undefined,
): QuietHoursPolicy {
  const base = deployment ?? DEFAULT_QUIET_HOURS;
  return tenant ? mergeQuietHoursPolicies(base, tenant) : base;
}
