import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterEach, describe, expect, it } from "vitest";
import { emitEvent } from "../../src/services/events";
import {
  api,
  expectProblem,
  minutesFromNow,
  newTenant,
  postJson,
  runCron,
  type TestTenant,
  withServices,
} from "./support";

/** Started by scripts/test.mjs (scripts/fakes/webhook-sink.mjs), passed in vitest.config.ts. */
const fakes = env as unknown as { WEBHOOK_SINK_URL: string; WEBHOOK_DOH_URL: string };
const SINK = fakes.WEBHOOK_SINK_URL;
const DOH = fakes.WEBHOOK_DOH_URL.replace(/\/dns-query$/, "");

interface SinkRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
}

async function sinkRequests(path: string): Promise<SinkRequest[]> {
  const all = (await (await fetch(`${SINK}/__fake/requests`)).json()) as SinkRequest[];
  return all.filter((r) => r.path === path || r.path.startsWith(`${path}?`));
}

async function sinkAnswers(behaviour: "outage" | "normal"): Promise<void> {
  const response =
    behaviour === "normal"
      ? await fetch(`${SINK}/__fake/behaviour`, { method: "DELETE" })
      : await fetch(`${SINK}/__fake/behaviour`, {
          method: "PUT",
          body: JSON.stringify({ behaviour }),
        });
  expect(response.status).toBe(204);
}

async function setDns(name: string, records: { A?: string[]; AAAA?: string[] }): Promise<void> {
  const response = await fetch(`${DOH}/__dns/${name}`, {
    method: "PUT",
    body: JSON.stringify(records),
  });
  expect(response.status).toBe(204);
}

/** Polls until `check` returns a value (bounded by attempts, not asserted on time). */
async function eventually<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error("condition never met");
}

interface Created {
  id: string;
  url: string;
  secret: string;
  status: string;
  event_types: string[];
}

async function register(
  tenant: TestTenant,
  url: string,
  eventTypes: string[] = ["message.delivered"],
): Promise<Created> {
  const response = await postJson("/v1/webhooks", { url, event_types: eventTypes }, tenant.auth);
  if (response.status !== 201) throw new Error(`register: ${await response.text()}`);
  return (await response.json()) as Created;
}

interface EndpointView {
  id: string;
  status: string;
  disabled_reason: string | null;
  deliveries_24h: { pending: number; delivered: number; dead: number };
}

async function endpoints(tenant: TestTenant): Promise<EndpointView[]> {
  const response = await api("/v1/webhooks", { headers: tenant.auth });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: EndpointView[] }).data;
}

interface DeliveryView {
  id: string;
  event_id: string;
  status: string;
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
}

async function deliveries(tenant: TestTenant, endpointId: string, query = "") {
  const response = await api(`/v1/webhooks/${endpointId}/deliveries${query}`, {
    headers: tenant.auth,
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { data: DeliveryView[] }).data;
}

const emit = (
  tenant: TestTenant,
  type = "message.delivered",
  data: Record<string, unknown> = { message_id: "msg_1" },
) => withServices((s) => emitEvent(s, tenant.id, type as "message.delivered", data));

/** The Cron tick's webhook step at a chosen time (until runSchedulerTick calls it). */
/** A Cron tick at `at`: the scheduler delivers due webhooks (retries, dead letters). */
const tick = (at: Date) => runCron(at);

const verify = (secret: string, request: SinkRequest) =>
  new Webhook(secret).verify(request.body, request.headers) as Record<string, unknown>;

const uniquePath = () => `/t/${crypto.randomUUID()}`;

afterEach(() => sinkAnswers("normal"));

describe("registering a webhook endpoint", () => {
  it("shows the signing secret once, never again, and removes the endpoint", async () => {
    const tenant = await newTenant();
    const created = await register(tenant, "https://good.test/hooks", [
      "message.delivered",
      "optout.created",
    ]);
    expect(created).toMatchObject({
      url: "https://good.test/hooks",
      status: "active",
      event_types: ["message.delivered", "optout.created"],
    });
    expect(created.id).toMatch(/^whk_/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);

    const listed = await api("/v1/webhooks", { headers: tenant.auth });
    const text = await listed.text();
    expect(text).not.toContain(created.secret);
    expect(text).not.toContain(created.secret.slice(6));
    expect(JSON.parse(text).data).toEqual([
      expect.objectContaining({
        id: created.id,
        status: "active",
        disabled_reason: null,
        deliveries_24h: { pending: 0, delivered: 0, dead: 0, last_delivered_at: null },
      }),
    ]);
    const stored = await withServices((s) =>
      s.db.execute<{ secret_ciphertext: string }>(
        sql`select secret_ciphertext from webhook_endpoints where id = ${created.id}`,
      ),
    );
    expect(stored.rows[0]?.secret_ciphertext).toMatch(/^v1\./);
    expect(stored.rows[0]?.secret_ciphertext).not.toContain(created.secret.slice(6));

    const removed = await api(`/v1/webhooks/${created.id}`, {
      method: "DELETE",
      headers: tenant.auth,
    });
    expect(removed.status).toBe(204);
    expect(await endpoints(tenant)).toEqual([]);
    await expectProblem(
      await api(`/v1/webhooks/${created.id}`, { method: "DELETE", headers: tenant.auth }),
      404,
      "not_found",
    );
  });

  it.each([
    ["http://good.test/hooks", "only https"],
    ["https://user:pw@good.test/hooks", "userinfo"],
    ["https://127.0.0.1/hooks", "loopback"],
    ["https://[::1]/hooks", "loopback"],
    ["https://[::ffff:127.0.0.1]/hooks", "loopback"],
    ["https://0x7f.1/hooks", "loopback"],
    ["https://2130706433/hooks", "loopback"],
    ["https://10.1.2.3/hooks", "private"],
    ["https://[fd00::1]/hooks", "unique-local"],
    ["https://169.254.169.254/latest", "metadata"],
    ["https://localhost/hooks", "localhost"],
    ["https://api.localhost/hooks", "localhost"],
    ["https://metadata.google.internal/computeMetadata/v1", "metadata"],
    ["https://gateway.test/v1/messages", "own host"],
    ["https://evil.test/hooks", "resolves to 127.0.0.1"],
    ["https://evil6.test/hooks", "resolves to ::1"],
    ["https://mixed.test/hooks", "resolves to fd00::1"],
    ["https://cname.test/hooks", "resolves to 127.0.0.1"],
    ["https://metadata.test/hooks", "cloud metadata"],
    ["https://nowhere.test/hooks", "does not resolve"],
    ["https://servfail.test/hooks", "SERVFAIL"],
    [`${SINK.replace(/:\d+$/, ":1")}/hooks`, "only https"],
  ])("refuses %s (%s)", async (url, reason) => {
    const tenant = await newTenant();
    const problem = await expectProblem(
      await postJson("/v1/webhooks", { url, event_types: ["message.sent"] }, tenant.auth),
      422,
      "webhook_url_not_allowed",
    );
    expect(problem.detail).toContain(reason);
    expect(problem.errors).toEqual([{ path: "url", message: expect.stringContaining(reason) }]);
    expect(await endpoints(tenant)).toEqual([]);
  });

  it.each([
    [{ url: "https://good.test/", event_types: ["message.bogus"] }],
    [{ url: "https://good.test/", event_types: [] }],
    [{ event_types: ["message.sent"] }],
    [{ url: "https://good.test/", event_types: ["message.sent"], secret: "mine" }],
  ])("validates the body %o", async (body) => {
    const tenant = await newTenant();
    await expectProblem(
      await postJson("/v1/webhooks", body, tenant.auth),
      422,
      "validation_failed",
    );
  });

  it("needs the settings scopes, and sees only the tenant's own endpoints", async () => {
    const reader = await newTenant({ scopes: ["messages:send"] });
    await expectProblem(
      await api("/v1/webhooks", { headers: reader.auth }),
      403,
      "insufficient_scope",
    );
    await expectProblem(
      await postJson(
        "/v1/webhooks",
        { url: "https://good.test/", event_types: ["message.sent"] },
        reader.auth,
      ),
      403,
      "insufficient_scope",
    );
    const alice = await newTenant();
    const bob = await newTenant();
    const endpoint = await register(alice, "https://good.test/alice");
    expect(await endpoints(bob)).toEqual([]);
    await expectProblem(
      await api(`/v1/webhooks/${endpoint.id}/deliveries`, { headers: bob.auth }),
      404,
      "not_found",
    );
    await expectProblem(
      await postJson(`/v1/webhooks/${endpoint.id}/replay`, {}, bob.auth),
      404,
      "not_found",
    );
  });
});

it("documents the webhook routes and event types in the OpenAPI document", async () => {
  const doc = (await (await api("/openapi.json")).json()) as {
    paths: Record<string, unknown>;
    components: { schemas: Record<string, unknown> };
  };
  for (const path of [
    "/v1/webhooks",
    "/v1/webhooks/{id}",
    "/v1/webhooks/{id}/deliveries",
    "/v1/webhooks/{id}/replay",
  ]) {
    expect(doc.paths).toHaveProperty([path]);
  }
  expect(JSON.stringify(doc.components.schemas.WebhookEndpoint)).toContain("optin.created");
});

describe("emitting events", () => {
  it("costs one statement for a tenant without endpoints", async () => {
    const tenant = await newTenant();
    const queries = await withServices(async (s) => {
      await emitEvent(s, tenant.id, "message.sent", { message_id: "msg_x" });
      return s.io.dbQueries;
    });
    expect(queries).toBe(1);
  });

  it("delivers a signed event that verifies with the standardwebhooks package", async () => {
    const tenant = await newTenant();
    const path = uniquePath();
    const endpoint = await register(tenant, `${SINK}${path}`, [
      "message.delivered",
      "optout.created",
    ]);
    await emit(tenant, "message.delivered", { message_id: "msg_abc", status: "delivered" });
    await emit(tenant, "message.sent"); // not subscribed

    const received = await sinkRequests(path);
    expect(received).toHaveLength(1);
    const request = received[0] as SinkRequest;
    expect(request.method).toBe("POST");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["webhook-id"]).toMatch(/^whd_/);
    expect(request.headers["webhook-signature"]).toMatch(/^v1,/);
    const payload = verify(endpoint.secret, request);
    expect(payload).toEqual({
      id: expect.stringMatching(/^evt_/),
      type: "message.delivered",
      created_at: expect.any(String),
      data: { message_id: "msg_abc", status: "delivered" },
    });
    expect(Object.keys(JSON.parse(request.body))).toEqual(["id", "type", "created_at", "data"]);
    // Another secret does not verify it.
    expect(() => verify(`whsec_${btoa("another secret of enough bytes!!")}`, request)).toThrow();

    const [delivery] = await deliveries(tenant, endpoint.id);
    expect(delivery).toMatchObject({
      id: request.headers["webhook-id"],
      event_id: payload.id,
      status: "delivered",
      attempts: 1,
      last_error: null,
    });
    expect((await endpoints(tenant))[0]?.deliveries_24h).toMatchObject({ delivered: 1 });

    // An endpoint with a delivery history can still be removed.
    expect(
      (await api(`/v1/webhooks/${endpoint.id}`, { method: "DELETE", headers: tenant.auth })).status,
    ).toBe(204);
    await emit(tenant, "message.delivered");
    expect(await sinkRequests(path)).toHaveLength(1);
  });

  it("retries a failing endpoint with backoff, with the same webhook-id, until it answers", async () => {
    const tenant = await newTenant();
    const path = uniquePath();
    const endpoint = await register(tenant, `${SINK}${path}`);
    await sinkAnswers("outage");
    await emit(tenant);
    expect(await sinkRequests(path)).toHaveLength(1);
    const [pending] = await deliveries(tenant, endpoint.id);
    expect(pending).toMatchObject({ status: "pending", attempts: 1 });
    expect(pending?.last_error).toContain("HTTP 500");
    const wait = new Date(pending?.next_attempt_at as string).getTime() - Date.now();
    expect(wait).toBeGreaterThan(15_000);
    expect(wait).toBeLessThanOrEqual(36_000);

    // Not yet due: nothing happens.
    await tick(new Date());
    expect(await sinkRequests(path)).toHaveLength(1);

    await tick(minutesFromNow(1));
    expect(await sinkRequests(path)).toHaveLength(2);
    expect((await deliveries(tenant, endpoint.id))[0]).toMatchObject({
      status: "pending",
      attempts: 2,
    });

    await sinkAnswers("normal");
    await tick(minutesFromNow(5));
    const received = await sinkRequests(path);
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.headers["webhook-id"])).size).toBe(1);
    for (const request of received) expect(verify(endpoint.secret, request)).toBeTruthy();
    expect((await deliveries(tenant, endpoint.id))[0]).toMatchObject({
      status: "delivered",
      attempts: 3,
      last_error: null,
      next_attempt_at: null,
    });
  });

  it("dead-letters a delivery still failing 24 h after the event, and replays it", async () => {
    const tenant = await newTenant();
    const path = uniquePath();
    const endpoint = await register(tenant, `${SINK}${path}`);
    await sinkAnswers("outage");
    await emit(tenant);
    await tick(minutesFromNow(25 * 60));
    expect(await sinkRequests(path)).toHaveLength(2);

    const [dead] = await deliveries(tenant, endpoint.id, "?status=dead");
    expect(dead).toMatchObject({ status: "dead", attempts: 2, next_attempt_at: null });
    expect(dead?.last_error).toContain("HTTP 500");
    expect(await deliveries(tenant, endpoint.id, "?status=delivered")).toEqual([]);
    // One dead letter does not disable the endpoint.
    expect((await endpoints(tenant))[0]).toMatchObject({
      status: "active",
      deliveries_24h: { pending: 0, delivered: 0, dead: 1 },
    });
    // A later tick leaves dead letters alone.
    await tick(minutesFromNow(26 * 60));
    expect(await sinkRequests(path)).toHaveLength(2);

    await sinkAnswers("normal");
    const replay = await postJson(`/v1/webhooks/${endpoint.id}/replay`, {}, tenant.auth);
    expect(replay.status).toBe(202);
    expect(await replay.json()).toEqual({ replayed: 1 });
    const received = await eventually(async () => {
      const requests = await sinkRequests(path);
      return requests.length === 3 ? requests : undefined;
    });
    expect(received[2]?.headers["webhook-id"]).toBe(dead?.id);
    expect(verify(endpoint.secret, received[2] as SinkRequest)).toBeTruthy();
    await eventually(async () => {
      const [delivery] = await deliveries(tenant, endpoint.id);
      return delivery?.status === "delivered" ? delivery : undefined;
    });

    // One delivery again, by id (the receiver lost it); an unknown id is a 404.
    const again = await postJson(
      `/v1/webhooks/${endpoint.id}/replay`,
      { delivery_id: dead?.id },
      tenant.auth,
    );
    expect(await again.json()).toEqual({ replayed: 1 });
    await eventually(async () => ((await sinkRequests(path)).length === 4 ? true : undefined));
    await expectProblem(
      await postJson(
        `/v1/webhooks/${endpoint.id}/replay`,
        { delivery_id: "whd_nope" },
        tenant.auth,
      ),
      404,
      "not_found",
    );
    // A JSON API: the body is `{}` when there is nothing to say, never absent.
    await expectProblem(
      await api(`/v1/webhooks/${endpoint.id}/replay`, {
        method: "POST",
        headers: { ...tenant.auth, "content-type": "application/json" },
      }),
      400,
      "malformed_request",
    );
  });

  it("disables an endpoint whose deliveries keep dying", async () => {
    const tenant = await newTenant();
    const path = uniquePath();
    const endpoint = await register(tenant, `${SINK}${path}`);
    await sinkAnswers("outage");
    for (let i = 0; i < 5; i++) await emit(tenant);
    await tick(minutesFromNow(25 * 60));

    const [view] = await endpoints(tenant);
    expect(view).toMatchObject({ status: "disabled", deliveries_24h: { dead: 5 } });
    expect(view?.disabled_reason).toContain("5 deliveries in a row became dead letters");
    expect(view?.disabled_reason).toContain("HTTP 500");
    // Nothing more is queued for a disabled endpoint.
    const before = (await sinkRequests(path)).length;
    await emit(tenant);
    await tick(minutesFromNow(25 * 60 + 5));
    expect(await sinkRequests(path)).toHaveLength(before);
    expect(await deliveries(tenant, endpoint.id)).toHaveLength(5);

    // Replaying re-enables it.
    await sinkAnswers("normal");
    const replay = await postJson(`/v1/webhooks/${endpoint.id}/replay`, {}, tenant.auth);
    expect(await replay.json()).toEqual({ replayed: 5 });
    await eventually(async () => {
      const list = await deliveries(tenant, endpoint.id, "?status=delivered");
      return list.length === 5 ? list : undefined;
    });
    expect((await endpoints(tenant))[0]).toMatchObject({ status: "active", disabled_reason: null });
  });

  it("refuses a delivery once the host resolves to a private address, and disables the endpoint", async () => {
    const tenant = await newTenant();
    const name = `rebind-${crypto.randomUUID().slice(0, 8)}.test`;
    await setDns(name, { A: ["93.184.216.34"] });
    const endpoint = await register(tenant, `https://${name}/hooks`);

    await setDns(name, { A: ["93.184.216.34"], AAAA: ["::ffff:10.0.0.7"] });
    await emit(tenant);

    const [view] = await endpoints(tenant);
    expect(view?.status).toBe("disabled");
    expect(view?.disabled_reason).toContain("refused at delivery");
    expect(view?.disabled_reason).toContain("::ffff:10.0.0.7");
    const [dead] = await deliveries(tenant, endpoint.id, "?status=dead");
    expect(dead?.last_error).toContain("private");
    expect(dead?.attempts).toBe(1);

    // Still private: a replay is refused like a registration would be.
    await expectProblem(
      await postJson(`/v1/webhooks/${endpoint.id}/replay`, {}, tenant.auth),
      422,
      "webhook_url_not_allowed",
    );
    // Disabled: nothing more is queued.
    await emit(tenant);
    expect(await deliveries(tenant, endpoint.id)).toHaveLength(1);
  });

  it("keeps at most two deliveries in flight per endpoint", async () => {
    const tenant = await newTenant();
    const path = uniquePath();
    await register(tenant, `${SINK}${path}?delay=300`);
    // Ten events at once: ten deliveries racing for the endpoint's two slots.
    await withServices((s) =>
      Promise.all(
        Array.from({ length: 10 }, (_, i) => emitEvent(s, tenant.id, "message.delivered", { i })),
      ),
    );
    // What the inline deliveries could not take, overlapping ticks do, two at a time.
    await Promise.all([tick(minutesFromNow(1)), tick(minutesFromNow(1)), tick(minutesFromNow(1))]);
    expect(await sinkRequests(path)).toHaveLength(10);
    const inFlight = (await (await fetch(`${SINK}/__sink/in-flight?path=${path}`)).json()) as {
      max: number;
    };
    expect(inFlight.max).toBeGreaterThan(0);
    expect(inFlight.max).toBeLessThanOrEqual(2);
    const data = (await endpoints(tenant))[0]?.deliveries_24h;
    expect(data).toMatchObject({ delivered: 10, pending: 0 });
  });
});
