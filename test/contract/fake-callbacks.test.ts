/**
 * The delivery callbacks the fake providers produce after taking a message (scripts/fakes/
 * callbacks.mjs): sent through our real clients, checked in the fakes' outboxes against the
 * providers' formats and signatures (Twilio's with the official SDK's `validateRequest`, SNS's
 * with the gateway's own verifier), and actually POSTed when the fakes deliver them.
 */
import http from "node:http";
import twilio from "twilio";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeAfricasTalking } from "../../scripts/fakes/africastalking.mjs";
import type { FakeServer, OutboxEntry } from "../../scripts/fakes/common.mjs";
import {
  FAKE_CREDENTIALS,
  FAKE_WEBHOOKS,
  type FakeProviders,
  startFakeProviders,
} from "../../scripts/fakes/index.mjs";
import { startFakeTwilio } from "../../scripts/fakes/twilio.mjs";
import { createAfricasTalkingProvider } from "../../src/providers/africastalking";
import { createSmsVoiceProvider } from "../../src/providers/aws-sms-voice";
import { createSnsProvider } from "../../src/providers/aws-sns";
import { createTwilioProvider } from "../../src/providers/twilio";
import type { SendRequest } from "../../src/providers/types";
import { createSnsVerifier, snsMessageSchema } from "../../src/webhooks/sns-verify";
import { verifyTwilioSignature } from "../../src/webhooks/twilio-signature";

const C = FAKE_CREDENTIALS;
const OUR_ID = "msg_01JCALLBACKS000000000000";
const SERVICE_SID = "MGaaaabbbbccccddddeeeeffff00001111";
const TIMEOUT_MS = 5_000;

const message = (fields: Partial<SendRequest> = {}): SendRequest => ({
  messageId: OUR_ID,
  to: "+14155550100",
  country: "US",
  sender: { kind: "phone", value: "+14155550000" },
  body: "Your code is 123456",
  type: "otp",
  segments: 1,
  ...fields,
});

const statusCallbackUrl = (base: string, id = OUR_ID) =>
  `${base}/webhooks/twilio/status?message_id=${id}`;

const twilioClient = (fake: FakeServer, timeoutMs = TIMEOUT_MS) =>
  createTwilioProvider({
    accountSid: C.twilio.accountSid,
    // An API key: the callbacks are still signed with the account's auth token.
    auth: { kind: "api_key", sid: C.twilio.apiKeySid, secret: C.twilio.apiKeySecret },
    baseUrl: fake.url,
    timeoutMs,
  });

const africasTalkingClient = (fake: FakeServer) =>
  createAfricasTalkingProvider({
    ...C.africastalking,
    baseUrl: fake.url,
    timeoutMs: TIMEOUT_MS,
    usdPerUnit: { KES: "0.0077" },
  });

const smsVoiceClient = (
  fake: FakeServer,
  /** null: none at all. */
  configurationSetName: string | null = FAKE_WEBHOOKS.configurationSet,
) =>
  createSmsVoiceProvider({
    credentials: C.aws,
    region: C.aws.region,
    baseUrl: fake.url,
    timeoutMs: TIMEOUT_MS,
    ...(configurationSetName ? { configurationSetName } : {}),
  });

const form = (entry: { body: string }) => Object.fromEntries(new URLSearchParams(entry.body));

const providerId = (result: Awaited<ReturnType<ReturnType<typeof twilioClient>["send"]>>) => {
  if (result.outcome !== "accepted") throw new Error(`not accepted: ${JSON.stringify(result)}`);
  return result.providerMessageId;
};

/** Both the official SDK and the gateway's own check accept this Twilio callback. */
async function twilioAccepts(entry: OutboxEntry, authToken: string, url = entry.url) {
  const signature = entry.headers["x-twilio-signature"] ?? "";
  const sdk = twilio.validateRequest(authToken, signature, url, form(entry));
  const gateway = await verifyTwilioSignature({
    authToken,
    url,
    signature,
    contentType: entry.headers["content-type"],
    body: entry.body,
  });
  expect(gateway).toBe(sdk);
  return sdk;
}

describe("the outboxes (callbacks addressed to https://gateway.test)", () => {
  let providers: FakeProviders;
  let fakes: FakeProviders["fakes"];

  beforeAll(async () => {
    providers = await startFakeProviders();
    fakes = providers.fakes;
  });
  afterAll(() => providers.stop());
  beforeEach(() => {
    for (const fake of Object.values(fakes)) {
      fake.clear();
      fake.clearCallbacks();
    }
  });

  describe("Twilio: status callbacks to the StatusCallback URL", () => {
    it("sent then delivered, form-encoded, signed with the account's auth token", async () => {
      const url = statusCallbackUrl(FAKE_WEBHOOKS.baseUrl);
      const sid = providerId(
        await twilioClient(fakes.twilio).send(message({ statusCallbackUrl: url })),
      );

      const [sent, delivered, ...rest] = fakes.twilio.callbacks();
      if (!sent || !delivered) throw new Error("two callbacks expected");
      expect(rest).toEqual([]);
      for (const entry of [sent, delivered]) {
        expect(entry).toMatchObject({ url, method: "POST", providerMessageId: sid });
        expect(entry.headers["content-type"]).toBe("application/x-www-form-urlencoded");
        expect(entry.status).toBeUndefined();
        expect(await twilioAccepts(entry, C.twilio.authToken)).toBe(true);
        // Not the API key's secret, the key the send authenticated with.
        expect(await twilioAccepts(entry, C.twilio.apiKeySecret)).toBe(false);
        // The exact URL: our message id in it is signed too.
        expect(await twilioAccepts(entry, url.replace(OUR_ID, "msg_other"))).toBe(false);
      }
      expect(form(sent)).toEqual({
        SmsSid: sid,
        SmsStatus: "sent",
        MessageStatus: "sent",
        To: "+14155550100",
        MessageSid: sid,
        AccountSid: C.twilio.accountSid,
        From: "+14155550000",
        ApiVersion: "2010-04-01",
      });
      expect(form(delivered)).toMatchObject({
        MessageSid: sid,
        MessageStatus: "delivered",
        AccountSid: C.twilio.accountSid,
        From: "+14155550000",
        To: "+14155550100",
        ApiVersion: "2010-04-01",
        RawDlrDoneDate: expect.stringMatching(/^\d{10}$/),
      });
      expect(form(delivered)).not.toHaveProperty("ErrorCode");
    });

    it("a signature over every field: a changed status no longer verifies", async () => {
      await twilioClient(fakes.twilio).send(
        message({ statusCallbackUrl: statusCallbackUrl(FAKE_WEBHOOKS.baseUrl) }),
      );
      const [sent] = fakes.twilio.callbacks();
      if (!sent) throw new Error("no callback");
      const forged = {
        ...sent,
        body: sent.body.replace("MessageStatus=sent", "MessageStatus=failed"),
      };
      expect(await twilioAccepts(forged, C.twilio.authToken)).toBe(false);
    });

    it("undelivered (…990) with ErrorCode 30003", async () => {
      const url = statusCallbackUrl(FAKE_WEBHOOKS.baseUrl);
      await twilioClient(fakes.twilio).send(
        message({ to: "+14155550990", statusCallbackUrl: url }),
      );

      const callbacks = fakes.twilio.callbacks();
      expect(callbacks.map((entry) => form(entry).MessageStatus)).toEqual(["sent", "undelivered"]);
      expect(form(callbacks[1] ?? { body: "" })).toMatchObject({ ErrorCode: "30003" });
      for (const entry of callbacks) {
        expect(await twilioAccepts(entry, C.twilio.authToken)).toBe(true);
      }
    });

    it("through a Messaging Service: its SID, and a From from its pool", async () => {
      await twilioClient(fakes.twilio).send(
        message({
          sender: { kind: "messaging_service", value: SERVICE_SID },
          statusCallbackUrl: statusCallbackUrl(FAKE_WEBHOOKS.baseUrl),
        }),
      );

      const callbacks = fakes.twilio.callbacks();
      expect(callbacks).toHaveLength(2);
      for (const entry of callbacks) {
        expect(form(entry)).toMatchObject({
          MessagingServiceSid: SERVICE_SID,
          From: expect.stringMatching(/^\+\d+$/),
        });
        expect(await twilioAccepts(entry, C.twilio.authToken)).toBe(true);
      }
    });

    it("none without a StatusCallback", async () => {
      expect((await twilioClient(fakes.twilio).send(message())).outcome).toBe("accepted");
      expect(fakes.twilio.callbacks()).toEqual([]);
    });

    it("the truncated answer (…998): Twilio took it, so the callbacks still come", async () => {
      const url = statusCallbackUrl(FAKE_WEBHOOKS.baseUrl);
      const result = await twilioClient(fakes.twilio).send(
        message({ to: "+14155550998", statusCallbackUrl: url }),
      );

      expect(result.outcome).toBe("outcome_unknown");
      const callbacks = fakes.twilio.callbacks();
      expect(callbacks.map((entry) => form(entry).MessageStatus)).toEqual(["sent", "delivered"]);
      expect(callbacks.map((entry) => entry.url)).toEqual([url, url]);
    });

    it.each(["991", "992", "993", "994", "995", "996", "997"])(
      "none when Twilio did not take it (…%s)",
      async (suffix) => {
        const url = statusCallbackUrl(FAKE_WEBHOOKS.baseUrl);
        const result = await twilioClient(fakes.twilio, 300).send(
          message({ to: `+14155550${suffix}`, statusCallbackUrl: url }),
        );

        expect(result.outcome).not.toBe("accepted");
        expect(fakes.twilio.callbacks()).toEqual([]);
      },
    );
  });

  describe("Africa's Talking: delivery reports to the dashboard's DLR URL", () => {
    const dlrUrl = `${FAKE_WEBHOOKS.baseUrl}/webhooks/africastalking/delivery?token=${FAKE_WEBHOOKS.africastalkingToken}`;
    const kenyan = (suffix = "100") =>
      message({ to: `+254711000${suffix}`, country: "KE", sender: null });

    it("one Success report, form-encoded, with the messageId it returned", async () => {
      const id = providerId(await africasTalkingClient(fakes.africastalking).send(kenyan()));

      const [report, ...rest] = fakes.africastalking.callbacks();
      if (!report) throw new Error("no report");
      expect(rest).toEqual([]);
      expect(report).toMatchObject({ url: dlrUrl, method: "POST", providerMessageId: id });
      expect(report.headers["content-type"]).toBe("application/x-www-form-urlencoded");
      expect(form(report)).toEqual({
        id,
        status: "Success",
        phoneNumber: "+254711000100",
        networkCode: "63902",
        retryCount: "0",
      });
    });

    it("undelivered (…990): Failed with DeliveryFailure", async () => {
      await africasTalkingClient(fakes.africastalking).send(kenyan("990"));

      const [report] = fakes.africastalking.callbacks();
      expect(form(report ?? { body: "" })).toMatchObject({
        status: "Failed",
        failureReason: "DeliveryFailure",
        phoneNumber: "+254711000990",
      });
    });

    it("the truncated answer (…998): a report still comes", async () => {
      const result = await africasTalkingClient(fakes.africastalking).send(kenyan("998"));

      expect(result.outcome).toBe("outcome_unknown");
      expect(fakes.africastalking.callbacks().map((entry) => form(entry).status)).toEqual([
        "Success",
      ]);
    });

    it.each(["991", "992", "993", "994", "995"])(
      "none when it was not taken (…%s)",
      async (suffix) => {
        const result = await africasTalkingClient(fakes.africastalking).send(kenyan(suffix));

        expect(result.outcome).not.toBe("accepted");
        expect(fakes.africastalking.callbacks()).toEqual([]);
      },
    );
  });

  describe("End User Messaging: delivery events through the SNS topic", () => {
    const verifier = () =>
      createSnsVerifier({
        allowedCertHost: new RegExp(providers.workerEnv.SNS_CERT_HOST_PATTERN ?? "^$"),
        allowHttpCertUrl: true,
      });

    it("an SNS Notification, signed (version 2), whose Message carries our message id", async () => {
      const before = Date.now();
      const id = providerId(await smsVoiceClient(fakes["aws-sms-voice"]).send(message()));

      const [entry, ...rest] = fakes["aws-sms-voice"].callbacks();
      if (!entry) throw new Error("no notification");
      expect(rest).toEqual([]);
      expect(entry).toMatchObject({
        url: `${FAKE_WEBHOOKS.baseUrl}/webhooks/aws/sns`,
        method: "POST",
        providerMessageId: id,
      });
      expect(entry.headers).toMatchObject({
        "content-type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-topic-arn": FAKE_WEBHOOKS.topicArn,
      });
      const notification = snsMessageSchema.parse(JSON.parse(entry.body));
      expect(notification).toMatchObject({
        Type: "Notification",
        TopicArn: FAKE_WEBHOOKS.topicArn,
        SignatureVersion: "2",
        SigningCertURL: providers.snsSigner.certUrl,
        UnsubscribeURL: expect.stringMatching(/^https:\/\/sns\.eu-west-1\.amazonaws\.com\//),
      });
      expect(entry.headers["x-amz-sns-message-id"]).toBe(notification.MessageId);
      expect(await verifier().verify(notification)).toEqual({ ok: true });

      const event = JSON.parse(notification.Message);
      expect(event).toMatchObject({
        eventType: "TEXT_DELIVERED",
        messageStatus: "DELIVERED",
        messageId: id,
        destinationPhoneNumber: "+14155550100",
        isFinal: true,
        context: { message_id: OUR_ID },
      });
      expect(event.eventTimestamp).toBeGreaterThanOrEqual(before);
      expect(event.eventTimestamp).toBeLessThanOrEqual(Date.now());
    });

    it("a changed Message no longer verifies", async () => {
      await smsVoiceClient(fakes["aws-sms-voice"]).send(message());
      const [entry] = fakes["aws-sms-voice"].callbacks();
      const notification = snsMessageSchema.parse(JSON.parse(entry?.body ?? "{}"));
      const forged = {
        ...notification,
        Message: notification.Message.replace("DELIVERED", "FAILED"),
      };

      expect(await verifier().verify(forged)).toMatchObject({ ok: false });
    });

    it("undelivered (…990): TEXT_UNREACHABLE", async () => {
      await smsVoiceClient(fakes["aws-sms-voice"]).send(message({ to: "+14155550990" }));

      const [entry] = fakes["aws-sms-voice"].callbacks();
      const notification = snsMessageSchema.parse(JSON.parse(entry?.body ?? "{}"));
      expect(await verifier().verify(notification)).toEqual({ ok: true });
      expect(JSON.parse(notification.Message)).toMatchObject({
        eventType: "TEXT_UNREACHABLE",
        messageStatus: "UNREACHABLE",
        isFinal: true,
      });
    });

    it("the truncated answer (…998): the event still comes", async () => {
      const result = await smsVoiceClient(fakes["aws-sms-voice"]).send(
        message({ to: "+14155550998" }),
      );

      expect(result.outcome).toBe("outcome_unknown");
      expect(fakes["aws-sms-voice"].callbacks()).toHaveLength(1);
    });

    it("none without a configuration set, or under another one", async () => {
      await smsVoiceClient(fakes["aws-sms-voice"], null).send(message());
      await smsVoiceClient(fakes["aws-sms-voice"], "another-configuration-set").send(message());

      expect(fakes["aws-sms-voice"].requests()).toHaveLength(2);
      expect(fakes["aws-sms-voice"].callbacks()).toEqual([]);
    });

    it.each(["991", "992", "993", "994", "995"])(
      "none when it was not taken (…%s)",
      async (suffix) => {
        const result = await smsVoiceClient(fakes["aws-sms-voice"]).send(
          message({ to: `+14155550${suffix}` }),
        );

        expect(result.outcome).not.toBe("accepted");
        expect(fakes["aws-sms-voice"].callbacks()).toEqual([]);
      },
    );
  });

  it("SNS Publish to a phone number: no delivery callback at all", async () => {
    const sns = createSnsProvider({
      credentials: C.aws,
      region: C.aws.region,
      baseUrl: fakes["aws-sns"].url,
      timeoutMs: TIMEOUT_MS,
    });
    expect((await sns.send(message())).outcome).toBe("accepted");
    expect(fakes["aws-sns"].callbacks()).toEqual([]);
  });

  it("the control endpoints: GET /__fake/callbacks lists, DELETE clears", async () => {
    await twilioClient(fakes.twilio).send(
      message({ statusCallbackUrl: statusCallbackUrl(FAKE_WEBHOOKS.baseUrl) }),
    );
    const endpoint = `${fakes.twilio.url}/__fake/callbacks`;

    const listed = await fetch(endpoint);
    expect(listed.status).toBe(200);
    expect(listed.headers.get("content-type")).toBe("application/json");
    expect(await listed.json()).toEqual(fakes.twilio.callbacks());
    expect((await fetch(endpoint, { method: "POST" })).status).toBe(405);
    // The request log is separate, and not a callback's business.
    expect(fakes.twilio.requests()).toHaveLength(1);

    expect((await fetch(endpoint, { method: "DELETE" })).status).toBe(204);
    expect(await (await fetch(endpoint)).json()).toEqual([]);
    expect(fakes.twilio.requests()).toHaveLength(1);
  });

  it("workerEnv: what the Worker needs to accept the callbacks", () => {
    const env = providers.workerEnv;
    expect(env).toMatchObject({
      AFRICASTALKING_WEBHOOK_TOKEN: FAKE_WEBHOOKS.africastalkingToken,
      AWS_SNS_TOPIC_ARNS: FAKE_WEBHOOKS.topicArn,
      AWS_SMS_CONFIGURATION_SET: FAKE_WEBHOOKS.configurationSet,
      SNS_ALLOW_HTTP_CERT_URL: "1",
      TWILIO_AUTH_TOKEN: C.twilio.authToken,
    });
    const pattern = new RegExp(env.SNS_CERT_HOST_PATTERN ?? "^$");
    const cert = new URL(providers.snsSigner.certUrl);
    expect(cert.hostname).toBe("127.0.0.1");
    // Whether the gateway tests the URL's host (with the port) or its hostname.
    expect(pattern.test(cert.host)).toBe(true);
    expect(pattern.test(cert.hostname)).toBe(true);
    for (const other of ["127.0.0.10", "127.0.0.1.evil.example", "sns.eu-west-1.amazonaws.com"]) {
      expect(pattern.test(other)).toBe(false);
    }
    expect(pattern.test(`127.0.0.1:${Number(cert.port) + 1}`)).toBe(false);
  });
});

/** A stand-in gateway: records what it receives, answers 200 (or `answer` for a path). */
async function startReceiver(answer: (path: string) => number = () => 200) {
  const received: { path: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const path = req.url ?? "/";
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString("utf8") });
      res.writeHead(answer(path)).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    received,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("deliverCallbacks: the fakes POST their callbacks themselves", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let providers: FakeProviders;

  beforeAll(async () => {
    // The Africa's Talking endpoint refuses, to show the answer is recorded as it came.
    receiver = await startReceiver((path) => (path.includes("africastalking") ? 403 : 200));
    providers = await startFakeProviders({ gatewayUrl: receiver.url, deliverCallbacks: true });
  });
  afterAll(async () => {
    await providers.stop();
    await receiver.stop();
  });

  it("to the gateway's webhooks, in order, as they sit in the outbox", async () => {
    const { fakes } = providers;
    const callback = statusCallbackUrl(receiver.url);
    await twilioClient(fakes.twilio).send(message({ statusCallbackUrl: callback }));
    await africasTalkingClient(fakes.africastalking).send(
      message({ to: "+254711000100", country: "KE", sender: null }),
    );
    await smsVoiceClient(fakes["aws-sms-voice"]).send(message());
    await Promise.all(Object.values(fakes).map((fake: FakeServer) => fake.callbacksSettled()));

    const paths = receiver.received.map((request) => request.path);
    expect(paths.filter((path) => path.startsWith("/webhooks/twilio/"))).toEqual([
      `/webhooks/twilio/status?message_id=${OUR_ID}`,
      `/webhooks/twilio/status?message_id=${OUR_ID}`,
    ]);
    expect(paths).toContain(
      `/webhooks/africastalking/delivery?token=${FAKE_WEBHOOKS.africastalkingToken}`,
    );
    expect(paths).toContain("/webhooks/aws/sns");
    expect(receiver.received).toHaveLength(4);

    const twilioBodies = receiver.received.filter((r) => r.path.startsWith("/webhooks/twilio/"));
    expect(twilioBodies.map((r) => new URLSearchParams(r.body).get("MessageStatus"))).toEqual([
      "sent",
      "delivered",
    ]);
    for (const request of twilioBodies) {
      const signature = String(request.headers["x-twilio-signature"]);
      const params = Object.fromEntries(new URLSearchParams(request.body));
      expect(twilio.validateRequest(C.twilio.authToken, signature, callback, params)).toBe(true);
    }
    const sns = receiver.received.find((r) => r.path === "/webhooks/aws/sns");
    expect(sns?.headers["x-amz-sns-message-type"]).toBe("Notification");
    expect(JSON.parse(JSON.parse(sns?.body ?? "{}").Message).context).toEqual({
      message_id: OUR_ID,
    });

    expect(fakes.twilio.callbacks().map((entry) => entry.status)).toEqual([200, 200]);
    expect(fakes["aws-sms-voice"].callbacks().map((entry) => entry.status)).toEqual([200]);
    expect(fakes.africastalking.callbacks().map((entry) => entry.status)).toEqual([403]);
  });
});

describe("a fake stopped with deliveries pending", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(() => receiver.stop());
  afterEach(() => {
    receiver.received.length = 0;
  });

  it("stops at once and delivers nothing more", async () => {
    const fake = await startFakeTwilio({
      ...C.twilio,
      deliverCallbacks: true,
      callbackDelayMs: 60_000,
    });
    await twilioClient(fake).send(message({ statusCallbackUrl: statusCallbackUrl(receiver.url) }));
    expect(fake.callbacks()).toHaveLength(2);

    const started = Date.now();
    await fake.stop();
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(receiver.received).toEqual([]);
    expect(fake.callbacks().every((entry) => entry.status === undefined)).toBe(true);
  });

  it("records a receiver it cannot reach as an error", async () => {
    const fake = await startFakeAfricasTalking({
      ...C.africastalking,
      // Nothing listens on port 9 (discard) on 127.0.0.1 in the test environment.
      deliveryReportUrl: "http://127.0.0.1:9/webhooks/africastalking/delivery?token=t",
      deliverCallbacks: true,
      callbackDelayMs: 10,
    });
    try {
      await africasTalkingClient(fake).send(
        message({ to: "+254711000100", country: "KE", sender: null }),
      );
      await fake.callbacksSettled();

      const [entry] = fake.callbacks();
      expect(entry?.status).toBeUndefined();
      expect(entry?.error).toMatch(/fetch failed|ECONNREFUSED/);
    } finally {
      await fake.stop();
    }
  });
});
