import { describe, expect, it } from "vitest";
import { api, expectProblem, newTenant, postJson } from "../integration/support";

describe("a deployment without provider credentials", () => {
  it("503 no_provider_available for a live key, and nothing is persisted", async () => {
    const tenant = await newTenant({ mode: "live" });
    expect(tenant.key).toMatch(/^sk_live_/);
    const response = await postJson(
      "/v1/messages",
      { to: "+14155550100", body: "hi" },
      tenant.auth,
    );
    await expectProblem(response, 503, "no_provider_available");
    const list = await api("/v1/messages", { headers: tenant.auth });
    expect(((await list.json()) as { data: unknown[] }).data).toHaveLength(0);
  });

  it("test keys still send through the sandbox", async () => {
    const tenant = await newTenant();
    const response = await postJson(
      "/v1/messages",
      { to: "+14155550100", body: "hi" },
      tenant.auth,
    );
    expect(response.status).toBe(202);
  });

  it("/healthz lists no providers", async () => {
    const health = (await (await api("/healthz")).json()) as { providers: string[] };
    expect(health.providers).toEqual([]);
  });
});
