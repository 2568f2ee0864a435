import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { OPT_OUT_CHANNELS } from "../domain/compliance";
import { ApiError } from "../errors";
import { requireScope } from "../services/api-keys";
import {
  createOptOut,
  exportOptOuts,
  getOptOut,
  importOptOuts,
  listOptOuts,
  removeOptOutWithConsent,
} from "../services/opt-outs";
import { ConsentEvidenceBody, consentEvidence } from "./compliance";
import { json, jsonBody, PhoneParam, problems } from "./schemas";

const ChannelSchema = z.enum(OPT_OUT_CHANNELS);

const OptOut = z
  .object({
    phone: z.string().nullable().openapi({
      description: "null once the person was erased (DELETE /v1/subjects): the opt-out stays",
    }),
    channels: z.array(ChannelSchema),
    source: z.string().openapi({
      description: "sms (a STOP reply), api, provider (an opted-out error), import, …",
    }),
    reason: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("OptOut");

const createOptOutRoute = createRoute({
  method: "post",
  path: "/v1/opt-outs",
  summary: "Record an opt-out, effective immediately",
  description:
    "Universal across channels unless `channels` narrows it. SMS to the number is refused " +
    "(422 `recipient_opted_out`) while the opt-out covers `sms`. Recording it again can widen " +
    "the channels, never narrow them. 201 when new, 200 when the number was already opted out.",
  security: [{ apiKey: [] }],
  request: {
    body: jsonBody(
      z
        .object({
          phone: z.string().min(1).max(32),
          channels: z
            .array(ChannelSchema)
            .max(OPT_OUT_CHANNELS.length)
            .optional()
            .openapi({ description: "Default: all channels" }),
          source: z
            .string()
            .regex(/^[a-z0-9_.:-]{1,64}$/i)
            .optional()
            .openapi({ description: "Where the person opted out (default `api`)" }),
          reason: z.string().max(500).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    200: json(OptOut, "Already opted out (channels widened if asked)"),
    201: json(OptOut, "Recorded"),
    ...problems(400, 401, 403, 415, 422),
  },
});

const getOptOutRoute = createRoute({
  method: "get",
  path: "/v1/opt-outs/{phone}",
  summary: "A number's opt-out",
  security: [{ apiKey: [] }],
  request: { params: PhoneParam },
  responses: { 200: json(OptOut, "The opt-out"), ...problems(401, 403, 404, 422) },
});

const listOptOutsRoute = createRoute({
  method: "get",
  path: "/v1/opt-outs",
  summary: "The tenant's opt-outs by number (cursor pages), or all of them as CSV",
  description:
    "`Accept: text/csv` or `?format=csv` exports every opt-out as CSV " +
    "(`phone,channels,source,reason,created_at`, channels separated by `;`), which " +
    "`POST /v1/opt-outs/import` reads back.",
  security: [{ apiKey: [] }],
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      cursor: z.string().max(64).optional(),
      format: z.enum(["json", "csv"]).optional(),
    }),
  },
  responses: {
    200: {
      description: "A page of opt-outs, or the CSV export",
      content: {
        "application/json": {
          schema: z.object({ data: z.array(OptOut), next_cursor: z.string().nullable() }),
        },
        "text/csv": { schema: z.string() },
      },
    },
    ...problems(401, 403, 422),
  },
});

const ImportResult = z
  .object({
    imported: z.number().int().openapi({ description: "Numbers newly opted out (or widened)" }),
    unchanged: z.number().int().openapi({ description: "Already opted out of those channels" }),
    rejected: z.number().int(),
    errors: z.array(z.object({ line: z.number().int(), message: z.string() })),
  })
  .openapi("OptOutImport");

const importRoute = createRoute({
  method: "post",
  path: "/v1/opt-outs/import",
  summary: "Import an opt-out list (CSV)",
  description:
    "A `text/csv` body with a header line: `phone` and optionally `channels` (separated by " +
    "`;`; empty means all), `source` (default `import`) and `reason`; other columns are " +
    "ignored, so an export imports as is. Numbers are normalized; good rows are imported, bad " +
    "rows reported by line number. Importing the same list again changes nothing. Bodies are " +
    "limited to 64 KB: split larger lists. Imports emit no `optout.created` events.",
  security: [{ apiKey: [] }],
  request: {
    body: { required: true, content: { "text/csv": { schema: z.string() } } },
  },
  responses: { 200: json(ImportResult, "What was imported"), ...problems(401, 403, 413, 415, 422) },
});

const removeRoute = createRoute({
  method: "delete",
  path: "/v1/opt-outs/{phone}",
  summary: "Remove an opt-out, with new consent evidence",
  description:
    "Only with consent given after the opt-out: `{consent: {purpose, method, evidence, …}}`. " +
    "The consent is recorded and the opt-out removed together; without it, 422 " +
    "`consent_required`.",
  security: [{ apiKey: [] }],
  request: {
    params: PhoneParam,
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z.object({ consent: ConsentEvidenceBody.optional() }).strict(),
        },
      },
    },
  },
  responses: {
    200: json(z.object({ consent_id: z.string() }), "Removed; the consent recorded"),
    ...problems(401, 403, 404, 415, 422),
  },
});

export function optOutRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(importRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    if (!/^text\/csv\b/i.test(c.req.header("content-type") ?? "")) {
      throw new ApiError("unsupported_media_type", "Send the list as text/csv");
    }
    const result = await importOptOuts(
      c.var.services,
      c.var.principal.tenantId,
      await c.req.text(),
    );
    return c.json(result, 200);
  });

  app.openapi(createOptOutRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    const { optOut, created } = await createOptOut(
      c.var.services,
      c.var.principal.tenantId,
      c.req.valid("json"),
    );
    return c.json(optOut, created ? 201 : 200);
  });

  app.openapi(listOptOutsRoute, async (c) => {
    requireScope(c.var.principal, "settings:read");
    const query = c.req.valid("query");
    const csv =
      query.format === "csv" ||
      (query.format === undefined && /\btext\/csv\b/i.test(c.req.header("accept") ?? ""));
    const s = c.var.services;
    if (csv) {
      return c.body(await exportOptOuts(s, c.var.principal.tenantId), 200, {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="opt-outs.csv"',
      });
    }
    return c.json(await listOptOuts(s, c.var.principal.tenantId, query), 200);
  });

  app.openapi(getOptOutRoute, async (c) => {
    requireScope(c.var.principal, "settings:read");
    const optOut = await getOptOut(
      c.var.services,
      c.var.principal.tenantId,
      c.req.valid("param").phone,
    );
    return c.json(optOut, 200);
  });

  app.openapi(removeRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    const body = c.req.valid("json") as { consent?: z.infer<typeof ConsentEvidenceBody> };
    const result = await removeOptOutWithConsent(
      c.var.services,
      c.var.principal.tenantId,
      c.req.valid("param").phone,
      body.consent && consentEvidence(body.consent),
    );
    return c.json(result, 200);
  });
}
