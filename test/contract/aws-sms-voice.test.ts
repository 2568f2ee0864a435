/**
 * Our End User Messaging SMS client against the fake (scripts/fakes/aws-sms-voice.mjs), which
 * checks SigV4 and the SendTextMessage model constraints itself.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeSmsVoice } from "../../scripts/fakes/aws-sms-voice.mjs";
import type { FakeServer } from "../../scripts/fakes/common.mjs";
import {
  createSmsVoiceProvider,
  type SmsVoiceConfig,
  smsVoiceDefaultBaseUrl,
} from "../../src/providers/aws-sms-voice";
import type { FetchLike } from "../../src/providers/http";
import type { SendRequest } from "../../src/providers/types";
import {
  authorization,
  CREDENTIALS,
  HANG_TIMEOUT_MS,
  header,
  magicNumber,
  REGION,
  SESSION_TOKEN,
  smsRequest,
  TIMEOUT_MS,
} from "./aws-fixtures";
import { answerWith, onlyRequest } from "./support";

let fake: FakeServer;
let tokenFake: FakeServer;

beforeAll(async () => {
  fake = await startFakeSmsVoice({ ...CREDENTIALS, region: REGION });
  tokenFake = await startFakeSmsVoice({
    ...CREDENTIALS,
    sessionToken: SESSION_TOKEN,
    region: REGION,
  });
});
afterAll(() => Promise.all([fake.stop(), tokenFake.stop()]));
beforeEach(() => {
  fake.clear();
  tokenFake.clear();
});

const provider = (overrides: Partial<SmsVoiceConfig> = {}, fetchImpl?: FetchLike) =>
  createSmsVoiceProvider(
    {
      credentials: CREDENTIALS,
      region: REGION,
      baseUrl: fake.url,
      timeoutMs: TIMEOUT_MS,
      ...overrides,
    },
    fetchImpl,
  );

async function sendAndRead(request: SendRequest, config: Partial<SmsVoiceConfig> = {}) {
  const result = await provider(config).send(request);
  return { result, body: JSON.parse(onlyRequest(fake).body) as Record<string, unknown> };
}

describe("SendTextMessage: the request", () => {
  it("posts signed AWS JSON 1.0 with every member that applies, and returns the MessageId", async () => {
    const now = new Date();
    const request = smsRequest({
      type: "promotional",
      sender: { kind: "alphanumeric", value: "ACME-IN" },
      maxPriceMicros: 50_000,
      deadline: new Date(now.getTime() + 600_000),
      dlt: { entityId: "1101234567890123456", templateId: "1107161234567890123" },
    });
    const result = await provider({
      configurationSetName: "sms-gateway-events",
      now: () => now,
    }).send(request);

    expect(result).toEqual({
      outcome: "accepted",
      providerMessageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const received = onlyRequest(fake);
    expect(received.method).toBe("POST");
    expect(received.path).toBe("/");
    expect(header(received, "content-type")).toBe("application/x-amz-json-1.0");
    expect(header(received, "x-amz-target")).toBe("PinpointSMSVoiceV2.SendTextMessage");
    expect(authorization(received)).toMatchObject({
      accessKeyId: CREDENTIALS.accessKeyId,
      region: REGION,
      service: "sms-voice",
      signedHeaders: ["content-type", "host", "x-amz-date", "x-amz-target"],
    });
    expect(JSON.parse(received.body)).toEqual({
      DestinationPhoneNumber: request.to,
      MessageBody: request.body,
      OriginationIdentity: "ACME-IN",
      MessageType: "PROMOTIONAL",
      ConfigurationSetName: "sms-gateway-events",
      MaxPrice: "0.0500",
      TimeToLive: 600,
      // Delivery events echo it: that is how receipts find our message.
      Context: { message_id: request.messageId },
      DestinationCountryParameters: {
        IN_ENTITY_ID: "1101234567890123456",
        IN_TEMPLATE_ID: "1107161234567890123",
      },
    });
  });

  it("leaves out what does not apply", async () => {
    const { body } = await sendAndRead(smsRequest({ type: "otp" }));
    expect(body).toEqual({
      DestinationPhoneNumber: magicNumber("100"),
      MessageBody: smsRequest().body,
      MessageType: "TRANSACTIONAL",
      Context: { message_id: smsRequest().messageId },
    });
  });

  it.each([
    ["phone", "+14155550199"],
    ["short_code", "12345"],
  ] as const)("sends a %s sender as the origination identity", async (kind, value) => {
    const { body } = await sendAndRead(smsRequest({ sender: { kind, value } }));
    expect(body.OriginationIdentity).toBe(value);
  });

  // The model's pattern is [0-9]{0,2}\.[0-9]{1,5}: rounded down to 10 micros, capped at 99.99999.
  it.each([
    [7_900, "0.0079"],
    [1_234_567, "1.23456"],
    [12_345_678, "12.34567"],
    [99_999_999, "99.99999"],
    [250_000_000, "99.99999"],
    [5, "0.0000"],
  ])("MaxPrice for %i micros is %s, which the service accepts", async (micros, maxPrice) => {
    const { result, body } = await sendAndRead(smsRequest({ maxPriceMicros: micros }));
    expect(body.MaxPrice).toBe(maxPrice);
    expect(result.outcome).toBe("accepted");
  });

  // TimeToLive: whole seconds to the deadline, within 5..259200, which the service accepts.
  it.each([
    [60_900, 60],
    [2_000, 5],
    [-30_000, 5],
    [10 * 86_400_000, 259_200],
  ])("a deadline %i ms away gives TimeToLive %i", async (inMs, ttl) => {
    const now = new Date();
    const { result, body } = await sendAndRead(
      smsRequest({ deadline: new Date(now.getTime() + inMs) }),
      { now: () => now },
    );
    expect(body.TimeToLive).toBe(ttl);
    expect(result.outcome).toBe("accepted");
  });

  it("asks for a dry run when configured", async () => {
    const { result, body } = await sendAndRead(smsRequest(), { dryRun: true });
    expect(body.DryRun).toBe(true);
    expect(result.outcome).toBe("accepted");
  });

  it("refuses a messaging-service sender without calling AWS", async () => {
    const result = await provider().send(
      smsRequest({ sender: { kind: "messaging_service", value: "MG0123" } }),
    );
    expect(result).toMatchObject({ outcome: "rejected_config", errorCode: "unsupported_sender" });
    expect(fake.requests()).toHaveLength(0);
  });

  it("signs the session token of temporary credentials", async () => {
    const withToken = { ...CREDENTIALS, sessionToken: SESSION_TOKEN };
    const result = await provider({ credentials: withToken, baseUrl: tokenFake.url }).send(
      smsRequest(),
    );
    expect(result.outcome).toBe("accepted");
    const received = onlyRequest(tokenFake);
    expect(header(received, "x-amz-security-token")).toBe(SESSION_TOKEN);
    expect(authorization(received).signedHeaders).toContain("x-amz-security-token");
  });

  it("has the documented default endpoint", () => {
    expect(smsVoiceDefaultBaseUrl("ap-south-1")).toBe("https://sms-voice.ap-south-1.amazonaws.com");
  });
});

describe("SendTextMessage: outcomes, AWS's code and reason kept", () => {
  it.each([
    ["991", "rejected_permanent", "ValidationException:INVALID_PARAMETER", /not a valid phone/],
    [
      "992",
      "rejected_permanent",
      "ConflictException:DESTINATION_PHONE_NUMBER_OPTED_OUT",
      /opted out/,
    ],
    ["993", "rejected_config", "AccessDeniedException", /not authorized/],
    ["994", "throttled", "ThrottlingException", /^Rate exceeded$/],
    ["995", "unavailable", "InternalServerException", /internal error/],
    ["996", "outcome_unknown", "http_502", /502 Bad Gateway/],
    ["998", "outcome_unknown", "http_200", /^Unexpected answer \(HTTP 200\): \{"MessageId/],
  ])("destination …%s → %s %s", async (suffix, outcome, errorCode, message) => {
    const result = await provider().send(smsRequest({ to: magicNumber(suffix) }));
    expect(result).toMatchObject({
      outcome,
      errorCode,
      errorMessage: expect.stringMatching(message),
    });
    onlyRequest(fake);
  });

  it("a provider that never answers → outcome_unknown (timeout), sent once", async () => {
    const result = await provider({ timeoutMs: HANG_TIMEOUT_MS }).send(
      smsRequest({ to: magicNumber("997") }),
    );
    expect(result).toMatchObject({ outcome: "outcome_unknown", errorCode: "timeout" });
    onlyRequest(fake);
  });

  // Config thunks: the token fake's URL is only known once it has started.
  it.each<[string, () => Partial<SmsVoiceConfig>, string, RegExp]>([
    [
      "a wrong secret",
      () => ({ credentials: { ...CREDENTIALS, secretAccessKey: "nope" } }),
      "InvalidSignatureException",
      /does not match/,
    ],
    [
      "an unknown access key",
      () => ({ credentials: { ...CREDENTIALS, accessKeyId: "AKIAUNKNOWNKEY000000" } }),
      "UnrecognizedClientException",
      /security token/,
    ],
    [
      "another region's scope",
      () => ({ region: "us-east-1" }),
      "InvalidSignatureException",
      /region/,
    ],
    [
      "a clock 10 minutes slow",
      () => ({ now: () => new Date(Date.now() - 600_000) }),
      "InvalidSignatureException",
      /Signature expired/,
    ],
    [
      "temporary credentials without their token",
      () => ({ baseUrl: tokenFake.url }),
      "UnrecognizedClientException",
      /security token/,
    ],
  ])("%s → rejected_config", async (_, config, errorCode, message) => {
    const result = await provider(config()).send(smsRequest());
    expect(result).toMatchObject({
      outcome: "rejected_config",
      errorCode,
      errorMessage: expect.stringMatching(message),
    });
  });
});

describe("SendTextMessage: other documented answers", () => {
  // Answers the fake has no magic number for, in AWS JSON 1.0 shapes (§4.3), served in place of
  // fetch: these cases are about reading answers, the fake covers the requests.
  const answering = (status: number, body: string, headers?: Record<string, string>) =>
    answerWith(status, body, "application/x-amz-json-1.0", headers);
  const awsError = (type: string, members: Record<string, unknown> = {}) =>
    JSON.stringify({
      __type: `com.amazonaws.pinpointsmsvoicev2#${type}`,
      Message: "m",
      ...members,
    });

  it.each([
    ["ConflictException", "DESTINATION_PHONE_NUMBER_NOT_VERIFIED", "rejected_config"],
    ["ConflictException", "NO_ORIGINATION_IDENTITIES_FOUND", "rejected_config"],
    ["ConflictException", "MESSAGE_TYPE_MISMATCH", "rejected_config"],
    [
      "ConflictException",
      "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION",
      "rejected_permanent",
    ],
    [
      "ConflictException",
      "DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE",
      "rejected_permanent",
    ],
    ["ValidationException", "CANNOT_PARSE", "rejected_permanent"],
    ["ValidationException", "PRICE_OVER_THRESHOLD", "rejected_permanent"],
    ["ValidationException", "SENDER_ID_NOT_REGISTERED", "rejected_config"],
    ["ValidationException", "INVALID_IDENTITY_FOR_DESTINATION_COUNTRY", "rejected_config"],
    ["ServiceQuotaExceededException", "MONTHLY_SPEND_LIMIT_REACHED_FOR_TEXT", "rejected_config"],
    ["AccessDeniedException", "ACCOUNT_DISABLED", "rejected_config"],
  ])("%s %s → %s", async (type, reason, outcome) => {
    const result = await provider({}, answering(400, awsError(type, { Reason: reason }))).send(
      smsRequest(),
    );
    expect(result).toMatchObject({ outcome, errorCode: `${type}:${reason}`, errorMessage: "m" });
  });

  it("ResourceNotFoundException (unknown configuration set) → rejected_config", async () => {
    const body = awsError("ResourceNotFoundException", {
      ResourceType: "configuration-set",
      ResourceId: "x",
    });
    const result = await provider({}, answering(400, body)).send(smsRequest());
    expect(result).toMatchObject({
      outcome: "rejected_config",
      errorCode: "ResourceNotFoundException",
    });
  });

  it("reads the code as the SDK does: header first, then `code`, then `__type`", async () => {
    const viaHeader = answering(400, awsError("ValidationException"), {
      "x-amzn-ErrorType":
        "ThrottlingException:http://internal.amazon.com/coral/com.amazon.coral.service/",
    });
    expect(await provider({}, viaHeader).send(smsRequest())).toMatchObject({
      outcome: "throttled",
      errorCode: "ThrottlingException",
    });
    const viaCode = answering(
      400,
      JSON.stringify({ Code: "ThrottlingException,extra", __type: "x#ValidationException" }),
    );
    expect(await provider({}, viaCode).send(smsRequest())).toMatchObject({
      outcome: "throttled",
      errorCode: "ThrottlingException",
    });
  });

  it.each([
    [503, awsError("SomethingNew"), "unavailable", "SomethingNew"],
    [400, awsError("SomethingNew"), "rejected_config", "SomethingNew"],
    [429, "", "throttled", "http_429"],
    [504, "<html>Gateway Timeout</html>", "outcome_unknown", "http_504"],
    [500, "upstream crashed", "outcome_unknown", "http_500"],
    [200, '{"Other":1}', "outcome_unknown", "http_200"],
  ])("HTTP %i %s → %s", async (status, body, outcome, errorCode) => {
    const result = await provider({}, answering(status, body)).send(smsRequest());
    expect(result).toMatchObject({ outcome, errorCode });
  });
});
