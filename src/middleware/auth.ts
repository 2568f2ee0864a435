import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../app-env";
import { ApiError } from "../errors";
import { constantTimeEqual } from "../lib/crypto";
import { authenticate } from "../services/api-keys";

function bearer(header: string | undefined): string {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match?.[1]) {
    throw new ApiError("unauthorized", "Send an API key as `Authorization: Bearer <key>`");
  }
  return match[1];
}

/** Tenant API keys: resolves the key to its principal (tenant, mode, scopes). */
export const apiKeyAuth = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const principal = await authenticate(c.var.services, bearer(c.req.header("authorization")));
    c.set("principal", principal);
    c.var.services.log = c.var.services.log.child({ tenant_id: principal.tenantId });
    await next();
  });

/** The operator's admin token (a secret), compared in constant time. */
export const adminAuth = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    const token = bearer(c.req.header("authorization"));
    if (!(await constantTimeEqual(token, c.var.services.config.ADMIN_TOKEN))) {
      throw new ApiError("unauthorized", "The admin token is not valid");
    }
    await next();
  });
