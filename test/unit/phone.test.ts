import type { CountryCode } from "libphonenumber-js/max";
import { describe, expect, it } from "vitest";
import {
  maskPhone,
  maskPhonesInText,
  normalizePhone,
  type PhoneRejection,
} from "../../src/domain/phone";

describe("normalizePhone accepts SMS-capable numbers", () => {
  it.each([
    // [input, default region, E.164, country]
    ["+14155550100", "US", "+14155550100", "US"], // FIXED_LINE_OR_MOBILE
    ["(415) 555-0100", "US", "+14155550100", "US"],
    ["+1 415 555 0100", "GB", "+14155550100", "US"], // "+" ignores the default region
    ["+254712345678", "KE", "+254712345678", "KE"],
    ["0712345678", "KE", "+254712345678", "KE"], // national format
    ["0712 345 678", "KE", "+254712345678", "KE"],
    ["+254 (0) 712 345 678", "US", "+254712345678", "KE"],
    ["  +254712345678  ", "KE", "+254712345678", "KE"],
    ["00254712345678", "KE", "+254712345678", "KE"], // "00" prefix
    ["0033612345678", "US", "+33612345678", "FR"], // "00" even where the IDD is 011
    ["011 33 6 12 34 56 78", "US", "+33612345678", "FR"], // the region's own IDD
    ["0011 44 7400 123456", "AU", "+447400123456", "GB"], // AU IDD 0011 is not "00"+"11..."
    ["+33612345678", "FR", "+33612345678", "FR"],
    ["06 12 34 56 78", "FR", "+33612345678", "FR"],
    ["+447400123456", "GB", "+447400123456", "GB"],
    ["+447000000000", "GB", "+447000000000", "GB"], // PERSONAL_NUMBER
    ["+447624000000", "GB", "+447624000000", "IM"], // Isle of Man shares +44
    ["+447911123456", "GB", "+447911123456", "GG"], // so does Guernsey
    ["+4915123456789", "DE", "+4915123456789", "DE"],
    ["+2348031234567", "NG", "+2348031234567", "NG"],
    ["+27821234567", "ZA", "+27821234567", "ZA"],
    ["+919812345678", "IN", "+919812345678", "IN"],
    ["+5511912345678", "BR", "+5511912345678", "BR"],
    ["+525512345678", "MX", "+525512345678", "MX"],
    ["+61412345678", "AU", "+61412345678", "AU"],
  ] as [string, CountryCode, string, CountryCode][])(
    "%s (%s) -> %s",
    (input, region, e164, country) => {
      expect(normalizePhone(input, region)).toEqual({ ok: true, e164, country });
    },
  );
});

describe("normalizePhone rejects", () => {
  it.each([
    ["", "US", "invalid_format"],
    ["abc", "US", "invalid_format"],
    ["+12", "US", "invalid_format"],
    ["+0712345678", "KE", "invalid_format"], // no country code 0
    ["++14155550100", "US", "invalid_format"],
    ["tel:+14155550100", "US", "invalid_format"],
    ["+14155550100x", "US", "invalid_format"],
    ["+1 415 555 0100 ext. 12", "US", "invalid_format"],
    ["call +254712345678 now", "KE", "invalid_format"],
    ["+1234567890123456789", "US", "invalid_format"],
    ["+911234", "IN", "invalid_number"], // too short for India
    ["+1415555010012345", "US", "invalid_number"],
    ["+447700900123", "GB", "invalid_number"], // Ofcom's reserved drama range
    ["0812345678", "KE", "invalid_number"], // unassigned range
    ["+442079460000", "GB", "not_mobile_capable"], // FIXED_LINE
    ["0612345678", "KE", "not_mobile_capable"], // FIXED_LINE
    ["+493012345678", "DE", "not_mobile_capable"], // FIXED_LINE
    ["+18005550100", "US", "not_mobile_capable"], // TOLL_FREE
    ["+448001111111", "GB", "not_mobile_capable"], // TOLL_FREE
    ["+19005550100", "US", "not_mobile_capable"], // PREMIUM_RATE
    ["+33899000000", "FR", "not_mobile_capable"], // PREMIUM_RATE
    ["+443001234567", "GB", "not_mobile_capable"], // UAN
    ["+447640123456", "GB", "not_mobile_capable"], // PAGER
    ["+445612345678", "GB", "not_mobile_capable"], // VOIP
    ["+33912345678", "FR", "not_mobile_capable"], // VOIP
    ["+80012345678", "US", "not_mobile_capable"], // international freephone, no country
    ["+882161234567", "US", "not_mobile_capable"], // non-geographic
  ] as [string, CountryCode, PhoneRejection][])("%j (%s): %s", (input, region, reason) => {
    expect(normalizePhone(input, region)).toEqual({ ok: false, reason });
  });
});

describe("maskPhone", () => {
  it.each([
    ["+14155550100", "+1********00"],
    ["+447911123456", "+44********56"],
    ["+254712345678", "+254*******78"],
    ["+33612345678", "+33*******78"],
    ["+8821612345678", "+882********78"],
    ["+911234", "+91****"], // too short to show any digit safely
    ["+1234567", "+1****67"],
    ["+0712345678", "+********78"], // no recognisable calling code
  ])("%s -> %s", (e164, masked) => {
    expect(maskPhone(e164)).toBe(masked);
  });

  it("never reveals more than the calling code and 2 digits", () => {
    for (const e164 of ["+14155550100", "+254712345678", "+4915123456789"]) {
      expect(maskPhone(e164).replace(/\D/g, "").length).toBeLessThanOrEqual(3 + 2);
    }
  });
});

describe("maskPhonesInText", () => {
  it.each([
    ["send to +14155550100 failed", "send to +1********00 failed"],
    ["+254712345678,+33612345678", "+254*******78,+33*******78"],
    ['{"to":"+447911123456"}', '{"to":"+44********56"}'],
    ["To=%2B14155550100&From=%2b447911123456", "To=%2B1********00&From=%2b44********56"],
    ["whatsapp:+14155550100", "whatsapp:+1********00"],
    ["+14155550100123456789", "+******************89"], // over-long: not even a calling code is shown
    ["no numbers here", "no numbers here"],
    ["order 12345678 costs +5", "order 12345678 costs +5"],
    ["temp +25C", "temp +25C"],
  ])("%j", (text, masked) => {
    expect(maskPhonesInText(text)).toBe(masked);
  });
});
