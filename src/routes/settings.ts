import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { PROVIDER_NAMES } from "../domain/providers";
import { requireScope } from "../services/api-keys";
import {
  credentialStatus,
  removeCredentials,
  storeCredentials,
} from "../services/provider-credentials";
import { providerCredentialSchemas } from "../services/provider-registry";
import { previewRoute } from "../services/routing";
import { listSenders, registerSender, removeSender } from "../services/senders";
import { json, jsonBody, MessageTypeSchema, Money, problems } from "./schemas";

const ProviderSchema = z.enum(PROVIDER_NAMES);
const SenderKindSchema = z.enum(["phone", "short_code", "alphanumeric", "messaging_service"]);

const Sender = z
  .object({
    id: z.string(),
    provider: ProviderSchema,
    kind: SenderKindSchema,
    value: z.string(),
    countries: z.array(z.string()),
    provider_answers_keywords: z.boolean(),
    created_at: z.string(),
  })
  .openapi("Sender");

const registerSenderRoute = createRoute({
  method: "post",
  path: "/v1/senders",
  summary: "Register a sender (number, short code, alphanumeric ID or messaging service)",
  security: [{ apiKey: [] }],
  request: {
    body: jsonBody(
      z
        .object({
          provider: ProviderSchema,
          kind: SenderKindSchema,
          value: z.string().min(1).max(64),
          countries: z
            .array(z.string().regex(/^[A-Z]{2}$/))
            .max(250)
            .default([])
            .openapi({ description: "Destination countries; empty means any" }),
          provider_answers_keywords: z
            .boolean()
            .optional()
            .openapi({
              description:
                "Whether the provider answers STOP/HELP itself on this sender (default: true for " +
                "twilio and aws-sms-voice). When false, the gateway sends the STOP confirmation " +
                "and HELP answers.",
            }),
        })
        .strict(),
    ),
  },
  responses: { 201: json(Sender, "Registered"), ...problems(400, 401, 403, 409, 415, 422) },
});

const listSendersRoute = createRoute({
  method: "get",
  path: "/v1/senders",
  summary: "The tenant's sender register",
  security: [{ apiKey: [] }],
  responses: { 200: json(z.object({ data: z.array(Sender) }), "Senders"), ...problems(401, 403) },
});

const removeSenderRoute = createRoute({
  method: "delete",
  path: "/v1/senders/{id}",
  summary: "Remove a sender",
  security: [{ apiKey: [] }],
  request: { params: z.object({ id: z.string().max(64) }) },
  responses: { 204: { description: "Removed" }, ...problems(401, 403, 404) },
});

const putCredentialsRoute = createRoute({
  method: "put",
  path: "/v1/provider-credentials/{provider}",
  summary: "Bring your own provider credentials (stored encrypted, never returned)",
  description: `Bodies per provider:\n\n${Object.keys(providerCredentialSchemas)
    .map((p) => `- \`${p}\``)
    .join("\n")}\n\nSee the README for the fields.`,
  security: [{ apiKey: [] }],
  request: {
    params: z.object({ provider: ProviderSchema }),
    body: jsonBody(z.record(z.string(), z.unknown())),
  },
  responses: { 204: { description: "Stored" }, ...problems(400, 401, 403, 415, 422, 503) },
});

const credentialStatusRoute = createRoute({
  method: "get",
  path: "/v1/provider-credentials",
  summary: "Which providers are usable, and whose credentials they use",
  security: [{ apiKey: [] }],
  responses: {
    200: json(
      z.object({
        data: z.array(
          z.object({
            provider: z.string(),
            source: z.enum(["tenant", "deployment"]),
            updated_at: z.string().nullable(),
          }),
        ),
      }),
      "Providers",
    ),
    ...problems(401, 403),
  },
});

const removeCredentialsRoute = createRoute({
  method: "delete",
  path: "/v1/provider-credentials/{provider}",
  summary: "Forget the tenant's own credentials for a provider",
  security: [{ apiKey: [] }],
  request: { params: z.object({ provider: ProviderSchema }) },
  responses: { 204: { description: "Removed" }, ...problems(401, 403, 404, 422) },
});

const previewRouteRoute = createRoute({
  method: "get",
  path: "/v1/routes/preview",
  summary: "The provider chain a live message would get, without sending",
  security: [{ apiKey: [] }],
  request: {
    query: z.object({
      to: z.string().min(1).max(32),
      type: MessageTypeSchema.default("transactional"),
      body: z.string().max(1600).optional(),
      from: z.string().max(64).optional(),
      provider: ProviderSchema.optional(),
    }),
  },
  responses: {
    200: json(
      z
        .object({
          to: z.string(),
          country: z.string(),
          type: MessageTypeSchema,
          segments: z.number().int(),
          rule: z.string(),
          chain: z.array(
            z.object({
              provider: ProviderSchema,
              sender: z.object({ kind: SenderKindSchema, value: z.string() }).nullable(),
              estimated_cost: Money,
              health: z.enum(["closed", "open", "half_open"]),
              reason: z.string(),
            }),
          ),
          skipped: z.array(z.object({ provider: ProviderSchema, reason: z.string() })),
        })
        .openapi("RoutePreview"),
      "The chain, in order",
    ),
    ...problems(401, 403, 422),
  },
});

export function settingsRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(registerSenderRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    const body = c.req.valid("json");
    const sender = await registerSender(c.var.services, c.var.principal.tenantId, {
      ...body,
      providerAnswersKeywords: body.provider_answers_keywords,
    });
    return c.json(sender, 201);
  });

  app.openapi(listSendersRoute, async (c) => {
    requireScope(c.var.principal, "settings:read");
    return c.json({ data: await listSenders(c.var.services, c.var.principal.tenantId) }, 200);
  });

  app.openapi(removeSenderRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    await removeSender(c.var.services, c.var.principal.tenantId, c.req.valid("param").id);
    return c.body(null, 204);
  });

  app.openapi(putCredentialsRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    const { provider } = c.req.valid("param");
    const parsed = providerCredentialSchemas[provider].safeParse(c.req.valid("json"));
    if (!parsed.success) throw parsed.error;
    await storeCredentials(c.var.services, c.var.principal.tenantId, provider, parsed.data);
    return c.body(null, 204);
  });

  app.openapi(credentialStatusRoute, async (c) => {
    requireScope(c.var.principal, "settings:read");
    return c.json({ data: await credentialStatus(c.var.services, c.var.principal.tenantId) }, 200);
  });

  app.openapi(removeCredentialsRoute, async (c) => {
    requireScope(c.var.principal, "settings:write");
    await removeCredentials(
      c.var.services,
      c.var.principal.tenantId,
      c.req.valid("param").provider,
    );
    return c.body(null, 204);
  });

  app.openapi(previewRouteRoute, async (c) => {
    requireScope(c.var.principal, "settings:read");
    const preview = await previewRoute(
      c.var.services,
      c.var.principal.tenantId,
      c.req.valid("query"),
    );
    return c.json(preview, 200);
  });
}
