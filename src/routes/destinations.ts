import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { contentPolicySchema } from "../domain/content-rules";
import { addBlocklistEntry, listBlocklist, removeBlocklistEntry } from "../services/blocklist";
import {
  setTenantBudget,
  setTenantContentPolicy,
  setTenantCountries,
} from "../services/tenant-settings";
import { json, jsonBody, problems } from "./schemas";

/** Admin: number and prefix blocklists (global and per tenant) and geo permissions. */

const TenantIdParam = z.object({ id: z.string().regex(/^ten_[0-9a-z]{26}$/i) });

const Entry = z
  .object({
    id: z.string(),
    kind: z.enum(["number", "prefix"]),
    value: z.string().nullable(),
    reason: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("BlocklistEntry");

const EntryBody = z
  .object({
    number: z.string().min(1).max(32).optional(),
    prefix: z
      .string()
      .regex(/^\+[1-9]\d{0,13}$/, '"+" and 1–14 digits, e.g. +1900')
      .optional(),
    reason: z.string().max(200).optional(),
  })
  .strict()
  .refine((b) => (b.number === undefined) !== (b.prefix === undefined), {
    message: "give either number or prefix",
  });

const scopes = [
  { path: "/v1/admin/blocklist", params: undefined, what: "the global blocklist" },
  {
    path: "/v1/admin/tenants/{id}/blocklist",
    params: TenantIdParam,
    what: "a tenant's blocklist",
  },
] as const;

const countriesRoute = createRoute({
  method: "put",
  path: "/v1/admin/tenants/{id}/countries",
  summary: "The destination countries a tenant may send to (null: the deployment's list)",
  security: [{ adminToken: [] }],
  request: {
    params: TenantIdParam,
    body: jsonBody(
      z
        .object({
          allowed_countries: z
            .array(z.string().regex(/^[A-Z]{2}$/, "an ISO 3166-1 alpha-2 code"))
            .max(250)
            .nullable(),
        })
        .strict(),
    ),
  },
  responses: { 204: { description: "Stored" }, ...problems(400, 401, 404, 415, 422) },
});

const budgetRoute = createRoute({
  method: "put",
  path: "/v1/admin/tenants/{id}/budget",
  summary: "A tenant's daily and monthly spend caps, in USD (null: the deployment's)",
  security: [{ adminToken: [] }],
  request: {
    params: TenantIdParam,
    body: jsonBody(
      z
        .object({
          budget: z
            .object({
              daily: z
                .string()
                .regex(/^\d{1,9}(\.\d{1,6})?$/)
                .optional(),
              monthly: z
                .string()
                .regex(/^\d{1,9}(\.\d{1,6})?$/)
                .optional(),
            })
            .strict()
            .nullable(),
        })
        .strict(),
    ),
  },
  responses: { 204: { description: "Stored" }, ...problems(400, 401, 404, 415, 422) },
});

const contentPolicyRoute = createRoute({
  method: "put",
  path: "/v1/admin/tenants/{id}/content-policy",
  summary: "A tenant's content policy: length, links, shorteners, spam patterns",
  description:
    "`{policy: {maxChars?, maxSegments?, maxUrls?, blockShorteners?, spamPatterns?}}` over " +
    "the deployment's (CONTENT_POLICY); spam patterns are regular expressions matched " +
    "case-insensitively. null restores the deployment's.",
  security: [{ adminToken: [] }],
  request: {
    params: TenantIdParam,
    body: jsonBody(z.object({ policy: contentPolicySchema.nullable() }).strict()),
  },
  responses: { 204: { description: "Stored" }, ...problems(400, 401, 404, 415, 422) },
});

export function destinationRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(budgetRoute, async (c) => {
    const { id } = c.req.valid("param");
    await setTenantBudget(c.var.services, id, c.req.valid("json").budget);
    return c.body(null, 204);
  });

  app.openapi(contentPolicyRoute, async (c) => {
    const { id } = c.req.valid("param");
    await setTenantContentPolicy(c.var.services, id, c.req.valid("json").policy);
    return c.body(null, 204);
  });

  for (const scope of scopes) {
    const request = scope.params ? { params: scope.params } : {};
    const tenantOf = (param: { id?: string }) => param.id ?? null;
    app.openapi(
      createRoute({
        method: "post",
        path: scope.path,
        summary: `Add a number or a prefix to ${scope.what}`,
        security: [{ adminToken: [] }],
        request: { ...request, body: jsonBody(EntryBody) },
        responses: { 201: json(Entry, "Added"), ...problems(400, 401, 404, 415, 422) },
      }),
      async (c) => {
        const scopeId = tenantOf(c.req.param() as { id?: string });
        const entry = await addBlocklistEntry(c.var.services, scopeId, c.req.valid("json"));
        return c.json(entry, 201);
      },
    );
    app.openapi(
      createRoute({
        method: "get",
        path: scope.path,
        summary: `List ${scope.what}`,
        security: [{ adminToken: [] }],
        request,
        responses: {
          200: json(z.object({ data: z.array(Entry) }), "The entries"),
          ...problems(401),
        },
      }),
      async (c) => {
        const scopeId = tenantOf(c.req.param() as { id?: string });
        return c.json({ data: await listBlocklist(c.var.services, scopeId) }, 200);
      },
    );
    app.openapi(
      createRoute({
        method: "delete",
        path: `${scope.path}/{entryId}`,
        summary: `Remove an entry from ${scope.what}`,
        security: [{ adminToken: [] }],
        request: {
          params: (scope.params ?? z.object({})).extend({ entryId: z.string().max(64) }),
        },
        responses: { 204: { description: "Removed" }, ...problems(401, 404) },
      }),
      async (c) => {
        const param = c.req.param() as { id?: string; entryId: string };
        await removeBlocklistEntry(c.var.services, tenantOf(param), param.entryId);
        return c.body(null, 204);
      },
    );
  }

  app.openapi(countriesRoute, async (c) => {
    const { id } = c.req.valid("param");
    await setTenantCountries(c.var.services, id, c.req.valid("json").allowed_countries);
    return c.body(null, 204);
  });
}
