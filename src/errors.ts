import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The closed list of problem codes. Every error the API returns carries one of
 * these; the OpenAPI document lists them, so clients can switch on `code`.
 */
export const ERROR_CODES = {
  malformed_request: { status: 400, title: "Malformed request" },
  unsupported_media_type: { status: 415, title: "Unsupported media type" },
  payload_too_large: { status: 413, title: "Payload too large" },
  validation_failed: { status: 422, title: "Validation failed" },
  invalid_phone_number: { status: 422, title: "Invalid phone number" },
  sender_not_allowed: { status: 422, title: "Sender not allowed" },
  webhook_url_not_allowed: { status: 422, title: "Webhook URL not allowed" },
  recipient_opted_out: { status: 422, title: "Recipient opted out" },
  consent_required: { status: 422, title: "Consent required" },
  duplicate_recipient: { status: 422, title: "Recipient already in the batch" },
  rate_limited: { status: 429, title: "Rate limit reached" },
  pumping_suspected: { status: 429, title: "Number range temporarily blocked" },
  otp_cooldown: { status: 429, title: "A code was just sent" },
  destination_not_allowed: { status: 422, title: "Destination country not allowed" },
  recipient_blocked: { status: 422, title: "Recipient blocked" },
  budget_exceeded: { status: 422, title: "Spend cap reached" },
  body_too_long: { status: 422, title: "Body too long" },
  too_many_segments: { status: 422, title: "Too many segments" },
  control_characters: { status: 422, title: "Control or hidden characters in the body" },
  too_many_urls: { status: 422, title: "Too many links" },
  url_shortener: { status: 422, title: "Link shortener not allowed" },
  spam_pattern: { status: 422, title: "Body matches a spam pattern" },
  unauthorized: { status: 401, title: "Unauthorized" },
  api_key_expired: { status: 401, title: "API key expired" },
  api_key_revoked: { status: 401, title: "API key revoked" },
  insufficient_scope: { status: 403, title: "Insufficient scope" },
  webhook_not_authenticated: { status: 403, title: "Webhook authentication failed" },
  not_found: { status: 404, title: "Not found" },
  idempotency_key_reused: { status: 422, title: "Idempotency key reused" },
  idempotency_request_in_progress: { status: 409, title: "Idempotent request in progress" },
  sender_conflict: { status: 409, title: "Sender already registered" },
  message_not_cancelable: { status: 409, title: "Message cannot be canceled" },
  no_provider_available: { status: 503, title: "No provider available" },
  encryption_unavailable: { status: 503, title: "Encryption key not configured" },
  internal_error: { status: 500, title: "Internal error" },
} as const satisfies Record<string, { status: ContentfulStatusCode; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface FieldError {
  path: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: ContentfulStatusCode;
  override name = "ApiError";

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly errors?: FieldError[],
    /** Response headers the problem comes with (Retry-After, RateLimit-*). */
    readonly headers?: Record<string, string>,
  ) {
    super(detail);
    this.status = ERROR_CODES[code].status;
  }
}

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  request_id: string;
  errors?: FieldError[];
}

export function toProblem(error: ApiError, requestId: string): Problem {
  return {
    type: `https://sms-gateway.dev/problems/${error.code.replaceAll("_", "-")}`,
    title: ERROR_CODES[error.code].title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    request_id: requestId,
    ...(error.errors ? { errors: error.errors } : {}),
  };
}
