import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { api, expectProblem, newTenant, postJson, withServices } from "./support";

describe("sender register", () => {
  it("registers, lists and removes senders", async () => {
    const tenant = await newTenant({ mode: "live" });
    const created = await postJson(
      "/v1/senders",
      { provider: "africastalking", kind: "alphanumeric", value: "ACME", countries: ["KE"] },
      tenant.auth,
    );
    expect(created.status).toBe(201);
    const sender = (await created.json()) as { id: string };
    const list = await api("/v1/senders", { headers: tenant.auth });
    expect(((await list.json()) as { data: { value: string }[] }).data.map((s) => s.value)).toEqual(
      ["ACME"],
    );
    const removed = await api(`/v1/senders/${sender.id}`, {
      method: "DELETE",
      headers: tenant.auth,
    });
    expect(removed.status).toBe(204);
    await expectProblem(
      await api(`/v1/senders/${sender.id}`, { method: "DELETE", headers: tenant.auth }),
      404,
      "not_found",
    );
  });

  it.each([
    [{ provider: "twilio", kind: "phone", value: "0712345678" }],
    [{ provider: "twilio", kind: "alphanumeric", value: "12345" }],
    [{ provider: "aws-sns", kind: "messaging_service", value: `MG${"0".repeat(32)}` }],
    [{ provider: "nobody", kind: "phone", value: "+14155550000" }],
  ])("refuses an invalid sender %o", async (body) => {
    const tenant = await newTenant();
    await expectProblem(await postJson("/v1/senders", body, tenant.auth), 422, "validation_failed");
  });

  it("a number belongs to one tenant only", async () => {
    const alice = await newTenant();
    const bob = await newTenant();
    const number = { provider: "twilio", kind: "phone", value: "+14155550777" };
    expect((await postJson("/v1/senders", number, alice.auth)).status).toBe(201);
    await expectProblem(await postJson("/v1/senders", number, bob.auth), 409, "sender_conflict");
  });

  it("needs the settings scopes", async () => {
    const tenant = await newTenant({ scopes: ["messages:send"] });
    await expectProblem(
      await api("/v1/senders", { headers: tenant.auth }),
      403,
      "insufficient_scope",
    );
  });
});

describe("provider credentials", () => {
  const twilio = {
    account_sid: "AC0123456789abcdef0123456789abcdef",
    auth_token: "super-secret-token-value",
  };

  it("stores them encrypted and never returns them", async () => {
    const tenant = await newTenant({ mode: "live" });
    const put = await api("/v1/provider-credentials/twilio", {
      method: "PUT",
      headers: { ...tenant.auth, "content-type": "application/json" },
      body: JSON.stringify(twilio),
    });
    expect(put.status).toBe(204);
    const status = await api("/v1/provider-credentials", { headers: tenant.auth });
    const text = await status.text();
    expect(text).not.toContain(twilio.auth_token);
    const data = (JSON.parse(text) as { data: { provider: string; source: string }[] }).data;
    expect(data).toContainEqual(expect.objectContaining({ provider: "twilio", source: "tenant" }));
    expect(data).toContainEqual(
      expect.objectContaining({ provider: "aws-sns", source: "deployment" }),
    );
    const stored = await withServices((s) =>
      s.db.execute<{ ciphertext: string }>(
        sql`select ciphertext from provider_credentials where tenant_id = ${tenant.id}`,
      ),
    );
    expect(stored.rows[0]?.ciphertext).toMatch(/^v1\./);
    expect(stored.rows[0]?.ciphertext).not.toContain(twilio.auth_token);
  });

  it("validates them per provider", async () => {
    const tenant = await newTenant({ mode: "live" });
    const put = await api("/v1/provider-credentials/twilio", {
      method: "PUT",
      headers: { ...tenant.auth, "content-type": "application/json" },
      body: JSON.stringify({ account_sid: "nope" }),
    });
    await expectProblem(put, 422, "validation_failed");
  });
});
