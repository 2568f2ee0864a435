import { afterEach, describe, expect, it, vi } from "vitest";
import {
  ADMIN,
  api,
  expectProblem,
  newTenant,
  postJson,
  setLimits,
  type TestTenant,
} from "./support";

const send = (tenant: TestTenant, to: string, extra: Record<string, unknown> = {}) =>
  postJson("/v1/messages", { to, body: "Hello", ...extra }, tenant.auth);

const rateHeaders = (response: Response) => ({
  limit: response.headers.get("ratelimit-limit"),
  remaining: response.headers.get("ratelimit-remaining"),
  reset: Number(response.headers.get("ratelimit-reset")),
});

afterEach(() => {
  vi.useRealTimers();
});

describe("rate limits", () => {
  it("the sixth message to one number within an hour is refused: which limit, and when to retry", async () => {
    const tenant = await newTenant();
    // The shipped defaults, with the pro tier so the per-key minute limit (5 on free) is not
    // what stops the sixth message.
    await setLimits(tenant, { tier: "pro", perDestination: { perHour: 5 } });
    const remaining: (string | null)[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await send(tenant, "+14155550170");
      expect(response.status).toBe(202);
      const headers = rateHeaders(response);
      expect(headers.limit).toBe("5");
      expect(headers.reset).toBeGreaterThan(0);
      expect(headers.reset).toBeLessThanOrEqual(3600);
      remaining.push(headers.remaining);
    }
    expect(remaining).toEqual(["4", "3", "2", "1", "0"]);

    const refused = await send(tenant, "+14155550170");
    const problem = await expectProblem(refused, 429, "rate_limited");
    expect(problem.detail).toContain("messages to one number per hour");
    expect(problem.errors).toEqual([{ path: "limit", message: "messages to one number per hour" }]);
    const retryAfter = Number(refused.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(rateHeaders(refused)).toMatchObject({ limit: "5", remaining: "0" });
    // Another number is another counter.
    expect((await send(tenant, "+14155550171")).status).toBe(202);
  });

  it("a refusal by one limit uses up none of the others", async () => {
    const tenant = await newTenant();
    await setLimits(tenant, { key: { perMinute: 4 }, perDestination: { perHour: 2 } });
    expect((await send(tenant, "+14155550172")).status).toBe(202);
    expect((await send(tenant, "+14155550172")).status).toBe(202);
    await expectProblem(await send(tenant, "+14155550172"), 429, "rate_limited");
    // Had the refused send taken the key's token, only one more would pass.
    expect((await send(tenant, "+14155550173")).status).toBe(202);
    expect((await send(tenant, "+14155550174")).status).toBe(202);
    const refused = await expectProblem(await send(tenant, "+14155550175"), 429, "rate_limited");
    expect(refused.detail).toContain("API key per minute");
  });

  it("admits exactly the limit under 50 concurrent sends", async () => {
    const tenant = await newTenant();
    await setLimits(tenant, { key: { perMinute: 1000 }, perDestination: { perHour: 10 } });
    const statuses = await Promise.all(
      Array.from({ length: 50 }, () => send(tenant, "+14155550176").then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.filter((s) => s === 429)).toHaveLength(40);
  });

  it("an idempotent replay takes no token", async () => {
    const tenant = await newTenant();
    await setLimits(tenant, { perDestination: { perHour: 2 } });
    const key = { ...tenant.auth, "idempotency-key": crypto.randomUUID() };
    const body = { to: "+14155550177", body: "Once" };
    expect((await postJson("/v1/messages", body, key)).status).toBe(202);
    const replay = await postJson("/v1/messages", body, key);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    // The replay's token comes back right after its response.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await send(tenant, "+14155550177")).status).toBe(202);
    await expectProblem(await send(tenant, "+14155550177"), 429, "rate_limited");
  });

  it("limits each end user, by IP and by id, across numbers", async () => {
    const tenant = await newTenant();
    await setLimits(tenant, { perEndUser: { perHour: 2 } });
    const user = { end_user_ip: "198.51.100.7" };
    expect((await send(tenant, "+14155550178", user)).status).toBe(202);
    expect((await send(tenant, "+14155550179", user)).status).toBe(202);
    const refused = await expectProblem(
      await send(tenant, "+14155550180", user),
      429,
      "rate_limited",
    );
    expect(refused.detail).toContain("end user IP per hour");
    // Another end user, and a send without one, are not held back.
    expect((await send(tenant, "+14155550180", { end_user_ip: "198.51.100.8" })).status).toBe(202);
    const byId = { end_user_id: "user-42" };
    expect((await send(tenant, "+14155550181", byId)).status).toBe(202);
    expect((await send(tenant, "+14155550182", byId)).status).toBe(202);
    await expectProblem(await send(tenant, "+14155550183", byId), 429, "rate_limited");
  });

  it("OTPs to one number have their own, stricter budget; promotional messages theirs", async () => {
    const tenant = await newTenant();
    await setLimits(tenant, {
      otpPerDestination: { perHour: 1 },
      perType: { promotional: { perHour: 1 } },
      perDestination: { perHour: 100 },
    });
    expect((await send(tenant, "+14155550184", { type: "otp" })).status).toBe(202);
    const otp = await expectProblem(
      await send(tenant, "+14155550184", { type: "otp" }),
      429,
      "rate_limited",
    );
    expect(otp.detail).toContain("OTPs to one number per hour");
    expect((await send(tenant, "+14155550184")).status).toBe(202);
  });

  it("a window rolls over: what was refused is admitted once the window has passed", async () => {
    const tenant = await newTenant();
    await setLimits(tenant, { key: { perMinute: 1 } });
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() });
    expect((await send(tenant, "+14155550185")).status).toBe(202);
    await expectProblem(await send(tenant, "+14155550185"), 429, "rate_limited");
    // A sliding window: the previous window still weighs in until a full window has passed.
    vi.setSystemTime(Date.now() + 121_000);
    expect((await send(tenant, "+14155550185")).status).toBe(202);
  });

  it("the whole policy step is one Upstash request", async () => {
    const tenant = await newTenant();
    await send(tenant, "+14155550186"); // caches the key
    const response = await send(tenant, "+14155550186", { end_user_ip: "198.51.100.9" });
    expect(response.status).toBe(202);
    // One for the cached API key, one pipeline for every limit (key ×3, number, country, IP ×2).
    expect(response.headers.get("server-timing")).toContain('kv;desc="requests=2"');
  });

  it("refuses bad limits documents", async () => {
    const tenant = await newTenant();
    const response = await api(`/v1/admin/tenants/${tenant.id}/limits`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...ADMIN },
      body: JSON.stringify({ limits: { tier: "platinum" } }),
    });
    await expectProblem(response, 422, "validation_failed");
  });
});
