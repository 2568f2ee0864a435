import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  DEFAULT_PROVIDER_PRICES,
  MESSAGE_TYPES,
  mergePriceTables,
  type ProviderPriceTable,
  priceFor,
  providerPriceTableSchema,
} from "../../src/domain/provider-prices";
import { PROVIDER_NAMES } from "../../src/domain/providers";

const TABLE: ProviderPriceTable = {
  twilio: { US: { default: 8_000, otp: 9_000 }, KE: { default: 100_000 } },
  africastalking: { KE: { default: 6_000 } },
};

describe("priceFor", () => {
  it.each([
    ["type price", "twilio", "US", "otp", 9_000],
    ["default for a type without its own price", "twilio", "US", "promotional", 8_000],
    ["country not covered", "africastalking", "US", "transactional", undefined],
    ["provider absent from the table", "aws-sns", "KE", "transactional", undefined],
  ] as const)("%s", (_case, provider, country, type, expected) => {
    expect(priceFor(TABLE, provider, country, type)).toBe(expected);
  });
});

describe("DEFAULT_PROVIDER_PRICES", () => {
  const lanes = PROVIDER_NAMES.flatMap((provider) =>
    Object.entries(DEFAULT_PROVIDER_PRICES[provider] ?? {}).map(([country, prices]) => ({
      provider,
      country,
      prices,
    })),
  );

  it("is a valid override document itself", () => {
    expect(providerPriceTableSchema.safeParse(DEFAULT_PROVIDER_PRICES).success).toBe(true);
  });

  it("prices every lane in positive whole micros", () => {
    for (const { provider, country, prices } of lanes) {
      for (const value of Object.values(prices)) {
        expect(Number.isSafeInteger(value) && value > 0, `${provider} ${country}`).toBe(true);
      }
    }
  });

  it("covers the dozen main countries with twilio and both AWS services", () => {
    const main = ["US", "CA", "GB", "KE", "NG", "ZA", "UG", "TZ", "IN", "DE", "FR", "BR"] as const;
    for (const provider of ["twilio", "aws-sns", "aws-sms-voice"] as const) {
      for (const country of main) {
        for (const type of MESSAGE_TYPES) {
          expect(
            priceFor(DEFAULT_PROVIDER_PRICES, provider, country, type),
            provider,
          ).toBeDefined();
        }
      }
    }
  });

  it("has Africa's Talking only in African countries it serves", () => {
    expect(Object.keys(DEFAULT_PROVIDER_PRICES.africastalking ?? {}).sort()).toEqual([
      "KE",
      "MW",
      "NG",
      "RW",
      "TZ",
      "UG",
      "ZM",
    ]);
  });

  it("has twilio wherever any provider can send", () => {
    for (const { country } of lanes) {
      expect(DEFAULT_PROVIDER_PRICES.twilio, country).toHaveProperty(country);
    }
  });
});

describe("providerPriceTableSchema", () => {
  it("accepts an override parsed from JSON, type prices and null lanes included", () => {
    const text = '{"twilio": {"US": {"default": 7000, "otp": 7500}}, "aws-sns": {"KE": null}}';
    expect(providerPriceTableSchema.parse(JSON.parse(text))).toEqual({
      twilio: { US: { default: 7_000, otp: 7_500 } },
      "aws-sns": { KE: null },
    });
  });

  it.each([
    [
      "unknown provider",
      { vonage: { US: { default: 1 } } },
      "unknown provider: expected one of twilio, aws-sns",
    ],
    ["unknown country", { twilio: { XX: { default: 1 } } }, "not an ISO 3166-1 alpha-2"],
    ["lower-case country", { twilio: { us: { default: 1 } } }, "not an ISO 3166-1 alpha-2"],
    ["missing default", { twilio: { US: { otp: 1 } } }, "default"],
    ["fractional micros", { twilio: { US: { default: 0.5 } } }, "must be whole USD micros"],
    ["negative price", { twilio: { US: { default: -1 } } }, ">=0"],
    ["price as a string", { twilio: { US: { default: "0.0079" } } }, "expected number"],
    ["misspelt type", { twilio: { US: { default: 1, otpp: 2 } } }, 'Unrecognized key: "otpp"'],
  ])("refuses %s", (_case, document, message) => {
    const result = providerPriceTableSchema.safeParse(document);
    expect(result.success).toBe(false);
    expect(z.prettifyError(result.error ?? new z.ZodError([]))).toContain(message);
  });
});

describe("mergePriceTables", () => {
  it("replaces whole lanes, adds new ones and removes null ones", () => {
    const merged = mergePriceTables(TABLE, {
      twilio: { US: { default: 7_000 }, GB: { default: 40_000 } },
      africastalking: { KE: null },
    });
    expect(merged).toEqual({
      // The base's otp price does not survive a replaced lane.
      twilio: { US: { default: 7_000 }, KE: { default: 100_000 }, GB: { default: 40_000 } },
    });
  });

  it("leaves the base untouched", () => {
    const before = structuredClone(TABLE);
    mergePriceTables(TABLE, { twilio: { US: null } });
    expect(TABLE).toEqual(before);
  });

  it("returns the base's lanes for an empty override", () => {
    expect(mergePriceTables(TABLE, {})).toEqual(TABLE);
  });
});
