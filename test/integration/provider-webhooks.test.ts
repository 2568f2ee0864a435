import { env, SELF } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import { authenticate } from "../../src/services/api-keys";
import {
  buildSendRequest,
  callProvider,
  claimMessage,
  recordOutcome,
  startAttempt,
} from "../../src/services/dispatch";
import { loadRoutingContext } from "../../src/services/routing";
import { acceptMessage } from "../../src/services/send";
import {
  expectProblem,
  getMessage,
  liveTenantWith,
  minutesFromNow,
  newTenant,
  postJson,
  runCron,
  type TestTenant,
  twilioInbound,
  twilioSignature,
  uniqueSenderNumber,
  waitForStatus,
  withServices,
} from "./support";

/** The fakes started by scripts/test.mjs, as the Worker sees them. */
const FAKES = {
  twilio: env.TWILIO_BASE_URL,
  "aws-sms-voice": env.AWS_SMS_VOICE_BASE_URL,
  africastalking: env.AFRICASTALKING_BASE_URL,
} as const;
type FakeName = keyof typeof FAKES;

interface Callback {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string;
}

/** The signed callbacks a fake produced (the Worker under test is not reachable over HTTP). */
async function callbacks(name: FakeName): Promise<Callback[]> {
  return (await fetch(`${FAKES[name]}/__fake/callbacks`)).json();
}

/** Delivers a callback into the Worker, as the provider would (same URL path, headers, body). */
function deliver(callback: Callback, tamper: (c: Callback) => Callback = (c) => c) {
  const c = tamper(callback);
  const url = new URL(c.url);
  return SELF.fetch(`https://gateway.test${url.pathname}${url.search}`, {
    method: c.method,
    headers: c.headers,
    body: c.body,
  });
}

async function waitForCallbacks(name: FakeName): Promise<void> {
  for (let i = 0; i < 100 && (await callbacks(name)).length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function deliverAll(name: FakeName) {
  const answers = [];
  for (const callback of await callbacks(name)) {
    const response = await deliver(callback);
    answers.push({ status: response.status, body: (await response.json()) as { outcome: string } });
  }
  return answers;
}

beforeEach(async () => {
  for (const url of Object.values(FAKES)) {
    await fetch(`${url}/__fake/callbacks`, { method: "DELETE" });
    await fetch(`${url}/__fake/requests`, { method: "DELETE" });
  }
});

async function send(tenant: TestTenant, body: Record<string, unknown>) {
  const response = await postJson("/v1/messages", body, { ...tenant.auth, prefer: "wait" });
  return (await response.json()) as { id: string; provider: string; status: string };
}

describe("Twilio status callbacks", () => {
  it("signed callbacks move the message to delivered; a redelivery is recorded once", async () => {
    const tenant = await liveTenantWith({
      provider: "twilio",
      kind: "phone",
      value: uniqueSenderNumber(),
    });
    const message = await send(tenant, { to: "+14155550201", body: "code 1", type: "otp" });
    expect(message.provider).toBe("twilio");
    const answers = await deliverAll("twilio");
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const delivered = await getMessage(tenant, message.id);
    expect(delivered.status).toBe("delivered");
    expect(delivered.events.map((e) => [e.status, e.source, e.applied])).toEqual([
      ["sending", "dispatch", true],
      ["sent", "dispatch", true],
      ["sent", "provider", false],
      ["delivered", "provider", true],
    ]);
    const again = await deliverAll("twilio");
    expect(again.map((a) => a.body.outcome)).toEqual(["duplicate", "duplicate"]);
    expect((await getMessage(tenant, message.id)).events).toHaveLength(4);
  });

  it.each([
    ["a tampered body", (c: Callback) => ({ ...c, body: c.body.replace("delivered", "failed") })],
    ["a tampered URL", (c: Callback) => ({ ...c, url: `${c.url}x` })],
    [
      "a missing signature",
      (c: Callback) => ({ ...c, headers: { "content-type": c.headers["content-type"] ?? "" } }),
    ],
  ])("refuses %s with 403 and records nothing", async (_label, tamper) => {
    const tenant = await liveTenantWith({
      provider: "twilio",
      kind: "phone",
      value: uniqueSenderNumber(),
    });
    const message = await send(tenant, { to: "+14155550202", body: "code 2", type: "otp" });
    const [, deliveredCallback] = await callbacks("twilio");
    if (!deliveredCallback) throw new Error("no delivered callback");
    await expectProblem(await deliver(deliveredCallback, tamper), 403, "webhook_not_authenticated");
    const after = await getMessage(tenant, message.id);
    expect(after.status).toBe("sent");
    expect(after.events.filter((e) => e.source === "provider")).toHaveLength(0);
  });

  it("a receipt that beats the send's own answer still ends delivered", async () => {
    const from = uniqueSenderNumber();
    const tenant = await liveTenantWith({ provider: "twilio", kind: "phone", value: from });
    const id = await withServices(async (s) => {
      const principal = await authenticate(s, tenant.key);
      const accepted = await acceptMessage(
        s,
        principal,
        { to: "+14155550205", body: "fast", type: "otp" },
        null,
        false,
      );
      if (accepted.kind !== "accepted") throw new Error("not accepted");
      const claimed = await claimMessage(s, accepted.response.id);
      if (!claimed) throw new Error("not claimed");
      const ctx = await loadRoutingContext(s, claimed.tenant_id);
      const provider = ctx.providers.twilio;
      if (!provider) throw new Error("no twilio");
      const attemptId = await startAttempt(s, claimed, "twilio");
      const result = await callProvider(
        provider,
        buildSendRequest(s, claimed, provider, { kind: "phone", value: from }),
      );
      // Twilio's "delivered" callback lands before we record the send's answer.
      for (const callback of await callbacks("twilio")) await deliver(callback);
      await recordOutcome(s, claimed, "twilio", attemptId, result, { kind: "sent" });
      return claimed.id;
    });
    const message = await getMessage(tenant, id);
    expect(message.status).toBe("delivered");
    expect(message.events.map((e) => [e.status, e.source, e.applied])).toEqual([
      ["sending", "dispatch", true],
      ["sent", "provider", true],
      ["delivered", "provider", true],
      ["sent", "dispatch", false],
    ]);
  });

  it("keeps and flags a receipt for a message it does not know", async () => {
    const params = {
      MessageSid: `SM${"f".repeat(32)}`,
      MessageStatus: "delivered",
      AccountSid: "AC00000000000000000000000000000001",
    };
    const url = "https://gateway.test/webhooks/twilio/status";
    const response = await SELF.fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": await twilioSignature(env.TWILIO_AUTH_TOKEN, url, params),
      },
      body: new URLSearchParams(params).toString(),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ outcome: "unknown_message" });
    const rows = await withServices((s) =>
      s.db.execute(
        sql`select 1 from unmatched_receipts where provider_message_id = ${params.MessageSid}`,
      ),
    );
    expect(rows.rows).toHaveLength(1);
  });
});

describe("a failed receipt", () => {
  it("re-sends an OTP once through the next provider, linking the attempts", async () => {
    const tenant = await liveTenantWith({
      provider: "twilio",
      kind: "phone",
      value: uniqueSenderNumber(),
    });
    // …990: every fake accepts, then reports the message undelivered.
    const message = await send(tenant, { to: "+14155550990", body: "code 3", type: "otp" });
    expect(message.provider).toBe("twilio");
    const answers = await deliverAll("twilio");
    expect(answers.map((a) => a.body.outcome)).toEqual(["ignored", "resent"]);
    let resent = await getMessage(tenant, message.id);
    for (let i = 0; i < 100 && resent.attempts.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      resent = await getMessage(tenant, message.id);
    }
    const [first, second] = resent.attempts as {
      id: string;
      provider: string;
      resend_of: string | null;
    }[];
    expect(second).toMatchObject({ provider: "aws-sms-voice", resend_of: first?.id });
    expect(resent.status).toBe("sent");
    // The re-sent message's own failed receipt is final: never a second re-send.
    await waitForCallbacks("aws-sms-voice");
    expect((await deliverAll("aws-sms-voice")).map((a) => a.body.outcome)).toEqual(["applied"]);
    const final = await getMessage(tenant, message.id);
    expect(final.status).toBe("undelivered");
    expect(final.attempts).toHaveLength(2);
  });

  it("does not re-send other message types", async () => {
    const tenant = await newTenant({ mode: "live" });
    const message = await send(tenant, { to: "+254712345990", body: "Habari" });
    expect(message.provider).toBe("africastalking");
    expect((await deliverAll("africastalking")).map((a) => a.body.outcome)).toEqual(["applied"]);
    const after = await getMessage(tenant, message.id);
    expect(after.status).toBe("undelivered");
    expect(after.attempts).toHaveLength(1);
  });
});

describe("Africa's Talking and End User Messaging receipts", () => {
  it("an Africa's Talking delivery report with the URL token delivers the message", async () => {
    const tenant = await newTenant({ mode: "live" });
    const message = await send(tenant, { to: "+254712345601", body: "Habari" });
    expect(message.provider).toBe("africastalking");
    const [report] = await callbacks("africastalking");
    if (!report) throw new Error("no delivery report");
    await expectProblem(
      await deliver(report, (c) => ({ ...c, url: c.url.replace(/token=[^&]+/, "token=wrong") })),
      403,
      "webhook_not_authenticated",
    );
    expect((await deliver(report)).status).toBe(200);
    expect((await getMessage(tenant, message.id)).status).toBe("delivered");
  });

  it("an End User Messaging event through SNS finds the message by our id in Context", async () => {
    const tenant = await newTenant({ mode: "live" });
    const message = await send(tenant, {
      to: "+14155550203",
      body: "via EUM",
      provider: "aws-sms-voice",
    });
    const [notification] = await callbacks("aws-sms-voice");
    if (!notification) throw new Error("no SNS notification");
    await expectProblem(
      await deliver(notification, (c) => ({ ...c, body: c.body.replace("DELIVERED", "FAILED") })),
      403,
      "webhook_not_authenticated",
    );
    const unsigned = await deliver(notification, (c) => {
      const {
        Signature: _s,
        SigningCertURL: _u,
        SignatureVersion: _v,
        ...raw
      } = JSON.parse(c.body);
      return { ...c, body: JSON.stringify(raw) };
    });
    await expectProblem(unsigned, 403, "webhook_not_authenticated");
    expect((await deliver(notification)).status).toBe(200);
    expect((await getMessage(tenant, message.id)).status).toBe("delivered");
  });
});

describe("inbound SMS and keywords", () => {
  const person = "+14155550211";

  async function tenantWithNumber(number: string, providerAnswersKeywords: boolean) {
    return liveTenantWith({
      provider: "twilio",
      kind: "phone",
      value: number,
      provider_answers_keywords: providerAnswersKeywords,
    });
  }

  const inbound = (
    to: string,
    body: string,
    sid = `SM${crypto.randomUUID().replaceAll("-", "")}`,
  ) =>
    twilioInbound({
      MessageSid: sid,
      From: person,
      To: to,
      Body: body,
      AccountSid: "AC00000000000000000000000000000001",
    });

  it("STOP opts the person out: sends to them are refused until START", async () => {
    const number = "+14155550301";
    const tenant = await tenantWithNumber(number, true);
    expect((await inbound(number, "Stop please")).status).toBe(200);
    const refused = await postJson("/v1/messages", { to: person, body: "promo" }, tenant.auth);
    await expectProblem(refused, 422, "recipient_opted_out");
    // The provider answers keywords on this sender: the gateway sends nothing itself.
    expect(
      (await fetch(`${FAKES.twilio}/__fake/requests`).then((r) => r.json())) as unknown[],
    ).toHaveLength(0);

    expect((await inbound(number, "START")).status).toBe(200);
    const again = await postJson("/v1/messages", { to: person, body: "welcome back" }, tenant.auth);
    expect(again.status).toBe(202);
  });

  it("sends the STOP confirmation once when the provider does not, and HELP's answer", async () => {
    const number = "+14155550302";
    await tenantWithNumber(number, false);
    await inbound(number, "STOP");
    await inbound(number, "stop");
    await inbound(number, "HELP");
    const deadline = Date.now() + 5000;
    let sent: { body: string }[] = [];
    while (Date.now() < deadline) {
      sent = await fetch(`${FAKES.twilio}/__fake/requests`).then((r) => r.json());
      if (sent.length >= 1) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const bodies = sent.map((r) => new URLSearchParams(r.body).get("Body"));
    // One confirmation; the HELP answer is refused by the opt-out guard (they opted out).
    expect(bodies).toEqual([expect.stringContaining("unsubscribed")]);
  });

  it("a STOP confirmation that cannot go out within 5 minutes expires, never sent late", async () => {
    const number = "+14155550304";
    const tenant = await tenantWithNumber(number, false);
    await fetch(`${FAKES.twilio}/__fake/behaviour`, {
      method: "PUT",
      body: JSON.stringify({ behaviour: "outage" }),
    });
    try {
      await inbound(number, "STOP");
      // Wait until the dispatch after the STOP has failed and left it for a retry.
      const waiting = () =>
        withServices(async (s) => {
          const rows = await s.db.execute<{ id: string }>(
            sql`select id from messages where tenant_id = ${tenant.id} and opt_out_exempt
                and dispatch_state = 'pending' and attempt_count > 0`,
          );
          return rows.rows[0]?.id;
        });
      let confirmation = await waiting();
      for (let i = 0; i < 200 && !confirmation; i++) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        confirmation = await waiting();
      }
      if (!confirmation) throw new Error("the confirmation was not left for a retry");
      await fetch(`${FAKES.twilio}/__fake/behaviour`, { method: "DELETE" });
      await fetch(`${FAKES.twilio}/__fake/requests`, { method: "DELETE" });
      await runCron(minutesFromNow(6));
      const message = await waitForStatus(tenant, confirmation, ["expired"]);
      expect(message.status_reason).toContain("valid_until");
      expect(await fetch(`${FAKES.twilio}/__fake/requests`).then((r) => r.json())).toEqual([]);
    } finally {
      await fetch(`${FAKES.twilio}/__fake/behaviour`, { method: "DELETE" });
    }
  });

  it("stores an inbound message once, linked to the latest message it answers", async () => {
    const number = "+14155550303";
    const tenant = await tenantWithNumber(number, true);
    const outbound = await send(tenant, { to: person, body: "Your table is ready", from: number });
    const sid = `SM${"a".repeat(32)}`;
    await inbound(number, "On my way!", sid);
    await inbound(number, "On my way!", sid);
    const rows = await withServices((s) =>
      s.db.execute<{ in_reply_to: string; keyword: string | null }>(
        sql`select in_reply_to, keyword from inbound_messages where provider_message_id = ${sid}`,
      ),
    );
    expect(rows.rows).toEqual([{ in_reply_to: outbound.id, keyword: null }]);
  });

  it("refuses an inbound webhook with a bad signature", async () => {
    const response = await twilioInbound(
      { MessageSid: "SM1", From: person, To: "+14155550304", Body: "STOP" },
      "not-the-token",
    );
    await expectProblem(response, 403, "webhook_not_authenticated");
  });
});
