import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { parseMoney } from "../../src/domain/pricing";
import { consumeJobs } from "../../src/services/dispatch-queue";
import { runSchedulerTick } from "../../src/services/scheduler";
import {
  api,
  expectProblem,
  getMessage,
  newTenant,
  postJson,
  setBudget,
  setLimits,
  type TestTenant,
  usd,
  withServices,
} from "./support";

interface RecipientResult {
  index: number;
  to: string;
  result: "accepted" | "refused";
  id?: string;
  status?: string;
  code?: string;
}

interface BatchAccepted {
  id: string;
  recipients: number;
  accepted: number;
  refused: number;
  results: RecipientResult[];
}

interface Batch {
  id: string;
  accepted: number;
  counts: Record<string, number>;
  dispatched: number;
  finished: number;
  completed: boolean;
  canceled_now?: number;
}

const bulk = (tenant: TestTenant, body: Record<string, unknown>, headers = {}) =>
  postJson("/v1/messages/bulk", body, { ...tenant.auth, ...headers });

/** Cancels what a test left scheduled. */
const cancel = (tenant: TestTenant, batchId: string) =>
  api(`/v1/batches/${batchId}/cancel`, { method: "POST", headers: tenant.auth });

async function batchOf(tenant: TestTenant, id: string): Promise<Batch> {
  const response = await api(`/v1/batches/${id}`, { headers: tenant.auth });
  expect(response.status).toBe(200);
  return (await response.json()) as Batch;
}

/** Polls the batch until every accepted message is final (or the test times out). */
async function waitForCompletion(tenant: TestTenant, id: string): Promise<Batch> {
  for (;;) {
    const batch = await batchOf(tenant, id);
    if (batch.completed) return batch;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * A send time no test's Cron tick reaches (the furthest runs 31 days ahead): messages left
 * scheduled here are never claimed by another file's tick, nor crowd its own messages out of
 * the tick's batch.
 */
const beyondEveryTick = () => new Date(Date.now() + 34 * 86_400_000).toISOString();

/** UK mobiles +447400100000, +447400100001, … (distinct, valid). */
const ukMobiles = (count: number, from = 0) =>
  Array.from({ length: count }, (_, i) => `+4474001${String(from + i).padStart(5, "0")}`);

/** US numbers +14155550110… (ending in 000–899: the fake providers' plain success). */
const usNumbers = (count: number, from: number) =>
  Array.from({ length: count }, (_, i) => `+1415555${String(from + i).padStart(4, "0")}`);

/** The fake Africa's Talking's requests that carried any of these numbers, as `to` lists. */
async function fakeCallsTo(numbers: string[]): Promise<string[][]> {
  const requests = (await (
    await fetch(`${env.AFRICASTALKING_BASE_URL}/__fake/requests`)
  ).json()) as { body: string }[];
  return requests
    .map((r) => (new URLSearchParams(r.body).get("to") ?? "").split(","))
    .filter((to) => to.some((n) => numbers.includes(n)));
}

/** The subrequests a response reports in Server-Timing (src/lib/io-meter.ts). */
function subrequests(response: Response) {
  const timing = response.headers.get("server-timing") ?? "";
  const count = (pattern: RegExp) => Number(pattern.exec(timing)?.[1] ?? Number.NaN);
  return {
    db: count(/queries=(\d+)/) + count(/connections=(\d+)/),
    kv: count(/requests=(\d+)/),
    queue: count(/sends=(\d+)/),
  };
}

/** Workers Paid: 10,000 subrequests per invocation (1,000 before 2025): we keep under the old one. */
const PLAN_SUBREQUESTS = 1_000;

describe("bulk sends", () => {
  it("accepts 10,000 recipients in one request with a few dozen subrequests, then cancels them", async () => {
    const tenant = await newTenant();
    // A first, small request fills the key cache and loads the scripts into Redis.
    const warm = await bulk(tenant, {
      recipients: [{ to: "+447400099999" }],
      body: "Warm up",
      send_at: beyondEveryTick(),
    });
    const warmBatch = (await warm.json()) as BatchAccepted;
    await cancel(tenant, warmBatch.id);
    const to = ukMobiles(10_000);
    const sendAt = beyondEveryTick();
    const response = await bulk(tenant, {
      recipients: to.map((number) => ({ to: number })),
      body: "Your statement is ready",
      send_at: sendAt,
    });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as BatchAccepted;
    expect(accepted).toMatchObject({ recipients: 10_000, accepted: 10_000, refused: 0 });
    expect(accepted.results.map((r) => r.to)).toEqual(to);
    expect(new Set(accepted.results.map((r) => r.id)).size).toBe(10_000);
    expect(accepted.results.every((r) => r.status === "scheduled")).toBe(true);
    const io = subrequests(response);
    // Set-based: the count does not grow with the recipients (10 INSERTs of 1,000 rows).
    expect(io.db).toBeLessThan(30);
    // Upstash: the API key (cached), then one request for the lookup script (blocklists,
    // per-number limits), the shared limits' headroom and the budget, and one taking them.
    expect(io.kv).toBe(3);
    expect(io.queue).toBe(0); // scheduled: the scheduler enqueues them when due
    expect(io.db + io.kv + io.queue).toBeLessThan(PLAN_SUBREQUESTS);

    const batch = await batchOf(tenant, accepted.id);
    expect(batch.counts.scheduled).toBe(10_000);
    // Every row is there, sealed: nothing in clear.
    const one = await getMessage(tenant, accepted.results[4321]?.id ?? "");
    expect(one.to).toBe(to[4321]);

    const canceledNow = await cancel(tenant, accepted.id);
    expect(canceledNow.status).toBe(200);
    const canceled = (await canceledNow.json()) as Batch;
    expect(canceled.canceled_now).toBe(10_000);
    expect(canceled.counts.canceled).toBe(10_000);
    expect(canceled.completed).toBe(true);
  });

  it("answers every recipient: accepted, or refused with a code", async () => {
    const tenant = await newTenant();
    const [a, b, optedOut] = ukMobiles(3, 20_000);
    const opt = await postJson("/v1/opt-outs", { phone: optedOut }, tenant.auth);
    expect(opt.status).toBeLessThan(300);
    const response = await bulk(tenant, {
      recipients: [{ to: a }, { to: "12" }, { to: b }, { to: a }, { to: optedOut }],
      body: "Hello",
      send_at: beyondEveryTick(),
    });
    expect(response.status).toBe(202);
    const batch = (await response.json()) as BatchAccepted;
    expect(batch).toMatchObject({ recipients: 5, accepted: 2, refused: 3 });
    expect(batch.results.map((r) => [r.index, r.result, r.code ?? null])).toEqual([
      [0, "accepted", null],
      [1, "refused", "invalid_phone_number"],
      [2, "accepted", null],
      [3, "refused", "duplicate_recipient"],
      [4, "refused", "recipient_opted_out"],
    ]);
    await cancel(tenant, batch.id);

    // The batch's messages, listed by its id (and only by its tenant).
    const list = (who: TestTenant, query: string) =>
      api(`/v1/messages?${query}`, { headers: who.auth });
    const listed = (await (await list(tenant, `batch_id=${batch.id}`)).json()) as {
      data: { id: string; batch_id: string; status: string }[];
    };
    const acceptedIds = batch.results.flatMap((r) => (r.id ? [r.id] : []));
    expect(listed.data.map((m) => m.id).sort()).toEqual(acceptedIds.sort());
    expect(listed.data.every((m) => m.batch_id === batch.id && m.status === "canceled")).toBe(true);
    const delivered = await (await list(tenant, `batch_id=${batch.id}&status=delivered`)).json();
    expect(delivered).toMatchObject({ data: [] });
    const stranger = await (await list(await newTenant(), `batch_id=${batch.id}`)).json();
    expect(stranger).toMatchObject({ data: [] });
    await expectProblem(await list(tenant, "batch_id=msg_1"), 422, "validation_failed");
  });

  it("counts against the same per-number limit as single sends, both ways", async () => {
    const tenant = await newTenant();
    await setLimits(tenant, { perDestination: { perHour: 2 } });
    const [x, y] = ukMobiles(2, 60_000 + Math.floor(Math.random() * 30_000));
    const later = beyondEveryTick();
    const single = () =>
      postJson("/v1/messages", { to: x, body: "One", send_at: later }, tenant.auth);
    expect((await single()).status).toBe(202);
    const first = (await (
      await bulk(tenant, { recipients: [{ to: x }, { to: y }], body: "Two", send_at: later })
    ).json()) as BatchAccepted;
    expect(first.results.map((r) => r.result)).toEqual(["accepted", "accepted"]);
    // x has had its two: the single send sees the bulk's token, the bulk the single's.
    await expectProblem(await single(), 429, "rate_limited");
    const second = (await (
      await bulk(tenant, { recipients: [{ to: x }, { to: y }], body: "Three", send_at: later })
    ).json()) as BatchAccepted;
    expect(second.results.map((r) => [r.result, r.code ?? null])).toEqual([
      ["refused", "rate_limited"],
      ["accepted", null],
    ]);
    for (const batch of [first, second]) {
      await cancel(tenant, batch.id);
    }
  });

  it("concurrent batches never take a shared limit past its room", async () => {
    const tenant = await newTenant();
    await setLimits(tenant, { perCountry: { perHour: 10 } });
    const from = 10_000 + Math.floor(Math.random() * 40_000);
    const batches = (await Promise.all(
      [0, 1, 2, 3].map(async (n) =>
        (
          await bulk(tenant, {
            recipients: ukMobiles(8, from + 8 * n).map((to) => ({ to })),
            body: "Race",
            send_at: beyondEveryTick(),
          })
        ).json(),
      ),
    )) as BatchAccepted[];
    const results = batches.flatMap((b) => b.results);
    expect(results.filter((r) => r.result === "accepted")).toHaveLength(10);
    expect(results.filter((r) => r.code === "rate_limited")).toHaveLength(22);
    // The same counter as single sends (@upstash/ratelimit's): the limit is spent for them too.
    const single = await postJson(
      "/v1/messages",
      { to: ukMobiles(1, from + 40)[0], body: "One more", send_at: beyondEveryTick() },
      tenant.auth,
    );
    await expectProblem(single, 429, "rate_limited");
    for (const batch of batches) {
      await cancel(tenant, batch.id);
    }
  });

  it("renders a template per recipient, refusing those whose variables do not fit", async () => {
    const tenant = await newTenant();
    const created = await postJson(
      "/v1/templates",
      { name: "due", body: "Hi {{name}}, your bill is due", type: "transactional" },
      tenant.auth,
    );
    expect(created.status).toBe(201);
    const [a, b] = ukMobiles(2, 30_000);
    const response = await bulk(tenant, {
      template: "due",
      recipients: [
        { to: a, variables: { name: "Ada" } },
        { to: b, variables: { nom: "Bob" } },
      ],
      send_at: beyondEveryTick(),
    });
    const batch = (await response.json()) as BatchAccepted;
    expect(batch.results.map((r) => [r.result, r.code ?? null])).toEqual([
      ["accepted", null],
      ["refused", "validation_failed"],
    ]);
    const message = await getMessage(tenant, batch.results[0]?.id ?? "");
    expect(message.body).toBe("Hi Ada, your bill is due");
    await cancel(tenant, batch.id);
  });

  it("replays the first response for the same Idempotency-Key, refuses it with another body", async () => {
    const tenant = await newTenant();
    const key = crypto.randomUUID();
    const body = {
      recipients: ukMobiles(3, 40_000).map((to) => ({ to })),
      body: "Once",
      send_at: beyondEveryTick(),
    };
    const first = await bulk(tenant, body, { "idempotency-key": key });
    const again = await bulk(tenant, body, { "idempotency-key": key });
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const original = (await first.json()) as BatchAccepted;
    expect(await again.json()).toEqual(original);
    expect((await batchOf(tenant, original.id)).accepted).toBe(3);
    const other = await bulk(tenant, { ...body, body: "Twice" }, { "idempotency-key": key });
    await expectProblem(other, 422, "idempotency_key_reused");
    await cancel(tenant, original.id);
  });

  it("erasing a recipient erases the batch's stored answer; a job never sends a message early", async () => {
    const tenant = await newTenant();
    const key = crypto.randomUUID();
    const [x, y] = ukMobiles(2, 95_000 + Math.floor(Math.random() * 4_000));
    const body = {
      recipients: [{ to: x }, { to: y }],
      body: "Later",
      send_at: beyondEveryTick(),
    };
    const first = (await (
      await bulk(tenant, body, { "idempotency-key": key })
    ).json()) as BatchAccepted;
    // A job naming a message scheduled for later claims nothing.
    const ids = first.results.map((r) => r.id ?? "");
    expect(await withServices((s) => consumeJobs(s, [{ ids }]))).toBe(0);
    const erased = await api(`/v1/subjects/${encodeURIComponent(x ?? "")}`, {
      method: "DELETE",
      headers: tenant.auth,
    });
    expect(erased.status).toBe(200);
    const replay = await bulk(tenant, body, { "idempotency-key": key });
    await expectProblem(replay, 422, "idempotency_key_reused");
    await cancel(tenant, first.id);
  });

  it("dispatches on the queue until the batch is complete", async () => {
    const tenant = await newTenant();
    const response = await bulk(tenant, {
      recipients: ukMobiles(60, 50_000).map((to) => ({ to })),
      body: "Queued for you",
    });
    expect(response.status).toBe(202);
    expect(subrequests(response).queue).toBe(1); // 60 ids: 3 jobs in one sendBatch
    const accepted = (await response.json()) as BatchAccepted;
    const batch = await waitForCompletion(tenant, accepted.id);
    expect(batch.counts.delivered).toBe(60);
    expect(batch.dispatched).toBe(60);
  });

  it("paces a sender to its send rate, and an OTP sent meanwhile goes first", async () => {
    const [[sender, rate]] = Object.entries(
      JSON.parse(env.SEND_RATE_POLICY).senders as Record<string, number>,
    ) as [[string, number]];
    // The paced sender is one number: take it back from an earlier run's tenant.
    await withServices((s) => s.db.execute(sql`delete from senders where value = ${sender}`));
    const tenant = await newTenant({ mode: "live" });
    const registered = await postJson(
      "/v1/senders",
      { provider: "twilio", kind: "phone", value: sender },
      tenant.auth,
    );
    expect(registered.status).toBe(201);
    const count = 3 * rate;
    const response = await bulk(tenant, {
      recipients: usNumbers(count, 110).map((to) => ({ to })),
      body: "Your order shipped",
      from: sender,
    });
    const accepted = (await response.json()) as BatchAccepted;
    expect(accepted.accepted).toBe(count);
    // Once the batch is under way, an OTP from the same sender.
    const ids = accepted.results.map((r) => r.id ?? "");
    for (;;) {
      const first = await getMessage(tenant, ids[0] ?? "");
      if (first.attempts.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const otp = await postJson(
      "/v1/otp",
      { to: usNumbers(1, 150)[0], purpose: "login" },
      tenant.auth,
    );
    expect(otp.status).toBe(202);
    const otpId = ((await otp.json()) as { id: string }).id;
    // Live sends wait for receipts: "dispatched" is the end of the provider calls here.
    for (let batch = await batchOf(tenant, accepted.id); batch.dispatched < count; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      batch = await batchOf(tenant, accepted.id);
    }

    const startedAt = async (id: string) => {
      const message = await getMessage(tenant, id);
      expect(message.attempts.map((a) => [a.provider, a.sender])).toEqual([["twilio", sender]]);
      return Date.parse(message.attempts[0]?.started_at ?? "");
    };
    const bulkCalls = (await Promise.all(ids.map(startedAt))).sort((x, y) => x - y);
    // Slots are booked 1/rate s apart and a call never starts before its slot, so the batch
    // takes at least (count - 1) / rate seconds (less the first call's own delay)...
    const span = (bulkCalls.at(-1) ?? 0) - (bulkCalls[0] ?? 0);
    expect(span).toBeGreaterThanOrEqual(((count - 1) / rate) * 1000 - 250);
    // ...and no second sees a burst (a call delayed past its slot may share a second with the
    // next ones: hence twice the rate, where an unpaced batch sends all at once).
    for (const [i, at] of bulkCalls.entries()) {
      const inWindow = bulkCalls.slice(i).filter((t) => t < at + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(2 * rate);
    }
    // The OTP did not wait behind the rest of the batch.
    const otpAt = await startedAt(otpId);
    const bulkAfterOtp = bulkCalls.filter((t) => t > otpAt).length;
    expect(bulkAfterOtp).toBeGreaterThanOrEqual(rate);
  });

  it("a queue consumer batch stays far inside the subrequest limit", async () => {
    const tenant = await newTenant({ mode: "live" });
    const numbers = Array.from(
      { length: 50 },
      (_, i) =>
        `+25473${String(Math.floor(Math.random() * 9_000) + 1000)}${String(i).padStart(3, "0")}`,
    );
    // Due in a moment, and not enqueued by the request (scheduled): this test is the consumer.
    const response = await bulk(tenant, {
      recipients: numbers.map((to) => ({ to })),
      body: "Habari, counted",
      send_at: new Date(Date.now() + 1500).toISOString(),
    });
    expect(subrequests(response).queue).toBe(0);
    const ids = ((await response.json()) as BatchAccepted).results.map((r) => r.id ?? "");
    await new Promise((resolve) => setTimeout(resolve, 2000));
    // A consumer batch as wrangler.toml sizes it: 2 jobs of 25.
    const io = await withServices(async (s) => {
      expect(await consumeJobs(s, [{ ids: ids.slice(0, 25) }, { ids: ids.slice(25) }])).toBe(50);
      return { ...s.io };
    });
    const providerCalls = (await fakeCallsTo(numbers)).length;
    expect(providerCalls).toBe(1); // identical bodies: one multi-recipient call
    const total = io.dbQueries + io.dbConnections + io.kvRequests + io.queueSends + providerCalls;
    expect(total).toBeLessThan(PLAN_SUBREQUESTS / 2);
    const sent = await Promise.all(ids.map((id) => getMessage(tenant, id)));
    expect(sent.every((m) => m.attempts.length === 1 && m.status === "sent")).toBe(true);
  });

  it("admits a live batch in order while the spend cap lasts; the rest is refused budget_exceeded", async () => {
    const tenant = await newTenant({ mode: "live" });
    const numbers = usNumbers(6, 100 + Math.floor(Math.random() * 700));
    // A scheduled message: its estimate is reported, its budget reserved when it goes out.
    const probe = await bulk(tenant, {
      recipients: [{ to: numbers[0] }],
      body: "Your order has shipped",
      send_at: beyondEveryTick(),
    });
    const probed = (await probe.json()) as BatchAccepted & { estimated_cost: string };
    await cancel(tenant, probed.id);
    const estimate = parseMoney(probed.estimated_cost);
    expect(estimate).toBeGreaterThan(0);
    await setBudget(tenant, { daily: usd(estimate * 3.5) });

    const response = await bulk(tenant, {
      recipients: [numbers[1], "not a number", ...numbers.slice(2)].map((to) => ({ to })),
      body: "Your order has shipped",
    });
    expect(response.status).toBe(202);
    const results = ((await response.json()) as BatchAccepted).results;
    expect(results.map((r) => r.code ?? r.result)).toEqual([
      "accepted",
      "invalid_phone_number",
      "accepted",
      "accepted",
      "budget_exceeded",
      "budget_exceeded",
    ]);
  });

  it("the Cron tick sends a bounded batch itself and hands the rest due to the queues", async () => {
    const tenant = await newTenant();
    const response = await bulk(tenant, {
      recipients: ukMobiles(60, 70_000 + Math.floor(Math.random() * 20_000)).map((to) => ({ to })),
      body: "Due soon",
      send_at: new Date(Date.now() + 1500).toISOString(),
    });
    const accepted = (await response.json()) as BatchAccepted;
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const { summary, io } = await withServices(async (s) => ({
      summary: await runSchedulerTick(s, new Date()),
      io: { ...s.io },
    }));
    expect(summary.claimed).toBeLessThanOrEqual(Number(env.SCHEDULER_BATCH_SIZE ?? 25));
    expect(summary.claimed + summary.enqueued).toBeGreaterThanOrEqual(60);
    expect(io.queueSends).toBeGreaterThanOrEqual(1);
    // The tick is global: what other tests left due is in its count too, named if it fails.
    const total = io.dbQueries + io.dbConnections + io.kvRequests + io.queueSends;
    expect(total, JSON.stringify({ summary, io })).toBeLessThan(PLAN_SUBREQUESTS);
    const batch = await waitForCompletion(tenant, accepted.id);
    expect(batch.counts.delivered).toBe(60);
  });

  describe("Africa's Talking's multi-recipient call", () => {
    /** A batch's messages once their first attempt has an outcome. */
    async function settledAttempts(tenant: TestTenant, response: Response) {
      const accepted = (await response.json()) as BatchAccepted;
      return Promise.all(
        accepted.results.map(async ({ id = "" }) => {
          for (;;) {
            const message = await getMessage(tenant, id);
            if (message.attempts[0]?.outcome) return message;
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }),
      );
    }

    const kenyan = (endings: number[]) =>
      endings.map(
        (n) =>
          `+254734${String(Math.floor(Math.random() * 1000)).padStart(3, "0")}${String(n).padStart(3, "0")}`,
      );

    it("carries identical bodies in one call, each recipient with its own id", async () => {
      const tenant = await newTenant({ mode: "live" });
      const numbers = kenyan([101, 102, 103, 104]);
      const response = await bulk(tenant, {
        recipients: numbers.map((to) => ({ to })),
        body: "Habari, one call for all",
      });
      const messages = await settledAttempts(tenant, response);
      expect(messages.map((m) => m.attempts.map((a) => [a.provider, a.outcome]))).toEqual(
        numbers.map(() => [["africastalking", "accepted"]]),
      );
      expect(new Set(messages.map((m) => m.provider_message_id)).size).toBe(4);
      const calls = await fakeCallsTo(numbers);
      expect(calls).toHaveLength(1);
      expect([...(calls[0] ?? [])].sort()).toEqual([...numbers].sort());
    });

    it("sends different bodies in separate calls", async () => {
      const tenant = await newTenant({ mode: "live" });
      const created = await postJson(
        "/v1/templates",
        { name: "hi", body: "Habari {{name}}", type: "transactional" },
        tenant.auth,
      );
      expect(created.status).toBe(201);
      const numbers = kenyan([201, 202]);
      const response = await bulk(tenant, {
        template: "hi",
        recipients: [
          { to: numbers[0], variables: { name: "Amina" } },
          { to: numbers[1], variables: { name: "Baraka" } },
        ],
      });
      await settledAttempts(tenant, response);
      expect(await fakeCallsTo(numbers)).toHaveLength(2);
    });

    it("a call that times out leaves every one of its recipients outcome_unknown", async () => {
      const tenant = await newTenant({ mode: "live" });
      // The fake never answers a request with a number ending in 997.
      const numbers = kenyan([301, 997, 302]);
      const response = await bulk(tenant, {
        recipients: numbers.map((to) => ({ to })),
        body: "Habari, slowly",
      });
      const messages = await settledAttempts(tenant, response);
      // Unknown: never sent again, to this provider or another.
      expect(
        messages.map((m) => m.attempts.map((a) => [a.provider, a.outcome, a.error_code])),
      ).toEqual(numbers.map(() => [["africastalking", "outcome_unknown", "timeout"]]));
      expect(await fakeCallsTo(numbers)).toHaveLength(1);
    });
  });
});
