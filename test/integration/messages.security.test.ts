import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/lib/crypto";
import { ADMIN, api, expectProblem, newTenant, postJson, withServices } from "./support";

const message = { to: "+14155550100", body: "hi" };

describe("API key authentication", () => {
  it("401 unauthorized without a key, with a malformed header, or an unknown key", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: "Basic abc" },
      { authorization: "Bearer sk_test_doesnotexist000000000000000000" },
    ];
    for (const headers of attempts) {
      await expectProblem(await postJson("/v1/messages", message, headers), 401, "unauthorized");
    }
  });

  it("401 api_key_expired once the expiry passed", async () => {
    const tenant = await newTenant({ expires_at: new Date(Date.now() - 1000).toISOString() });
    const response = await postJson("/v1/messages", message, tenant.auth);
    await expectProblem(response, 401, "api_key_expired");
  });

  it("a key with a future expiry works", async () => {
    const tenant = await newTenant({ expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await postJson("/v1/messages", message, tenant.auth)).status).toBe(202);
  });

  it("revocation takes effect at once, even for a key the cache already holds", async () => {
    const tenant = await newTenant();
    expect((await postJson("/v1/messages", message, tenant.auth)).status).toBe(202);
    const revoke = await api(`/v1/admin/tenants/${tenant.id}/keys/${tenant.keyId}`, {
      method: "DELETE",
      headers: ADMIN,
    });
    expect(revoke.status).toBe(204);
    const response = await postJson("/v1/messages", message, tenant.auth);
    await expectProblem(response, 401, "api_key_revoked");
  });

  it("rotation: add a key, revoke the old one, the new one keeps working", async () => {
    const tenant = await newTenant();
    const added = await postJson(`/v1/admin/tenants/${tenant.id}/keys`, { mode: "test" }, ADMIN);
    expect(added.status).toBe(201);
    const next = (await added.json()) as { id: string; key: string };
    await api(`/v1/admin/tenants/${tenant.id}/keys/${tenant.keyId}`, {
      method: "DELETE",
      headers: ADMIN,
    });
    const auth = { authorization: `Bearer ${next.key}` };
    expect((await postJson("/v1/messages", message, auth)).status).toBe(202);
    const keys = await api(`/v1/admin/tenants/${tenant.id}/keys`, { headers: ADMIN });
    const listed = (await keys.json()) as { data: { id: string; revoked_at: string | null }[] };
    expect(listed.data.map((k) => [k.id, k.revoked_at !== null])).toEqual([
      [tenant.keyId, true],
      [next.id, false],
    ]);
    expect(JSON.stringify(listed)).not.toContain(next.key);
  });

  it("403 insufficient_scope for a read-only key sending, and a send-only key reading", async () => {
    const readOnly = await newTenant({ scopes: ["messages:read"] });
    await expectProblem(
      await postJson("/v1/messages", message, readOnly.auth),
      403,
      "insufficient_scope",
    );
    const sendOnly = await newTenant({ scopes: ["messages:send"] });
    const sent = await postJson("/v1/messages", message, sendOnly.auth);
    const { id } = (await sent.json()) as { id: string };
    await expectProblem(
      await api(`/v1/messages/${id}`, { headers: sendOnly.auth }),
      403,
      "insufficient_scope",
    );
    await expectProblem(
      await api("/v1/messages", { headers: sendOnly.auth }),
      403,
      "insufficient_scope",
    );
  });
});

describe("tenant isolation", () => {
  it("another tenant's message is a 404 and never listed", async () => {
    const alice = await newTenant();
    const bob = await newTenant();
    const sent = await postJson("/v1/messages", message, alice.auth);
    const { id } = (await sent.json()) as { id: string };
    await expectProblem(await api(`/v1/messages/${id}`, { headers: bob.auth }), 404, "not_found");
    const list = await api("/v1/messages", { headers: bob.auth });
    expect(((await list.json()) as { data: unknown[] }).data).toHaveLength(0);
    expect((await api(`/v1/messages/${id}`, { headers: alice.auth })).status).toBe(200);
  });

  it("the same Idempotency-Key in two tenants makes two messages", async () => {
    const alice = await newTenant();
    const bob = await newTenant();
    const headers = { "idempotency-key": "shared-key-1" };
    const a = await postJson("/v1/messages", message, { ...alice.auth, ...headers });
    const b = await postJson("/v1/messages", message, { ...bob.auth, ...headers });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.headers.get("idempotent-replayed")).toBeNull();
    expect(((await a.json()) as { id: string }).id).not.toBe(
      ((await b.json()) as { id: string }).id,
    );
  });
});

describe("admin API", () => {
  it("401 without the admin token or with a tenant key", async () => {
    const tenant = await newTenant();
    for (const headers of [{}, { authorization: "Bearer wrong-admin-token-000000" }, tenant.auth]) {
      await expectProblem(
        await postJson("/v1/admin/tenants", { name: "x" }, headers),
        401,
        "unauthorized",
      );
    }
  });

  it("404 for keys of an unknown tenant", async () => {
    const response = await postJson(
      "/v1/admin/tenants/ten_00000000000000000000000000/keys",
      {},
      ADMIN,
    );
    await expectProblem(response, 404, "not_found");
  });

  it("stores only a hash of each key", async () => {
    const tenant = await newTenant();
    const rows = await withServices((s) =>
      s.db.execute<{ hash: string; prefix: string }>(
        sql`select hash, prefix from api_keys where id = ${tenant.keyId}`,
      ),
    );
    expect(rows.rows).toEqual([
      { hash: await sha256Hex(tenant.key), prefix: tenant.key.slice(0, 12) },
    ]);
  });
});
