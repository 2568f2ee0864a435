/**
 * Our opt-out list clients against the fake End User Messaging SMS and fake SNS
 * (scripts/fakes/aws-sms-voice.mjs, aws-sns.mjs), which check SigV4 and the operations' inputs
 * themselves; then the same operations sent with AWS's SDKs, which must reach the fakes in the
 * same shape and read their answers as our clients do.
 */
import {
  DeleteOptedOutNumberCommand,
  PinpointSMSVoiceV2Client,
  PutOptedOutNumberCommand,
} from "@aws-sdk/client-pinpoint-sms-voice-v2";
import { OptInPhoneNumberCommand, SNSClient } from "@aws-sdk/client-sns";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeSmsVoice } from "../../scripts/fakes/aws-sms-voice.mjs";
import { startFakeSns } from "../../scripts/fakes/aws-sns.mjs";
import type { FakeServer } from "../../scripts/fakes/common.mjs";
import { createSmsVoiceProvider, type SmsVoiceConfig } from "../../src/providers/aws-sms-voice";
import type { SnsConfig } from "../../src/providers/aws-sns";
import type { FetchLike } from "../../src/providers/http";
import {
  createSmsVoiceOptOutList,
  createSnsOptOutList,
  type OptOutListResult,
} from "../../src/providers/opt-out-lists";
import {
  authorization,
  CREDENTIALS,
  HANG_TIMEOUT_MS,
  header,
  magicNumber,
  REGION,
  smsRequest,
  TIMEOUT_MS,
} from "./aws-fixtures";
import { answerWith, onlyRequest } from "./support";

const LIST = "sms-gateway-opt-outs";
const DAY_MS = 86_400_000;

let smsVoice: FakeServer;
/** Only the list `Default` exists there. */
let smsVoiceOneList: FakeServer;
let sns: FakeServer;
/** The fake SNS's clock for the 30-day rule: tests move it forward. */
let snsClockOffsetMs = 0;

beforeAll(async () => {
  smsVoice = await startFakeSmsVoice({ ...CREDENTIALS, region: REGION });
  smsVoiceOneList = await startFakeSmsVoice({
    ...CREDENTIALS,
    region: REGION,
    optOutListNames: ["Default"],
  });
  sns = await startFakeSns({
    ...CREDENTIALS,
    region: REGION,
    now: () => new Date(Date.now() + snsClockOffsetMs),
  });
});
afterAll(() => Promise.all([smsVoice.stop(), smsVoiceOneList.stop(), sns.stop()]));
beforeEach(() => {
  smsVoice.clear();
  smsVoiceOneList.clear();
  sns.clear();
  snsClockOffsetMs = 0;
});

const endpoint = (baseUrl: string) => ({
  credentials: CREDENTIALS,
  region: REGION,
  baseUrl,
  timeoutMs: TIMEOUT_MS,
});

const smsVoiceList = (
  overrides: Partial<SmsVoiceConfig & { optOutListName: string }> = {},
  fetchImpl?: FetchLike,
) =>
  createSmsVoiceOptOutList(
    { ...endpoint(smsVoice.url), optOutListName: LIST, ...overrides },
    fetchImpl,
  );

const snsList = (overrides: Partial<SnsConfig> = {}, fetchImpl?: FetchLike) =>
  createSnsOptOutList({ ...endpoint(sns.url), ...overrides }, fetchImpl);

const failed = (retryable: boolean, error: RegExp | string) => ({
  ok: false,
  retryable,
  error: typeof error === "string" ? error : expect.stringMatching(error),
});

/** The number must not appear in clear, with or without its "+". */
function expectNoNumber(result: OptOutListResult, e164: string) {
  expect("error" in result && result.error).not.toContain(e164.slice(1));
}

const networkDown: FetchLike = async () => {
  throw new TypeError("fetch failed");
};

describe("End User Messaging: PutOptedOutNumber / DeleteOptedOutNumber", () => {
  it("puts the number on the list, which SendTextMessage then refuses, and deletes it again", async () => {
    const to = magicNumber("201");
    const sender = createSmsVoiceProvider(endpoint(smsVoice.url));
    const list = smsVoiceList();
    expect(list.provider).toBe("aws-sms-voice");
    expect([list.supports("opt_out"), list.supports("opt_in")]).toEqual([true, true]);

    expect(await list.apply("opt_out", to)).toEqual({ ok: true });
    const put = onlyRequest(smsVoice);
    expect(put).toMatchObject({ method: "POST", path: "/", accepted: true });
    expect(header(put, "content-type")).toBe("application/x-amz-json-1.0");
    expect(header(put, "x-amz-target")).toBe("PinpointSMSVoiceV2.PutOptedOutNumber");
    expect(JSON.parse(put.body)).toEqual({ OptOutListName: LIST, OptedOutNumber: to });
    expect(authorization(put)).toMatchObject({
      accessKeyId: CREDENTIALS.accessKeyId,
      region: REGION,
      service: "sms-voice",
      signedHeaders: ["content-type", "host", "x-amz-date", "x-amz-target"],
    });
    expect(await sender.send(smsRequest({ to }))).toMatchObject({
      outcome: "rejected_permanent",
      errorCode: "ConflictException:DESTINATION_PHONE_NUMBER_OPTED_OUT",
    });

    smsVoice.clear();
    expect(await list.apply("opt_in", to)).toEqual({ ok: true });
    const deleted = onlyRequest(smsVoice);
    expect(header(deleted, "x-amz-target")).toBe("PinpointSMSVoiceV2.DeleteOptedOutNumber");
    expect(JSON.parse(deleted.body)).toEqual({ OptOutListName: LIST, OptedOutNumber: to });
    expect(deleted.accepted).toBe(true);
    expect((await sender.send(smsRequest({ to }))).outcome).toBe("accepted");
  });

  it("putting a number twice is fine", async () => {
    const to = magicNumber("202");
    expect(await smsVoiceList().apply("opt_out", to)).toEqual({ ok: true });
    expect(await smsVoiceList().apply("opt_out", to)).toEqual({ ok: true });
    expect(await smsVoiceList().apply("opt_in", to)).toEqual({ ok: true });
  });

  it("deleting a number that is not on the list is ok (AWS: ResourceNotFoundException)", async () => {
    expect(await smsVoiceList().apply("opt_in", magicNumber("203"))).toEqual({ ok: true });
    const received = onlyRequest(smsVoice);
    expect(received.accepted).toBe(false);
  });

  it("a list that does not exist is a setup fault, for a delete as for a put", async () => {
    const missing = smsVoiceList({ baseUrl: smsVoiceOneList.url, optOutListName: "Nope" });
    for (const action of ["opt_in", "opt_out"] as const) {
      expect(await missing.apply(action, magicNumber("204"))).toEqual(
        failed(false, /^ResourceNotFoundException: Opt-out list Nope does not exist/),
      );
    }
    const existing = smsVoiceList({ baseUrl: smsVoiceOneList.url, optOutListName: "Default" });
    expect(await existing.apply("opt_out", magicNumber("204"))).toEqual({ ok: true });
  });

  it("takes the list by ARN too", async () => {
    const arn = `arn:aws:sms-voice:${REGION}:123456789012:opt-out-list/Default`;
    const list = smsVoiceList({ baseUrl: smsVoiceOneList.url, optOutListName: arn });
    expect(await list.apply("opt_out", magicNumber("205"))).toEqual({ ok: true });
    expect(await list.apply("opt_in", magicNumber("205"))).toEqual({ ok: true });
  });

  it.each(["+0155550100", "not-a-number", "+1234567890123456789012"])(
    "the fake refuses %s (OptedOutNumber's pattern) → not retryable",
    async (number) => {
      const result = await smsVoiceList().apply("opt_out", number);
      expect(result).toEqual(
        failed(false, /^ValidationException:FIELD_VALIDATION_FAILED: .*OptedOutNumber/),
      );
      expect(onlyRequest(smsVoice).accepted).toBe(false);
    },
  );

  it.each([
    ["994", true, /^ThrottlingException: Rate exceeded$/],
    ["995", true, /^InternalServerException: An internal error occurred/],
    ["996", true, /^http_502: <html>/],
    ["993", false, /^AccessDeniedException: .*sms-voice:PutOptedOutNumber$/],
  ])("number …%s → retryable %s", async (suffix, retryable, error) => {
    const to = magicNumber(suffix);
    const result = await smsVoiceList().apply("opt_out", to);
    expect(result).toEqual(failed(retryable, error));
    onlyRequest(smsVoice);
  });

  it("a service that never answers → retryable timeout, one request", async () => {
    const result = await smsVoiceList({ timeoutMs: HANG_TIMEOUT_MS }).apply(
      "opt_in",
      magicNumber("997"),
    );
    expect(result).toEqual(failed(true, /^timeout: /));
    onlyRequest(smsVoice);
  });

  it("a network error → retryable", async () => {
    expect(await smsVoiceList({}, networkDown).apply("opt_out", magicNumber("206"))).toEqual(
      failed(true, "network_error: fetch failed"),
    );
  });

  it.each<[string, Partial<SmsVoiceConfig>, RegExp]>([
    [
      "a wrong secret",
      { credentials: { ...CREDENTIALS, secretAccessKey: "nope" } },
      /^InvalidSignatureException: The request signature we calculated does not match/,
    ],
    ["another region's scope", { region: "us-east-1" }, /^InvalidSignatureException: .*region/],
    [
      "a clock 10 minutes slow",
      { now: () => new Date(Date.now() - 600_000) },
      /^InvalidSignatureException: Signature expired/,
    ],
  ])("the fake checks the signature: %s → not retryable", async (_, config, error) => {
    expect(await smsVoiceList(config).apply("opt_out", magicNumber("207"))).toEqual(
      failed(false, error),
    );
    expect(onlyRequest(smsVoice).accepted).toBe(false);
  });

  describe("answers the fake has no magic number for", () => {
    const answering = (status: number, body: string, headers?: Record<string, string>) =>
      answerWith(status, body, "application/x-amz-json-1.0", headers);
    const awsError = (type: string, members: Record<string, unknown> = {}) =>
      JSON.stringify({ __type: `com.amazonaws.pinpointsmsvoicev2#${type}`, ...members });
    const to = magicNumber("208");

    it.each<[number, string, boolean, Record<string, string>?]>([
      [503, "", true],
      [429, "", true],
      [504, "<html>Gateway Timeout</html>", true],
      [500, awsError("SomethingNew"), true],
      [400, awsError("ConflictException", { Reason: "RESOURCE_NOT_ACTIVE" }), false],
      [400, awsError("ServiceQuotaExceededException"), false],
      [400, "{}", true, { "x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/" }],
      [400, "not json", false],
    ])("HTTP %i %s → retryable %s", async (status, body, retryable, headers) => {
      const result = await smsVoiceList({}, answering(status, body, headers)).apply("opt_out", to);
      expect(result).toMatchObject({ ok: false, retryable });
    });

    it("a ResourceNotFoundException is only ok for a delete", async () => {
      const notFound = answering(
        400,
        awsError("ResourceNotFoundException", { ResourceType: "opted-out-number" }),
      );
      expect(await smsVoiceList({}, notFound).apply("opt_in", to)).toEqual({ ok: true });
      expect(await smsVoiceList({}, notFound).apply("opt_out", to)).toMatchObject({
        ok: false,
        retryable: false,
      });
    });

    it("never shows the number in clear, with or without its +", async () => {
      const message = `Number ${to} (${to.slice(1)}) is invalid`;
      const body = awsError("ValidationException", {
        Reason: "INVALID_PARAMETER",
        Message: message,
      });
      const result = await smsVoiceList({}, answering(400, body)).apply("opt_out", to);
      expect(result).toEqual(
        failed(
          false,
          "ValidationException:INVALID_PARAMETER: Number +1********08 (1********08) is invalid",
        ),
      );
      expectNoNumber(result, to);
    });
  });
});

describe("SNS: OptInPhoneNumber", () => {
  it("supports opt_in only: opt_out makes no call", async () => {
    const list = snsList();
    expect(list.provider).toBe("aws-sns");
    expect([list.supports("opt_in"), list.supports("opt_out")]).toEqual([true, false]);
    expect(await list.apply("opt_out", magicNumber("301"))).toEqual(failed(false, "unsupported"));
    expect(sns.requests()).toHaveLength(0);
  });

  it("posts a signed Query-protocol OptInPhoneNumber with a lower-case phoneNumber", async () => {
    const to = magicNumber("302");
    expect(await snsList().apply("opt_in", to)).toEqual({ ok: true });
    const received = onlyRequest(sns);
    expect(received).toMatchObject({ method: "POST", path: "/", accepted: true });
    expect(header(received, "content-type")).toBe(
      "application/x-www-form-urlencoded; charset=utf-8",
    );
    expect(Object.fromEntries(received.form)).toEqual({
      Action: "OptInPhoneNumber",
      Version: "2010-03-31",
      phoneNumber: to,
    });
    expect(authorization(received)).toMatchObject({
      accessKeyId: CREDENTIALS.accessKeyId,
      region: REGION,
      service: "sns",
      signedHeaders: ["content-type", "host", "x-amz-date"],
    });
  });

  it("a second opt-in within 30 days → not retryable InvalidParameter; after 30 days → ok", async () => {
    const to = magicNumber("303");
    expect(await snsList().apply("opt_in", to)).toEqual({ ok: true });
    snsClockOffsetMs = 29 * DAY_MS;
    const again = await snsList().apply("opt_in", to);
    expect(again).toEqual(failed(false, /^InvalidParameter: .*less than 30 days ago/));
    // The fake's message quotes the number: ours must not.
    expectNoNumber(again, to);
    snsClockOffsetMs = 30 * DAY_MS;
    expect(await snsList().apply("opt_in", to)).toEqual({ ok: true });
  });

  it.each(["+0155550100", "not-a-number"])(
    "the fake refuses %s → not retryable",
    async (number) => {
      expect(await snsList().apply("opt_in", number)).toEqual(
        failed(false, /^InvalidParameter: Invalid parameter: phoneNumber/),
      );
    },
  );

  it.each([
    ["994", true, /^Throttled: Rate exceeded$/],
    ["995", true, /^InternalError: Internal Error$/],
    ["996", true, /^http_502: /],
    ["993", false, /^AuthorizationError: .*SNS:OptInPhoneNumber/],
  ])("number …%s → retryable %s", async (suffix, retryable, error) => {
    expect(await snsList().apply("opt_in", magicNumber(suffix))).toEqual(failed(retryable, error));
    onlyRequest(sns);
  });

  it("a service that never answers → retryable timeout; a network error → retryable", async () => {
    const hung = await snsList({ timeoutMs: HANG_TIMEOUT_MS }).apply("opt_in", magicNumber("997"));
    expect(hung).toEqual(failed(true, /^timeout: /));
    onlyRequest(sns);
    expect(await snsList({}, networkDown).apply("opt_in", magicNumber("304"))).toEqual(
      failed(true, "network_error: fetch failed"),
    );
  });

  it.each<[string, Partial<SnsConfig>, string]>([
    [
      "a wrong secret",
      { credentials: { ...CREDENTIALS, secretAccessKey: "nope" } },
      "SignatureDoesNotMatch",
    ],
    [
      "an unknown access key",
      { credentials: { ...CREDENTIALS, accessKeyId: "AKIAUNKNOWNKEY000000" } },
      "InvalidClientTokenId",
    ],
  ])("the fake checks the signature: %s → not retryable", async (_, config, code) => {
    expect(await snsList(config).apply("opt_in", magicNumber("305"))).toEqual(
      failed(false, new RegExp(`^${code}: `)),
    );
    expect(onlyRequest(sns).accepted).toBe(false);
  });

  it.each([
    [400, "Sender", "Throttling", true],
    [503, "Receiver", "ServiceUnavailable", true],
    [400, "Sender", "ParameterValueInvalid", false],
    [500, "", "", true],
  ])("HTTP %i %s %s → retryable %s", async (status, type, code, retryable) => {
    const body = code
      ? `<ErrorResponse><Error><Type>${type}</Type><Code>${code}</Code><Message>m</Message></Error></ErrorResponse>`
      : "upstream crashed";
    const result = await snsList({}, answerWith(status, body, "text/xml")).apply(
      "opt_in",
      magicNumber("306"),
    );
    expect(result).toMatchObject({ ok: false, retryable });
  });
});

describe("the SDKs send the same operations and read the fakes' answers alike", () => {
  const sdkConfig = (endpointUrl: string) => ({
    region: REGION,
    endpoint: endpointUrl,
    credentials: CREDENTIALS,
    maxAttempts: 1,
  });
  const lastBody = (fake: FakeServer) => fake.requests().at(-1)?.body ?? "";

  it("PutOptedOutNumber / DeleteOptedOutNumber: same target and body, same answers", async () => {
    const sdk = new PinpointSMSVoiceV2Client(sdkConfig(smsVoice.url));
    const input = { OptOutListName: LIST, OptedOutNumber: magicNumber("401") };
    const put = await sdk.send(new PutOptedOutNumberCommand(input));
    expect(put).toMatchObject({
      OptOutListArn: `arn:aws:sms-voice:${REGION}:123456789012:opt-out-list/${LIST}`,
      OptOutListName: LIST,
      OptedOutNumber: input.OptedOutNumber,
      OptedOutTimestamp: expect.any(Date),
      EndUserOptedOut: false,
    });
    const fromSdk = lastBody(smsVoice);
    await smsVoiceList().apply("opt_out", input.OptedOutNumber);
    expect(JSON.parse(lastBody(smsVoice))).toEqual(JSON.parse(fromSdk));

    expect(await sdk.send(new DeleteOptedOutNumberCommand(input))).toMatchObject(input);
    const absent = await sdk
      .send(new DeleteOptedOutNumberCommand(input))
      .catch((error: unknown) => error);
    expect(absent).toMatchObject({
      name: "ResourceNotFoundException",
      ResourceType: "opted-out-number",
    });
    expect(await smsVoiceList().apply("opt_in", input.OptedOutNumber)).toEqual({ ok: true });
  });

  it("OptInPhoneNumber: same parameters; the 30-day refusal reads as InvalidParameter", async () => {
    const sdk = new SNSClient(sdkConfig(sns.url));
    const to = magicNumber("402");
    await sdk.send(new OptInPhoneNumberCommand({ phoneNumber: to }));
    const fromSdk = Object.fromEntries(new URLSearchParams(lastBody(sns)));
    const ours = await snsList().apply("opt_in", to);
    expect(Object.fromEntries(new URLSearchParams(lastBody(sns)))).toEqual(fromSdk);
    expect(ours).toEqual(failed(false, /^InvalidParameter: /));
    const again = await sdk
      .send(new OptInPhoneNumberCommand({ phoneNumber: to }))
      .catch((error: unknown) => error);
    expect(again).toMatchObject({ name: "InvalidParameterException" });
  });
});
