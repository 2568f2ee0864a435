import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { recordOptIn, recordOptOut } from "../../src/services/opt-outs";
import {
  ADMIN,
  api,
  expectProblem,
  getMessage,
  newTenant,
  postJson,
  type TestTenant,
  uniqueSenderNumber,
  withServices,
} from "./support";

const PERSON = "+14155550142";
/** The route parameter: `+` URL-encoded. */
const path = (phone: string) => encodeURIComponent(phone);

const marketingConsent = {
  purpose: "marketing",
  method: "web",
  evidence: "Signup form v3, checkbox 'Send me offers' ticked",
  ip: "203.0.113.7",
  user_agent: "Mozilla/5.0",
};

const send = (tenant: TestTenant, body: Record<string, unknown>) =>
  postJson("/v1/messages", body, tenant.auth);

const setCompliance = (tenantId: string, body: Record<string, unknown>) =>
  api(`/v1/admin/tenants/${tenantId}/compliance`, {
    method: "PUT",
    headers: { "content-type": "application/json", ...ADMIN },
    body: JSON.stringify(body),
  });

const deleteOptOut = (tenant: TestTenant, phone: string, body?: unknown) =>
  api(`/v1/opt-outs/${path(phone)}`, {
    method: "DELETE",
    headers: { ...tenant.auth, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

const importCsv = (tenant: TestTenant, csv: string) =>
  api("/v1/opt-outs/import", {
    method: "POST",
    headers: { ...tenant.auth, "content-type": "text/csv" },
    body: csv,
  });

describe("consent evidence", () => {
  it("is recorded append-only and listed latest first; a withdrawal wins over older consent", async () => {
    const tenant = await newTenant();
    const created = await postJson(
      "/v1/consents",
      { phone: "(415) 555-0142", given_at: "2026-01-10T09:00:00Z", ...marketingConsent },
      tenant.auth,
    );
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      id: expect.stringMatching(/^cns_/),
      phone: PERSON,
      purpose: "marketing",
      method: "web",
      withdrawn: false,
      given_at: "2026-01-10T09:00:00.000Z",
      ip: "203.0.113.7",
      user_agent: "Mozilla/5.0",
      evidence: marketingConsent.evidence,
    });

    let listed = await api(`/v1/consents/${path(PERSON)}`, { headers: tenant.auth });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toMatchObject({ phone: PERSON, marketing: true, data: [{}] });

    const withdrawal = await postJson(
      "/v1/consents",
      { phone: PERSON, ...marketingConsent, withdrawn: true, evidence: "Unsubscribe link" },
      tenant.auth,
    );
    expect(withdrawal.status).toBe(201);
    listed = await api(`/v1/consents/${path(PERSON)}`, { headers: tenant.auth });
    const body = (await listed.json()) as { marketing: boolean; data: { withdrawn: boolean }[] };
    expect(body.marketing).toBe(false);
    expect(body.data.map((c) => c.withdrawn)).toEqual([true, false]);

    // Another tenant sees none of it.
    const other = await newTenant();
    const theirs = await api(`/v1/consents/${path(PERSON)}`, { headers: other.auth });
    expect(await theirs.json()).toMatchObject({ marketing: false, data: [] });
  });

  it.each([
    [{ phone: PERSON, purpose: "marketing", method: "carrier pigeon", evidence: "x" }],
    [{ phone: PERSON, purpose: "marketing", method: "web" }],
    [{ phone: PERSON, ...marketingConsent, ip: "not an ip" }],
    [{ phone: PERSON, ...marketingConsent, given_at: "2999-01-01T00:00:00Z" }],
  ])("refuses invalid evidence %o", async (body) => {
    const tenant = await newTenant();
    await expectProblem(
      await postJson("/v1/consents", body, tenant.auth),
      422,
      "validation_failed",
    );
  });

  it("refuses a number that is not one", async () => {
    const tenant = await newTenant();
    const response = await postJson(
      "/v1/consents",
      { ...marketingConsent, phone: "12" },
      tenant.auth,
    );
    const problem = await expectProblem(response, 422, "invalid_phone_number");
    expect(problem.errors?.[0]?.path).toBe("phone");
  });
});

describe("promotional messages", () => {
  const promo = "A".repeat(155);

  it("need marketing consent: 422 consent_required without it, 202 with it", async () => {
    const tenant = await newTenant();
    await expectProblem(
      await send(tenant, { to: PERSON, body: "Sale!", type: "promotional" }),
      422,
      "consent_required",
    );
    // Transactional messages need none.
    expect((await send(tenant, { to: PERSON, body: "Your order shipped" })).status).toBe(202);

    await postJson("/v1/consents", { phone: PERSON, ...marketingConsent }, tenant.auth);
    const accepted = await send(tenant, { to: PERSON, body: "Sale!", type: "promotional" });
    expect(accepted.status).toBe(202);

    // Withdrawn consent no longer holds.
    await postJson(
      "/v1/consents",
      { phone: PERSON, ...marketingConsent, withdrawn: true },
      tenant.auth,
    );
    await expectProblem(
      await send(tenant, { to: PERSON, body: "Sale!", type: "promotional" }),
      422,
      "consent_required",
    );
  });

  it("end with the opt-out footer, counted in the segments", async () => {
    const tenant = await newTenant();
    await postJson("/v1/consents", { phone: PERSON, ...marketingConsent }, tenant.auth);
    const plain = await send(tenant, { to: PERSON, body: promo, type: "transactional" });
    expect(((await plain.json()) as { segments: number }).segments).toBe(1);

    const response = await send(tenant, { to: PERSON, body: promo, type: "promotional" });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as { id: string; segments: number };
    expect(accepted.segments).toBe(2);
    const stored = (await getMessage(tenant, accepted.id)) as unknown as { body: string };
    expect(stored.body).toBe(`${promo}\nReply STOP to opt out`);

    // A body that already carries the footer does not get it twice.
    const own = await send(tenant, {
      to: PERSON,
      body: "Sale! Reply STOP to opt out",
      type: "promotional",
    });
    const ownId = ((await own.json()) as { id: string }).id;
    expect(((await getMessage(tenant, ownId)) as unknown as { body: string }).body).toBe(
      "Sale! Reply STOP to opt out",
    );
  });

  it("follow the tenant's settings: consent requirement off, own footer", async () => {
    const tenant = await newTenant();
    const updated = await setCompliance(tenant.id, {
      require_marketing_consent: false,
      opt_out_footer: "STOP=stop",
    });
    expect(updated.status).toBe(200);
    expect(await updated.json()).toEqual({
      require_marketing_consent: false,
      opt_out_footer: "STOP=stop",
      quiet_hours: null,
    });
    const response = await send(tenant, { to: PERSON, body: "Sale!", type: "promotional" });
    expect(response.status).toBe(202);
    const { id } = (await response.json()) as { id: string };
    expect(((await getMessage(tenant, id)) as unknown as { body: string }).body).toBe(
      "Sale!\nSTOP=stop",
    );

    // null restores the default footer; omitted fields stay.
    const restored = await setCompliance(tenant.id, { opt_out_footer: null });
    expect(await restored.json()).toEqual({
      require_marketing_consent: false,
      opt_out_footer: "Reply STOP to opt out",
      quiet_hours: null,
    });
  });

  it("cost one query more than other types, which pay nothing for it", async () => {
    const tenant = await newTenant();
    await postJson("/v1/consents", { phone: PERSON, ...marketingConsent }, tenant.auth);
    const timing = async (type: string) => {
      const response = await send(tenant, { to: PERSON, body: "Count", type });
      expect(response.status).toBe(202);
      return response.headers.get("server-timing");
    };
    await timing("transactional"); // fills the key cache
    expect(await timing("transactional")).toContain('"queries=1 ');
    expect(await timing("otp")).toContain('"queries=1 ');
    expect(await timing("promotional")).toContain('"queries=2 ');
  });

  it("the compliance settings are for the operator only", async () => {
    const tenant = await newTenant();
    const response = await api(`/v1/admin/tenants/${tenant.id}/compliance`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...tenant.auth },
      body: JSON.stringify({ require_marketing_consent: false }),
    });
    await expectProblem(response, 401, "unauthorized");
    await expectProblem(
      await setCompliance("ten_00000000000000000000000000", {}),
      404,
      "not_found",
    );
  });
});

describe("opt-outs", () => {
  it("an API opt-out blocks the next SMS at once; one narrowed to email does not", async () => {
    const tenant = await newTenant();
    const emailOnly = await postJson(
      "/v1/opt-outs",
      { phone: PERSON, channels: ["email"], source: "web", reason: "newsletter" },
      tenant.auth,
    );
    expect(emailOnly.status).toBe(201);
    expect(await emailOnly.json()).toMatchObject({
      phone: PERSON,
      channels: ["email"],
      source: "web",
      reason: "newsletter",
    });
    expect((await send(tenant, { to: PERSON, body: "Still fine" })).status).toBe(202);

    // Recording it again, universal this time, widens it to every channel.
    const universal = await postJson("/v1/opt-outs", { phone: PERSON }, tenant.auth);
    expect(universal.status).toBe(200);
    expect(await universal.json()).toMatchObject({
      channels: ["sms", "email", "voice", "web", "other"],
    });
    await expectProblem(
      await send(tenant, { to: PERSON, body: "Hello" }),
      422,
      "recipient_opted_out",
    );

    const fetched = await api(`/v1/opt-outs/${path(PERSON)}`, { headers: tenant.auth });
    expect(fetched.status).toBe(200);
    expect(await fetched.json()).toMatchObject({ phone: PERSON, source: "web" });
    await expectProblem(
      await api(`/v1/opt-outs/${path("+14155550143")}`, { headers: tenant.auth }),
      404,
      "not_found",
    );
  });

  it("an SMS opt-out blocks SMS only for its tenant", async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    expect(
      (await postJson("/v1/opt-outs", { phone: PERSON, channels: ["sms"] }, tenant.auth)).status,
    ).toBe(201);
    await expectProblem(await send(tenant, { to: PERSON, body: "Hi" }), 422, "recipient_opted_out");
    expect((await send(other, { to: PERSON, body: "Hi" })).status).toBe(202);
  });

  it("lists by cursor and exports CSV", async () => {
    const tenant = await newTenant();
    const phones = ["+14155550151", "+14155550152", "+14155550153"];
    for (const phone of phones) {
      await postJson("/v1/opt-outs", { phone, reason: 'said "no, thanks"' }, tenant.auth);
    }
    const first = await api("/v1/opt-outs?limit=2", { headers: tenant.auth });
    // Pages follow the keyed digests (numbers are not stored in clear): every number once.
    const page1 = (await first.json()) as { data: { phone: string }[]; next_cursor: string };
    expect(page1.data).toHaveLength(2);
    const second = await api(`/v1/opt-outs?limit=2&cursor=${page1.next_cursor}`, {
      headers: tenant.auth,
    });
    const page2 = (await second.json()) as { data: { phone: string }[]; next_cursor: null };
    expect(page2).toMatchObject({ data: [{}], next_cursor: null });
    const listed = [...page1.data, ...page2.data].map((o) => o.phone);
    expect(listed.toSorted()).toEqual(phones);

    const csv = await api("/v1/opt-outs", { headers: { ...tenant.auth, accept: "text/csv" } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    const text = await csv.text();
    const lines = text.trimEnd().split("\r\n");
    expect(lines[0]).toBe("phone,channels,source,reason,created_at");
    expect(lines.slice(1).map((line) => line.split(",")[0])).toEqual(listed);
    expect(lines[1]).toContain('sms;email;voice;web;other,api,"said ""no, thanks""",');
    const byQuery = await api("/v1/opt-outs?format=csv", { headers: tenant.auth });
    expect(await byQuery.text()).toBe(text);

    // The export imports as is into another tenant.
    const other = await newTenant();
    const imported = await importCsv(other, text);
    expect(await imported.json()).toMatchObject({ imported: 3, rejected: 0 });
  });

  it("imports a CSV list: good rows in, bad rows reported by line, idempotent", async () => {
    const tenant = await newTenant();
    const csv = [
      "phone,channels,source",
      "+14155550161,,legacy-crm",
      "(415) 555-0162,email;voice,",
      "not a number,sms,",
      "+14155550163,fax,",
      "",
      "0033612345678,sms,",
      "+14155550161,sms,again",
    ].join("\n");
    const response = await importCsv(tenant, csv);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      imported: 3,
      unchanged: 0,
      rejected: 2,
      errors: [
        { line: 4, message: expect.stringContaining("phone") },
        { line: 5, message: expect.stringContaining("fax") },
      ],
    });
    const fetched = await api(`/v1/opt-outs/${path("+14155550162")}`, { headers: tenant.auth });
    expect(await fetched.json()).toMatchObject({ channels: ["email", "voice"], source: "import" });
    expect(
      await (await api(`/v1/opt-outs/${path("+14155550161")}`, { headers: tenant.auth })).json(),
    ).toMatchObject({ source: "legacy-crm", channels: ["sms", "email", "voice", "web", "other"] });
    await expectProblem(
      await send(tenant, { to: "+33612345678", body: "Bonjour" }),
      422,
      "recipient_opted_out",
    );
    // +14155550162 opted out of email and voice only: SMS still goes.
    expect((await send(tenant, { to: "+14155550162", body: "Hi" })).status).toBe(202);

    const again = await importCsv(tenant, csv);
    expect(await again.json()).toMatchObject({ imported: 0, unchanged: 3, rejected: 2 });
  });

  it("refuses an import without a phone header or as another media type", async () => {
    const tenant = await newTenant();
    await expectProblem(
      await importCsv(tenant, "number\n+14155550161\n"),
      422,
      "validation_failed",
    );
    await expectProblem(
      await postJson("/v1/opt-outs/import", { phone: "+14155550161" }, tenant.auth),
      415,
      "unsupported_media_type",
    );
    await expectProblem(
      await api("/v1/opt-outs", {
        method: "POST",
        headers: { ...tenant.auth, "content-type": "text/csv" },
        body: "phone\n+14155550161\n",
      }),
      415,
      "unsupported_media_type",
    );
  });

  it("is removed only with new consent evidence, and then the number can be texted again", async () => {
    const tenant = await newTenant();
    await postJson("/v1/opt-outs", { phone: PERSON }, tenant.auth);
    await expectProblem(await deleteOptOut(tenant, PERSON), 422, "consent_required");
    await expectProblem(await deleteOptOut(tenant, PERSON, {}), 422, "consent_required");
    await expectProblem(
      await deleteOptOut(tenant, PERSON, {
        consent: { ...marketingConsent, given_at: "2020-01-01T00:00:00Z" },
      }),
      422,
      "consent_required",
    );
    await expectProblem(await send(tenant, { to: PERSON, body: "Hi" }), 422, "recipient_opted_out");

    const removed = await deleteOptOut(tenant, PERSON, {
      consent: { ...marketingConsent, method: "sms", evidence: "Replied YES to double opt-in" },
    });
    expect(removed.status).toBe(200);
    const { consent_id } = (await removed.json()) as { consent_id: string };
    expect((await send(tenant, { to: PERSON, body: "Welcome back" })).status).toBe(202);

    const consents = await api(`/v1/consents/${path(PERSON)}`, { headers: tenant.auth });
    expect(await consents.json()).toMatchObject({
      marketing: true,
      data: [{ id: consent_id, method: "sms", evidence: "Replied YES to double opt-in" }],
    });
    await expectProblem(
      await deleteOptOut(tenant, PERSON, { consent: marketingConsent }),
      404,
      "not_found",
    );
  });

  it("START gives SMS back and keeps the other channels; a second STOP changes nothing", async () => {
    const tenant = await newTenant();
    await withServices(async (s) => {
      expect(await recordOptOut(s, tenant.id, PERSON, "sms")).toBe(true);
      expect(await recordOptOut(s, tenant.id, PERSON, "sms")).toBe(false);
      expect(await recordOptIn(s, tenant.id, PERSON)).toBe(true);
      expect(await recordOptIn(s, tenant.id, PERSON)).toBe(false);
    });
    const left = await api(`/v1/opt-outs/${path(PERSON)}`, { headers: tenant.auth });
    expect(await left.json()).toMatchObject({ channels: ["email", "voice", "web", "other"] });
    expect((await send(tenant, { to: PERSON, body: "Hi again" })).status).toBe(202);
  });

  it("needs the settings scopes", async () => {
    const tenant = await newTenant({ scopes: ["messages:send", "messages:read"] });
    await expectProblem(
      await postJson("/v1/opt-outs", { phone: PERSON }, tenant.auth),
      403,
      "insufficient_scope",
    );
    await expectProblem(
      await api("/v1/opt-outs", { headers: tenant.auth }),
      403,
      "insufficient_scope",
    );
    await expectProblem(
      await postJson("/v1/consents", { phone: PERSON, ...marketingConsent }, tenant.auth),
      403,
      "insufficient_scope",
    );
  });
});

describe("opt-outs from provider errors", () => {
  const FAKES = { twilio: env.TWILIO_BASE_URL, africastalking: env.AFRICASTALKING_BASE_URL };

  async function liveTenant(): Promise<TestTenant> {
    for (const base of Object.values(FAKES)) {
      await fetch(`${base}/__fake/behaviour`, { method: "DELETE" });
    }
    // Circuit breakers from earlier tests must not steer these sends.
    await withServices(async (s) => {
      const keys = await s.redis.keys("cb:*");
      if (keys.length > 0) await s.redis.del(...keys);
    });
    const tenant = await newTenant({ mode: "live" });
    const sender = await postJson(
      "/v1/senders",
      { provider: "twilio", kind: "phone", value: uniqueSenderNumber() },
      tenant.auth,
    );
    expect(sender.status).toBe(201);
    return tenant;
  }

  it.each([
    ["africastalking", "+254712345992", "406"],
    ["twilio", "+14155550992", "21610"],
    ["aws-sms-voice", "+14155550992", "ConflictException:DESTINATION_PHONE_NUMBER_OPTED_OUT"],
  ])(
    "%s's opted-out answer records an opt-out: the next send is refused",
    async (provider, to, code) => {
      const tenant = await liveTenant();
      const response = await postJson(
        "/v1/messages",
        { to, body: "Hello", provider },
        { ...tenant.auth, prefer: "wait" },
      );
      const { id } = (await response.json()) as { id: string };
      const message = await getMessage(tenant, id);
      expect(message.status).toBe("failed");
      expect(message.attempts.map((a) => [a.provider, a.error_code])).toEqual([[provider, code]]);

      const optOut = await api(`/v1/opt-outs/${path(to)}`, { headers: tenant.auth });
      expect(optOut.status).toBe(200);
      expect(await optOut.json()).toMatchObject({
        phone: to,
        source: "provider",
        reason: expect.stringContaining(code),
      });
      await expectProblem(await send(tenant, { to, body: "Again" }), 422, "recipient_opted_out");
    },
  );
});

it("documents the consent and opt-out routes and consent_required", async () => {
  const doc = (await (await api("/openapi.json")).json()) as {
    paths: Record<string, unknown>;
    components: { schemas: Record<string, unknown> };
  };
  for (const route of [
    "/v1/consents",
    "/v1/consents/{phone}",
    "/v1/opt-outs",
    "/v1/opt-outs/{phone}",
    "/v1/opt-outs/import",
    "/v1/admin/tenants/{id}/compliance",
  ]) {
    expect(doc.paths).toHaveProperty([route]);
  }
  expect(JSON.stringify(doc.components.schemas.Problem)).toContain("consent_required");
});

describe("media types on bodies outside the JSON gate", () => {
  it("415 unsupported_media_type for a DELETE with a non-JSON body", async () => {
    const tenant = await newTenant();
    const response = await api("/v1/opt-outs/%2B14155550100", {
      method: "DELETE",
      headers: { ...tenant.auth, "content-type": "text/plain" },
      body: "please",
    });
    await expectProblem(response, 415, "unsupported_media_type");
  });
});
