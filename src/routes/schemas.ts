import { z } from "@hono/zod-openapi";
import { MESSAGE_STATUSES } from "../domain/status";
import { ERROR_CODES } from "../errors";
import { sha256Hex } from "../lib/crypto";

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES]),
    request_id: z.string(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi("Problem", {
    description: `RFC 9457 problem details. \`code\` is one of a closed list:\n\n${Object.entries(
      ERROR_CODES,
    )
      .map(([code, { status, title }]) => `- \`${code}\` (${status}): ${title}`)
      .join("\n")}`,
  });

/** The problem+json responses a route can answer with, for the OpenAPI document. */
export function problems(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: Object.entries(ERROR_CODES)
          .filter(([, e]) => e.status === status)
          .map(([code]) => code)
          .join(", "),
        content: { "application/problem+json": { schema: ProblemSchema } },
      },
    ]),
  );
}

export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

/** A required JSON request body, for the OpenAPI route definitions. */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

export const MessageStatusSchema = z.enum(MESSAGE_STATUSES);
export const MessageTypeSchema = z.enum(["transactional", "promotional", "otp"]);
export const Money = z
  .string()
  .regex(/^-?\d+\.\d{4,6}$/)
  .openapi({ example: "0.0079" });

/** A person's number in a path (`/v1/opt-outs/{phone}`…): `+` URL-encoded. */
export const PhoneParam = z.object({
  phone: z
    .string()
    .min(1)
    .max(32)
    .openapi({ description: "E.164, URL-encoded (`%2B14155550100`)", example: "%2B14155550100" }),
});

/** Fields that a single send and a bulk send share. */
export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[\x21-\x7e]+$/)
  .optional();

/**
 * The Idempotency-Key header with a hash of the raw body it guards: a replay must carry the
 * same body, or it is refused (idempotency_key_reused).
 */
export async function idempotencyOf(request: { text(): Promise<string> }, key: string | undefined) {
  return key ? { key, requestHash: await sha256Hex(await request.text()) } : null;
}

export const TemplateVariables = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.string().max(1000))
  .optional();

export const TemplateLocale = z
  .string()
  .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?$/)
  .optional();

export const Metadata = z
  .record(z.string().max(40), z.string().max(500))
  .refine((m) => Object.keys(m).length <= 20, "at most 20 keys")
  .optional();

export const SenderValue = z
  .string()
  .regex(
    /^(\+[1-9]\d{6,14}|[A-Za-z0-9 ]{1,11}|MG[0-9a-fA-F]{32})$/,
    "an E.164 number, a short code, an alphanumeric sender ID or a messaging service",
  )
  .optional();

export const Dlt = z
  .object({
    entity_id: z.string().min(1).max(50),
    template_id: z.string().min(1).max(50).optional(),
  })
  .strict()
  .optional();

/** The fields a single send and a bulk send share, as the send services name them. */
export function sharedSendFields(input: {
  send_at?: string | undefined;
  valid_until?: string | undefined;
  validity_seconds?: number | undefined;
  smart_encoding?: boolean | undefined;
  dlt?: z.infer<typeof Dlt>;
}) {
  return {
    sendAt: input.send_at ? new Date(input.send_at) : undefined,
    validUntil: input.valid_until ? new Date(input.valid_until) : undefined,
    validitySeconds: input.validity_seconds,
    smartEncoding: input.smart_encoding,
    dlt: input.dlt && { entityId: input.dlt.entity_id, templateId: input.dlt.template_id },
  };
}
