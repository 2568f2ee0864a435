/** Our SNS client against the fake SNS (scripts/fakes/aws-sns.mjs), which checks SigV4 itself. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeSns } from "../../scripts/fakes/aws-sns.mjs";
import type { FakeServer } from "../../scripts/fakes/common.mjs";
import { createSnsProvider, type SnsConfig, snsDefaultBaseUrl } from "../../src/providers/aws-sns";
import type { FetchLike } from "../../src/providers/http";
import type { SendRequest } from "../../src/providers/types";
import {
  authorization,
  CREDENTIALS,
  HANG_TIMEOUT_MS,
  header,
  magicNumber,
  publishForm,
  REGION,
  SESSION_TOKEN,
  smsRequest,
  TIMEOUT_MS,
} from "./aws-fixtures";
import { answerWith, onlyRequest } from "./support";

let fake: FakeServer;
let tokenFake: FakeServer;

beforeAll(async () => {
  fake = await startFakeSns({ ...CREDENTIALS, region: REGION });
  tokenFake = await startFakeSns({ ...CREDENTIALS, sessionToken: SESSION_TOKEN, region: REGION });
});
afterAll(() => Promise.all([fake.stop(), tokenFake.stop()]));
beforeEach(() => {
  fake.clear();
  tokenFake.clear();
});

const provider = (overrides: Partial<SnsConfig> = {}, fetchImpl?: FetchLike) =>
  createSnsProvider(
    {
      credentials: CREDENTIALS,
      region: REGION,
      baseUrl: fake.url,
      timeoutMs: TIMEOUT_MS,
      ...overrides,
    },
    fetchImpl,
  );

/** A message attribute as publishForm reads it. */
const attribute = (dataType: string, value: string) => ({
  "Value.DataType": dataType,
  "Value.StringValue": value,
});

async function sendAndRead(request: SendRequest, config: Partial<SnsConfig> = {}) {
  const result = await provider(config).send(request);
  return { result, form: publishForm(onlyRequest(fake).body) };
}

describe("SNS Publish: the request", () => {
  it("posts a signed Query-protocol Publish and returns SNS's MessageId", async () => {
    const request = smsRequest();
    const result = await provider().send(request);

    expect(result).toEqual({
      outcome: "accepted",
      providerMessageId: expect.stringMatching(/^[0-9a-f-]{36}$/),
    });
    const received = onlyRequest(fake);
    expect(received.method).toBe("POST");
    expect(received.path).toBe("/");
    expect(header(received, "content-type")).toBe(
      "application/x-www-form-urlencoded; charset=utf-8",
    );
    expect(authorization(received)).toMatchObject({
      accessKeyId: CREDENTIALS.accessKeyId,
      region: REGION,
      service: "sns",
      signedHeaders: ["content-type", "host", "x-amz-date"],
    });
    expect(publishForm(received.body)).toEqual({
      params: {
        Action: "Publish",
        Version: "2010-03-31",
        PhoneNumber: request.to,
        Message: request.body,
      },
      attributes: { "AWS.SNS.SMS.SMSType": attribute("String", "Transactional") },
    });
  });

  it("sets every SMS attribute that applies: type, sender id, max price, India DLT", async () => {
    const { result, form } = await sendAndRead(
      smsRequest({
        type: "promotional",
        sender: { kind: "alphanumeric", value: "ACME-IN" },
        maxPriceMicros: 50_000,
        dlt: { entityId: "1101234567890123456", templateId: "1107161234567890123" },
      }),
    );
    expect(result.outcome).toBe("accepted");
    expect(form.attributes).toEqual({
      "AWS.SNS.SMS.SMSType": attribute("String", "Promotional"),
      "AWS.SNS.SMS.SenderID": attribute("String", "ACME-IN"),
      "AWS.SNS.SMS.MaxPrice": attribute("Number", "0.0500"),
      "AWS.MM.SMS.EntityId": attribute("String", "1101234567890123456"),
      "AWS.MM.SMS.TemplateId": attribute("String", "1107161234567890123"),
    });
  });

  it.each([
    ["phone", "+14155550199"],
    ["short_code", "12345"],
  ] as const)(
    "sends a %s sender as the origination number, OTP as transactional",
    async (kind, value) => {
      const { form } = await sendAndRead(smsRequest({ type: "otp", sender: { kind, value } }), {
        defaultSenderId: "NOTUSED",
      });
      expect(form.attributes).toEqual({
        "AWS.SNS.SMS.SMSType": attribute("String", "Transactional"),
        "AWS.MM.SMS.OriginationNumber": attribute("String", value),
      });
    },
  );

  it("uses the configured default sender id when routing chose no sender", async () => {
    const { form } = await sendAndRead(smsRequest(), { defaultSenderId: "ACME" });
    expect(form.attributes["AWS.SNS.SMS.SenderID"]).toEqual(attribute("String", "ACME"));
  });

  it("states the max price as a USD decimal", async () => {
    const { form } = await sendAndRead(smsRequest({ maxPriceMicros: 1_234_567 }));
    expect(form.attributes["AWS.SNS.SMS.MaxPrice"]).toEqual(attribute("Number", "1.234567"));
  });

  it("refuses a messaging-service sender without calling SNS", async () => {
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
    expect(snsDefaultBaseUrl("ap-south-1")).toBe("https://sns.ap-south-1.amazonaws.com");
  });
});

describe("SNS Publish: outcomes, AWS's code kept", () => {
  it.each([
    ["991", "rejected_permanent", "InvalidParameter", /is not valid to publish to/],
    // Publish takes messages for opted-out numbers; the delivery log reports them later.
    ["992", "accepted", undefined, undefined],
    ["993", "rejected_config", "AuthorizationError", /not authorized to perform: SNS:Publish/],
    ["994", "throttled", "Throttling", /^Rate exceeded$/],
    ["995", "unavailable", "InternalError", /^Internal Error$/],
    ["996", "outcome_unknown", "http_502", /502 Bad Gateway/],
    ["998", "outcome_unknown", "http_200", /<PublishResponse/],
  ])("destination …%s → %s %s", async (suffix, outcome, errorCode, message) => {
    const result = await provider().send(smsRequest({ to: magicNumber(suffix) }));
    expect(result.outcome).toBe(outcome);
    if (errorCode && "errorCode" in result) {
      expect(result.errorCode).toBe(errorCode);
      expect(result.errorMessage).toMatch(message ?? /.*/);
    }
    onlyRequest(fake);
  });

  it("a provider that never answers → outcome_unknown (timeout), sent once", async () => {
    const result = await provider({ timeoutMs: HANG_TIMEOUT_MS }).send(
      smsRequest({ to: magicNumber("997") }),
    );
    expect(result).toMatchObject({ outcome: "outcome_unknown", errorCode: "timeout" });
    onlyRequest(fake);
  });

  it.each([
    ["a wrong secret", { secretAccessKey: "not-the-secret" }, {}, "SignatureDoesNotMatch"],
    ["an unknown access key", { accessKeyId: "AKIAUNKNOWNKEY000000" }, {}, "InvalidClientTokenId"],
    ["another region's scope", {}, { region: "us-east-1" }, "SignatureDoesNotMatch"],
  ])("%s → rejected_config", async (_, credentials, config, errorCode) => {
    const result = await provider({
      credentials: { ...CREDENTIALS, ...credentials },
      ...config,
    }).send(smsRequest());
    expect(result).toMatchObject({ outcome: "rejected_config", errorCode });
    onlyRequest(fake);
  });

  it("temporary credentials without their session token → rejected_config", async () => {
    const result = await provider({ baseUrl: tokenFake.url }).send(smsRequest());
    expect(result).toMatchObject({ outcome: "rejected_config", errorCode: "InvalidClientTokenId" });
  });
});

describe("SNS Publish: other documented answers", () => {
  // Answers the fake has no magic number for, in SNS's documented shapes (§3.4), served in place
  // of fetch: these cases are about reading answers, the fake covers the requests.
  const answering = (status: number, body: string) => answerWith(status, body, "text/xml");
  const snsError = (type: string, code: string, message = "") =>
    `<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>${type}</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>r</RequestId></ErrorResponse>`;

  it.each([
    [429, "Sender", "Throttled", "throttled"],
    [400, "Sender", "KMSThrottling", "throttled"],
    [503, "Receiver", "ServiceUnavailable", "unavailable"],
    [400, "Sender", "OptedOut", "rejected_permanent"],
    [400, "Sender", "EndpointDisabled", "rejected_permanent"],
    [400, "Sender", "ParameterValueInvalid", "rejected_permanent"],
    [400, "Sender", "ValidationException", "rejected_permanent"],
    [403, "Sender", "InvalidSecurity", "rejected_config"],
    [400, "Sender", "KMSDisabled", "rejected_config"],
    // Codes we do not list fall back on AWS's <Type>: whose fault it is.
    [400, "Sender", "RequestExpired", "rejected_config"],
    [500, "Receiver", "SomethingNew", "unavailable"],
  ])("HTTP %i %s %s → %s", async (status, type, code, outcome) => {
    const result = await provider({}, answering(status, snsError(type, code))).send(smsRequest());
    expect(result).toMatchObject({ outcome, errorCode: code });
  });

  it.each([
    [429, "", "throttled"],
    [504, "<html>Gateway Timeout</html>", "outcome_unknown"],
    [500, "upstream crashed", "outcome_unknown"],
  ])("HTTP %i without an SNS error body → %s", async (status, body, outcome) => {
    const result = await provider({}, answering(status, body)).send(smsRequest());
    expect(result).toMatchObject({ outcome, errorCode: `http_${status}` });
  });

  it("decodes XML entities in AWS's message", async () => {
    const body = snsError("Sender", "InvalidParameter", "&quot;+1&quot; &lt;x&gt; &amp; &#8212;");
    const result = await provider({}, answering(400, body)).send(smsRequest());
    expect(result).toMatchObject({ errorMessage: '"+1" <x> & —' });
  });
});
