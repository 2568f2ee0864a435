import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { syncBlocklistCache } from "../../src/services/blocklist";
import {
  ADMIN,
  api,
  expectProblem,
  newTenant,
  postJson,
  setLimits,
  type TestTenant,
  withServices,
} from "./support";

const admin = (path: string, method: string, body?: unknown) =>
  api(path, {
    method,
    headers: { ...ADMIN, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

const send = (tenant: TestTenant, to: string, extra: Record<string, unknown> = {}) =>
  postJson("/v1/messages", { to, body: "Hello", ...extra }, tenant.auth);

describe("blocklists", () => {
  it("a tenant's number and prefix entries refuse sends for that tenant only", async () => {
    const tenant = await newTenant();
    const other = await newTenant();
    const number = await admin(`/v1/admin/tenants/${tenant.id}/blocklist`, "POST", {
      number: "(415) 555-0190",
      reason: "asked us by letter",
    });
    expect(number.status).toBe(201);
    expect(await number.json()).toMatchObject({ kind: "number", value: "+14155550190" });
    const prefix = await admin(`/v1/admin/tenants/${tenant.id}/blocklist`, "POST", {
      prefix: "+1415555019",
    });
    const { id: prefixId } = (await prefix.json()) as { id: string };

    const refused = await expectProblem(
      await send(tenant, "+14155550190"),
      422,
      "recipient_blocked",
    );
    expect(refused.detail).toContain("this tenant's blocklist");
    const byPrefix = await expectProblem(
      await send(tenant, "+14155550191"),
      422,
      "recipient_blocked",
    );
    expect(byPrefix.detail).toContain("+1415555019 is on this tenant's blocklist");
    expect((await send(other, "+14155550191")).status).toBe(202);

    const listed = await admin(`/v1/admin/tenants/${tenant.id}/blocklist`, "GET");
    expect(((await listed.json()) as { data: unknown[] }).data).toHaveLength(2);
    expect(
      (await admin(`/v1/admin/tenants/${tenant.id}/blocklist/${prefixId}`, "DELETE")).status,
    ).toBe(204);
    expect((await send(tenant, "+14155550191")).status).toBe(202);
  });

  it("the global list refuses every tenant's sends; the number is stored as a digest", async () => {
    const tenant = await newTenant();
    const added = await admin("/v1/admin/blocklist", "POST", { number: "+14155550192" });
    const { id } = (await added.json()) as { id: string };
    try {
      const refused = await expectProblem(
        await send(tenant, "+14155550192"),
        422,
        "recipient_blocked",
      );
      expect(refused.detail).toContain("the global blocklist");
      const stored = await withServices(async (s) => {
        const rows = await s.db.execute<{ row: string }>(
          sql`select t::text as row from blocklist_entries t where id = ${id}`,
        );
        return rows.rows[0]?.row ?? "";
      });
      expect(stored).not.toContain("4155550192");
    } finally {
      await admin(`/v1/admin/blocklist/${id}`, "DELETE");
    }
    expect((await send(tenant, "+14155550192")).status).toBe(202);
  });

  it("the scheduler's refill restores lost sets and drops removed entries in three Redis requests", async () => {
    const tenant = await newTenant();
    const number = "+14155550193";
    const added = await admin(`/v1/admin/tenants/${tenant.id}/blocklist`, "POST", { number });
    const { id } = (await added.json()) as { id: string };
    // Redis lost the tenant's set and the marker of what it was filled from (a flush).
    await withServices((s) => s.redis.del(`bl:t:${tenant.id}:n`, "bl:synced"));
    // Another test's tick may refill first; either way the refill costs at most three requests,
    // however many keys Redis holds.
    const refillRequests = async () =>
      withServices(async (s) => {
        await syncBlocklistCache(s);
        return s.io.kvRequests;
      });
    expect(await refillRequests()).toBeLessThanOrEqual(3);
    await expectProblem(await send(tenant, number), 422, "recipient_blocked");

    // Removed from Postgres behind the API's back (a restore): the refill drops it from Redis.
    await withServices((s) => s.db.execute(sql`delete from blocklist_entries where id = ${id}`));
    expect(await refillRequests()).toBeLessThanOrEqual(3);
    expect((await send(tenant, number)).status).toBe(202);
  });

  it("refuses an entry that is neither a number nor a prefix", async () => {
    await expectProblem(
      await admin("/v1/admin/blocklist", "POST", { prefix: "1900" }),
      422,
      "validation_failed",
    );
    await expectProblem(await admin("/v1/admin/blocklist", "POST", {}), 422, "validation_failed");
  });
});

describe("geo permissions", () => {
  it("a tenant sends only to its allowed countries", async () => {
    const tenant = await newTenant();
    const first = await send(tenant, "+447400123456");
    expect(first.status, await first.clone().text()).toBe(202);
    const set = await admin(`/v1/admin/tenants/${tenant.id}/countries`, "PUT", {
      allowed_countries: ["US"],
    });
    expect(set.status).toBe(204);
    const refused = await expectProblem(
      await send(tenant, "+447400123456"),
      422,
      "destination_not_allowed",
    );
    expect(refused.detail).toContain("GB");
    expect((await send(tenant, "+14155550193")).status).toBe(202);
    await admin(`/v1/admin/tenants/${tenant.id}/countries`, "PUT", { allowed_countries: null });
    expect((await send(tenant, "+447400123456")).status).toBe(202);
  });
});

describe("SMS pumping", () => {
  it("a burst to one number range blocks the range for the tenant and emits an event", async () => {
    const tenant = await newTenant();
    await setLimits(tenant, {
      pumping: { maxPerBucket: 3, windowSeconds: 600, blockSeconds: 900 },
    });
    const hook = await postJson(
      "/v1/webhooks",
      { url: "https://good.test/pumping", event_types: ["pumping.detected"] },
      tenant.auth,
    );
    expect(hook.status).toBe(201);
    // Sequential numbers of one range, as pumping traffic looks.
    for (const n of ["10", "11", "12"]) {
      expect((await send(tenant, `+141555502${n}`)).status).toBe(202);
    }
    const refused = await send(tenant, "+14155550213");
    const problem = await expectProblem(refused, 429, "pumping_suspected");
    expect(problem.detail).toContain("+141555502XX");
    expect(refused.headers.get("retry-after")).toBe("900");
    // Still blocked, even for a number not sent to before; another range is not.
    await expectProblem(await send(tenant, "+14155550299"), 429, "pumping_suspected");
    expect((await send(tenant, "+14155550300")).status).toBe(202);
    // The event is emitted right after the response.
    const events = async () =>
      withServices(async (s) => {
        const rows = await s.db.execute<{ event_type: string }>(
          sql`select event_type from webhook_deliveries where tenant_id = ${tenant.id}`,
        );
        return rows.rows.map((r) => r.event_type);
      });
    for (let i = 0; i < 100 && (await events()).length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await events()).toEqual(["pumping.detected"]);
  });
});
