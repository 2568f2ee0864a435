import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { requireScope } from "../services/api-keys";
import {
  createTemplate,
  deleteTemplate,
  getTemplate,
  listTemplates,
  replaceTemplate,
  type TemplateInput,
} from "../services/templates";
import { json, jsonBody, MessageTypeSchema, problems } from "./schemas";

const VariableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/);

const TemplateBody = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/i, "letters, digits, _ . - (at most 64)"),
    body: z
      .string()
      .min(1)
      .max(1600)
      .openapi({ example: "Hi {{first_name}}, your order shipped." }),
    locale_variants: z
      .record(
        z.string().regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$/),
        z.string().min(1).max(1600),
      )
      .optional(),
    type: MessageTypeSchema.default("transactional"),
    max_segments: z.number().int().min(1).max(10).optional(),
    variables: z
      .record(VariableName, z.number().int().min(0).max(1000))
      .optional()
      .openapi({ description: "Declared maximum length of each variable (for max_segments)" }),
    dlt_template_id: z.string().min(1).max(50).optional(),
  })
  .strict();

const Template = TemplateBody.extend({
  id: z.string(),
  locale_variants: z.record(z.string(), z.string()),
  variables: z.record(z.string(), z.number()),
  max_segments: z.number().nullable(),
  dlt_template_id: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
}).openapi("Template");

const IdParam = z.object({ id: z.string().max(64) });

const input = (body: z.infer<typeof TemplateBody>): TemplateInput => ({
  name: body.name,
  body: body.body,
  localeVariants: body.locale_variants,
  type: body.type,
  maxSegments: body.max_segments,
  variableLengths: body.variables,
  dltTemplateId: body.dlt_template_id,
});

const security = [{ apiKey: [] }];

export function templateRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(
    createRoute({
      method: "post",
      path: "/v1/templates",
      summary: "Create a template ({{variable}} placeholders)",
      security,
      request: { body: jsonBody(TemplateBody) },
      responses: { 201: json(Template, "Created"), ...problems(401, 403, 415, 422) },
    }),
    async (c) => {
      requireScope(c.var.principal, "settings:write");
      const template = await createTemplate(
        c.var.services,
        c.var.principal.tenantId,
        input(c.req.valid("json")),
      );
      return c.json(template, 201);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/templates",
      summary: "The tenant's templates",
      security,
      responses: {
        200: json(z.object({ data: z.array(Template) }), "Templates"),
        ...problems(401, 403),
      },
    }),
    async (c) => {
      requireScope(c.var.principal, "settings:read");
      return c.json({ data: await listTemplates(c.var.services, c.var.principal.tenantId) }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/v1/templates/{id}",
      summary: "A template",
      security,
      request: { params: IdParam },
      responses: { 200: json(Template, "The template"), ...problems(401, 403, 404) },
    }),
    async (c) => {
      requireScope(c.var.principal, "settings:read");
      const { id } = c.req.valid("param");
      return c.json(await getTemplate(c.var.services, c.var.principal.tenantId, id), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/v1/templates/{id}",
      summary: "Replace a template",
      security,
      request: { params: IdParam, body: jsonBody(TemplateBody) },
      responses: { 200: json(Template, "Replaced"), ...problems(401, 403, 404, 415, 422) },
    }),
    async (c) => {
      requireScope(c.var.principal, "settings:write");
      const { id } = c.req.valid("param");
      const template = await replaceTemplate(
        c.var.services,
        c.var.principal.tenantId,
        id,
        input(c.req.valid("json")),
      );
      return c.json(template, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/v1/templates/{id}",
      summary: "Delete a template",
      security,
      request: { params: IdParam },
      responses: { 204: { description: "Deleted" }, ...problems(401, 403, 404) },
    }),
    async (c) => {
      requireScope(c.var.principal, "settings:write");
      await deleteTemplate(c.var.services, c.var.principal.tenantId, c.req.valid("param").id);
      return c.body(null, 204);
    },
  );
}
