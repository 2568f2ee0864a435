import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { acceptMessage } from "../../src/services/send";
import { expectProblem, newTenant, postJson, type TestTenant, withServices } from "./support";

const message = { to: "+14155550100", body: "exactly once" };

async function countMessages(tenant: TestTenant, key: string): Promise<number> {
  const result = await withServices((s) =>
    s.db.execute<{ n: number }>(
      sql`select count(*)::int as n from messages where tenant_id = ${tenant.id} and idempotency_key = ${key}`,
    ),
  );
  return result.rows[0]?.n ?? -1;
}

describe("Idempotency-Key", () => {
  it("replays the original response for the same key and body", async () => {
    const tenant = await newTenant();
    const headers = { ...tenant.auth, "idempotency-key": "order-1001" };
    const first = await postJson("/v1/messages", message, headers);
    expect(first.status).toBe(202);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const original = await first.json();

    const again = await postJson("/v1/messages", message, headers);
    expect(again.status).toBe(202);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(original);
    expect(await countMessages(tenant, "order-1001")).toBe(1);
  });

  it("replays a Prefer: wait response with its 201", async () => {
    const tenant = await newTenant();
    const headers = { ...tenant.auth, "idempotency-key": "wait-1", prefer: "wait" };
    const first = await postJson("/v1/messages", message, headers);
    expect(first.status).toBe(201);
    const original = await first.json();
    const again = await postJson("/v1/messages", message, headers);
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(original);
  });

  it("422 idempotency_key_reused for the same key with another body", async () => {
    const tenant = await newTenant();
    const headers = { ...tenant.auth, "idempotency-key": "order-1002" };
    expect((await postJson("/v1/messages", message, headers)).status).toBe(202);
    const other = await postJson("/v1/messages", { ...message, body: "different" }, headers);
    await expectProblem(other, 422, "idempotency_key_reused");
    expect(await countMessages(tenant, "order-1002")).toBe(1);
  });

  it("409 while the first request with the key is still in flight", async () => {
    const tenant = await newTenant();
    // The first request: persisted, its response not yet written (as during Prefer: wait).
    const principal = await withServices(async (s) => {
      const { authenticate } = await import("../../src/services/api-keys");
      return authenticate(s, tenant.key);
    });
    const { sha256Hex } = await import("../../src/lib/crypto");
    const requestHash = await sha256Hex(JSON.stringify(message));
    await withServices((s) =>
      acceptMessage(
        s,
        principal,
        { ...message, type: "transactional" },
        { key: "in-flight-1", requestHash },
        true,
      ),
    );
    const duplicate = await postJson("/v1/messages", message, {
      ...tenant.auth,
      "idempotency-key": "in-flight-1",
    });
    await expectProblem(duplicate, 409, "idempotency_request_in_progress");
  });

  it("concurrent duplicates make exactly one message; every answer carries its id", async () => {
    const tenant = await newTenant();
    const headers = { ...tenant.auth, "idempotency-key": "burst-1" };
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => postJson("/v1/messages", message, headers)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(202));
    const ids = new Set(
      await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id)),
    );
    expect(ids.size).toBe(1);
    expect(responses.filter((r) => r.headers.get("idempotent-replayed") === "true")).toHaveLength(
      7,
    );
    expect(await countMessages(tenant, "burst-1")).toBe(1);
  });
});
