/**
 * Checks the fake Africa's Talking against the official SDK (africastalking, dev only): the
 * SDK's requests must pass the fake's checks, the SDK must take the fake's answers as it takes
 * the real API's, and the fake must receive the same request from the SDK and from our client.
 */
import { createRequire } from "node:module";
import { dirname } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeAfricasTalking } from "../../scripts/fakes/africastalking.mjs";
import type { FakeServer, ReceivedRequest } from "../../scripts/fakes/common.mjs";
import { createAfricasTalkingProvider } from "../../src/providers/africastalking";
import { onlyRequest } from "./support";

const USERNAME = "edge-gateway";
const API_KEY = "atsk_0123456789abcdef0123456789abcdef";
const LIVE_API = "https://api.africastalking.com";

interface SmsMessageData {
  SMSMessageData: { Message: string; Recipients: { statusCode: number; status: string }[] };
}
interface AfricasTalkingSdk {
  SMS: { send(params: { to: string; message: string; from?: string }): Promise<SmsMessageData> };
}
interface AxiosLike {
  interceptors: {
    request: {
      use(onRequest: (config: { url?: string }) => { url?: string }): number;
      eject(id: number): void;
    };
  };
}

// The SDK is CommonJS without types, and posts with the default instance of the axios that it
// resolves itself (a CommonJS one, not the ESM build an `import` would load). It has no base URL
// option, so an interceptor on that very instance sends its requests to the fake.
const require = createRequire(import.meta.url);
const AfricasTalking = require("africastalking") as (options: {
  username: string;
  apiKey: string;
}) => AfricasTalkingSdk;
const sdkAxios = require(
  require.resolve("axios", { paths: [dirname(require.resolve("africastalking"))] }),
) as AxiosLike;

let fake: FakeServer;
let interceptor: number;

beforeAll(async () => {
  fake = await startFakeAfricasTalking({ username: USERNAME, apiKey: API_KEY });
  interceptor = sdkAxios.interceptors.request.use((config) => ({
    ...config,
    url: config.url?.replace(LIVE_API, fake.url),
  }));
});
afterAll(async () => {
  sdkAxios.interceptors.request.eject(interceptor);
  await fake.stop();
});
beforeEach(() => fake.clear());

// A username other than "sandbox": the SDK switches its module-wide URLs to the sandbox for it.
const sdk = (apiKey = API_KEY) => AfricasTalking({ username: USERNAME, apiKey }).SMS;

const ours = () =>
  createAfricasTalkingProvider({
    username: USERNAME,
    apiKey: API_KEY,
    baseUrl: fake.url,
    timeoutMs: 5_000,
    usdPerUnit: { KES: "0.0077" },
  });

/**
 * Headers that may differ: transport ones, the User-Agent (axios/<version> against Node's
 * "node") and what Node's fetch adds to ours (Accept-Language: *, Sec-Fetch-Mode: cors).
 * Content-Type is compared without parameters: axios appends ";charset=utf-8", we do not.
 */
const NOT_COMPARED = new Set([
  "host",
  "content-length",
  "connection",
  "accept-encoding",
  "user-agent",
  "accept-language",
  "sec-fetch-mode",
]);

const essentials = (request: ReceivedRequest & { form: URLSearchParams }) => ({
  method: request.method,
  path: request.path,
  headers: Object.fromEntries(
    Object.entries(request.headers)
      .filter(([name]) => !NOT_COMPARED.has(name))
      .map(([name, value]) => [
        name,
        name === "content-type" ? String(value).split(";")[0] : value,
      ]),
  ),
  form: Object.fromEntries(request.form),
});

const TO = "+254711000100";
const MESSAGE = "Your code is 123456";

describe("the official Africa's Talking SDK against the fake", () => {
  it("sends the same request as our client", async () => {
    await sdk().send({ to: TO, message: MESSAGE, from: "ACME" });
    const sdkRequest = onlyRequest(fake);
    fake.clear();
    const result = await ours().send({
      messageId: "msg_01",
      to: TO,
      country: "KE",
      sender: { kind: "alphanumeric", value: "ACME" },
      body: MESSAGE,
      type: "otp",
      segments: 1,
    });
    const ourRequest = onlyRequest(fake);

    expect(essentials(ourRequest)).toEqual(essentials(sdkRequest));
    expect(sdkRequest.headers["content-type"]).toBe(
      "application/x-www-form-urlencoded;charset=utf-8",
    );
    expect(result.outcome).toBe("accepted");
  });

  it("resolves with the fake's 201 SMSMessageData, as it does for the real API", async () => {
    const answer = await sdk().send({ to: TO, message: MESSAGE });

    expect(answer).toEqual({
      SMSMessageData: {
        Message: "Sent to 1/1 Total Cost: KES 0.8000",
        Recipients: [
          {
            statusCode: 101,
            number: TO,
            status: "Success",
            cost: "KES 0.8000",
            messageId: expect.stringMatching(/^ATXid_/),
          },
        ],
      },
    });
  });

  it.each([
    ["+254711000991", 403, "InvalidPhoneNumber"],
    ["+254711000992", 406, "UserInBlacklist"],
    ["+254711000995", 500, "InternalServerError"],
  ])("resolves with the per-recipient failure for %s (%i %s)", async (to, statusCode, status) => {
    const answer = await sdk().send({ to, message: MESSAGE });

    expect(answer.SMSMessageData.Recipients).toEqual([
      { statusCode, number: to, status, cost: "0", messageId: "None" },
    ]);
  });

  it.each([
    ["a wrong API key", TO, "wrong-key", 401, "The supplied authentication is invalid"],
    ["the 993 number", "+254711000993", API_KEY, 401, "The supplied authentication is invalid"],
    ["the 994 number", "+254711000994", API_KEY, 429, "Too Many Requests"],
  ])("rejects on %s with the fake's HTTP error", async (_, to, apiKey, status, body) => {
    await expect(sdk(apiKey).send({ to, message: MESSAGE })).rejects.toMatchObject({
      response: { status, data: body },
    });
    onlyRequest(fake);
  });
});
