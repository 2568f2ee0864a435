import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { parseMoney } from "../../src/domain/pricing";
import {
  ADMIN,
  api,
  expectProblem,
  minutesFromNow,
  newTenant,
  postJson,
  runCron,
  setBudget,
  type TestTenant,
  usd,
  waitForStatus,
  withServices,
} from "./support";

/** Live sends through the SNS fake (it states no price: the reservation stays the estimate). */
const sendLive = (tenant: TestTenant, to: string, extra: Record<string, unknown> = {}) =>
  postJson(
    "/v1/messages",
    { to, body: "Your order has shipped", provider: "aws-sns", ...extra },
    { ...tenant.auth, prefer: "wait" },
  );

async function estimateOf(tenant: TestTenant): Promise<number> {
  const probe = await sendLive(tenant, "+14155550400");
  expect(probe.status).toBe(201);
  return parseMoney(((await probe.json()) as { estimated_cost: string }).estimated_cost);
}

const spent = (tenant: TestTenant) =>
  withServices(async (s) => {
    const rows = await s.db.execute<{ total: number; reserved: number }>(sql`
      select coalesce(sum(spent_micros), 0)::float8 as total,
        count(reserved_at)::int as reserved
      from messages where tenant_id = ${tenant.id}`);
    return rows.rows[0] ?? { total: 0, reserved: 0 };
  });

describe("budgets", () => {
  it("refuses a live send that would exceed the daily cap: 422 budget_exceeded", async () => {
    const tenant = await newTenant({ mode: "live" });
    const estimate = await estimateOf(tenant);
    await setBudget(tenant, { daily: usd(estimate * 2 + estimate / 2) });
    expect((await sendLive(tenant, "+14155550401")).status).toBe(201);
    const refused = await expectProblem(
      await sendLive(tenant, "+14155550402"),
      422,
      "budget_exceeded",
    );
    expect(refused.detail).toContain("USD a day");
    expect(await spent(tenant)).toEqual({ total: estimate * 2, reserved: 2 });
    // Test keys never reach a provider: they spend nothing and are not capped.
    const testKey = await postJson(`/v1/admin/tenants/${tenant.id}/keys`, { mode: "test" }, ADMIN);
    const { key } = (await testKey.json()) as { key: string };
    const sandbox = await postJson(
      "/v1/messages",
      { to: "+14155550403", body: "free" },
      { authorization: `Bearer ${key}` },
    );
    expect(sandbox.status).toBe(202);
  });

  it("never exceeds the cap under 50 concurrent sends: reservations are atomic", async () => {
    const tenant = await newTenant({ mode: "live" });
    const estimate = await estimateOf(tenant);
    // The probe spent one estimate; ten more fit.
    await setBudget(tenant, { daily: usd(estimate * 11) });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        sendLive(tenant, `+1415555${String(1000 + i).padStart(4, "0")}`),
      ),
    );
    const after = await spent(tenant);
    expect(after.total).toBeLessThanOrEqual(estimate * 11);
    expect(after.reserved).toBe(11);
    const failed = await withServices(async (s) => {
      const rows = await s.db.execute<{ n: number }>(sql`
        select count(*)::int as n from messages
        where tenant_id = ${tenant.id} and status_reason = 'budget_exceeded'`);
      return rows.rows[0]?.n ?? 0;
    });
    // Whatever acceptance let through beyond the cap failed at dispatch, unsent.
    expect(failed + after.reserved).toBeLessThanOrEqual(51);
  });

  it("settles a reservation to the provider's price, converted to USD", async () => {
    const tenant = await newTenant({ mode: "live" });
    const response = await postJson(
      "/v1/messages",
      { to: "+254712345678", body: "Habari", provider: "africastalking" },
      { ...tenant.auth, prefer: "wait" },
    );
    expect(response.status).toBe(201);
    const { id } = (await response.json()) as { id: string };
    const row = await withServices(async (s) => {
      const rows = await s.db.execute<{ spent: number; cost: number; estimate: number }>(sql`
        select m.spent_micros::float8 as spent, a.cost_micros::float8 as cost,
          m.estimated_cost_micros::float8 as estimate
        from messages m join message_attempts a on a.message_id = m.id where m.id = ${id}`);
      return rows.rows[0];
    });
    // "KES 0.8000" at the configured 0.0077 USD per KES.
    expect(row).toMatchObject({ spent: 6_160, cost: 6_160 });
    expect(row?.estimate).not.toBe(6_160);
  });

  it("a deferred message that meets the cap at dispatch fails with budget_exceeded, unsent", async () => {
    const tenant = await newTenant({ mode: "live" });
    const estimate = await estimateOf(tenant);
    await setBudget(tenant, { daily: usd(estimate * 2) });
    const later = await postJson(
      "/v1/messages",
      {
        to: "+14155550404",
        body: "Later",
        provider: "aws-sns",
        send_at: minutesFromNow(2).toISOString(),
      },
      tenant.auth,
    );
    const { id } = (await later.json()) as { id: string };
    expect((await sendLive(tenant, "+14155550405")).status).toBe(201);
    await runCron(minutesFromNow(3));
    const message = await waitForStatus(tenant, id, ["failed"]);
    expect(message.status_reason).toBe("budget_exceeded");
    expect(message.attempts).toEqual([]);
  });

  it("emits budget.threshold at 80% and 100%, once each", async () => {
    const tenant = await newTenant({ mode: "live" });
    const hook = await postJson(
      "/v1/webhooks",
      { url: "https://good.test/budget", event_types: ["budget.threshold"] },
      tenant.auth,
    );
    expect(hook.status).toBe(201);
    const estimate = await estimateOf(tenant);
    await setBudget(tenant, { daily: usd(estimate * 5) });
    for (let i = 0; i < 4; i++) await sendLive(tenant, `+1415555041${i}`);
    await expectProblem(await sendLive(tenant, "+14155550419"), 422, "budget_exceeded");
    const events = await withServices(async (s) => {
      const rows = await s.db.execute<{ payload_sealed: string }>(sql`
        select payload_sealed from webhook_deliveries
        where tenant_id = ${tenant.id} order by id`);
      return Promise.all(
        rows.rows.map(async (r) => {
          const payload = await s.pii.openJson<{ data: { period: string; percent: number } }>(
            tenant.id,
            r.payload_sealed,
          );
          return [payload.data.period, payload.data.percent];
        }),
      );
    });
    expect(events).toEqual([
      ["day", 80],
      ["day", 100],
    ]);
  });
});

describe("GET /v1/usage", () => {
  it("reports messages, spend and delivery rate by day, country, provider, type and status", async () => {
    const tenant = await newTenant();
    for (const to of ["+14155550420", "+14155550421", "+447400123456"]) {
      const response = await postJson(
        "/v1/messages",
        { to, body: "Counted" },
        { ...tenant.auth, prefer: "wait" },
      );
      await waitForStatus(tenant, ((await response.json()) as { id: string }).id, ["delivered"]);
    }
    const response = await api("/v1/usage", { headers: tenant.auth });
    expect(response.status).toBe(200);
    const report = (await response.json()) as Record<string, unknown>;
    expect(report).toMatchObject({
      currency: "USD",
      totals: { messages: 3, delivered: 3, delivery_rate: 1, spend: "0.0000" },
      by_country: [
        { key: "GB", messages: 1 },
        { key: "US", messages: 2 },
      ],
      by_provider: [{ key: "sandbox", messages: 3 }],
      by_status: [{ key: "delivered", messages: 3, delivery_rate: 1 }],
      by_type: [{ key: "transactional", messages: 3 }],
      budget: { daily: { spent: "0.0000", cap: "100.0000" }, monthly: { cap: "2000.0000" } },
      pumping: { ranges_blocked: 0 },
    });
    expect((report.by_day as unknown[]).length).toBe(1);
    await expectProblem(
      await api("/v1/usage?from=2026-01-10&to=2026-01-01", { headers: tenant.auth }),
      422,
      "validation_failed",
    );
  });
});
