import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { EVENT_TYPES } from "../domain/webhooks";
import { requireScope } from "../services/api-keys";
import {
  DELIVERY_STATUSES,
  listDeliveries,
  listEndpoints,
  registerEndpoint,
  removeEndpoint,
  replayDeliveries,
} from "../services/webhook-endpoints";
import { json, jsonBody, problems } from "./schemas";

const EventTypeSchema = z.enum(EVENT_TYPES);
const EndpointId = z.object({ id: z.string().max(64) });

const endpointFields = {
  id: z.string(),
  url: z.string(),
  event_types: z.array(EventTypeSchema),
  status: z.enum(["active", "disabled"]),
  created_at: z.string(),
};

const CreatedEndpoint = z
  .object({
    ...endpointFields,
    secret: z.string().openapi({
      description: "The Standard Webhooks signing secret (`whsec_…`): shown here only, once",
    }),
  })
  .openapi("CreatedWebhookEndpoint");

const Endpoint = z
  .object({
    ...endpointFields,
    disabled_reason: z.string().nullable(),
    deliveries_24h: z.object({
      pending: z.number().int(),
      delivered: z.number().int(),
      dead: z.number().int(),
      last_delivered_at: z.string().nullable(),
    }),
  })
  .openapi("WebhookEndpoint");

const Delivery = z
  .object({
    id: z
      .string()
      .openapi({ description: "Also the `webhook-id` header, the same on every retry" }),
    event_id: z.string(),
    event_type: z.string(),
    status: z.enum(DELIVERY_STATUSES),
    attempts: z.number().int(),
    next_attempt_at: z.string().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    delivered_at: z.string().nullable(),
  })
  .openapi("WebhookDelivery");

const createRouteDef = createRoute({
  method: "post",
  path: "/v1/webhooks",
  summary: "Register a webhook endpoint for signed events",
  description: `Events are signed the Standard Webhooks way (\`webhook-id\`, \`webhook-timestamp\`,
\`webhook-signature\` headers; verify with the \`standardwebhooks\` libraries and the secret).
The URL must be https and its host must resolve to public addresses only; it is checked again
before every delivery. Event types: ${EVENT_TYPES.map((t) => `\`${t}\``).join(", ")}.`,
  security: [{ apiKey: [] }],
  request: {
    body: jsonBody(
      z
        .object({
          url: z.string().min(1).max(2048),
          event_types: z.array(EventTypeSchema).min(1).max(EVENT_TYPES.length),
        })
        .strict(),
    ),
  },
  responses: {
    201: json(CreatedEndpoint, "Registered; the secret is shown only here"),
    ...problems(400, 401, 403, 415, 422, 503),
  },
});

const listRoute = createRoute({
  method: "get",
  path: "/v1/webhooks",
  summary: "The tenant's webhook endpoints (never their secrets)",
  security: [{ apiKey: [] }],
  responses: {
    200: json(z.object({ data: z.array(Endpoint) }), "Endpoints"),
    ...problems(401, 403),
  },
});

const removeRoute = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  summary: "Remove a webhook endpoint and its delivery history",
  security: [{ apiKey: [] }],
  request: { params: EndpointId },
  responses: { 204: { description: "Removed" }, ...problems(401, 403, 404) },
});

const deliveriesRoute = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  summary: "An endpoint's deliveries, newest first (`?status=dead` for its dead letters)",
  security: [{ apiKey: [] }],
  request: {
    params: EndpointId,
    query: z.object({
      status: z.enum(DELIVERY_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(100).default(50),
    }),
  },
  responses: {
    200: json(z.object({ data: z.array(Delivery) }), "Deliveries"),
    ...problems(401, 403, 404, 422),
  },
});

const replayRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/replay",
  summary: "Deliver again: every dead letter of the endpoint, or one delivery",
  description:
    "Re-queues the endpoint's dead letters (up to 1000 per call), or the one delivery named by `delivery_id`, with the same `webhook-id`. The URL is checked again; a disabled endpoint is re-enabled.",
  security: [{ apiKey: [] }],
  request: {
    params: EndpointId,
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z.object({ delivery_id: z.string().max(64).optional() }).strict(),
        },
      },
    },
  },
  responses: {
    202: json(z.object({ replayed: z.number().int() }), "Re-queued"),
    ...problems(400, 401, 403, 404, 415, 422),
  },
});

export function webhookRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(createRouteDef, async (c) => {
    requireScope(c.var.principal, "settings:write");
    const endpoint = await registerEndpoint(
      c.var.services,
      c.var.principal.tenantId,
      c.req.valid("json"),
      new URL(c.req.url).hostname,
    );
    return c.json(endpoint, 201);
  });

  app.openapi(listRoute, async (c) => {
    requireScope(c.var.principal, "settings:read");
    return c.json({ data: await listEndpoints(c.var.services, c.var.principal.tenantId) }, 200);
  });

  app.openapi(removeRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    await removeEndpoint(c.var.services, c.var.principal.tenantId, c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(deliveriesRoute, async (c) => {
    requireScope(c.var.principal, "settings:read");
    const data = await listDeliveries(
      c.var.services,
      c.var.principal.tenantId,
      c.req.valid("param").id,
      c.req.valid("query"),
    );
    return c.json({ data }, 200);
  });

  app.openapi(replayRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    const body = (c.req.valid("json") ?? {}) as { delivery_id?: string };
    const replayed = await replayDeliveries(
      c.var.services,
      c.var.principal.tenantId,
      c.req.valid("param").id,
      body.delivery_id,
    );
    return c.json({ replayed }, 202);
  });
}
