import { describe, expect, it } from "vitest";
import { api, expectProblem, getMessage, newTenant, postJson, type TestTenant } from "./support";

const create = (tenant: TestTenant, body: Record<string, unknown>) =>
  postJson("/v1/templates", body, tenant.auth);

const shipped = {
  name: "order-shipped",
  body: "Hi {{first_name}}, order {{order_id}} has shipped.",
  locale_variants: { fr: "Bonjour {{first_name}}, la commande {{order_id}} est partie." },
  variables: { first_name: 20, order_id: 12 },
  max_segments: 2,
};

describe("templates", () => {
  it("are created, listed, replaced and deleted", async () => {
    const tenant = await newTenant();
    const created = await create(tenant, shipped);
    expect(created.status).toBe(201);
    const template = (await created.json()) as { id: string };
    expect(template).toMatchObject({ name: "order-shipped", type: "transactional" });
    const list = await api("/v1/templates", { headers: tenant.auth });
    expect(((await list.json()) as { data: unknown[] }).data).toHaveLength(1);
    const replaced = await api(`/v1/templates/${template.id}`, {
      method: "PUT",
      headers: { ...tenant.auth, "content-type": "application/json" },
      body: JSON.stringify({ ...shipped, body: "Hello {{first_name}} ({{order_id}})" }),
    });
    expect(await replaced.json()).toMatchObject({ body: "Hello {{first_name}} ({{order_id}})" });
    await expectProblem(await create(tenant, shipped), 422, "validation_failed");
    const removed = await api(`/v1/templates/${template.id}`, {
      method: "DELETE",
      headers: tenant.auth,
    });
    expect(removed.status).toBe(204);
  });

  it("refuses bad syntax and a worst case over max_segments", async () => {
    const tenant = await newTenant();
    const broken = await expectProblem(
      await create(tenant, { name: "broken", body: "Hi {{name" }),
      422,
      "validation_failed",
    );
    expect(broken.errors?.[0]?.path).toBe("body");
    const long = await expectProblem(
      await create(tenant, { ...shipped, name: "long", variables: { first_name: 200 } }),
      422,
      "validation_failed",
    );
    expect(long.errors?.[0]?.message).toContain("segments");
  });

  it("sends by template: variables, locale, every policy; missing or extra variables are 422", async () => {
    const tenant = await newTenant();
    await create(tenant, shipped);
    const send = (body: Record<string, unknown>) =>
      postJson(
        "/v1/messages",
        { to: "+14155550700", template: "order-shipped", ...body },
        tenant.auth,
      );
    const sent = await send({ variables: { first_name: "Ada", order_id: "A-1" }, locale: "fr-CA" });
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    const stored = (await getMessage(tenant, id)) as unknown as { body: string; type: string };
    expect(stored).toMatchObject({
      body: "Bonjour Ada, la commande A-1 est partie.",
      type: "transactional",
    });
    const problem = await expectProblem(
      await send({ variables: { first_name: "Ada", coupon: "X" } }),
      422,
      "validation_failed",
    );
    expect(problem.errors).toEqual([
      { path: "variables.order_id", message: "missing" },
      { path: "variables.coupon", message: "not used by the template" },
    ]);
    await expectProblem(
      await send({ variables: { first_name: "Ada", order_id: "https://bit.ly/x" } }),
      422,
      "url_shortener",
    );
    await expectProblem(
      await postJson("/v1/messages", { to: "+14155550700", template: "nope" }, tenant.auth),
      422,
      "validation_failed",
    );
    await expectProblem(
      await postJson(
        "/v1/messages",
        { to: "+14155550700", body: "x", template: "order-shipped" },
        tenant.auth,
      ),
      422,
      "validation_failed",
    );
  });
});
