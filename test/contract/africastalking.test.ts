import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeAfricasTalking } from "../../scripts/fakes/africastalking.mjs";
import type { FakeServer } from "../../scripts/fakes/common.mjs";
import {
  AFRICAS_TALKING_MAX_RECIPIENTS,
  type AfricasTalkingConfig,
  africasTalkingDefaultBaseUrl,
  costInUsdMicros,
  createAfricasTalkingProvider,
} from "../../src/providers/africastalking";
import type { SendRequest } from "../../src/providers/types";
import { answerWith, onlyRequest } from "./support";

const USERNAME = "edge-gateway";
const API_KEY = "atsk_0123456789abcdef0123456789abcdef";
const RATES = { KES: "0.0077" };

let fake: FakeServer;

beforeAll(async () => {
  fake = await startFakeAfricasTalking({ username: USERNAME, apiKey: API_KEY });
});
afterAll(() => fake.stop());
beforeEach(() => fake.clear());

const africasTalking = (config: Partial<AfricasTalkingConfig> = {}) =>
  createAfricasTalkingProvider({
    username: USERNAME,
    apiKey: API_KEY,
    baseUrl: fake.url,
    timeoutMs: 5_000,
    usdPerUnit: RATES,
    ...config,
  });

const message = (fields: Partial<SendRequest> = {}): SendRequest => ({
  messageId: "msg_01JDX5T0K2",
  to: "+254711000100",
  country: "KE",
  sender: { kind: "alphanumeric", value: "ACME" },
  body: "Your code is 123456",
  type: "otp",
  segments: 1,
  ...fields,
});

/** One message to each suffix of +254711000…, in that order, with ids msg_<suffix>. */
const toEach = (...suffixes: string[]) =>
  suffixes.map((suffix) => message({ messageId: `msg_${suffix}`, to: `+254711000${suffix}` }));

/** The form our client posts for `message()` to `to`. */
const sentForm = (to: string) => ({
  username: USERNAME,
  to,
  message: "Your code is 123456",
  from: "ACME",
  bulkSMSMode: "1",
});

describe("Africa's Talking client against the fake: success", () => {
  it("posts one recipient with the API key and converts the KES cost to USD micros", async () => {
    const result = await africasTalking().send(message());

    // KES 0.8000 × 0.0077 USD/KES = 0.00616 USD.
    expect(result).toEqual({
      outcome: "accepted",
      providerMessageId: expect.stringMatching(/^ATXid_[0-9a-f]{32}$/),
      costMicros: 6_160,
      currency: "USD",
    });
    const received = onlyRequest(fake);
    expect(received.method).toBe("POST");
    expect(received.path).toBe("/version1/messaging");
    expect(received.headers.apikey).toBe(API_KEY);
    expect(received.headers.accept).toBe("application/json");
    expect(received.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(Object.fromEntries(received.form)).toEqual(sentForm("+254711000100"));
    expect(received.accepted).toBe(true);
  });

  it("leaves `from` out without a sender (Africa's Talking's shared sender)", async () => {
    const result = await africasTalking().send(message({ sender: null }));

    expect(result.outcome).toBe("accepted");
    expect(onlyRequest(fake).form.has("from")).toBe(false);
  });

  it("leaves the cost out for a currency without a configured rate", async () => {
    const result = await africasTalking({ usdPerUnit: { UGX: "0.00027" } }).send(message());

    expect(result).toEqual({ outcome: "accepted", providerMessageId: expect.any(String) });
  });
});

describe("Africa's Talking client against the fake: every failure class", () => {
  it.each([
    ["991 InvalidPhoneNumber", "+254711000991", "rejected_permanent", "403", false],
    ["992 UserInBlacklist", "+254711000992", "rejected_permanent", "406", false],
    ["993 bad credentials", "+254711000993", "rejected_config", "http_401", false],
    ["994 throttled", "+254711000994", "throttled", "http_429", false],
    ["995 InternalServerError", "+254711000995", "unavailable", "500", false],
    ["996 proxy 502 in HTML", "+254711000996", "outcome_unknown", "http_502", false],
    ["997 hang", "+254711000997", "outcome_unknown", "timeout", false],
    // The fake did take it: only the answer was lost.
    ["998 truncated 201", "+254711000998", "outcome_unknown", "http_201", true],
  ])("%s (%s) → %s", async (_, to, outcome, errorCode, accepted) => {
    const result = await africasTalking({ timeoutMs: 200 }).send(message({ to }));

    expect(result).toMatchObject({ outcome, errorCode });
    expect(onlyRequest(fake).accepted).toBe(accepted);
  });

  it("keeps the recipient's status name as the message", async () => {
    const result = await africasTalking().send(message({ to: "+254711000992" }));

    expect(result).toMatchObject({ errorMessage: "UserInBlacklist" });
  });

  it.each([
    ["API key", { apiKey: "atsk_wrong" }],
    ["username", { username: "someone-else" }],
  ])("classes a wrong %s as a configuration problem", async (_, wrong) => {
    const result = await africasTalking(wrong).send(message());

    expect(result).toEqual({
      outcome: "rejected_config",
      errorCode: "http_401",
      errorMessage: "The supplied authentication is invalid",
    });
    expect(onlyRequest(fake).accepted).toBe(false);
  });
});

describe("Africa's Talking sendMany against the fake", () => {
  // A second fake with a DLR URL: its delivery reports say which id it gave which number.
  let reporting: FakeServer;
  beforeAll(async () => {
    reporting = await startFakeAfricasTalking({
      username: USERNAME,
      apiKey: API_KEY,
      deliveryReportUrl: "https://gateway.test/webhooks/africastalking/delivery",
    });
  });
  afterAll(() => reporting.stop());
  beforeEach(() => {
    reporting.clear();
    reporting.clearCallbacks();
  });

  it("posts every number in one request and maps each recipient to its request", async () => {
    const requests = toEach("103", "101", "102");
    const results = await africasTalking({ baseUrl: reporting.url }).sendMany(requests);

    expect(results).toEqual(
      requests.map(() => ({
        outcome: "accepted",
        providerMessageId: expect.stringMatching(/^ATXid_[0-9a-f]{32}$/),
        costMicros: 6_160,
        currency: "USD",
      })),
    );
    const ids = results.map((result) =>
      result.outcome === "accepted" ? result.providerMessageId : "",
    );
    expect(new Set(ids).size).toBe(3);
    // The id the fake gave each number, from its delivery reports.
    const idByNumber = Object.fromEntries(
      reporting.callbacks().map((report) => {
        const form = new URLSearchParams(report.body);
        return [form.get("phoneNumber"), form.get("id")];
      }),
    );
    expect(ids).toEqual(requests.map((request) => idByNumber[request.to]));
    // Headers as for `send` (the same code posts both).
    const received = onlyRequest(reporting);
    expect(Object.fromEntries(received.form)).toEqual(
      sentForm("+254711000103,+254711000101,+254711000102"),
    );
    expect(received.accepted).toBe(true);
  });

  it("gives refused recipients their own failure while the others are accepted", async () => {
    const results = await africasTalking().sendMany(toEach("100", "992", "101", "991"));

    expect(results).toEqual([
      expect.objectContaining({ outcome: "accepted" }),
      { outcome: "rejected_permanent", errorCode: "406", errorMessage: "UserInBlacklist" },
      expect.objectContaining({ outcome: "accepted" }),
      { outcome: "rejected_permanent", errorCode: "403", errorMessage: "InvalidPhoneNumber" },
    ]);
    // The fake took some, not all.
    expect(onlyRequest(fake).accepted).toBe(false);
  });

  it.each([
    ["997 hang", "997", "outcome_unknown", "timeout"],
    ["993 bad credentials", "993", "rejected_config", "http_401"],
    ["996 proxy 502 in HTML", "996", "outcome_unknown", "http_502"],
  ])("%s makes every message %s", async (_, suffix, outcome, errorCode) => {
    const results = await africasTalking({ timeoutMs: 200 }).sendMany(toEach("100", suffix, "101"));

    expect(results).toEqual([1, 2, 3].map(() => expect.objectContaining({ outcome, errorCode })));
    expect(onlyRequest(fake).form.get("to")?.split(",")).toHaveLength(3);
  });

  it.each([
    ["different bodies", () => [message(), message({ to: "+254711000101", body: "Other" })]],
    ["different senders", () => [message(), message({ to: "+254711000101", sender: null })]],
    ["a number twice", () => [message(), message({ messageId: "msg_2" })]],
    [
      "too many recipients",
      () =>
        Array.from({ length: AFRICAS_TALKING_MAX_RECIPIENTS + 1 }, (_, i) =>
          message({ to: `+2547${String(i).padStart(8, "0")}` }),
        ),
    ],
  ])("throws for %s, without calling Africa's Talking", async (_, requests) => {
    await expect(africasTalking().sendMany(requests())).rejects.toThrow(/sendMany/);
    expect(fake.requests()).toEqual([]);
  });

  it("sends nothing for no messages", async () => {
    expect(await africasTalking().sendMany([])).toEqual([]);
    expect(fake.requests()).toEqual([]);
  });
});

// Answers the fake does not produce, in the shapes Africa's Talking documents (§6.1) or has
// been seen to give.
describe("Africa's Talking client on other answers", () => {
  const answering = (status: number, body: string, contentType?: string) =>
    createAfricasTalkingProvider(
      {
        username: USERNAME,
        apiKey: API_KEY,
        baseUrl: "https://api.africastalking.com",
        timeoutMs: 1_000,
        usdPerUnit: RATES,
      },
      answerWith(status, body, contentType),
    );
  const answered = (status: number, body: string, contentType?: string) =>
    answering(status, body, contentType).send(message());
  const recipientResult = (statusCode: number, status: string) =>
    answered(
      201,
      JSON.stringify({
        SMSMessageData: {
          Message: "Sent to 0/1 Total Cost: 0",
          Recipients: [
            { statusCode, number: "+254711000100", status, cost: "0", messageId: "None" },
          ],
        },
      }),
    );

  it.each([
    [401, "RiskHold", "rejected_config"],
    [402, "InvalidSenderId", "rejected_permanent"],
    [404, "UnsupportedNumberType", "rejected_permanent"],
    [405, "InsufficientBalance", "rejected_config"],
    [407, "CouldNotRoute", "unavailable"],
    [409, "DoNotDisturbRejection", "rejected_permanent"],
    [501, "GatewayError", "unavailable"],
    [502, "RejectedByGateway", "unavailable"],
    // Not in the table: the 4xx band is a refusal, the 5xx band a failure to send.
    [410, "SomethingNew", "rejected_permanent"],
    [503, "SomethingElseNew", "unavailable"],
  ])("recipient status %i %s → %s", async (statusCode, status, outcome) => {
    expect(await recipientResult(statusCode, status)).toEqual({
      outcome,
      errorCode: String(statusCode),
      errorMessage: status,
    });
  });

  it("takes a 201 with no recipients and Message InvalidSenderId as that status", async () => {
    const body = { SMSMessageData: { Message: "InvalidSenderId", Recipients: [] } };

    expect(await answered(201, JSON.stringify(body))).toEqual({
      outcome: "rejected_permanent",
      errorCode: "402",
      errorMessage: "InvalidSenderId",
    });
  });

  it("takes any other 201 without recipients as outcome unknown", async () => {
    const body = { SMSMessageData: { Message: "Sent to 0/0 Total Cost: 0", Recipients: [] } };

    expect(await answered(201, JSON.stringify(body))).toMatchObject({
      outcome: "outcome_unknown",
      errorCode: "no_recipients",
    });
  });

  describe("sendMany", () => {
    const sentMany = (status: number, body: unknown, contentType?: string) =>
      answering(
        status,
        typeof body === "string" ? body : JSON.stringify(body),
        contentType,
      ).sendMany(toEach("101", "102", "103"));
    const accepted = (number: string, messageId: string) => ({
      statusCode: 101,
      number,
      status: "Success",
      cost: "KES 0.8000",
      messageId,
    });

    it("matches recipients by number, not by their order in the answer", async () => {
      const Recipients = [
        accepted("+254711000103", "ATXid_c"),
        { statusCode: 406, number: "+254711000101", status: "UserInBlacklist", cost: "0" },
        accepted("+254711000102", "ATXid_b"),
      ];
      const results = await sentMany(201, {
        SMSMessageData: { Message: "Sent to 2/3 Total Cost: KES 1.6000", Recipients },
      });

      expect(results).toEqual([
        { outcome: "rejected_permanent", errorCode: "406", errorMessage: "UserInBlacklist" },
        { outcome: "accepted", providerMessageId: "ATXid_b", costMicros: 6_160, currency: "USD" },
        { outcome: "accepted", providerMessageId: "ATXid_c", costMicros: 6_160, currency: "USD" },
      ]);
    });

    it("takes a message absent from the recipients as outcome unknown", async () => {
      const Recipients = [accepted("+254711000101", "ATXid_a")];
      const results = await sentMany(201, {
        SMSMessageData: { Message: "Sent to 1/1 Total Cost: KES 0.8000", Recipients },
      });

      expect(results.map((result) => result.outcome)).toEqual([
        "accepted",
        "outcome_unknown",
        "outcome_unknown",
      ]);
      expect(results[1]).toMatchObject({ errorCode: "no_recipient_entry" });
    });

    it("applies InvalidSenderId without recipients to every message", async () => {
      const results = await sentMany(201, {
        SMSMessageData: { Message: "InvalidSenderId", Recipients: [] },
      });

      expect(results).toEqual(
        [1, 2, 3].map(() => ({
          outcome: "rejected_permanent",
          errorCode: "402",
          errorMessage: "InvalidSenderId",
        })),
      );
    });

    it.each([
      [503, "Service Unavailable", "text/plain", "unavailable"],
      [500, "Internal Server Error", "text/plain", "outcome_unknown"],
      [201, '{"SMSMessageData":{"Mess', "application/json", "outcome_unknown"],
    ])("HTTP %i %j → %s for every message", async (status, body, contentType, outcome) => {
      const results = await sentMany(status, body, contentType);

      expect(results).toEqual(
        [1, 2, 3].map(() => expect.objectContaining({ outcome, errorCode: `http_${status}` })),
      );
    });
  });

  it.each([
    [503, "Service Unavailable", "text/plain", "unavailable"],
    // A 500 part-way through a send may still have sent it.
    [500, "Internal Server Error", "text/plain", "outcome_unknown"],
    [504, "<html><body>504 Gateway Time-out</body></html>", "text/html", "outcome_unknown"],
    [400, "Request is missing required form field 'to'", "text/plain", "rejected_permanent"],
    [403, "Forbidden", "text/plain", "rejected_config"],
  ])("HTTP %i %j → %s", async (status, body, contentType, outcome) => {
    expect(await answered(status, body, contentType)).toMatchObject({
      outcome,
      errorCode: `http_${status}`,
    });
  });
});

describe("costInUsdMicros", () => {
  it.each([
    ["KES 0.8000", RATES, 6_160],
    ["KES 1.6000", RATES, 12_320],
    ["UGX 30.0000", { UGX: "0.00027" }, 8_100],
    // 0.5 micro rounds up, 0.4 down.
    ["KES 1", { KES: "0.0000005" }, 1],
    ["KES 1", { KES: "0.0000004" }, 0],
    ["USD 0.0125", {}, 12_500],
    ["KES 0.8000", {}, undefined],
    ["KES -0.8", RATES, undefined],
    ["0", RATES, undefined],
  ])("%s at %j → %s", (cost, rates, micros) => {
    expect(costInUsdMicros(cost, rates)).toBe(micros);
  });
});

describe("africasTalkingDefaultBaseUrl", () => {
  it("uses the sandbox for the sandbox account only", () => {
    expect(africasTalkingDefaultBaseUrl("sandbox")).toBe("https://api.sandbox.africastalking.com");
    expect(africasTalkingDefaultBaseUrl("acme")).toBe("https://api.africastalking.com");
  });
});
