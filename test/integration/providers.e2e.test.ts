import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import {
  api,
  expectProblem,
  getMessage,
  newTenant,
  postJson,
  runCron,
  type TestTenant,
  uniqueSenderNumber,
  waitForStatus,
  withServices,
} from "./support";

/** The fake providers started by scripts/test.mjs, as the Worker sees them. */
const FAKES = {
  twilio: env.TWILIO_BASE_URL,
  "aws-sns": env.AWS_SNS_BASE_URL,
  "aws-sms-voice": env.AWS_SMS_VOICE_BASE_URL,
  africastalking: env.AFRICASTALKING_BASE_URL,
} as const;
type FakeName = keyof typeof FAKES;

interface FakeRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
  accepted: boolean;
}

async function fakeRequests(name: FakeName): Promise<FakeRequest[]> {
  return (await fetch(`${FAKES[name]}/__fake/requests`)).json();
}

async function requestCounts(): Promise<Record<FakeName, number>> {
  const entries = await Promise.all(
    (Object.keys(FAKES) as FakeName[]).map(async (name) => [
      name,
      (await fakeRequests(name)).length,
    ]),
  );
  return Object.fromEntries(entries);
}

/** Makes one fake answer every send with a behaviour (e.g. "outage"), or restores it. */
async function force(name: FakeName, behaviour: string | null): Promise<void> {
  await fetch(`${FAKES[name]}/__fake/behaviour`, {
    method: behaviour ? "PUT" : "DELETE",
    ...(behaviour ? { body: JSON.stringify({ behaviour }) } : {}),
  });
}

async function resetFakes(): Promise<void> {
  for (const name of Object.keys(FAKES) as FakeName[]) {
    await fetch(`${FAKES[name]}/__fake/requests`, { method: "DELETE" });
    await force(name, null);
  }
  // Circuit breakers from earlier tests must not steer these ones.
  await withServices(async (s) => {
    const keys = await s.redis.keys("cb:*");
    if (keys.length > 0) await s.redis.del(...keys);
  });
}

async function liveTenant(): Promise<TestTenant> {
  const tenant = await newTenant({ mode: "live" });
  const sender = await postJson(
    "/v1/senders",
    { provider: "twilio", kind: "phone", value: uniqueSenderNumber() },
    tenant.auth,
  );
  expect(sender.status).toBe(201);
  return tenant;
}

async function sendAndWait(tenant: TestTenant, body: Record<string, unknown>) {
  const response = await postJson("/v1/messages", body, { ...tenant.auth, prefer: "wait" });
  const message = (await response.json()) as { id: string; provider: string; status: string };
  return { response, message, detail: await getMessage(tenant, message.id) };
}

describe("live sends through the providers", () => {
  beforeEach(resetFakes);

  it("a Kenyan number goes to Africa's Talking, one request, priced from KES", async () => {
    const tenant = await liveTenant();
    const { response, message, detail } = await sendAndWait(tenant, {
      to: "+254712345678",
      body: "Habari",
    });
    expect(response.status).toBe(201);
    expect(message.provider).toBe("africastalking");
    expect(detail.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["africastalking", "accepted"],
    ]);
    expect(await requestCounts()).toEqual({
      twilio: 0,
      "aws-sns": 0,
      "aws-sms-voice": 0,
      africastalking: 1,
    });
  });

  it("a US OTP takes the OTP route (Twilio, from the tenant's number, our id in the callback)", async () => {
    const tenant = await newTenant({ mode: "live" });
    const number = uniqueSenderNumber();
    await postJson(
      "/v1/senders",
      { provider: "twilio", kind: "phone", value: number },
      tenant.auth,
    );
    const { message } = await sendAndWait(tenant, {
      to: "+14155550123",
      body: "Your code is 123456",
      type: "otp",
      validity_seconds: 300,
    });
    expect(message.provider).toBe("twilio");
    const [request] = await fakeRequests("twilio");
    const form = new URLSearchParams(request?.body);
    expect(form.get("From")).toBe(number);
    expect(form.get("To")).toBe("+14155550123");
    expect(form.get("ValidityPeriod")).toBe("300");
    expect(form.get("StatusCallback")).toBe(
      `https://gateway.test/webhooks/twilio/status?message_id=${message.id}`,
    );
  });

  it("US transactional traffic goes to the cheapest provider", async () => {
    const tenant = await liveTenant();
    const { message } = await sendAndWait(tenant, { to: "+14155550124", body: "Receipt" });
    expect(message.provider).toBe("aws-sns");
  });

  it("a provider outage fails over to the next provider", async () => {
    const tenant = await liveTenant();
    await force("aws-sns", "outage");
    const { response, message, detail } = await sendAndWait(tenant, {
      to: "+14155550125",
      body: "Failover",
    });
    expect(response.status).toBe(201);
    expect(message.provider).toBe("aws-sms-voice");
    expect(detail.attempts.map((a) => [a.provider, a.outcome, a.error_code])).toEqual([
      ["aws-sns", "unavailable", "InternalError"],
      ["aws-sms-voice", "accepted", null],
    ]);
  });

  it("a tenant's own (wrong) credentials are used, and their rejection fails over", async () => {
    const tenant = await liveTenant();
    const put = await api("/v1/provider-credentials/twilio", {
      method: "PUT",
      headers: { ...tenant.auth, "content-type": "application/json" },
      body: JSON.stringify({
        account_sid: "AC00000000000000000000000000000001",
        auth_token: "not-the-right-token",
      }),
    });
    expect(put.status).toBe(204);
    const { detail } = await sendAndWait(tenant, { to: "+14155550126", body: "1234", type: "otp" });
    expect(detail.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["twilio", "rejected_config"],
      ["aws-sms-voice", "accepted"],
    ]);
    const [twilioRequest] = await fakeRequests("twilio");
    expect(twilioRequest?.accepted).toBe(false);
  });

  it("an unknown outcome on a non-OTP message never reaches a second provider", async () => {
    const tenant = await liveTenant();
    const { response, detail } = await sendAndWait(tenant, { to: "+14155550997", body: "Hang" });
    expect(response.status).toBe(202);
    expect(detail.status).toBe("sending");
    expect(detail.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["aws-sns", "outcome_unknown"],
    ]);
    expect(await requestCounts()).toEqual({
      twilio: 0,
      "aws-sns": 1,
      "aws-sms-voice": 0,
      africastalking: 0,
    });
    const rows = await withServices((s) =>
      s.db.execute<{ dispatch_state: string; outcome_deadline_at: string | null }>(
        sql`select dispatch_state, outcome_deadline_at from messages where id = ${detail.id}`,
      ),
    );
    expect(rows.rows[0]?.dispatch_state).toBe("unknown");
    expect(rows.rows[0]?.outcome_deadline_at).not.toBeNull();
  });

  it("an unknown outcome without a receipt by the deadline ends as failed", async () => {
    const tenant = await liveTenant();
    const { detail } = await sendAndWait(tenant, { to: "+14155550997", body: "Hang" });
    expect(detail.status).toBe("sending");
    await runCron(new Date(Date.now() + 2 * 3_600_000));
    const after = await getMessage(tenant, detail.id);
    expect(after.status).toBe("failed");
    expect(after.status_reason).toBe("outcome_unknown");
    expect(after.attempts).toHaveLength(1);
    expect(await requestCounts()).toMatchObject({ "aws-sns": 1, "aws-sms-voice": 0, twilio: 0 });
  });

  it("an unknown outcome on an OTP fails over (a second code is harmless)", async () => {
    const tenant = await liveTenant();
    await force("twilio", "hang");
    const { message, detail } = await sendAndWait(tenant, {
      to: "+14155550127",
      body: "Code 999999",
      type: "otp",
    });
    expect(message.provider).toBe("aws-sms-voice");
    expect(detail.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["twilio", "outcome_unknown"],
      ["aws-sms-voice", "accepted"],
    ]);
  });

  it("a permanent rejection ends the message without trying another provider", async () => {
    const tenant = await liveTenant();
    const { detail } = await sendAndWait(tenant, { to: "+14155550991", body: "Bad number" });
    expect(detail.status).toBe("failed");
    expect(detail.status_reason).toBe("InvalidParameter");
    expect(detail.attempts).toHaveLength(1);
  });

  it("a pinned provider is the only one tried", async () => {
    const tenant = await liveTenant();
    const { message } = await sendAndWait(tenant, {
      to: "+14155550128",
      body: "Pinned",
      provider: "aws-sms-voice",
    });
    expect(message.provider).toBe("aws-sms-voice");
    expect((await requestCounts())["aws-sns"]).toBe(0);
  });

  it("passes India DLT ids to End User Messaging and SNS", async () => {
    const tenant = await liveTenant();
    const dlt = { entity_id: "1101234567890123456", template_id: "1107987654321098765" };
    for (const provider of ["aws-sms-voice", "aws-sns"]) {
      const { message } = await sendAndWait(tenant, {
        to: "+919876543210",
        body: "Your OTP is 123456",
        provider,
        dlt,
      });
      expect(message.provider).toBe(provider);
    }
    const [eum] = await fakeRequests("aws-sms-voice");
    expect(JSON.parse(eum?.body ?? "{}").DestinationCountryParameters).toEqual({
      IN_ENTITY_ID: dlt.entity_id,
      IN_TEMPLATE_ID: dlt.template_id,
    });
    const [sns] = await fakeRequests("aws-sns");
    const form = new URLSearchParams(sns?.body);
    const attributes = Object.fromEntries(
      [...form.keys()]
        .filter((key) => key.endsWith(".Name"))
        .map((key) => [form.get(key), form.get(key.replace(".Name", ".Value.StringValue"))]),
    );
    expect(attributes).toMatchObject({
      "AWS.MM.SMS.EntityId": dlt.entity_id,
      "AWS.MM.SMS.TemplateId": dlt.template_id,
    });
  });

  it("refuses a `from` the tenant does not own", async () => {
    const tenant = await liveTenant();
    const response = await postJson(
      "/v1/messages",
      { to: "+14155550129", body: "Spoof", from: "+14155559999" },
      tenant.auth,
    );
    await expectProblem(response, 422, "sender_not_allowed");
    expect(await requestCounts()).toEqual({
      twilio: 0,
      "aws-sns": 0,
      "aws-sms-voice": 0,
      africastalking: 0,
    });
  });

  it("makes exactly one provider request per accepted message on the happy path", async () => {
    const tenant = await liveTenant();
    const sends = [
      { to: "+254712345679", body: "one" },
      { to: "+14155550130", body: "two" },
      { to: "+14155550131", body: "three", type: "otp" },
      { to: "+447400123456", body: "four" },
    ];
    const ids: string[] = [];
    for (const body of sends) {
      const response = await postJson("/v1/messages", body, tenant.auth);
      expect(response.status).toBe(202);
      ids.push(((await response.json()) as { id: string }).id);
    }
    for (const id of ids) await waitForStatus(tenant, id, ["sent"]);
    const counts = await requestCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(sends.length);
  });

  it("skips a provider whose circuit opened, for every isolate", async () => {
    const tenant = await liveTenant();
    await force("aws-sns", "outage");
    for (let i = 0; i < 5; i++) {
      await sendAndWait(tenant, { to: `+1415555014${i}`, body: "trip" });
    }
    const preview = await api("/v1/routes/preview?to=%2B14155550150", { headers: tenant.auth });
    const route = (await preview.json()) as { skipped: { provider: string; reason: string }[] };
    expect(route.skipped.map((s) => s.provider)).toContain("aws-sns");
    await fetch(`${FAKES["aws-sns"]}/__fake/requests`, { method: "DELETE" });
    const { message } = await sendAndWait(tenant, { to: "+14155550150", body: "after" });
    expect(message.provider).toBe("aws-sms-voice");
    expect(await fakeRequests("aws-sns")).toHaveLength(0);
  });
});

describe("route preview", () => {
  beforeEach(resetFakes);

  it("shows the chain, the reason for each step and the cost, without sending", async () => {
    const tenant = await liveTenant();
    const response = await api(
      `/v1/routes/preview?to=${encodeURIComponent("+254712345678")}&body=Habari`,
      { headers: tenant.auth },
    );
    expect(response.status).toBe(200);
    const preview = (await response.json()) as {
      country: string;
      rule: string;
      chain: { provider: string; estimated_cost: string; reason: string }[];
    };
    expect(preview.country).toBe("KE");
    expect(preview.rule).toBe("africastalking-local");
    expect(preview.chain[0]).toMatchObject({
      provider: "africastalking",
      estimated_cost: "0.0062",
    });
    expect(preview.chain.every((step) => step.reason.length > 0)).toBe(true);
    expect(await requestCounts()).toEqual({
      twilio: 0,
      "aws-sns": 0,
      "aws-sms-voice": 0,
      africastalking: 0,
    });
  });
});
