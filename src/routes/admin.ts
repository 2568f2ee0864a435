import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { tenantRateLimitsSchema } from "../domain/rate-limits";
import { routingPolicySchema } from "../domain/routing";
import { adminAuth } from "../middleware/auth";
import { addKey, createTenant, listKeys, revokeKey, SCOPES } from "../services/api-keys";
import { setTenantRoutingPolicy } from "../services/routing";
import { setTenantRateLimits } from "../services/tenant-settings";
import { json, jsonBody, problems } from "./schemas";

const KeySpecBody = z
  .object({
    mode: z.enum(["test", "live"]).default("test"),
    scopes: z
      .array(z.enum(SCOPES))
      .min(1)
      .default([...SCOPES]),
    expires_at: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

const IssuedKey = z
  .object({
    id: z.string(),
    key: z.string().openapi({ description: "Shown once; only its hash is stored" }),
    prefix: z.string(),
    mode: z.enum(["test", "live"]),
    scopes: z.array(z.enum(SCOPES)),
    expires_at: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("IssuedApiKey");

const KeyInfo = IssuedKey.omit({ key: true }).extend({ revoked_at: z.string().nullable() });

const TenantIdParam = z.object({ id: z.string().regex(/^ten_[0-9a-z]{26}$/i) });

const createTenantRoute = createRoute({
  method: "post",
  path: "/v1/admin/tenants",
  summary: "Create a tenant and its first API key",
  security: [{ adminToken: [] }],
  request: {
    body: jsonBody(
      z.object({ name: z.string().min(1).max(200), api_key: KeySpecBody.optional() }).strict(),
    ),
  },
  responses: {
    201: json(
      z.object({ id: z.string(), name: z.string(), created_at: z.string(), api_key: IssuedKey }),
      "The tenant and its first key (shown once)",
    ),
    ...problems(400, 401, 415, 422),
  },
});

const addKeyRoute = createRoute({
  method: "post",
  path: "/v1/admin/tenants/{id}/keys",
  summary: "Add an API key (rotation: add the new key, then revoke the old one)",
  security: [{ adminToken: [] }],
  request: {
    params: TenantIdParam,
    body: jsonBody(KeySpecBody),
  },
  responses: { 201: json(IssuedKey, "The new key (shown once)"), ...problems(400, 401, 404, 422) },
});

const listKeysRoute = createRoute({
  method: "get",
  path: "/v1/admin/tenants/{id}/keys",
  summary: "A tenant's API keys (without secrets)",
  security: [{ adminToken: [] }],
  request: { params: TenantIdParam },
  responses: {
    200: json(z.object({ data: z.array(KeyInfo) }), "Keys"),
    ...problems(401, 404, 422),
  },
});

const revokeKeyRoute = createRoute({
  method: "delete",
  path: "/v1/admin/tenants/{id}/keys/{keyId}",
  summary: "Revoke an API key, effective immediately",
  security: [{ adminToken: [] }],
  request: { params: TenantIdParam.extend({ keyId: z.string().max(64) }) },
  responses: { 204: { description: "Revoked" }, ...problems(401, 404, 422) },
});

const routingPolicyRoute = createRoute({
  method: "put",
  path: "/v1/admin/tenants/{id}/routing-policy",
  summary: "Set a tenant's own routing policy (null restores the deployment's)",
  security: [{ adminToken: [] }],
  request: {
    params: TenantIdParam,
    body: jsonBody(z.object({ policy: routingPolicySchema.nullable() }).strict()),
  },
  responses: { 204: { description: "Stored" }, ...problems(400, 401, 404, 415, 422) },
});

const rateLimitsRoute = createRoute({
  method: "put",
  path: "/v1/admin/tenants/{id}/limits",
  summary: "Set a tenant's rate-limit tier and overrides (null restores the defaults)",
  description:
    "`{limits: {tier?: free|pro|enterprise, key?, perDestination?, otpPerDestination?, " +
    "perCountry?, perType?, perEndUser?}}`: each quota is `{perMinute?, perHour?, perDay?}` and " +
    "replaces the deployment's for that limit (`key` replaces the tier's). Applies within seconds.",
  security: [{ adminToken: [] }],
  request: {
    params: TenantIdParam,
    body: jsonBody(z.object({ limits: tenantRateLimitsSchema.nullable() }).strict()),
  },
  responses: { 204: { description: "Stored" }, ...problems(400, 401, 404, 415, 422) },
});

const keySpec = (body: z.infer<typeof KeySpecBody>) => ({
  mode: body.mode,
  scopes: body.scopes,
  expiresAt: body.expires_at ? new Date(body.expires_at) : null,
});

export function adminRoutes(app: OpenAPIHono<AppEnv>) {
  app.use("/v1/admin/*", adminAuth());

  app.openapi(createTenantRoute, async (c) => {
    const body = c.req.valid("json");
    const spec = keySpec(body.api_key ?? KeySpecBody.parse({}));
    return c.json(await createTenant(c.var.services, body.name, spec), 201);
  });

  app.openapi(addKeyRoute, async (c) => {
    const key = await addKey(c.var.services, c.req.valid("param").id, keySpec(c.req.valid("json")));
    return c.json(key, 201);
  });

  app.openapi(listKeysRoute, async (c) => {
    return c.json({ data: await listKeys(c.var.services, c.req.valid("param").id) }, 200);
  });

  app.openapi(routingPolicyRoute, async (c) => {
    const { id } = c.req.valid("param");
    await setTenantRoutingPolicy(c.var.services, id, c.req.valid("json").policy);
    return c.body(null, 204);
  });

  app.openapi(rateLimitsRoute, async (c) => {
    const { id } = c.req.valid("param");
    await setTenantRateLimits(c.var.services, id, c.req.valid("json").limits);
    return c.body(null, 204);
  });

  app.openapi(revokeKeyRoute, async (c) => {
    const { id, keyId } = c.req.valid("param");
    await revokeKey(c.var.services, id, keyId);
    return c.body(null, 204);
  });
}
