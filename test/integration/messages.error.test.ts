import { describe, expect, it } from "vitest";
import { api, expectProblem, newTenant, postJson } from "./support";

describe("POST /v1/messages (errors)", () => {
  it("400 malformed_request for a body that is not JSON", async () => {
    const tenant = await newTenant();
    const response = await api("/v1/messages", {
      method: "POST",
      headers: { ...tenant.auth, "content-type": "application/json" },
      body: '{"to": "+14155550100", "body": ',
    });
    await expectProblem(response, 400, "malformed_request");
  });

  it("415 unsupported_media_type for a form body", async () => {
    const tenant = await newTenant();
    const response = await api("/v1/messages", {
      method: "POST",
      headers: { ...tenant.auth, "content-type": "application/x-www-form-urlencoded" },
      body: "to=%2B14155550100&body=hi",
    });
    await expectProblem(response, 415, "unsupported_media_type");
  });

  it("413 payload_too_large over 64 KiB", async () => {
    const tenant = await newTenant();
    const response = await postJson(
      "/v1/messages",
      { to: "+14155550100", body: "x".repeat(70_000) },
      tenant.auth,
    );
    await expectProblem(response, 413, "payload_too_large");
  });

  it("422 validation_failed names every bad field", async () => {
    const tenant = await newTenant();
    const response = await postJson(
      "/v1/messages",
      { body: "", type: "marketing", extra: true },
      tenant.auth,
    );
    const problem = await expectProblem(response, 422, "validation_failed");
    const paths = problem.errors?.map((e) => e.path) ?? [];
    expect(paths).toEqual(expect.arrayContaining(["to", "body", "type"]));
    expect(problem.errors?.some((e) => e.message.includes("extra"))).toBe(true);
  });

  it("422 validation_failed for a body over 10,000 characters and a bad sender", async () => {
    const tenant = await newTenant();
    const response = await postJson(
      "/v1/messages",
      { to: "+14155550100", body: "x".repeat(10_001), from: "Way Too Long Sender" },
      tenant.auth,
    );
    const problem = await expectProblem(response, 422, "validation_failed");
    expect(problem.errors?.map((e) => e.path).sort()).toEqual(["body", "from"]);
  });

  it.each([
    ["not a number", "abc"],
    ["too short", "+1415"],
    ["a landline that cannot receive SMS", "+442079460000"],
  ])("422 invalid_phone_number for %s", async (_label, to) => {
    const tenant = await newTenant();
    const response = await postJson("/v1/messages", { to, body: "hi" }, tenant.auth);
    const problem = await expectProblem(response, 422, "invalid_phone_number");
    expect(problem.errors?.[0]?.path).toBe("to");
  });

  it("422 validation_failed for a bad Idempotency-Key header", async () => {
    const tenant = await newTenant();
    const response = await postJson(
      "/v1/messages",
      { to: "+14155550100", body: "hi" },
      { ...tenant.auth, "idempotency-key": "x".repeat(300) },
    );
    await expectProblem(response, 422, "validation_failed");
  });
});

describe("GET /v1/messages (errors)", () => {
  it("404 not_found for an unknown message", async () => {
    const tenant = await newTenant();
    const response = await api("/v1/messages/msg_00000000000000000000000000", {
      headers: tenant.auth,
    });
    await expectProblem(response, 404, "not_found");
  });

  it("422 validation_failed for a bad limit, status or cursor", async () => {
    const tenant = await newTenant();
    for (const query of ["limit=0", "limit=101", "status=lost", "cursor=abc"]) {
      const response = await api(`/v1/messages?${query}`, { headers: tenant.auth });
      await expectProblem(response, 422, "validation_failed");
    }
  });

  it("404 not_found as problem+json for an unknown route", async () => {
    const tenant = await newTenant();
    await expectProblem(await api("/v1/nothing-here", { headers: tenant.auth }), 404, "not_found");
    await expectProblem(await api("/nothing-here"), 404, "not_found");
  });
});
