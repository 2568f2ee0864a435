import { env } from "cloudflare:test";
import { Redis } from "@upstash/redis/cloudflare";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import {
  api,
  expectProblem,
  newTenant,
  postJson,
  type TestTenant,
  waitForStatus,
  withServices,
} from "./support";

const redis = new Redis({
  url: env.UPSTASH_REDIS_REST_URL,
  token: env.UPSTASH_REDIS_REST_TOKEN,
  enableTelemetry: false,
  automaticDeserialization: false,
});

interface Sent {
  id: string;
  to: string;
  expires_at: string;
}

async function sendCode(tenant: TestTenant, to: string, extra: Record<string, unknown> = {}) {
  const response = await postJson("/v1/otp", { to, purpose: "login", ...extra }, tenant.auth);
  expect(response.status).toBe(202);
  const sent = (await response.json()) as Sent;
  await waitForStatus(tenant, sent.id, ["delivered"]);
  return sent;
}

/** The code as the person would read it: from the sandbox inbox of their number. */
async function readCode(tenant: TestTenant, to: string, length = 6): Promise<string> {
  const response = await api(`/v1/sandbox/messages?to=${encodeURIComponent(to)}`, {
    headers: tenant.auth,
  });
  expect(response.status).toBe(200);
  const { data } = (await response.json()) as { data: { body: string }[] };
  const code = data[0]?.body.match(new RegExp(`\\b\\d{${length}}\\b`))?.[0];
  if (!code) throw new Error("no code in the inbox");
  return code;
}

const verify = async (tenant: TestTenant, to: string, code: string, purpose = "login") => {
  const response = await postJson("/v1/otp/verify", { to, purpose, code }, tenant.auth);
  expect(response.status).toBe(200);
  return response.json();
};

/** Lets the next code be requested at once (the 30 s cooldown would otherwise apply). */
async function endCooldown(tenant: TestTenant, purpose = "login") {
  const keys = await redis.keys(`otp:cool:${tenant.id}:${purpose}:*`);
  if (keys.length > 0) await redis.del(...keys);
}

describe("OTP", () => {
  it("round trip: send, read it in the sandbox inbox, verify once", async () => {
    const tenant = await newTenant();
    const sent = await sendCode(tenant, "+14155550500");
    expect(sent.to).toBe("+14155550500");
    expect(Date.parse(sent.expires_at) - Date.now()).toBeGreaterThan(590_000);
    const code = await readCode(tenant, "+14155550500");
    expect(await verify(tenant, "+14155550500", code)).toEqual({ valid: true });
    // Single use.
    expect(await verify(tenant, "+14155550500", code)).toEqual({
      valid: false,
      reason: "invalid_or_expired",
    });
  });

  it("a code dies after 5 wrong attempts; every failure reads the same", async () => {
    const tenant = await newTenant();
    await sendCode(tenant, "+14155550501");
    const code = await readCode(tenant, "+14155550501");
    const wrong = code === "000000" ? "111111" : "000000";
    for (let i = 0; i < 5; i++) {
      expect(await verify(tenant, "+14155550501", wrong)).toEqual({
        valid: false,
        reason: "invalid_or_expired",
      });
    }
    expect(await verify(tenant, "+14155550501", code)).toEqual({
      valid: false,
      reason: "invalid_or_expired",
    });
    // A number that never got a code answers exactly alike.
    expect(await verify(tenant, "+14155550599", "123456")).toEqual({
      valid: false,
      reason: "invalid_or_expired",
    });
  });

  it("a new code replaces the old one; the cooldown holds a second request back", async () => {
    const tenant = await newTenant();
    await sendCode(tenant, "+14155550502");
    const first = await readCode(tenant, "+14155550502");
    const again = await postJson("/v1/otp", { to: "+14155550502", purpose: "login" }, tenant.auth);
    await expectProblem(again, 429, "otp_cooldown");
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThan(0);
    await endCooldown(tenant);
    await sendCode(tenant, "+14155550502", { length: 8 });
    const second = await readCode(tenant, "+14155550502", 8);
    expect(await verify(tenant, "+14155550502", first)).toMatchObject({ valid: false });
    expect(await verify(tenant, "+14155550502", second)).toEqual({ valid: true });
  });

  it("is scoped to its purpose, and expires", async () => {
    const tenant = await newTenant();
    await sendCode(tenant, "+14155550503");
    const code = await readCode(tenant, "+14155550503");
    expect(await verify(tenant, "+14155550503", code, "password_reset")).toMatchObject({
      valid: false,
    });
    // Expiry is Redis's TTL: end it now rather than wait ten minutes.
    const [key] = await redis.keys(`otp:code:${tenant.id}:login:*`);
    await redis.pexpire(key ?? "", 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await verify(tenant, "+14155550503", code)).toMatchObject({ valid: false });
  });

  it("leaves no code or body in clear in Postgres or Redis once final", async () => {
    const tenant = await newTenant();
    const sent = await sendCode(tenant, "+14155550504", { length: 10 });
    const code = await readCode(tenant, "+14155550504", 10);
    const row = await withServices(async (s) => {
      const rows = await s.db.execute<{ row: string; body_sealed: string | null }>(
        sql`select t::text as row, t.body_sealed from messages t where id = ${sent.id}`,
      );
      return rows.rows[0];
    });
    expect(row?.body_sealed).toBeNull();
    expect(row?.row).not.toContain(code);
    const keys = [
      ...(await redis.keys(`otp:*:${tenant.id}:*`)),
      ...(await redis.keys(`sandbox:inbox:${tenant.id}:*`)),
    ];
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      const value =
        (await redis.type(key)) === "hash"
          ? JSON.stringify(await redis.hgetall(key))
          : (await redis.type(key)) === "list"
            ? JSON.stringify(await redis.lrange(key, 0, -1))
            : String(await redis.get(key));
      expect(`${key} ${value}`).not.toContain(code);
    }
  });

  it("ends with the WebOTP line and the Android hash when asked", async () => {
    const tenant = await newTenant();
    await sendCode(tenant, "+14155550505", {
      app_domain: "app.example.com",
      android_app_hash: "FA+9qCX9VSu",
      locale: "es",
    });
    const response = await api("/v1/sandbox/messages?to=%2B14155550505", { headers: tenant.auth });
    const { data } = (await response.json()) as { data: { body: string }[] };
    const code = await readCode(tenant, "+14155550505");
    expect(data[0]?.body).toBe(
      `Tu código de verificación es ${code}. Caduca en 10 minutos.\nFA+9qCX9VSu\n\n@app.example.com #${code}`,
    );
  });

  it("blocks a range whose codes are never verified (SMS pumping)", async () => {
    const tenant = await newTenant();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const response = await postJson(
        "/v1/otp",
        { to: `+141555506${String(i).padStart(2, "0")}`, purpose: "signup" },
        tenant.auth,
      );
      statuses.push(response.status);
    }
    expect(statuses.slice(0, 19).every((s) => s === 202)).toBe(true);
    expect(statuses[19]).toBe(429);
    await expectProblem(
      await postJson("/v1/otp", { to: "+14155550699", purpose: "signup" }, tenant.auth),
      429,
      "pumping_suspected",
    );
  });

  it("the sandbox inbox does not exist for live keys", async () => {
    const tenant = await newTenant({ mode: "live" });
    await expectProblem(
      await api("/v1/sandbox/messages?to=%2B14155550500", { headers: tenant.auth }),
      404,
      "not_found",
    );
  });
});
