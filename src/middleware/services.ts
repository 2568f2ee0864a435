import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { openScope } from "../context";
import { loadConfig, queuesOf } from "../env";
import { serverTiming } from "../lib/io-meter";

/**
 * Opens this request's services (database pool, Redis client, logger) and
 * closes them after the response and its background work (waitUntil). Reports
 * the Postgres and Redis round trips made before the response in Server-Timing.
 */
export const withServices = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const config = loadConfig(c.env);
    const scope = openScope(
      config,
      { request_id: c.var.requestId, path: c.req.path },
      undefined,
      queuesOf(c.env),
    );
    c.set("services", scope.services);
    try {
      await next();
      c.header("Server-Timing", serverTiming(scope.services.io));
    } finally {
      c.executionCtx.waitUntil(scope.finished());
    }
  });
