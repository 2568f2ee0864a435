import { describe, expect, it } from "vitest";
import { SANDBOX_NUMBERS } from "../../src/providers/sandbox";
import { api, getMessage, newTenant, postJson, sandboxAccepted, waitForStatus } from "./support";

describe("POST /v1/messages (happy paths)", () => {
  it("accepts a message, answers 202 and delivers it through the sandbox", async () => {
    const tenant = await newTenant();
    const response = await postJson(
      "/v1/messages",
      { to: "+1 (415) 555-0100", body: "Hello from the gateway" },
      tenant.auth,
    );
    expect(response.status).toBe(202);
    expect(response.headers.get("request-id")).toBeTruthy();
    const accepted = (await response.json()) as Record<string, unknown>;
    expect(accepted).toMatchObject({
      status: "queued",
      to: "+14155550100",
      type: "transactional",
      segments: 1,
      encoding: "GSM-7",
      estimated_cost: "0.00581",
      currency: "USD",
    });
    expect(accepted.id).toMatch(/^msg_[0-9a-z]{26}$/);

    const delivered = await waitForStatus(tenant, accepted.id as string, ["delivered"]);
    expect(delivered.provider).toBe("sandbox");
    expect(delivered.provider_message_id).toMatch(/^SBX/);
    expect(delivered.attempts).toHaveLength(1);
    expect(delivered.attempts[0]?.outcome).toBe("accepted");
    expect(delivered.events.map((e) => e.status)).toEqual(["sending", "sent", "delivered"]);
    expect(await sandboxAccepted(accepted.id as string)).toBe(1);
  });

  it("counts UCS-2 segments and prices them", async () => {
    const tenant = await newTenant();
    const body = `Grüße ✓ ${"x".repeat(70)}`;
    const response = await postJson("/v1/messages", { to: "+254712345678", body }, tenant.auth);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({
      to: "+254712345678",
      encoding: "UCS-2",
      segments: 2,
      estimated_cost: "0.0124",
    });
  });

  it("answers after the provider hand-off with Prefer: wait", async () => {
    const tenant = await newTenant();
    const response = await postJson(
      "/v1/messages",
      { to: "+14155550100", body: "wait for me", type: "otp" },
      { ...tenant.auth, prefer: "wait" },
    );
    expect(response.status).toBe(201);
    expect(response.headers.get("preference-applied")).toBe("wait");
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: "sent", provider: "sandbox", type: "otp" });
    expect(body.provider_message_id).toMatch(/^SBX/);
  });

  it("reports Postgres and Redis round trips in Server-Timing", async () => {
    const tenant = await newTenant();
    const send = () =>
      postJson("/v1/messages", { to: "+14155550100", body: "count my round trips" }, tenant.auth);
    // The first use of a key fills the key cache (Redis GET, Postgres SELECT, Redis SET).
    expect((await send()).status).toBe(202);
    const response = await send();
    expect(response.status).toBe(202);
    // With the key cached: one Redis GET for the key, one pipeline for every rate limit, one
    // INSERT for the message; a single send dispatches in waitUntil, not through a queue.
    expect(response.headers.get("server-timing")).toBe(
      'db;desc="queries=1 connections=1", kv;desc="requests=2", queue;desc="sends=0"',
    );
  });

  it("lists messages newest first with a cursor and a status filter", async () => {
    const tenant = await newTenant();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const response = await postJson(
        "/v1/messages",
        { to: SANDBOX_NUMBERS.invalidNumber, body: `n${i}` },
        tenant.auth,
      );
      ids.push(((await response.json()) as { id: string }).id);
    }
    const first = await api("/v1/messages?limit=2", { headers: tenant.auth });
    const page1 = (await first.json()) as { data: { id: string }[]; next_cursor: string };
    expect(page1.data.map((m) => m.id)).toEqual([ids[2], ids[1]]);
    const second = await api(`/v1/messages?limit=2&cursor=${page1.next_cursor}`, {
      headers: tenant.auth,
    });
    const page2 = (await second.json()) as { data: { id: string }[]; next_cursor: null };
    expect(page2.data.map((m) => m.id)).toEqual([ids[0]]);
    expect(page2.next_cursor).toBeNull();

    for (const id of ids) await waitForStatus(tenant, id, ["failed"]);
    const failed = await api("/v1/messages?status=failed", { headers: tenant.auth });
    expect(((await failed.json()) as { data: unknown[] }).data).toHaveLength(3);
    const delivered = await api("/v1/messages?status=delivered", { headers: tenant.auth });
    expect(((await delivered.json()) as { data: unknown[] }).data).toHaveLength(0);
  });
});

describe("sandbox magic numbers", () => {
  const send = async (to: string) => {
    const tenant = await newTenant();
    const response = await postJson("/v1/messages", { to, body: "magic" }, tenant.auth);
    expect(response.status).toBe(202);
    return { tenant, id: ((await response.json()) as { id: string }).id };
  };

  it("an invalid number fails permanently without a receipt", async () => {
    const { tenant, id } = await send(SANDBOX_NUMBERS.invalidNumber);
    const message = await waitForStatus(tenant, id, ["failed"]);
    expect(message.status_reason).toBe("invalid_number");
    expect(message.attempts.map((a) => a.outcome)).toEqual(["rejected_permanent"]);
    expect(await sandboxAccepted(id)).toBe(0);
  });

  it("an undeliverable number ends undelivered after being sent", async () => {
    const { tenant, id } = await send(SANDBOX_NUMBERS.undelivered);
    const message = await waitForStatus(tenant, id, ["undelivered"]);
    expect(message.events.map((e) => e.status)).toEqual(["sending", "sent", "undelivered"]);
  });

  it("a provider timeout is outcome_unknown, never re-sent, and settled by the receipt", async () => {
    const { tenant, id } = await send(SANDBOX_NUMBERS.timeout);
    const message = await waitForStatus(tenant, id, ["delivered"]);
    expect(message.attempts.map((a) => a.outcome)).toEqual(["outcome_unknown"]);
    expect(await sandboxAccepted(id)).toBe(1);
  });

  it("a provider outage leaves the message for a retry", async () => {
    const { tenant, id } = await send(SANDBOX_NUMBERS.outage);
    for (let i = 0; i < 100; i++) {
      const message = await getMessage(tenant, id);
      if (message.attempts[0]?.outcome) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    const message = await getMessage(tenant, id);
    expect(message.status).toBe("sending");
    expect(message.attempts.map((a) => a.outcome)).toEqual(["unavailable"]);
  });
});
