import { swaggerUI } from "@hono/swagger-ui";
import { OpenAPIHono } from "@hono/zod-openapi";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { ZodError } from "zod";
import type { AppEnv } from "./app-env";
import { ConfigError } from "./env";
import { ApiError, type FieldError, toProblem } from "./errors";
import { createLogger } from "./lib/log";
import { apiKeyAuth } from "./middleware/auth";
import { withServices } from "./middleware/services";
import { adminRoutes } from "./routes/admin";
import { bulkRoutes } from "./routes/bulk";
import { complianceRoutes } from "./routes/compliance";
import { destinationRoutes } from "./routes/destinations";
import { healthRoutes } from "./routes/health";
import { messageRoutes } from "./routes/messages";
import { optOutRoutes } from "./routes/opt-outs";
import { otpRoutes } from "./routes/otp";
import { providerWebhookRoutes } from "./routes/provider-webhooks";
import { sandboxRoutes } from "./routes/sandbox";
import { settingsRoutes } from "./routes/settings";
import { templateRoutes } from "./routes/templates";
import { usageRoutes } from "./routes/usage";
import { webhookRoutes } from "./routes/webhooks";

const MAX_BODY_BYTES = 64 * 1024;
/** A bulk send's 10,000 recipients, each with its variables and metadata. */
const MAX_BULK_BODY_BYTES = 8 * 1024 * 1024;
/** Tenant API keys guard every /v1 route but the admin API (which has its own token). */
const tenantAuth = apiKeyAuth();

const fieldErrors = (issues: { path: PropertyKey[]; message: string }[]): FieldError[] =>
  issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));

function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ZodError) {
    return new ApiError(
      "validation_failed",
      "The request has invalid fields",
      fieldErrors(error.issues),
    );
  }
  if (error instanceof HTTPException && error.status === 400) {
    return new ApiError("malformed_request", "The request body is not valid JSON");
  }
  if (error instanceof HTTPException && error.status === 415) {
    return new ApiError("unsupported_media_type", "Send the body as application/json");
  }
  return new ApiError("internal_error", "Something went wrong on our side");
}

/** The Hono app, shared by the Worker entry and the tests. */
export function newApp() {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError(
          "validation_failed",
          "The request has invalid fields",
          fieldErrors(result.error.issues),
        );
      }
    },
  });

  app.use(requestId({ headerName: "Request-Id" }));
  const limitBody = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new ApiError("payload_too_large", `Request bodies are limited to ${maxSize} bytes`);
      },
    });
  const defaultLimit = limitBody(MAX_BODY_BYTES);
  const bulkLimit = limitBody(MAX_BULK_BODY_BYTES);
  app.use((c, next) => (c.req.path === "/v1/messages/bulk" ? bulkLimit : defaultLimit)(c, next));
  // A JSON API: refuse other media types up front rather than reading them as empty.
  // A request without a body (e.g. POST …/cancel) has no media type to check.
  app.on(["POST", "PUT", "PATCH"], "/v1/*", async (c, next) => {
    const contentType = c.req.header("content-type") ?? "";
    // `curl -X POST` without data sends neither a length nor a type: no body either.
    const length = c.req.header("content-length");
    const hasBody =
      c.req.raw.body !== null && (length === undefined ? contentType !== "" : length !== "0");
    // Compliance: the opt-out list import takes text/csv (its route checks the type itself).
    const csvImport = c.req.path === "/v1/opt-outs/import" && /^text\/csv\b/i.test(contentType);
    if (hasBody && !csvImport && !/^application\/(.+\+)?json\b/i.test(contentType)) {
      throw new ApiError("unsupported_media_type", "Send the body as application/json");
    }
    await next();
  });
  app.use("/v1/*", withServices());
  app.use("/healthz", withServices());
  app.use("/webhooks/*", withServices());
  app.use("/v1/*", (c, next) =>
    c.req.path.startsWith("/v1/admin/") ? next() : tenantAuth(c, next),
  );

  adminRoutes(app);
  // After adminRoutes: its admin-token middleware covers these /v1/admin/ routes too.
  destinationRoutes(app);
  bulkRoutes(app);
  messageRoutes(app);
  settingsRoutes(app);
  webhookRoutes(app);
  // Compliance: consents, opt-outs, and the admin compliance settings (after adminRoutes,
  // whose middleware guards /v1/admin/*).
  complianceRoutes(app);
  usageRoutes(app);
  otpRoutes(app);
  sandboxRoutes(app);
  templateRoutes(app);
  optOutRoutes(app);
  providerWebhookRoutes(app);
  healthRoutes(app);

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "A tenant API key: `sk_test_…` (sandbox) or `sk_live_…`",
  });
  app.openAPIRegistry.registerComponent("securitySchemes", "adminToken", {
    type: "http",
    scheme: "bearer",
    description: "The operator's ADMIN_TOKEN secret",
  });
  app.doc31("/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "Edge SMS gateway",
      version: "0.1.0",
      description: "Send SMS through Twilio, AWS and Africa's Talking from one API.",
    },
  });
  app.get("/docs", swaggerUI({ url: "/openapi.json" }));

  app.notFound((c) => {
    const problem = toProblem(
      new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`),
      c.var.requestId,
    );
    return c.json(problem, 404, { "Content-Type": "application/problem+json" });
  });

  app.onError((error, c) => {
    const apiError = toApiError(error);
    if (apiError.code === "internal_error") {
      const log = c.var.services?.log ?? createLogger({ request_id: c.var.requestId });
      log.error(error instanceof ConfigError ? "configuration error" : "unhandled error", {
        // A failed query's message lists its parameters (numbers, message bodies): never log them.
        error: (error instanceof Error ? (error.stack ?? error.message) : String(error)).replace(
          /\nparams: [^\n]*/g,
          "\nparams: [redacted]",
        ),
      });
    }
    return c.json(toProblem(apiError, c.var.requestId), apiError.status, {
      ...apiError.headers,
      "Content-Type": "application/problem+json",
    });
  });

  return app;
}
