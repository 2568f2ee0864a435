import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeAfricasTalking } from "../../scripts/fakes/africastalking.mjs";
import type { FakeServer } from "../../scripts/fakes/common.mjs";
import {
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
    expect(Object.fromEntries(received.form)).toEqual({
      username: USERNAME,
      to: "+254711000100",
      message: "Your code is 123456",
      from: "ACME",
      bulkSMSMode: "1",
    });
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

// Answers the fake does not produce, in the shapes Africa's Talking documents (§6.1) or has
// been seen to give.
describe("Africa's Talking client on other answers", () => {
  const answered = (status: number, body: string, contentType?: string) =>
    createAfricasTalkingProvider(
      {
        username: USERNAME,
        apiKey: API_KEY,
        baseUrl: "https://api.africastalking.com",
        timeoutMs: 1_000,
        usdPerUnit: RATES,
      },
      answerWith(status, body, contentType),
    ).send(message());
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
