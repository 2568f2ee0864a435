import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import type { AppEnv } from "../app-env";
import { deploymentProviderNames } from "../services/provider-registry";
import { json } from "./schemas";

const Health = z.object({
  status: z.enum(["ok", "degraded"]),
  checks: z.object({ postgres: z.string(), redis: z.string() }),
  providers: z
    .array(z.string())
    .openapi({ description: "Providers with deployment credentials (tenants may add their own)" }),
});

const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  summary: "Checks Postgres and Redis",
  responses: { 200: json(Health, "Both reachable"), 503: json(Health, "A dependency is down") },
});

const check = (probe: Promise<unknown>) =>
  probe.then(
    () => "ok",
    (error: unknown) => `error: ${error instanceof Error ? error.message : String(error)}`,
  );

export function healthRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(healthRoute, async (c) => {
    const s = c.var.services;
    const [postgres, redis] = await Promise.all([
      check(s.db.execute(sql`select 1`)),
      check(s.redis.ping()),
    ]);
    const ok = postgres === "ok" && redis === "ok";
    return c.json(
      {
        status: ok ? "ok" : "degraded",
        checks: { postgres, redis },
        providers: deploymentProviderNames(s.config),
      },
      ok ? 200 : 503,
    );
  });
}
