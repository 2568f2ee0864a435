import { describe, expect, it } from "vitest";
import type { ProviderName, SenderKind } from "../../src/domain/providers";
import {
  ALPHANUMERIC_SENDER_UNSUPPORTED,
  findOwnSender,
  pickSender,
  type RegisteredSender,
  senderFits,
  validateSenderValue,
} from "../../src/domain/senders";

const MG = `MG${"0123456789abcdef".repeat(2)}`;

describe("validateSenderValue", () => {
  it.each<[SenderKind, string, ProviderName, string]>([
    ["phone", "+14155550100", "twilio", "+14155550100"],
    ["phone", " +447700900123 ", "aws-sns", "+447700900123"],
    ["phone", "+12345678", "twilio", "+12345678"],
    ["short_code", "123", "twilio", "123"],
    ["short_code", "12345678", "africastalking", "12345678"],
    ["alphanumeric", "ACME", "twilio", "ACME"],
    ["alphanumeric", "Acme Bank 1", "aws-sns", "Acme Bank 1"],
    ["alphanumeric", "A", "africastalking", "A"],
    ["alphanumeric", "2FA", "twilio", "2FA"],
    ["messaging_service", MG, "twilio", MG],
  ])("%s %j with %s -> %j", (kind, value, provider, normalized) => {
    expect(validateSenderValue(kind, value, provider)).toEqual({ ok: true, value: normalized });
  });

  it.each<[SenderKind, string, ProviderName, string]>([
    ["phone", "14155550100", "twilio", "E.164"],
    ["phone", "+1234567", "twilio", "E.164"],
    ["phone", "+1234567890123456", "twilio", "E.164"],
    ["phone", "+1 415 555 0100", "twilio", "E.164"],
    ["phone", "+04155550100", "twilio", "E.164"],
    ["short_code", "12", "twilio", "3 to 8 digits"],
    ["short_code", "123456789", "twilio", "3 to 8 digits"],
    ["short_code", "12a45", "twilio", "3 to 8 digits"],
    ["alphanumeric", "", "twilio", "at least one letter"],
    ["alphanumeric", "123456", "twilio", "at least one letter"],
    ["alphanumeric", "ACME-BANK", "twilio", "letters, digits or spaces"],
    ["alphanumeric", "TwelveChars1", "twilio", "1 to 11"],
    ["alphanumeric", "Société", "twilio", "letters, digits or spaces"],
    ["messaging_service", MG, "aws-sns", "only with twilio"],
    ["messaging_service", `MG${"0".repeat(31)}`, "twilio", "MG and 32 hex"],
    ["messaging_service", `PN${"0".repeat(32)}`, "twilio", "MG and 32 hex"],
    ["messaging_service", `MG${"g".repeat(32)}`, "twilio", "MG and 32 hex"],
  ])("refuses %s %j with %s", (kind, value, provider, reason) => {
    const result = validateSenderValue(kind, value, provider);
    expect(result.ok).toBe(false);
    expect(result.ok ? "" : result.reason).toContain(reason);
  });
});

const sender = (
  id: string,
  kind: SenderKind,
  value: string,
  countries: string[] = [],
  provider: ProviderName = "twilio",
): RegisteredSender => ({ id, provider, kind, value, countries });

describe("senderFits", () => {
  it.each([
    ["alphanumeric, any country, KE", sender("a", "alphanumeric", "ACME"), "KE", true],
    ["alphanumeric, any country, GB", sender("a", "alphanumeric", "ACME"), "GB", true],
    ["alphanumeric, any country, US", sender("a", "alphanumeric", "ACME"), "US", false],
    ["alphanumeric, any country, BR", sender("a", "alphanumeric", "ACME"), "BR", false],
    ["alphanumeric listed for US", sender("a", "alphanumeric", "ACME", ["US"]), "US", false],
    ["phone, any country, US", sender("p", "phone", "+14155550100"), "US", true],
    ["phone for US, CA; CA", sender("p", "phone", "+14155550100", ["US", "CA"]), "CA", true],
    ["phone for US, CA; GB", sender("p", "phone", "+14155550100", ["US", "CA"]), "GB", false],
    ["messaging service, any country, US", sender("m", "messaging_service", MG), "US", true],
  ])("%s -> %s", (_case, registered, country, fits) => {
    expect(senderFits(registered, country)).toBe(fits);
  });

  it("keeps VN out of the unsupported list (registered brand names are the norm there)", () => {
    expect(["US", "CA", "PR", "CN"].every((c) => ALPHANUMERIC_SENDER_UNSUPPORTED.has(c))).toBe(
      true,
    );
    expect(["GB", "KE", "DE", "IN", "VN"].some((c) => ALPHANUMERIC_SENDER_UNSUPPORTED.has(c))).toBe(
      false,
    );
  });
});

describe("pickSender", () => {
  const alpha = sender("s4", "alphanumeric", "ACME");
  const service = sender("s3", "messaging_service", MG);
  const shortCode = sender("s2", "short_code", "12345");
  const phone = sender("s1", "phone", "+14155550100");
  const all = [phone, shortCode, service, alpha];

  it.each([
    ["GB allows alphanumeric: alphanumeric first", all, "GB", alpha],
    ["then the messaging service", [phone, shortCode, service], "GB", service],
    ["then the short code", [phone, shortCode], "GB", shortCode],
    ["then the phone", [phone], "GB", phone],
    ["US requires a number: messaging service first", all, "US", service],
    ["US: then the short code", [phone, shortCode, alpha], "US", shortCode],
    ["US: then the phone", [phone, alpha], "US", phone],
    ["US: alphanumeric only -> none", [alpha], "US", undefined],
    [
      "same kind: lowest id",
      [sender("b", "phone", "+14155550101"), sender("a", "phone", "+14155550102")],
      "GB",
      sender("a", "phone", "+14155550102"),
    ],
    [
      "a sender for other countries only is passed over",
      [sender("x", "phone", "+1415", ["CA"])],
      "US",
      undefined,
    ],
    [
      "another provider's sender is passed over",
      [sender("y", "phone", "+14155550100", [], "aws-sns")],
      "US",
      undefined,
    ],
    ["no senders", [], "US", undefined],
  ])("%s", (_case, senders, country, expected) => {
    expect(pickSender(senders, "twilio", country)).toEqual(expected);
  });

  it("does not depend on the order of the register", () => {
    expect(pickSender([...all].reverse(), "twilio", "US")).toEqual(service);
  });
});

describe("findOwnSender", () => {
  const phone = sender("p", "phone", "+14155550100");
  const alphaTwilio = sender("b-twilio", "alphanumeric", "ACME");
  const alphaSns = sender("a-sns", "alphanumeric", "ACME", [], "aws-sns");
  const register = [phone, alphaTwilio, alphaSns];

  it.each([
    ["+14155550100", phone],
    ["+1 (415) 555-0100", phone],
    ["0014155550100", phone],
    ["ACME", alphaSns],
    [" ACME ", alphaSns],
    ["acme", undefined],
    ["+14155550199", undefined],
    ["OTHER", undefined],
  ])("%j -> %o", (from, expected) => {
    expect(findOwnSender(register, from)).toEqual(expected);
  });
});
