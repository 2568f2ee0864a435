import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { requireScope } from "../services/api-keys";
import { usage } from "../services/usage";
import { json, problems } from "./schemas";

const Group = z.object({
  key: z.string().nullable(),
  messages: z.number().int(),
  spend: z.string(),
  delivered: z.number().int(),
  delivery_rate: z
    .number()
    .nullable()
    .openapi({ description: "Delivered among final outcomes; null when none is final yet" }),
});

const Usage = z
  .object({
    from: z.string(),
    to: z.string(),
    currency: z.literal("USD"),
    totals: Group.omit({ key: true }),
    by_day: z.array(Group),
    by_country: z.array(Group),
    by_provider: z.array(Group),
    by_type: z.array(Group),
    by_status: z.array(Group),
    budget: z.object({
      daily: z.object({ period: z.string(), spent: z.string(), cap: z.string() }),
      monthly: z.object({ period: z.string(), spent: z.string(), cap: z.string() }),
    }),
    pumping: z.object({ ranges_blocked: z.number().int() }),
  })
  .openapi("Usage");

const day = z.iso.date().optional();

const usageRoute = createRoute({
  method: "get",
  path: "/v1/usage",
  summary: "Messages and spend by day, country, provider, type and status; budgets; pumping",
  description: "UTC days `from`–`to` inclusive (default: the last 30 days, at most 366).",
  security: [{ apiKey: [] }],
  request: { query: z.object({ from: day, to: day }) },
  responses: { 200: json(Usage, "Usage"), ...problems(401, 403, 422) },
});

const DAY_MS = 86_400_000;

export function usageRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(usageRoute, async (c) => {
    requireScope(c.var.principal, "messages:read");
    const s = c.var.services;
    const query = c.req.valid("query");
    const today = Date.parse(s.now().toISOString().slice(0, 10));
    const to = (query.to ? Date.parse(query.to) : today) + DAY_MS;
    const from = query.from ? Date.parse(query.from) : to - 30 * DAY_MS;
    if (from >= to || to - from > 366 * DAY_MS) {
      throw new ApiError("validation_failed", "from must be before to, at most 366 days apart", [
        { path: "from", message: "out of range" },
      ]);
    }
    const principal = c.var.principal;
    const report = await usage(
      s,
      principal.tenantId,
      new Date(from),
      new Date(to),
      principal.budget,
    );
    return c.json(report, 200);
  });
}
