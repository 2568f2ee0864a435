import type { CountryCode } from "libphonenumber-js/max";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_PRICE_TABLE,
  estimateCost,
  formatMoney,
  type PriceTable,
  parseMoney,
} from "../../src/domain/pricing";

describe("estimateCost with the default table", () => {
  it.each([
    ["US", 1, 7_900],
    ["US", 3, 23_700],
    ["CA", 2, 15_800],
    ["GB", 1, 40_000],
    ["KE", 4, 112_000],
    ["US", 0, 0],
    // Not in the table: falls back to the conservative default.
    ["JP", 1, DEFAULT_PRICE_TABLE.fallbackPerSegment],
    ["IM", 2, 2 * DEFAULT_PRICE_TABLE.fallbackPerSegment],
  ] as [CountryCode, number, number][])(
    "%s x %i segments = %i micros",
    (country, segments, micros) => {
      expect(estimateCost(country, segments)).toEqual({ micros, currency: "USD" });
    },
  );

  it("has a price for each of the listed countries", () => {
    for (const country of [
      "US",
      "CA",
      "GB",
      "KE",
      "NG",
      "ZA",
      "IN",
      "DE",
      "FR",
      "BR",
      "MX",
      "AU",
    ] as const) {
      const price = DEFAULT_PRICE_TABLE.perSegment[country];
      expect(price, country).toBeDefined();
      expect(Number.isSafeInteger(price) && (price ?? 0) > 0, country).toBe(true);
    }
  });
});

describe("estimateCost with a custom table", () => {
  const table: PriceTable = { currency: "USD", perSegment: { FR: 1_234 }, fallbackPerSegment: 5 };

  it("uses the given prices", () => {
    expect(estimateCost("FR", 3, table)).toEqual({ micros: 3_702, currency: "USD" });
    expect(estimateCost("US", 3, table)).toEqual({ micros: 15, currency: "USD" });
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("rejects %s segments", (segments) => {
    expect(() => estimateCost("US", segments)).toThrow(RangeError);
  });

  it("rejects a total beyond safe integers", () => {
    const huge: PriceTable = { ...table, fallbackPerSegment: Number.MAX_SAFE_INTEGER };
    expect(() => estimateCost("US", 2, huge)).toThrow(RangeError);
  });
});

describe("formatMoney", () => {
  it.each([
    [0, "0.0000"],
    [1, "0.000001"],
    [10, "0.00001"],
    [100, "0.0001"],
    [7_900, "0.0079"],
    [23_700, "0.0237"],
    [40_000, "0.0400"],
    [1_500_000, "1.5000"],
    [1_000_000, "1.0000"],
    [1_234_567, "1.234567"],
    [12_345_670, "12.34567"],
    [123_456_789_000_000, "123456789.0000"],
    [-250, "-0.00025"],
    [-7_900, "-0.0079"],
    [-1_500_000, "-1.5000"],
  ])("%i micros -> %s", (micros, text) => {
    expect(formatMoney(micros)).toBe(text);
  });

  it.each([0.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])("rejects %s", (micros) => {
    expect(() => formatMoney(micros)).toThrow(RangeError);
  });
});

describe("parseMoney", () => {
  it.each([
    ["0.0079", 7_900],
    ["0.0237", 23_700],
    ["1.5", 1_500_000],
    ["1.5000", 1_500_000],
    ["12", 12_000_000],
    ["0", 0],
    ["-0.00", 0],
    ["0.000001", 1],
    ["1.234567", 1_234_567],
    ["-0.00025", -250],
    ["007.5", 7_500_000],
  ])("%s -> %i micros", (text, micros) => {
    expect(parseMoney(text)).toBe(micros);
  });

  it("returns positive zero for negative zero", () => {
    expect(Object.is(parseMoney("-0.0"), 0)).toBe(true);
  });

  it.each([
    "",
    " 1",
    "1 ",
    ".5",
    "1.",
    "+1",
    "1e3",
    "1,5",
    "0.0000001",
    "abc",
    "9007199254.740992",
  ])("rejects %j", (text) => {
    expect(() => parseMoney(text)).toThrow(RangeError);
  });

  it.each([0, 1, 7_900, 1_234_567, -250, 123_456_789_000_000, Number.MAX_SAFE_INTEGER])(
    "round-trips %i through formatMoney",
    (micros) => {
      expect(parseMoney(formatMoney(micros))).toBe(micros);
    },
  );
});
