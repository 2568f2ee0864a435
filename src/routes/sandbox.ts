import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { requireScope } from "../services/api-keys";
import { destinationOrThrow } from "../services/phone";
import { sandboxInbox } from "../services/sandbox";
import { json, problems } from "./schemas";

const inboxRoute = createRoute({
  method: "get",
  path: "/v1/sandbox/messages",
  summary: "Test keys: what the sandbox delivered to a number in the last hour, bodies included",
  description:
    "So a flow such as an OTP can be tested end to end. Exists for test keys only (404 for a " +
    "live key); entries are kept an hour at most, newest first.",
  security: [{ apiKey: [] }],
  request: { query: z.object({ to: z.string().min(1).max(32) }) },
  responses: {
    200: json(
      z.object({
        data: z.array(
          z.object({
            id: z.string(),
            from: z.string().nullable(),
            body: z.string(),
            delivered_at: z.string(),
          }),
        ),
      }),
      "The sandbox inbox of that number",
    ),
    ...problems(401, 403, 404, 422),
  },
});

export function sandboxRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(inboxRoute, async (c) => {
    const principal = c.var.principal;
    requireScope(principal, "messages:read");
    if (principal.mode !== "test") throw new ApiError("not_found", "No such route");
    const s = c.var.services;
    const phone = destinationOrThrow(s, c.req.valid("query").to);
    return c.json({ data: await sandboxInbox(s, principal.tenantId, phone.e164) }, 200);
  });
}
