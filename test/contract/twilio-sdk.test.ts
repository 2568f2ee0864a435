/**
 * Checks the fake Twilio against the official SDK (twilio-node, dev only): the SDK's requests
 * must pass the fake's checks, the SDK must read the fake's answers, and the fake must receive
 * the same request from the SDK and from our client.
 */
import twilio from "twilio";
import type RequestClient from "twilio/lib/base/RequestClient";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { FakeServer, ReceivedRequest } from "../../scripts/fakes/common.mjs";
import { startFakeTwilio } from "../../scripts/fakes/twilio.mjs";
import { createTwilioProvider, type TwilioConfig } from "../../src/providers/twilio";
import type { Sender } from "../../src/providers/types";
import { onlyRequest } from "./support";

const ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef";
const AUTH_TOKEN = "auth-token-0123456789abcdef";
const API_KEY_SID = "SKfedcba9876543210fedcba9876543210";
const API_KEY_SECRET = "api-key-secret-0123456789";
const SERVICE_SID = "MGaaaabbbbccccddddeeeeffff00001111";
const NOW = new Date("2026-11-22T10:00:00Z");

/** The SDK's own HTTP client, with Twilio's host swapped for the fake (it has no base URL option). */
class RedirectingClient extends twilio.RequestClient {
  constructor(private readonly target: string) {
    // Off by default anyway; stated because a retry would make the request counts lie.
    super({ autoRetry: false });
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    return super.request({ ...opts, uri: opts.uri.replace("https://api.twilio.com", this.target) });
  }
}

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

const sdkWithApiKey = () =>
  twilio(API_KEY_SID, API_KEY_SECRET, {
    accountSid: ACCOUNT_SID,
    httpClient: new RedirectingClient(fake.url),
  });

const ours = (auth: TwilioConfig["auth"]) =>
  createTwilioProvider({
    accountSid: ACCOUNT_SID,
    auth,
    baseUrl: fake.url,
    timeoutMs: 5_000,
    now: () => NOW,
  });

/**
 * Headers that may differ: transport ones, the SDK's extras (User-Agent twilio-node/<version>,
 * Accept-Charset: utf-8) and what Node's fetch adds to ours (Accept-Language: *,
 * Sec-Fetch-Mode: cors). Every other header must be identical.
 */
const NOT_COMPARED = new Set([
  "host",
  "content-length",
  "connection",
  "accept-encoding",
  "user-agent",
  "accept-charset",
  "accept-language",
  "sec-fetch-mode",
]);

/**
 * What must match between the SDK's request and ours. Bodies are compared as decoded form
 * fields: the SDK encodes a space as %20 and orders fields its own way, we write "+"; both
 * decode the same.
 */
const essentials = (request: ReceivedRequest & { form: URLSearchParams }) => ({
  method: request.method,
  path: request.path,
  headers: Object.fromEntries(
    Object.entries(request.headers).filter(([name]) => !NOT_COMPARED.has(name)),
  ),
  form: Object.fromEntries(request.form),
});

const TO = "+14155550100";
const BODY = "Your code is 123456";
const CALLBACK = "https://sms.example.com/v1/webhooks/twilio/status?message_id=msg_01";

describe("the official Twilio SDK against the fake", () => {
  it.each([
    ["a From number", { kind: "phone", value: "+14155550000" }, { from: "+14155550000" }],
    [
      "a Messaging Service",
      { kind: "messaging_service", value: SERVICE_SID },
      { messagingServiceSid: SERVICE_SID },
    ],
  ] as [string, Sender, { from?: string; messagingServiceSid?: string }][])(
    "sends the same request as our client, with %s",
    async (_, sender, sdkSender) => {
      const sdkMessage = await sdkWithApiKey().messages.create({
        to: TO,
        body: BODY,
        statusCallback: CALLBACK,
        validityPeriod: 600,
        ...sdkSender,
      });
      const sdkRequest = onlyRequest(fake);
      fake.clear();
      const result = await ours({
        kind: "api_key",
        sid: API_KEY_SID,
        secret: API_KEY_SECRET,
      }).send({
        messageId: "msg_01",
        to: TO,
        country: "US",
        sender,
        body: BODY,
        type: "otp",
        segments: 1,
        statusCallbackUrl: CALLBACK,
        deadline: new Date(NOW.getTime() + 600_000),
      });
      const ourRequest = onlyRequest(fake);

      expect(essentials(ourRequest)).toEqual(essentials(sdkRequest));
      // Both took the fake's 201 for a message.
      expect(sdkMessage.sid).toMatch(/^SM[0-9a-f]{32}$/);
      expect(result.outcome).toBe("accepted");
    },
  );

  it("sends the same Basic credentials as our client with the account's auth token", async () => {
    await twilio(ACCOUNT_SID, AUTH_TOKEN, {
      httpClient: new RedirectingClient(fake.url),
    }).messages.create({
      to: TO,
      from: "+14155550000",
      body: BODY,
    });
    const sdkRequest = onlyRequest(fake);
    fake.clear();
    await ours({ kind: "auth_token", token: AUTH_TOKEN }).send({
      messageId: "msg_02",
      to: TO,
      country: "US",
      sender: { kind: "phone", value: "+14155550000" },
      body: BODY,
      type: "transactional",
      segments: 1,
    });

    expect(essentials(onlyRequest(fake))).toEqual(essentials(sdkRequest));
  });

  it("reads the fake's 201 as a message resource", async () => {
    const sdkMessage = await sdkWithApiKey().messages.create({
      to: TO,
      from: "+14155550000",
      body: BODY,
    });

    expect(sdkMessage).toMatchObject({
      accountSid: ACCOUNT_SID,
      to: TO,
      from: "+14155550000",
      body: BODY,
      numSegments: "1",
      price: null,
      status: "queued",
      direction: "outbound-api",
    });
    expect(sdkMessage.dateCreated).toBeInstanceOf(Date);
    expect(Number.isNaN(sdkMessage.dateCreated.getTime())).toBe(false);
  });

  it.each([
    ["+14155550991", 400, 21211],
    ["+14155550992", 400, 21610],
    ["+14155550993", 400, 21408],
    ["+14155550994", 429, 20429],
    ["+14155550995", 503, 20503],
  ])("reads the fake's error for %s as a RestException (%i, code %i)", async (to, status, code) => {
    const sent = sdkWithApiKey().messages.create({ to, from: "+14155550000", body: BODY });

    await expect(sent).rejects.toBeInstanceOf(twilio.RestException);
    await expect(sent).rejects.toMatchObject({
      status,
      code,
      moreInfo: `https://www.twilio.com/docs/errors/${code}`,
    });
    onlyRequest(fake);
  });

  it("is refused by the fake with a wrong secret, as Twilio would (401, 20003)", async () => {
    const sent = twilio(API_KEY_SID, "wrong-secret", {
      accountSid: ACCOUNT_SID,
      httpClient: new RedirectingClient(fake.url),
    }).messages.create({ to: TO, from: "+14155550000", body: BODY });

    await expect(sent).rejects.toMatchObject({ status: 401, code: 20003 });
  });
});
