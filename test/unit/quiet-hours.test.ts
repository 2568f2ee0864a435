import { describe, expect, it } from "vitest";
import {
  checkQuietHours,
  DEFAULT_QUIET_HOURS,
  isValidTimeZone,
  mergeQuietHoursPolicies,
  type QuietHoursMessageType,
  type QuietHoursPolicy,
  quietHoursPolicySchema,
  resolveQuietHoursWindow,
  timeZonesFor,
} from "../../src/domain/quiet-hours";

const NEW_YORK = "+12125550100";
const MIAMI = "+13055550100";
const PARIS = "+33142685300";
const BOISE_OR_NORTH_IDAHO = "+12085550100"; // 12085 → America/Boise & America/Los_Angeles
const INDIA = "+919812345678";
const MIAMI_645 = "+16455550100"; // 645 (Miami overlay) is newer than the zone data
const US_ZONES = [
  "America/Adak",
  "America/Anchorage",
  "America/Boise",
  "America/Chicago",
  "America/Denver",
  "America/Juneau",
  "America/Los_Angeles",
  "America/New_York",
  "America/North_Dakota/Center",
  "America/Phoenix",
  "Pacific/Honolulu",
];

type Case = {
  name: string;
  e164: string;
  country: string;
  now: string; // UTC
  /** "allowed", or the expected nextAllowedAt (UTC). */
  expected: string;
  type?: QuietHoursMessageType;
  policy?: QuietHoursPolicy;
  recipientTimeZone?: string;
};

const cases: Case[] = [
  // America/New_York: EST (−5) until 2026-03-08 02:00, EDT (−4) until 2026-11-01 02:00.
  {
    name: "NY 07:30 EST the day before spring-forward → 08:00 EST",
    e164: NEW_YORK,
    country: "US",
    now: "2026-03-07T12:30:00Z",
    expected: "2026-03-07T13:00:00Z",
  },
  {
    name: "NY 21:30 EST the evening before spring-forward → 08:00 EDT (12:00Z, not 13:00Z)",
    e164: NEW_YORK,
    country: "US",
    now: "2026-03-08T02:30:00Z",
    expected: "2026-03-08T12:00:00Z",
  },
  {
    name: "NY 07:30 EDT the morning of spring-forward → 08:00 EDT",
    e164: NEW_YORK,
    country: "US",
    now: "2026-03-08T11:30:00Z",
    expected: "2026-03-08T12:00:00Z",
  },
  {
    name: "NY 07:59:59 EDT → 08:00 EDT",
    e164: NEW_YORK,
    country: "US",
    now: "2026-03-08T11:59:59Z",
    expected: "2026-03-08T12:00:00Z",
  },
  {
    name: "NY exactly 08:00 EDT (start inclusive)",
    e164: NEW_YORK,
    country: "US",
    now: "2026-03-08T12:00:00Z",
    expected: "allowed",
  },
  {
    name: "NY 20:59 EDT",
    e164: NEW_YORK,
    country: "US",
    now: "2026-03-09T00:59:00Z",
    expected: "allowed",
  },
  {
    name: "NY 21:30 EDT the evening before fall-back → 08:00 EST (13:00Z)",
    e164: NEW_YORK,
    country: "US",
    now: "2026-11-01T01:30:00Z",
    expected: "2026-11-01T13:00:00Z",
  },
  {
    name: "NY 07:30 EST the morning of fall-back → 08:00 EST",
    e164: NEW_YORK,
    country: "US",
    now: "2026-11-01T12:30:00Z",
    expected: "2026-11-01T13:00:00Z",
  },
  {
    name: "NY exactly 21:00 EST (end exclusive) → next day 08:00 EST",
    e164: NEW_YORK,
    country: "US",
    now: "2026-11-02T02:00:00Z",
    expected: "2026-11-02T13:00:00Z",
  },
  // Europe/Paris: CET (+1) until 2026-03-29 02:00, CEST (+2) until 2026-10-25 03:00.
  {
    name: "Paris 22:30 CET the evening before spring-forward → 08:00 CEST (06:00Z)",
    e164: PARIS,
    country: "FR",
    now: "2026-03-28T21:30:00Z",
    expected: "2026-03-29T06:00:00Z",
  },
  {
    name: "Paris 07:30 CEST on spring-forward day → 08:00 CEST",
    e164: PARIS,
    country: "FR",
    now: "2026-03-29T05:30:00Z",
    expected: "2026-03-29T06:00:00Z",
  },
  {
    name: "Paris 21:30 CEST the evening before fall-back → 08:00 CET (07:00Z)",
    e164: PARIS,
    country: "FR",
    now: "2026-10-24T19:30:00Z",
    expected: "2026-10-25T07:00:00Z",
  },
  {
    name: "Paris 07:30 CET on fall-back day → 08:00 CET",
    e164: PARIS,
    country: "FR",
    now: "2026-10-25T06:30:00Z",
    expected: "2026-10-25T07:00:00Z",
  },
  {
    name: "Paris 20:59 CET on fall-back day",
    e164: PARIS,
    country: "FR",
    now: "2026-10-25T19:59:00Z",
    expected: "allowed",
  },
  // Idaho +1208 5…: Boise (MDT −6) and Los Angeles (PDT −7); inside the window in both only.
  {
    name: "Idaho 08:30 Boise / 07:30 Los Angeles → 08:00 Los Angeles",
    e164: BOISE_OR_NORTH_IDAHO,
    country: "US",
    now: "2026-07-15T14:30:00Z",
    expected: "2026-07-15T15:00:00Z",
  },
  {
    name: "Idaho 09:00 Boise / 08:00 Los Angeles",
    e164: BOISE_OR_NORTH_IDAHO,
    country: "US",
    now: "2026-07-15T15:00:00Z",
    expected: "allowed",
  },
  {
    name: "Idaho 20:59 Boise / 19:59 Los Angeles",
    e164: BOISE_OR_NORTH_IDAHO,
    country: "US",
    now: "2026-07-16T02:59:00Z",
    expected: "allowed",
  },
  {
    name: "Idaho 21:30 Boise / 20:30 Los Angeles → next 08:00 Los Angeles",
    e164: BOISE_OR_NORTH_IDAHO,
    country: "US",
    now: "2026-07-16T03:30:00Z",
    expected: "2026-07-16T15:00:00Z",
  },
  {
    name: "Idaho 21:30 Boise in winter (MST −7, PST −8) → next 08:00 PST",
    e164: BOISE_OR_NORTH_IDAHO,
    country: "US",
    now: "2026-01-16T04:30:00Z",
    expected: "2026-01-16T16:00:00Z",
  },
  // India (IST +05:30): promotional 09:00–21:00.
  {
    name: "India 08:00 IST → 09:00 IST",
    e164: INDIA,
    country: "IN",
    now: "2026-05-10T02:30:00Z",
    expected: "2026-05-10T03:30:00Z",
  },
  {
    name: "India 09:00 IST",
    e164: INDIA,
    country: "IN",
    now: "2026-05-10T03:30:00Z",
    expected: "allowed",
  },
  {
    name: "India 21:00 IST → next day 09:00 IST",
    e164: INDIA,
    country: "IN",
    now: "2026-05-10T15:30:00Z",
    expected: "2026-05-11T03:30:00Z",
  },
  {
    name: "India 08:00 IST transactional",
    e164: INDIA,
    country: "IN",
    now: "2026-05-10T02:30:00Z",
    type: "transactional",
    expected: "allowed",
  },
  // Florida: promotional 08:00–20:00.
  {
    name: "Miami 20:30 EDT → next 08:00 EDT",
    e164: MIAMI,
    country: "US",
    now: "2026-07-15T00:30:00Z",
    expected: "2026-07-15T12:00:00Z",
  },
  {
    name: "New York at the same instant (20:30 EDT) is inside 08:00–21:00",
    e164: NEW_YORK,
    country: "US",
    now: "2026-07-15T00:30:00Z",
    expected: "allowed",
  },
  {
    name: "Miami 20:30 EST (winter) → next 08:00 EST",
    e164: MIAMI,
    country: "US",
    now: "2026-01-15T01:30:00Z",
    expected: "2026-01-15T13:00:00Z",
  },
  {
    name: "Miami 19:59 EDT",
    e164: MIAMI,
    country: "US",
    now: "2026-07-14T23:59:00Z",
    expected: "allowed",
  },
  // No prefix zone data: +1 645 falls back to the 11 US zones (Adak/Honolulu … New York).
  {
    name: "+1645 (US fallback) 12:00 EDT is 06:00 in Honolulu → 08:00 HST (18:00Z)",
    e164: MIAMI_645,
    country: "US",
    now: "2026-07-15T16:00:00Z",
    expected: "2026-07-15T18:00:00Z",
  },
  {
    name: "+1645 (US fallback) 19:30 EDT / 13:30 HST, Florida window in all zones",
    e164: MIAMI_645,
    country: "US",
    now: "2026-07-15T23:30:00Z",
    expected: "allowed",
  },
  {
    name: "+1645 (US fallback) 20:00 EDT: Florida's end in New York → next 08:00 HST",
    e164: MIAMI_645,
    country: "US",
    now: "2026-07-16T00:00:00Z",
    expected: "2026-07-16T18:00:00Z",
  },
  // Types.
  {
    name: "transactional is not deferred by default (03:00 EDT)",
    e164: NEW_YORK,
    country: "US",
    now: "2026-07-15T07:00:00Z",
    type: "transactional",
    expected: "allowed",
  },
  {
    name: "OTP is never deferred (03:00 EDT)",
    e164: NEW_YORK,
    country: "US",
    now: "2026-07-15T07:00:00Z",
    type: "otp",
    expected: "allowed",
  },
  {
    name: "OTP is never deferred, even when the policy restricts every other type",
    e164: NEW_YORK,
    country: "US",
    now: "2026-07-15T07:00:00Z",
    type: "otp",
    policy: {
      promotional: { start: "08:00", end: "21:00" },
      transactional: { start: "08:00", end: "21:00" },
    },
    expected: "allowed",
  },
  {
    name: "transactional with a tenant window is deferred",
    e164: NEW_YORK,
    country: "US",
    now: "2026-07-15T07:00:00Z",
    type: "transactional",
    policy: { transactional: { start: "07:00", end: "22:00" } },
    expected: "2026-07-15T11:00:00Z",
  },
  // An explicit recipient zone replaces the number's.
  {
    name: "NY number, recipient in London: 07:30 EDT is 12:30 BST",
    e164: NEW_YORK,
    country: "US",
    now: "2026-07-15T11:30:00Z",
    recipientTimeZone: "Europe/London",
    expected: "allowed",
  },
  {
    name: "UK number, recipient in Los Angeles: 05:00 PDT → 08:00 PDT",
    e164: "+442071234567",
    country: "GB",
    now: "2026-07-15T12:00:00Z",
    recipientTimeZone: "America/Los_Angeles",
    expected: "2026-07-15T15:00:00Z",
  },
  {
    name: "an unknown recipient zone is ignored (the number's zone applies)",
    e164: NEW_YORK,
    country: "US",
    now: "2026-07-15T11:30:00Z",
    recipientTimeZone: "Mars/Olympus_Mons",
    expected: "2026-07-15T12:00:00Z",
  },
  // Windows and DST edges with tenant policies.
  {
    name: "window across midnight 22:00–06:00: 23:00 EDT",
    e164: NEW_YORK,
    country: "US",
    now: "2026-07-16T03:00:00Z",
    policy: { promotional: { start: "22:00", end: "06:00" } },
    expected: "allowed",
  },
  {
    name: "window across midnight 22:00–06:00: 05:59 EDT",
    e164: NEW_YORK,
    country: "US",
    now: "2026-07-16T09:59:00Z",
    policy: { promotional: { start: "22:00", end: "06:00" } },
    expected: "allowed",
  },
  {
    name: "window across midnight 22:00–06:00: 12:00 EDT → 22:00 EDT",
    e164: NEW_YORK,
    country: "US",
    now: "2026-07-15T16:00:00Z",
    policy: { promotional: { start: "22:00", end: "06:00" } },
    expected: "2026-07-16T02:00:00Z",
  },
  {
    name: "window starting in the spring-forward gap (02:30): opens at 03:00 EDT",
    e164: NEW_YORK,
    country: "US",
    now: "2026-03-08T06:30:00Z", // 01:30 EST
    policy: { promotional: { start: "02:30", end: "05:00" } },
    expected: "2026-03-08T07:00:00Z",
  },
  {
    name: "window 01:30–21:00 on fall-back day: 00:30 EDT → 01:30 EDT (first occurrence)",
    e164: NEW_YORK,
    country: "US",
    now: "2026-11-01T04:30:00Z",
    policy: { promotional: { start: "01:30", end: "21:00" } },
    expected: "2026-11-01T05:30:00Z",
  },
  {
    name: "window 01:30–21:00 on fall-back day: the repeated 01:00 EST is outside → 01:30 EST",
    e164: NEW_YORK,
    country: "US",
    now: "2026-11-01T06:00:00Z",
    policy: { promotional: { start: "01:30", end: "21:00" } },
    expected: "2026-11-01T06:30:00Z",
  },
  {
    name: "09:00–10:00 never meets in all 11 US zones: falls back to the first (Adak, HDT −9)",
    e164: MIAMI_645,
    country: "US",
    now: "2026-07-15T16:00:00Z",
    policy: { promotional: { start: "09:00", end: "10:00" } },
    expected: "2026-07-15T18:00:00Z",
  },
  {
    name: "09:00–10:00 never meets in all US zones: allowed while inside Adak's window",
    e164: MIAMI_645,
    country: "US",
    now: "2026-07-15T18:30:00Z",
    policy: { promotional: { start: "09:00", end: "10:00" } },
    expected: "allowed",
  },
];

describe("checkQuietHours", () => {
  it.each(cases)("$name", (c) => {
    const decision = checkQuietHours({
      type: c.type ?? "promotional",
      e164: c.e164,
      country: c.country,
      now: new Date(c.now),
      policy: c.policy ?? DEFAULT_QUIET_HOURS,
      ...(c.recipientTimeZone === undefined ? {} : { recipientTimeZone: c.recipientTimeZone }),
    });
    if (c.expected === "allowed") {
      expect(decision).toEqual({ allowed: true });
    } else {
      expect(decision.allowed).toBe(false);
      if (!decision.allowed)
        expect(decision.nextAllowedAt.toISOString()).toBe(new Date(c.expected).toISOString());
    }
  });

  it("reports the candidate zones of a deferral", () => {
    const at = (now: string, e164: string, recipientTimeZone?: string) =>
      checkQuietHours({
        type: "promotional",
        e164,
        country: "US",
        now: new Date(now),
        policy: DEFAULT_QUIET_HOURS,
        ...(recipientTimeZone === undefined ? {} : { recipientTimeZone }),
      });
    expect(at("2026-07-15T14:30:00Z", BOISE_OR_NORTH_IDAHO)).toMatchObject({
      allowed: false,
      zones: ["America/Boise", "America/Los_Angeles"],
    });
    expect(at("2026-07-15T14:30:00Z", BOISE_OR_NORTH_IDAHO, "America/Boise")).toEqual({
      allowed: true,
    });
    expect(at("2026-07-15T16:00:00Z", MIAMI_645)).toMatchObject({ zones: US_ZONES });
  });

  it("nextAllowedAt is itself allowed, and no earlier minute is", () => {
    const check = (now: Date) =>
      checkQuietHours({
        type: "promotional",
        e164: BOISE_OR_NORTH_IDAHO,
        country: "US",
        now,
        policy: DEFAULT_QUIET_HOURS,
      });
    const decision = check(new Date("2026-03-08T08:00:00Z"));
    if (decision.allowed) throw new Error("expected a deferral");
    expect(check(decision.nextAllowedAt)).toEqual({ allowed: true });
    expect(check(new Date(decision.nextAllowedAt.getTime() - 1000)).allowed).toBe(false);
  });

  it("refuses an invalid now", () => {
    expect(() =>
      checkQuietHours({
        type: "promotional",
        e164: NEW_YORK,
        country: "US",
        now: new Date(Number.NaN),
        policy: DEFAULT_QUIET_HOURS,
      }),
    ).toThrow(RangeError);
  });
});

describe("timeZonesFor", () => {
  it.each([
    [NEW_YORK, "US", ["America/New_York"]],
    [MIAMI, "US", ["America/New_York"]],
    [BOISE_OR_NORTH_IDAHO, "US", ["America/Boise", "America/Los_Angeles"]],
    ["+12083345678", "US", ["America/Denver"]], // 12083: southern Idaho
    ["+12086645678", "US", ["America/Los_Angeles"]], // 120866: north Idaho (Coeur d'Alene)
    [PARIS, "FR", ["Europe/Paris"]],
    [MIAMI_645, "US", US_ZONES], // only "1" matches: the country's zones
    ["+18005550100", "US", US_ZONES], // toll-free, non-geographic
    [
      "+15555550100",
      "CA",
      [
        "America/Edmonton",
        "America/Fort_Nelson",
        "America/Halifax",
        "America/Regina",
        "America/St_Johns",
        "America/Toronto",
        "America/Vancouver",
        "America/Winnipeg",
      ],
    ],
    ["+19995550100", "ZZ", expect.arrayContaining(["Pacific/Guam", "America/St_Johns"])], // "1" as is
    ["+999123456", "KE", ["Africa/Nairobi"]], // no prefix at all: the country's zones
    ["+999123456", "ZZ", ["UTC"]], // neither: last resort
    ["+33612345678", "GB", ["Europe/Paris"]], // a country from another calling code is ignored
  ])("%s (%s)", (e164, country, zones) => {
    expect(timeZonesFor(e164, country)).toEqual(zones);
  });

  it("returns a copy", () => {
    timeZonesFor(NEW_YORK, "US").push("Europe/Paris");
    expect(timeZonesFor(NEW_YORK, "US")).toEqual(["America/New_York"]);
  });

  it("isValidTimeZone", () => {
    expect(isValidTimeZone("America/New_York")).toBe(true);
    expect(isValidTimeZone("Asia/Calcutta")).toBe(true);
    expect(isValidTimeZone("Asia/Kolkata")).toBe(true);
    expect(isValidTimeZone("UTC")).toBe(true);
    expect(isValidTimeZone("Mars/Olympus_Mons")).toBe(false);
    expect(isValidTimeZone("")).toBe(false);
  });
});

describe("resolveQuietHoursWindow", () => {
  const w = (start: string, end: string) => ({ start, end });
  const policy: QuietHoursPolicy = {
    promotional: w("08:00", "21:00"),
    byCountry: { US: { promotional: w("08:30", "20:30"), transactional: w("07:00", "22:00") } },
    byPrefix: {
      "+1": { promotional: w("09:00", "20:00") },
      "+1305": { promotional: w("10:00", "19:00") },
      "+1212": { promotional: null },
      "+1415": { transactional: w("06:00", "23:00") },
    },
  };

  it.each([
    ["+13055550100", "US", "promotional", w("10:00", "19:00")], // longest prefix
    ["+17135550100", "US", "promotional", w("09:00", "20:00")], // shorter prefix beats country
    ["+12125550100", "US", "promotional", null], // an explicit null at a prefix wins
    ["+14155550100", "US", "promotional", w("09:00", "20:00")], // "+1415" does not set it: "+1"
    ["+14155550100", "US", "transactional", w("06:00", "23:00")],
    ["+13055550100", "US", "transactional", w("07:00", "22:00")], // country
    ["+447400123456", "GB", "promotional", w("08:00", "21:00")], // type default
    ["+447400123456", "GB", "transactional", null], // no default: unrestricted
    ["+447400123456", "gb", "promotional", w("08:00", "21:00")],
  ] as const)("%s %s %s", (e164, country, type, expected) => {
    expect(resolveQuietHoursWindow(policy, type, e164, country)).toEqual(expected);
  });

  it("DEFAULT_QUIET_HOURS: 08:00–21:00, India 09:00–21:00, Florida 08:00–20:00, no transactional", () => {
    const r = (
      e164: string,
      country: string,
      type: "promotional" | "transactional" = "promotional",
    ) => resolveQuietHoursWindow(DEFAULT_QUIET_HOURS, type, e164, country);
    expect(r(NEW_YORK, "US")).toEqual(w("08:00", "21:00"));
    expect(r(INDIA, "IN")).toEqual(w("09:00", "21:00"));
    expect(r("+254712345678", "KE")).toEqual(w("08:00", "21:00"));
    for (const code of [
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
    ]) {
      expect(r(`+1${code}5550100`, "US")).toEqual(w("08:00", "20:00"));
    }
    expect(r("+14045550100", "US")).toEqual(w("08:00", "21:00")); // Atlanta
    expect(r(NEW_YORK, "US", "transactional")).toBeNull();
    expect(r(INDIA, "IN", "transactional")).toBeNull();
  });
});

describe("quietHoursPolicySchema", () => {
  it("accepts DEFAULT_QUIET_HOURS and documents round-tripped through JSON", () => {
    const parsed = quietHoursPolicySchema.parse(JSON.parse(JSON.stringify(DEFAULT_QUIET_HOURS)));
    expect(parsed).toEqual(DEFAULT_QUIET_HOURS);
    expect(quietHoursPolicySchema.parse({})).toEqual({});
    expect(
      quietHoursPolicySchema.parse({
        promotional: { start: "22:00", end: "06:00" },
        transactional: { start: "00:00", end: "24:00" },
        byCountry: { IN: { promotional: null } },
        byPrefix: { "+1305": {} },
      }),
    ).toBeTruthy();
  });

  it.each([
    ["a bad time", { promotional: { start: "8:00", end: "21:00" } }],
    ["hour 24 as a start", { promotional: { start: "24:00", end: "06:00" } }],
    ["minute 60", { promotional: { start: "08:60", end: "21:00" } }],
    ["start equal to end", { promotional: { start: "08:00", end: "08:00" } }],
    ["00:00–24:00 written as 24:00–24:00", { promotional: { start: "00:00", end: "00:00" } }],
    ["an unknown key", { promotinal: { start: "08:00", end: "21:00" } }],
    ["an unknown window key", { promotional: { start: "08:00", end: "21:00", tz: "UTC" } }],
    ["an OTP window", { byCountry: { US: { otp: { start: "08:00", end: "21:00" } } } }],
    ["a lower-case country", { byCountry: { us: {} } }],
    ["a prefix without +", { byPrefix: { "1305": {} } }],
    ["a prefix with spaces", { byPrefix: { "+1 305": {} } }],
  ])("refuses %s", (_, doc) => {
    expect(quietHoursPolicySchema.safeParse(doc).success).toBe(false);
  });
});

describe("mergeQuietHoursPolicies", () => {
  it("override entries win, absent ones are inherited, null disables", () => {
    const merged = mergeQuietHoursPolicies(DEFAULT_QUIET_HOURS, {
      transactional: { start: "07:00", end: "22:00" },
      byCountry: {
        IN: { transactional: { start: "08:00", end: "22:00" } },
        KE: { promotional: null },
      },
      byPrefix: { "+1305": { promotional: null } },
    });
    expect(merged.promotional).toEqual({ start: "08:00", end: "21:00" });
    expect(merged.transactional).toEqual({ start: "07:00", end: "22:00" });
    expect(merged.byCountry?.IN).toEqual({
      promotional: { start: "09:00", end: "21:00" },
      transactional: { start: "08:00", end: "22:00" },
    });
    expect(resolveQuietHoursWindow(merged, "promotional", "+254712345678", "KE")).toBeNull();
    expect(resolveQuietHoursWindow(merged, "promotional", MIAMI, "US")).toBeNull();
    expect(resolveQuietHoursWindow(merged, "promotional", "+13215550100", "US")).toEqual({
      start: "08:00",
      end: "20:00",
    });
    expect(DEFAULT_QUIET_HOURS.byPrefix?.["+1305"]).toEqual({
      promotional: { start: "08:00", end: "20:00" },
    });
  });
});
