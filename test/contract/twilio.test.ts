import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeServer } from "../../scripts/fakes/common.mjs";
import { startFakeTwilio } from "../../scripts/fakes/twilio.mjs";
import { createTwilioProvider, type TwilioConfig } from "../../src/providers/twilio";
import type { SendRequest } from "../../src/providers/types";
import { answerWith, onlyRequest } from "./support";

const ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN = "auth-token-0123456789abcdef";
const API_KEY_SID = "SKfedcba9876543210fedcba9876543210";
const API_KEY_SECRET = "api-key-secret-0123456789";
const SERVICE_SID = "MGaaaabbbbccccddddeeeeffff00001111";
const NOW = new Date("2026-11-22T10:00:00Z");

let fake: FakeServer;

beforeAll(async () => {
  fake = await startFakeTwilio({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    apiKeySid: API_KEY_SID,
    apiKeySecret: API_KEY_SECRET,
  });
});
afterAll(() => fake.stop());
beforeEach(() => fake.clear());

const twilio = (config: Partial<TwilioConfig> = {}) =>
  createTwilioProvider({
    accountSid: ACCOUNT_SID,
    auth: { kind: "api_key", sid: API_KEY_SID, secret: API_KEY_SECRET },
    baseUrl: fake.url,
    timeoutMs: 5_000,
    now: () => NOW,
    ...config,
  });

const message = (fields: Partial<SendRequest> = {}): SendRequest => ({
  messageId: "msg_01JDX5T0K2",
  to: "+14155550100",
  country: "US",
  sender: { kind: "phone", value: "+14155550000" },
  body: "Your code is 123456",
  type: "otp",
  segments: 1,
  ...fields,
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("Twilio client against the fake: success", () => {
  it("posts the form to the account's Messages.json with the API key", async () => {
    const result = await twilio().send(message());

    expect(result).toEqual({
      outcome: "accepted",
      providerMessageId: expect.stringMatching(/^SM[0-9a-f]{32}$/),
      segments: 1,
    });
    const received = onlyRequest(fake);
    expect(received.method).toBe("POST");
    expect(received.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(received.headers.authorization).toBe(basic(API_KEY_SID, API_KEY_SECRET));
    expect(received.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(received.headers.accept).toBe("application/json");
    expect(Object.fromEntries(received.form)).toEqual({
      To: "+14155550100",
      Body: "Your code is 123456",
      From: "+14155550000",
    });
    expect(received.accepted).toBe(true);
  });

  it("authenticates with the account SID and auth token too", async () => {
    const result = await twilio({ auth: { kind: "auth_token", token: AUTH_TOKEN } }).send(
      message(),
    );

    expect(result.outcome).toBe("accepted");
    expect(onlyRequest(fake).headers.authorization).toBe(basic(ACCOUNT_SID, AUTH_TOKEN));
  });

  it.each([
    ["short_code", "898211"],
    ["alphanumeric", "ACME"],
  ] as const)("sends a %s sender as From", async (kind, value) => {
    const result = await twilio().send(message({ sender: { kind, value } }));

    expect(result.outcome).toBe("accepted");
    expect(onlyRequest(fake).form.get("From")).toBe(value);
  });

  it("encodes a Unicode body", async () => {
    const body = "Karibu! Nambari yako: 4821 ✅ — ñandú";
    const result = await twilio().send(message({ body }));

    expect(result).toMatchObject({ outcome: "accepted", segments: 1 });
    expect(onlyRequest(fake).form.get("Body")).toBe(body);
  });

  it("sends through the routed Messaging Service instead of a From", async () => {
    const result = await twilio().send(
      message({ sender: { kind: "messaging_service", value: SERVICE_SID } }),
    );

    // num_segments is "0" until the service assigns a sender: no segment count to report.
    expect(result).toEqual({
      outcome: "accepted",
      providerMessageId: expect.stringMatching(/^SM/),
    });
    const { form } = onlyRequest(fake);
    expect(form.get("MessagingServiceSid")).toBe(SERVICE_SID);
    expect(form.has("From")).toBe(false);
  });

  it("falls back to the configured Messaging Service when routing picked no sender", async () => {
    const result = await twilio({ messagingServiceSid: SERVICE_SID }).send(
      message({ sender: null }),
    );

    expect(result.outcome).toBe("accepted");
    expect(onlyRequest(fake).form.get("MessagingServiceSid")).toBe(SERVICE_SID);
  });

  it("refuses locally, without calling Twilio, when there is no sender at all", async () => {
    const result = await twilio().send(message({ sender: null }));

    expect(result).toMatchObject({ outcome: "rejected_config", errorCode: "no_sender" });
    expect(fake.requests()).toHaveLength(0);
  });

  it("passes the status callback URL, our message id in it", async () => {
    const callback = "https://sms.example.com/v1/webhooks/twilio/status?message_id=msg_01JDX5T0K2";
    await twilio().send(message({ statusCallbackUrl: callback }));

    const { form } = onlyRequest(fake);
    expect(form.get("StatusCallback")).toBe(callback);
    expect(new URL(form.get("StatusCallback") ?? "").searchParams.get("message_id")).toBe(
      "msg_01JDX5T0K2",
    );
  });

  it.each([
    ["no deadline: Twilio's default", undefined, null],
    ["90.2 s away: rounded up", 90_200, "91"],
    ["exactly 10 min", 600_000, "600"],
    ["20 h away: clamped to 36000", 20 * 3_600_000, "36000"],
    ["already passed: clamped to 1", -5_000, "1"],
  ])("ValidityPeriod with %s", async (_, msFromNow, expected) => {
    const deadline = msFromNow === undefined ? undefined : new Date(NOW.getTime() + msFromNow);
    const result = await twilio().send(message({ deadline }));

    expect(result.outcome).toBe("accepted");
    expect(onlyRequest(fake).form.get("ValidityPeriod")).toBe(expected);
  });
});

describe("Twilio client against the fake: every failure class", () => {
  it.each([
    ["991 invalid number", "+14155550991", "rejected_permanent", "21211", false],
    ["992 opted out (STOP)", "+14155550992", "rejected_permanent", "21610", false],
    ["993 Geo Permissions", "+14155550993", "rejected_config", "21408", false],
    ["994 throttled", "+14155550994", "throttled", "20429", false],
    ["995 outage (503)", "+14155550995", "unavailable", "20503", false],
    ["996 proxy 502 in HTML", "+14155550996", "outcome_unknown", "http_502", false],
    ["997 hang", "+14155550997", "outcome_unknown", "timeout", false],
    // The fake did take it: only the answer was lost.
    ["998 truncated 201", "+14155550998", "outcome_unknown", "http_201", true],
  ])("%s (%s) → %s", async (_, to, outcome, errorCode, accepted) => {
    const result = await twilio({ timeoutMs: 200 }).send(message({ to }));

    expect(result).toMatchObject({ outcome, errorCode });
    expect(onlyRequest(fake).accepted).toBe(accepted);
  });

  it("keeps Twilio's error message", async () => {
    const result = await twilio().send(message({ to: "+14155550992" }));

    expect(result).toMatchObject({ errorMessage: "Attempt to send to unsubscribed recipient" });
  });

  it("classes a wrong secret as a configuration problem (20003)", async () => {
    const result = await twilio({
      auth: { kind: "api_key", sid: API_KEY_SID, secret: "not-the-secret" },
    }).send(message());

    expect(result).toMatchObject({ outcome: "rejected_config", errorCode: "20003" });
    expect(onlyRequest(fake).accepted).toBe(false);
  });

  it("classes an account the credentials do not reach as a configuration problem (20404)", async () => {
    const result = await twilio({ accountSid: "AC99999999999999999999999999999999" }).send(
      message(),
    );

    expect(result).toMatchObject({ outcome: "rejected_config", errorCode: "20404" });
    expect(onlyRequest(fake).accepted).toBe(false);
  });

  it("classes a refused connection as outcome unknown", async () => {
    const closed = createTwilioProvider({
      accountSid: ACCOUNT_SID,
      auth: { kind: "auth_token", token: AUTH_TOKEN },
      baseUrl: "http://127.0.0.1:1",
      timeoutMs: 2_000,
    });

    expect(await closed.send(message())).toMatchObject({
      outcome: "outcome_unknown",
      errorCode: "network_error",
    });
  });
});

// Answers the fake does not produce, in the shapes Twilio documents (§1.2, §1.3).
describe("Twilio client on documented answers", () => {
  const documentedCreated = {
    account_sid: ACCOUNT_SID,
    api_version: "2010-04-01",
    body: "Hello",
    num_media: "0",
    num_segments: "2",
    price: "-0.00750",
    price_unit: "USD",
    sid: "SM1f0e8ae6ade43cb3c0ce4525424e404f",
    status: "sent",
  };
  const answered = (status: number, body: string, contentType?: string) =>
    createTwilioProvider(
      {
        accountSid: ACCOUNT_SID,
        auth: { kind: "auth_token", token: AUTH_TOKEN },
        baseUrl: "https://api.twilio.com",
        timeoutMs: 1_000,
      },
      answerWith(status, body, contentType),
    ).send(message());
  const send = (status: number, body: unknown) => answered(status, JSON.stringify(body));

  it("reads a USD price as a positive cost in micros, and the segments", async () => {
    expect(await send(201, documentedCreated)).toEqual({
      outcome: "accepted",
      providerMessageId: "SM1f0e8ae6ade43cb3c0ce4525424e404f",
      costMicros: 7_500,
      currency: "USD",
      segments: 2,
    });
  });

  it("leaves the cost out when Twilio prices in another currency", async () => {
    const result = await send(201, { ...documentedCreated, price: "-0.00690", price_unit: "EUR" });

    expect(result).not.toHaveProperty("costMicros");
    expect(result).not.toHaveProperty("currency");
  });

  const error = (status: number, code: number) => ({
    code,
    message: `error ${code}`,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  });

  it.each([
    // Twilio warns a 500 on a send may still have sent it.
    [500, 20500, "outcome_unknown"],
    [400, 21611, "throttled"],
    [400, 21614, "rejected_permanent"],
    [400, 21612, "rejected_permanent"],
    [400, 21606, "rejected_permanent"],
    [400, 21608, "rejected_config"],
    [403, 20008, "rejected_config"],
    // Not in our table: Twilio validated the request and refused it.
    [400, 21999, "rejected_permanent"],
  ])("HTTP %i code %i → %s", async (status, code, outcome) => {
    expect(await send(status, error(status, code))).toEqual({
      outcome,
      errorCode: String(code),
      errorMessage: `error ${code}`,
    });
  });

  it("takes a 429 that is not Twilio's JSON as throttled", async () => {
    const result = await answered(429, "Too Many Requests", "text/plain");

    expect(result).toMatchObject({ outcome: "throttled", errorCode: "http_429" });
  });
});
