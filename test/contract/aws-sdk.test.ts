/**
 * The fakes checked against AWS's own SDKs: the same message sent with the SDK and with our
 * client must reach the fake in the same shape (operation, signing scope, content type, body),
 * and both must pass the fake's signature check. The fakes' error answers must read, through
 * the SDK's parsers, as the codes our clients report. Then the fakes must refuse what AWS
 * refuses. The SDKs are devDependencies: nothing in src/ imports them.
 */
import {
  PinpointSMSVoiceV2Client,
  SendTextMessageCommand,
  type SendTextMessageCommandInput,
} from "@aws-sdk/client-pinpoint-sms-voice-v2";
import { PublishCommand, type PublishCommandInput, SNSClient } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeSmsVoice } from "../../scripts/fakes/aws-sms-voice.mjs";
import { startFakeSns } from "../../scripts/fakes/aws-sns.mjs";
import type { FakeServer, ReceivedRequest } from "../../scripts/fakes/common.mjs";
import { createAwsClient, signAwsRequest } from "../../src/providers/aws-signing";
import { createSmsVoiceProvider } from "../../src/providers/aws-sms-voice";
import { createSnsProvider } from "../../src/providers/aws-sns";
import type { SendResult } from "../../src/providers/types";
import {
  authorization,
  CREDENTIALS,
  header,
  magicNumber,
  publishForm,
  REGION,
  smsRequest,
  TIMEOUT_MS,
} from "./aws-fixtures";

/** Headers the SDKs add and sign that our clients do not send: bookkeeping, not protocol. */
const SDK_ONLY_SIGNED_HEADERS = [
  "amz-sdk-invocation-id", // per-call id for the SDK's retry accounting
  "amz-sdk-request", // "attempt=1; max=1"
  "content-length", // fetch sets it after signing; the SDK signs it
  "x-amz-content-sha256", // the body hash as a header (smithy's applyChecksum default)
  "x-amz-user-agent",
];
/** Body members the SDKs add on their own: none, for either operation. */
const SDK_ONLY_BODY_FIELDS: string[] = [];

let sns: FakeServer;
let smsVoice: FakeServer;

beforeAll(async () => {
  sns = await startFakeSns({ ...CREDENTIALS, region: REGION });
  smsVoice = await startFakeSmsVoice({ ...CREDENTIALS, region: REGION });
});
afterAll(() => Promise.all([sns.stop(), smsVoice.stop()]));
beforeEach(() => {
  sns.clear();
  smsVoice.clear();
});

// One attempt, like our clients, so each send is one request to compare.
const sdkConfig = (endpoint: string) => ({
  region: REGION,
  endpoint,
  credentials: CREDENTIALS,
  maxAttempts: 1,
});

function lastRequest(fake: FakeServer): ReceivedRequest {
  const request = fake.requests().at(-1);
  if (!request) throw new Error("the fake received nothing");
  return request;
}

/** What must match between SDK and client: everything that makes the request mean something. */
function shape(request: ReceivedRequest, body: Record<string, unknown>) {
  const { region, service, signedHeaders } = authorization(request);
  return {
    method: request.method,
    path: request.path,
    target: header(request, "x-amz-target"),
    // Media type only: our client adds "; charset=utf-8" to the form type, the SDK does not.
    contentType: header(request, "content-type").split(";")[0],
    scope: { region, service },
    signedHeaders: signedHeaders.filter((name) => !SDK_ONLY_SIGNED_HEADERS.includes(name)),
    body: Object.fromEntries(
      Object.entries(body).filter(([key]) => !SDK_ONLY_BODY_FIELDS.includes(key)),
    ),
  };
}

/** Publish's parameters, its message attributes keyed by name: entry numbering is arbitrary. */
function publishParams(request: ReceivedRequest): Record<string, unknown> {
  const { params, attributes } = publishForm(request.body);
  return { ...params, MessageAttributes: attributes };
}

const sendTextParams = (request: ReceivedRequest): Record<string, unknown> =>
  JSON.parse(request.body);

/**
 * Sends one message with the SDK, then with our client: both must be accepted, their signatures
 * valid, and reach the fake in the same shape (`params` reads the operation's body). Returns the
 * request ours made.
 */
async function sameRequestFromBoth(
  fake: FakeServer,
  params: (request: ReceivedRequest) => Record<string, unknown>,
  sdkSend: () => Promise<{ MessageId?: string }>,
  oursSend: () => Promise<SendResult>,
): Promise<ReceivedRequest> {
  const sdkOutput = await sdkSend();
  const fromSdk = lastRequest(fake);
  const result = await oursSend();
  const fromOurs = lastRequest(fake);

  expect(sdkOutput.MessageId).toMatch(/^[0-9a-f-]{36}$/);
  expect(result.outcome).toBe("accepted");
  expect([fromSdk.accepted, fromOurs.accepted]).toEqual([true, true]);
  expect(shape(fromOurs, params(fromOurs))).toEqual(shape(fromSdk, params(fromSdk)));
  return fromOurs;
}

const sdkCode = (error: unknown) => {
  const e = error as { Code?: string; name: string; Reason?: string };
  // Query errors keep AWS's <Code>; JSON errors are named after it.
  const code = e.Code ?? e.name;
  return e.Reason ? `${code}:${e.Reason}` : code;
};

const errorCodeOf = (result: SendResult) => ("errorCode" in result ? result.errorCode : "accepted");

describe("SNS: the SDK and our client say the same thing to the fake", () => {
  const sdk = () => new SNSClient(sdkConfig(sns.url));
  const ours = () =>
    createSnsProvider({
      credentials: CREDENTIALS,
      region: REGION,
      baseUrl: sns.url,
      timeoutMs: TIMEOUT_MS,
    });
  const request = smsRequest({
    type: "promotional",
    sender: { kind: "alphanumeric", value: "ACME-IN" },
    maxPriceMicros: 50_000,
    dlt: { entityId: "1101234567890123456", templateId: "1107161234567890123" },
  });
  // The same message as the SDK is asked to send it.
  const sdkInput: PublishCommandInput = {
    PhoneNumber: request.to,
    Message: request.body,
    MessageAttributes: {
      "AWS.SNS.SMS.SMSType": { DataType: "String", StringValue: "Promotional" },
      "AWS.SNS.SMS.SenderID": { DataType: "String", StringValue: "ACME-IN" },
      "AWS.SNS.SMS.MaxPrice": { DataType: "Number", StringValue: "0.0500" },
      "AWS.MM.SMS.EntityId": { DataType: "String", StringValue: "1101234567890123456" },
      "AWS.MM.SMS.TemplateId": { DataType: "String", StringValue: "1107161234567890123" },
    },
  };

  it("Publish: same operation, scope, content type and parameters; both signatures valid", async () => {
    const fromOurs = await sameRequestFromBoth(
      sns,
      publishParams,
      () => sdk().send(new PublishCommand(sdkInput)),
      () => ours().send(request),
    );
    expect(publishParams(fromOurs)).toMatchObject({
      Action: "Publish",
      Version: "2010-03-31",
    });
    expect(authorization(fromOurs)).toMatchObject({ region: REGION, service: "sns" });
  });

  it.each(["991", "993", "994", "995"])(
    "destination …%s: the fake's error reads as the same code through the SDK",
    async (suffix) => {
      const to = magicNumber(suffix);
      const sdkError = await sdk()
        .send(new PublishCommand({ PhoneNumber: to, Message: "hi" }))
        .catch((error: unknown) => error);
      const result = await ours().send(smsRequest({ to }));
      expect(sdkCode(sdkError)).toBe(errorCodeOf(result));
    },
  );
});

describe("End User Messaging: the SDK and our client say the same thing to the fake", () => {
  const sdk = () => new PinpointSMSVoiceV2Client(sdkConfig(smsVoice.url));
  const now = new Date();
  const ours = () =>
    createSmsVoiceProvider({
      credentials: CREDENTIALS,
      region: REGION,
      baseUrl: smsVoice.url,
      timeoutMs: TIMEOUT_MS,
      configurationSetName: "sms-gateway-events",
      now: () => now,
    });
  const request = smsRequest({
    type: "promotional",
    sender: { kind: "alphanumeric", value: "ACME-IN" },
    maxPriceMicros: 50_000,
    deadline: new Date(now.getTime() + 3_600_000),
    dlt: { entityId: "1101234567890123456", templateId: "1107161234567890123" },
  });
  const sdkInput: SendTextMessageCommandInput = {
    DestinationPhoneNumber: request.to,
    MessageBody: request.body,
    OriginationIdentity: "ACME-IN",
    MessageType: "PROMOTIONAL",
    ConfigurationSetName: "sms-gateway-events",
    MaxPrice: "0.0500",
    TimeToLive: 3600,
    Context: { message_id: request.messageId },
    DestinationCountryParameters: {
      IN_ENTITY_ID: "1101234567890123456",
      IN_TEMPLATE_ID: "1107161234567890123",
    },
  };

  it("SendTextMessage: same target, scope, content type and body; both signatures valid", async () => {
    const fromOurs = await sameRequestFromBoth(
      smsVoice,
      sendTextParams,
      () => sdk().send(new SendTextMessageCommand(sdkInput)),
      () => ours().send(request),
    );
    expect(header(fromOurs, "x-amz-target")).toBe("PinpointSMSVoiceV2.SendTextMessage");
    expect(authorization(fromOurs)).toMatchObject({ region: REGION, service: "sms-voice" });
  });

  it.each(["991", "992", "993", "994", "995"])(
    "destination …%s: the fake's error reads as the same code and reason through the SDK",
    async (suffix) => {
      const to = magicNumber(suffix);
      const sdkError = await sdk()
        .send(new SendTextMessageCommand({ DestinationPhoneNumber: to, MessageBody: "hi" }))
        .catch((error: unknown) => error);
      const result = await ours().send(smsRequest({ to }));
      expect(sdkCode(sdkError)).toBe(errorCodeOf(result));
    },
  );

  it("a wrong secret: the SDK reads the fake's signature error as our client does", async () => {
    const badSecret = { ...CREDENTIALS, secretAccessKey: "not-the-secret" };
    const sdkError = await new PinpointSMSVoiceV2Client({
      ...sdkConfig(smsVoice.url),
      credentials: badSecret,
    })
      .send(new SendTextMessageCommand({ DestinationPhoneNumber: magicNumber("100") }))
      .catch((error: unknown) => error);
    expect(sdkCode(sdkError)).toBe("InvalidSignatureException");
  });
});

describe("the fakes refuse what AWS refuses", () => {
  const signed = (service: string, url: string, headers: Record<string, string>, body: string) =>
    signAwsRequest(createAwsClient(CREDENTIALS, { service, region: REGION }), `${url}/`, {
      method: "POST",
      headers,
      body,
    });
  const FORM = { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" };
  const JSON_1_0 = {
    "Content-Type": "application/x-amz-json-1.0",
    "X-Amz-Target": "PinpointSMSVoiceV2.SendTextMessage",
  };
  const publish = `Action=Publish&Version=2010-03-31&PhoneNumber=%2B14155550100&Message=hi`;
  const sendText = JSON.stringify({ DestinationPhoneNumber: "+14155550100", MessageBody: "hi" });

  const answer = async (request: Request) => {
    const response = await fetch(request);
    return { status: response.status, body: await response.text() };
  };

  it("a body changed after signing", async () => {
    const request = await signed("sns", sns.url, FORM, publish);
    const tampered = new Request(request, { body: publish.replace("hi", "pay 100 USD") });
    expect(await answer(tampered)).toMatchObject({
      status: 403,
      body: expect.stringContaining("<Code>SignatureDoesNotMatch</Code>"),
    });
  });

  it("a request signed for another service", async () => {
    const { status, body } = await answer(await signed("sns", smsVoice.url, JSON_1_0, sendText));
    expect(status).toBe(400);
    expect(JSON.parse(body).__type).toMatch(/#InvalidSignatureException$/);
  });

  it("an unsigned request", async () => {
    const unsigned = new Request(`${sns.url}/`, { method: "POST", headers: FORM, body: publish });
    expect(await answer(unsigned)).toMatchObject({
      status: 403,
      body: expect.stringContaining("<Code>MissingAuthenticationToken</Code>"),
    });
  });

  it.each([
    [publish.replace("Action=Publish", "Action=Subscribe"), "InvalidAction"],
    [publish.replace("2010-03-31", "2012-01-01"), "NoSuchVersion"],
    [publish.replace("&Message=hi", ""), "InvalidParameter"],
    [publish.replace("%2B14155550100", "0014155550100"), "InvalidParameter"],
    [
      `${publish}&MessageAttributes.entry.1.Name=AWS.SNS.SMS.MaxPrice&MessageAttributes.entry.1.Value.DataType=Number&MessageAttributes.entry.1.Value.StringValue=cheap`,
      "ParameterValueInvalid",
    ],
    [`${publish}&Mesage=typo`, "InvalidParameter"],
  ])("SNS: %s → %s", async (body, code) => {
    expect(await answer(await signed("sns", sns.url, FORM, body))).toMatchObject({
      status: 400,
      body: expect.stringContaining(`<Code>${code}</Code>`),
    });
  });

  it.each([
    [{ MaxPrice: "0.123456" }, "MaxPrice"],
    [{ MaxPrice: "100.0" }, "MaxPrice"],
    [{ TimeToLive: 4 }, "TimeToLive"],
    [{ TimeToLive: 259_201 }, "TimeToLive"],
    [{ MessageType: "transactional" }, "MessageType"],
    [{ Context: { a: "1", b: "2", c: "3", d: "4", e: "5", f: "6" } }, "Context"],
    [{ DestinationCountryParameters: { IN_PE_ID: "1" } }, "DestinationCountryParameters"],
    [{ DestinationPhoneNumber: undefined }, "DestinationPhoneNumber"],
    [{ Contexte: { message_id: "m" } }, "Contexte"],
  ])("End User Messaging: %j → ValidationException on %s", async (members, field) => {
    const body = JSON.stringify({ ...JSON.parse(sendText), ...members });
    const { status, body: answered } = await answer(
      await signed("sms-voice", smsVoice.url, JSON_1_0, body),
    );
    expect(status).toBe(400);
    expect(JSON.parse(answered)).toMatchObject({
      __type: "com.amazonaws.pinpointsmsvoicev2#ValidationException",
      Reason: "FIELD_VALIDATION_FAILED",
      Fields: [expect.objectContaining({ Name: field })],
    });
  });

  it("End User Messaging: another operation", async () => {
    const headers = { ...JSON_1_0, "X-Amz-Target": "PinpointSMSVoiceV2.SendVoiceMessage" };
    const { status, body } = await answer(await signed("sms-voice", smsVoice.url, headers, "{}"));
    expect(status).toBe(400);
    expect(JSON.parse(body).__type).toMatch(/#UnknownOperationException$/);
  });
});
