/**
 * What each provider charges per outbound segment, by destination country and message type.
 * Routing reads it twice: a provider with no price for a country cannot deliver there, and
 * among those that can, price orders the "cheapest" strategies and the failover tail.
 */
import { type CountryCode, isSupportedCountry } from "libphonenumber-js/max";
import { z } from "zod";
import { type MessageType, PROVIDER_NAMES, type ProviderName } from "./providers";

export const MESSAGE_TYPES = [
  "transactional",
  "promotional",
  "otp",
] as const satisfies readonly MessageType[];

/** USD micros per segment; `default` applies to message types without a price of their own. */
export interface CountryPrices {
  transactional?: number;
  promotional?: number;
  otp?: number;
  default: number;
}

/** A provider missing for a country, or a country missing for a provider: it cannot send there. */
export type ProviderPriceTable = Partial<
  Record<ProviderName, Partial<Record<CountryCode, CountryPrices>>>
>;

/** An override may also withdraw a lane (null), e.g. a destination not enabled on our account. */
export type ProviderPriceOverride = Partial<
  Record<ProviderName, Partial<Record<CountryCode, CountryPrices | null>>>
>;

/** AWS list prices per segment, shared by SNS and End User Messaging. */
const AWS_SMS_PRICES: Partial<Record<CountryCode, CountryPrices>> = {
  US: { default: 5_810 },
  CA: { default: 5_750 },
  GB: { default: 41_000 },
  DE: { default: 86_000 },
  FR: { default: 72_000 },
  BR: { default: 22_000 },
  IN: { default: 2_800 },
  ZA: { default: 22_000 },
  KE: { default: 120_000 },
  NG: { default: 250_000 },
  UG: { default: 150_000 },
  TZ: { default: 180_000 },
};

/**
 * Estimates in the range of the providers' public list prices, not what our accounts are
 * billed; carrier pass-through fees (US/CA 10DLC and toll-free surcharges) are left out. Meant
 * to be corrected through an override document. None of the shipped estimates differ by message
 * type: list prices rarely do, but an override can set `otp`, `transactional` or `promotional`.
 *
 * Coverage is deliberately narrow: Africa's Talking only where it runs its own SMS service
 * (East Africa, Nigeria, Malawi, Zambia); the AWS services only for the countries listed here,
 * although they reach many more; Twilio everywhere listed.
 */
export const DEFAULT_PROVIDER_PRICES: ProviderPriceTable = {
  twilio: {
    US: { default: 8_300 },
    CA: { default: 8_300 },
    GB: { default: 52_000 },
    DE: { default: 96_000 },
    FR: { default: 80_000 },
    BR: { default: 45_000 },
    IN: { default: 83_000 },
    ZA: { default: 26_000 },
    KE: { default: 145_000 },
    NG: { default: 180_000 },
    UG: { default: 160_000 },
    TZ: { default: 170_000 },
    RW: { default: 150_000 },
    MW: { default: 140_000 },
    ZM: { default: 150_000 },
  },
  "aws-sns": AWS_SMS_PRICES,
  // End User Messaging is the service SNS itself sends SMS through: same price book.
  "aws-sms-voice": AWS_SMS_PRICES,
  africastalking: {
    KE: { default: 6_200 },
    UG: { default: 6_800 },
    TZ: { default: 8_000 },
    NG: { default: 5_000 },
    RW: { default: 11_000 },
    MW: { default: 6_000 },
    ZM: { default: 10_000 },
  },
};

export const countryCodeSchema = z
  .string()
  .refine(isSupportedCountry, {
    error: (issue) => `"${String(issue.input)}" is not an ISO 3166-1 alpha-2 country code`,
  })
  .transform((country) => country as CountryCode);

const microsSchema = z.number().int("must be whole USD micros").nonnegative();

const countryPricesSchema = z.strictObject({
  transactional: microsSchema.optional(),
  promotional: microsSchema.optional(),
  otp: microsSchema.optional(),
  default: microsSchema,
});

// Without these errors, zod reports a bad key as just "Invalid key in record" (at the key).
const byCountry = z.partialRecord(countryCodeSchema, countryPricesSchema.nullable(), {
  error: (issue) =>
    issue.code === "invalid_key" ? "not an ISO 3166-1 alpha-2 country code" : undefined,
});

// A string refined to a provider name rather than z.enum: an enum-keyed record reports an
// unknown key without a way to say which keys are allowed.
const providerKeySchema = z
  .string()
  .refine((key) => (PROVIDER_NAMES as readonly string[]).includes(key))
  .transform((key) => key as ProviderName);

/** An override document (JSON from configuration), validated before it is merged. */
export const providerPriceTableSchema: z.ZodType<ProviderPriceOverride> = z.partialRecord(
  providerKeySchema,
  byCountry,
  {
    error: (issue) =>
      issue.code === "invalid_key"
        ? `unknown provider: expected one of ${PROVIDER_NAMES.join(", ")}`
        : undefined,
  },
);

/**
 * The override's lanes replace the base's whole entry for that provider and country (type
 * prices included, so no stale `otp` price survives a new `default`); null removes the lane.
 */
export function mergePriceTables(
  base: ProviderPriceTable,
  override: ProviderPriceOverride,
): ProviderPriceTable {
  const merged: ProviderPriceTable = {};
  for (const provider of PROVIDER_NAMES) {
    const lanes: Partial<Record<CountryCode, CountryPrices>> = { ...base[provider] };
    for (const [country, prices] of Object.entries(override[provider] ?? {})) {
      if (prices) lanes[country as CountryCode] = prices;
      else delete lanes[country as CountryCode];
    }
    if (Object.keys(lanes).length > 0) merged[provider] = lanes;
  }
  return merged;
}

/** USD micros for one segment, or undefined when the provider cannot send to the country. */
export function priceFor(
  table: ProviderPriceTable,
  provider: ProviderName,
  country: CountryCode,
  type: MessageType,
): number | undefined {
  const prices = table[provider]?.[country];
  return prices?.[type] ?? prices?.default;
}
