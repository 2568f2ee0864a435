import { describe, expect, it } from "vitest";
import {
  ADMIN,
  api,
  expectProblem,
  getMessage,
  newTenant,
  postJson,
  type TestTenant,
} from "./support";

const send = (tenant: TestTenant, body: Record<string, unknown>) =>
  postJson("/v1/messages", { to: "+14155550194", ...body }, tenant.auth);

const setContentPolicy = (tenant: TestTenant, policy: unknown) =>
  api(`/v1/admin/tenants/${tenant.id}/content-policy`, {
    method: "PUT",
    headers: { "content-type": "application/json", ...ADMIN },
    body: JSON.stringify({ policy }),
  });

interface Accepted {
  id: string;
  segments: number;
  encoding: string;
  truncated: boolean;
  smart_encoding: {
    replacements: { from: string; to: string; count: number }[];
    segments_saved: number;
  } | null;
}

describe("content rules", () => {
  it.each([
    ["body_too_long", { body: "x".repeat(1601) }, "1601 characters"],
    ["too_many_segments", { body: "x".repeat(300), max_segments: 1 }, "2 segments (GSM-7)"],
    ["control_characters", { body: "Hello\u0007 there" }, "U+0007"],
    ["control_characters", { body: "Pay\u200Bpal login" }, "U+200B"],
    ["too_many_urls", { body: "a.com/1 b.com/2 https://c.com/3" }, "https://c.com/3"],
    ["url_shortener", { body: "Win now: https://bit.ly/abc" }, "https://bit.ly/abc"],
  ])("%s: 422 with the offending part", async (code, body, offending) => {
    const tenant = await newTenant();
    const problem = await expectProblem(await send(tenant, body), 422, code);
    expect(problem.errors?.[0]?.path).toBe("body");
    expect(problem.errors?.[0]?.message).toContain(offending);
  });

  it("a tenant's spam patterns refuse what matches", async () => {
    const tenant = await newTenant();
    expect((await setContentPolicy(tenant, { spamPatterns: ["free\\s+money"] })).status).toBe(204);
    const problem = await expectProblem(
      await send(tenant, { body: "Claim your FREE  money today" }),
      422,
      "spam_pattern",
    );
    expect(problem.errors?.[0]?.message).toBe("FREE  money");
    await expectProblem(
      await setContentPolicy(tenant, { spamPatterns: ["(unclosed"] }),
      422,
      "validation_failed",
    );
    expect((await setContentPolicy(tenant, null)).status).toBe(204);
    expect((await send(tenant, { body: "Claim your FREE  money today" })).status).toBe(202);
  });

  it("truncate: true cuts at a segment boundary and says so", async () => {
    const tenant = await newTenant();
    // 150 GSM-7 characters, then "€" (2 septets) straddling the single-segment boundary.
    const body = `${"a".repeat(159)}€${"b".repeat(200)}`;
    const response = await send(tenant, { body, max_segments: 1, truncate: true });
    expect(response.status).toBe(202);
    const accepted = (await response.json()) as Accepted;
    expect(accepted).toMatchObject({ segments: 1, encoding: "GSM-7", truncated: true });
    const stored = (await getMessage(tenant, accepted.id)) as unknown as { body: string };
    expect(stored.body).toBe("a".repeat(159)); // the escape pair is not split
    const whole = (await (
      await send(tenant, { body: "short", truncate: true })
    ).json()) as Accepted;
    expect(whole.truncated).toBe(false);
  });

  it("smart_encoding replaces look-alikes and reports the segments saved", async () => {
    const tenant = await newTenant();
    const body = `It’s “great” — isn’t it… ${"x".repeat(60)}`;
    const plain = (await (await send(tenant, { body })).json()) as Accepted;
    expect(plain).toMatchObject({ encoding: "UCS-2", segments: 2, smart_encoding: null });
    const smart = (await (await send(tenant, { body, smart_encoding: true })).json()) as Accepted;
    expect(smart).toMatchObject({ encoding: "GSM-7", segments: 1 });
    expect(smart.smart_encoding?.segments_saved).toBe(1);
    expect(smart.smart_encoding?.replacements).toEqual(
      expect.arrayContaining([
        { from: "’", to: "'", count: 2 },
        { from: "“", to: '"', count: 1 },
      ]),
    );
  });

  it("the opt-out footer must fit too; with truncate the text is cut, never the footer", async () => {
    const tenant = await newTenant();
    await api(`/v1/admin/tenants/${tenant.id}/compliance`, {
      method: "PUT",
      headers: { "content-type": "application/json", ...ADMIN },
      body: JSON.stringify({ require_marketing_consent: false }),
    });
    const promo = { body: "y".repeat(155), type: "promotional", max_segments: 1 };
    await expectProblem(await send(tenant, promo), 422, "too_many_segments");
    const response = await send(tenant, { ...promo, truncate: true });
    const accepted = (await response.json()) as Accepted;
    expect(accepted).toMatchObject({ segments: 1, truncated: true });
    const stored = (await getMessage(tenant, accepted.id)) as unknown as { body: string };
    expect(stored.body.endsWith("\nReply STOP to opt out")).toBe(true);
    expect(stored.body.length).toBe(160);
  });
});
