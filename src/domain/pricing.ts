/**
 * Cost estimates. Money is an integer number of micro-units (1 USD = 1_000_000 micros): it
 * represents sub-cent SMS prices exactly, and summing integers never drifts the way binary
 * floating point does. Conversions to and from decimal strings are done on digits, not floats.
 */
import type { CountryCode } from "libphonenumber-js/max";

export const MICROS_PER_UNIT = 1_000_000;

export type Currency = "USD";

export interface Money {
  micros: number;
  currency: Currency;
}

export interface PriceTable {
  currency: Currency;
  /** Price of one outbound segment, in micros. */
  perSegment: Partial<Record<CountryCode, number>>;
  /** Used for countries missing from `perSegment`. */
  fallbackPerSegment: number;
}

/**
 * Estimates only, in the range of public list prices for one outbound segment; to be replaced
 * by the prices each provider actually charges. The fallback is deliberately on the high side
 * so that an estimate for an unlisted country errs towards over- rather than under-quoting.
 */
export const DEFAULT_PRICE_TABLE: PriceTable = {
  currency: "USD",
  perSegment: {
    US: 7_900,
    CA: 7_900,
    MX: 35_000,
    BR: 35_000,
    GB: 40_000,
    DE: 80_000,
    FR: 75_000,
    KE: 28_000,
    NG: 35_000,
    ZA: 20_000,
    IN: 8_000,
    AU: 50_000,
  },
  fallbackPerSegment: 100_000,
};

export function pricePerSegment(
  country: CountryCode,
  table: PriceTable = DEFAULT_PRICE_TABLE,
): number {
  return table.perSegment[country] ?? table.fallbackPerSegment;
}

export function estimateCost(
  country: CountryCode,
  segments: number,
  table: PriceTable = DEFAULT_PRICE_TABLE,
): Money {
  if (!Number.isSafeInteger(segments) || segments < 0) {
    throw new RangeError(`segments must be a non-negative integer, got ${segments}`);
  }
  const micros = pricePerSegment(country, table) * segments;
  if (!Number.isSafeInteger(micros)) {
    throw new RangeError(`cost of ${segments} segments is not representable in micros`);
  }
  return { micros, currency: table.currency };
}

const FRACTION_DIGITS = 6;
// Four decimals always shown so that list prices such as 0.0079 read the way providers print them.
const MIN_FRACTION_DIGITS = 4;

/** 7900 -> "0.0079", 1_500_000 -> "1.5000", 1_234_567 -> "1.234567", -250 -> "-0.00025". */
export function formatMoney(micros: number): string {
  if (!Number.isSafeInteger(micros)) {
    throw new RangeError(`micros must be a safe integer, got ${micros}`);
  }
  const sign = micros < 0 ? "-" : "";
  const digits = String(Math.abs(micros)).padStart(FRACTION_DIGITS + 1, "0");
  const whole = digits.slice(0, -FRACTION_DIGITS);
  const fraction = digits.slice(-FRACTION_DIGITS);
  let end = FRACTION_DIGITS;
  while (end > MIN_FRACTION_DIGITS && fraction[end - 1] === "0") end--;
  return `${sign}${whole}.${fraction.slice(0, end)}`;
}

// Plain decimal notation only: no exponent, no "+", no bare ".5", at most 6 decimals (more
// could not be represented without rounding).
const DECIMAL_AMOUNT = /^(-?)(\d+)(?:\.(\d{1,6}))?$/;

/** Inverse of formatMoney for any decimal string: "0.0079" -> 7900, "12" -> 12_000_000. */
export function parseMoney(amount: string): number {
  const match = DECIMAL_AMOUNT.exec(amount);
  if (!match) throw new RangeError(`not a decimal amount with at most 6 decimals: "${amount}"`);
  const [, sign, whole = "", fraction = ""] = match;
  const magnitude = Number(whole + fraction.padEnd(FRACTION_DIGITS, "0"));
  if (!Number.isSafeInteger(magnitude)) {
    throw new RangeError(`amount out of range: "${amount}"`);
  }
  // Avoid returning -0 for "-0.00".
  return sign === "-" && magnitude !== 0 ? -magnitude : magnitude;
}
