import { describe, expect, it } from "vitest";
import { isProviderOptOut } from "../../src/domain/compliance";

describe("provider errors that mean the person opted out", () => {
  it.each([
    ["twilio", "21610", true],
    ["africastalking", "406", true],
    ["aws-sms-voice", "ConflictException:DESTINATION_PHONE_NUMBER_OPTED_OUT", true],
    ["aws-sns", "OptedOut", true],
    // Codes are per provider: the same code elsewhere means something else.
    ["twilio", "406", false],
    ["aws-sns", "21610", false],
    ["aws-sms-voice", "ConflictException:MESSAGE_TYPE_MISMATCH", false],
    ["aws-sns", "InvalidParameter", false],
    ["twilio", undefined, false],
  ])("%s %s → %s", (provider, code, expected) => {
    expect(isProviderOptOut(provider, code)).toBe(expected);
  });
});
