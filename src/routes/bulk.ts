import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../app-env";
import { ERROR_CODES } from "../errors";
import { requireScope } from "../services/api-keys";
import { cancelBatch, getBatch } from "../services/batches";
import { acceptBulk, MAX_BULK_RECIPIENTS } from "../services/bulk-send";
import { enqueue } from "../services/dispatch-queue";
import {
  Dlt,
  IdempotencyKey,
  idempotencyOf,
  json,
  jsonBody,
  MessageStatusSchema,
  Metadata,
  Money,
  problems,
  SenderValue,
  sharedSendFields,
  TemplateLocale,
  TemplateVariables,
} from "./schemas";

const BulkSendBody = z
  .object({
    recipients: z
      .array(
        z
          .object({
            to: z.string().min(1).max(32),
            variables: TemplateVariables.openapi({
              description: "This recipient's template variables",
            }),
            metadata: Metadata.openapi({ description: "Merged over the common metadata" }),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_BULK_RECIPIENTS)
      .openapi({ description: `1 to ${MAX_BULK_RECIPIENTS} recipients` }),
    body: z.string().min(1).max(10_000).optional(),
    template: z.string().min(1).max(64).optional(),
    locale: TemplateLocale,
    type: z.enum(["transactional", "promotional"]).optional(),
    from: SenderValue,
    metadata: Metadata,
    send_at: z.iso.datetime({ offset: true }).optional(),
    valid_until: z.iso.datetime({ offset: true }).optional(),
    validity_seconds: z.number().int().min(5).max(259_200).optional(),
    max_segments: z.number().int().min(1).max(10).optional(),
    truncate: z.boolean().default(false),
    smart_encoding: z.boolean().default(false),
    dlt: Dlt,
  })
  .strict()
  .refine((m) => (m.body === undefined) !== (m.template === undefined), {
    message: "give either body or template",
    path: ["body"],
  })
  .openapi("BulkSend", {
    description: "Common fields (as POST /v1/messages) and the recipients",
  });

const RecipientResult = z.union([
  z.object({
    index: z.number().int(),
    to: z.string(),
    result: z.literal("accepted"),
    id: z.string(),
    status: MessageStatusSchema,
    segments: z.number().int(),
  }),
  z.object({
    index: z.number().int(),
    to: z.string(),
    result: z.literal("refused"),
    code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES]),
    detail: z.string(),
  }),
]);

const BatchAccepted = z
  .object({
    id: z.string(),
    type: z.enum(["transactional", "promotional"]),
    recipients: z.number().int(),
    accepted: z.number().int(),
    refused: z.number().int(),
    estimated_cost: Money,
    currency: z.string(),
    created_at: z.string(),
    results: z.array(RecipientResult).openapi({
      description: "Every recipient in request order: accepted (message id) or refused (code)",
    }),
  })
  .openapi("BatchAccepted");

const Batch = z
  .object({
    id: z.string(),
    type: z.string(),
    recipients: z.number().int(),
    accepted: z.number().int(),
    refused: z.number().int(),
    counts: z.record(z.string(), z.number().int()),
    dispatched: z.number().int(),
    finished: z.number().int(),
    progress: z.number(),
    completed: z.boolean(),
    created_at: z.string(),
    canceled_at: z.string().nullable(),
  })
  .openapi("Batch");

const BatchId = z.object({ id: z.string().max(64) });

const bulkRoute = createRoute({
  method: "post",
  path: "/v1/messages/bulk",
  summary: "Send to up to 10,000 recipients",
  description:
    "Checks every recipient (opt-outs, consent, blocklists, rate limits, budget), persists " +
    "the accepted ones, answers 202 with each recipient's result and the batch id, then " +
    "dispatches on the queues at the configured send rates.",
  security: [{ apiKey: [] }],
  request: {
    headers: z.object({
      "idempotency-key": IdempotencyKey,
    }),
    body: jsonBody(BulkSendBody),
  },
  responses: {
    202: json(BatchAccepted, "The batch: every recipient accepted or refused"),
    ...problems(400, 401, 403, 413, 415, 422, 503),
  },
});

const getBatchRoute = createRoute({
  method: "get",
  path: "/v1/batches/{id}",
  summary: "A batch's progress: its messages' counts by status",
  security: [{ apiKey: [] }],
  request: { params: BatchId },
  responses: { 200: json(Batch, "The batch"), ...problems(401, 403, 404) },
});

const cancelBatchRoute = createRoute({
  method: "post",
  path: "/v1/batches/{id}/cancel",
  summary: "Cancel the batch's messages not yet handed to a provider",
  security: [{ apiKey: [] }],
  request: { params: BatchId },
  responses: {
    200: json(Batch.extend({ canceled_now: z.number().int() }), "The batch after canceling"),
    ...problems(401, 403, 404),
  },
});

export function bulkRoutes(app: OpenAPIHono<AppEnv>) {
  app.openapi(bulkRoute, async (c) => {
    const s = c.var.services;
    const principal = c.var.principal;
    requireScope(principal, "messages:send");
    const input = c.req.valid("json");
    const idempotency = await idempotencyOf(c.req, c.req.valid("header")["idempotency-key"]);
    const result = await acceptBulk(
      s,
      principal,
      {
        ...input,
        ...sharedSendFields(input),
        maxSegments: input.max_segments,
      },
      idempotency,
    );
    if (result.kind === "replayed") {
      c.header("Idempotent-Replayed", "true");
      return c.json(result.body, 202);
    }
    // Persisted first; the queues take it from here (the scheduler if a job is lost).
    await enqueue(s, "bulk", result.queuedIds);
    return c.json(result.response, 202);
  });

  app.openapi(getBatchRoute, async (c) => {
    requireScope(c.var.principal, "messages:read");
    const batch = await getBatch(c.var.services, c.var.principal.tenantId, c.req.valid("param").id);
    return c.json(batch, 200);
  });

  app.openapi(cancelBatchRoute, async (c) => {
    requireScope(c.var.principal, "messages:send");
    const { id } = c.req.valid("param");
    const s = c.var.services;
    const canceled = await cancelBatch(s, c.var.principal.tenantId, id);
    const batch = await getBatch(s, c.var.principal.tenantId, id);
    return c.json({ ...batch, canceled_now: canceled }, 200);
  });
}
