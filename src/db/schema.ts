import { relations, sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const tenants = pgTable("tenants", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** The tenant's own routing policy document; the deployment's applies when null. */
  routingPolicy: jsonb("routing_policy"),
  /** Answer to HELP/INFO; a default applies when null. */
  helpText: text("help_text"),
  /** Confirmation sent after STOP when the provider does not answer keywords itself. */
  stopConfirmationText: text("stop_confirmation_text"),
  // --- compliance: consent and opt-out ---
  /** Promotional messages need marketing consent on record (POST /v1/consents). */
  requireMarketingConsent: boolean("require_marketing_consent").notNull().default(true),
  /** Appended to every promotional message; a default applies when null. */
  optOutFooter: text("opt_out_footer"),
  // --- end compliance ---
  createdAt: ts("created_at").notNull(),
});

export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** SHA-256 of the key: keys are high-entropy, so a fast hash is enough. */
    hash: text("hash").notNull(),
    /** First characters of the key, to tell keys apart in listings. */
    prefix: text("prefix").notNull(),
    mode: text("mode", { enum: ["test", "live"] }).notNull(),
    scopes: text("scopes").array().notNull(),
    expiresAt: ts("expires_at"),
    revokedAt: ts("revoked_at"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [uniqueIndex("api_keys_hash_idx").on(t.hash), index("api_keys_tenant_idx").on(t.tenantId)],
);

export const messages = pgTable(
  "messages",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    /** The key that sent it; null for messages the gateway sends itself (a STOP confirmation). */
    apiKeyId: text("api_key_id"),
    mode: text("mode", { enum: ["test", "live"] }).notNull(),
    to: text("to_e164").notNull(),
    country: text("country").notNull(),
    from: text("from_sender"),
    body: text("body").notNull(),
    type: text("type", { enum: ["transactional", "promotional", "otp"] }).notNull(),
    encoding: text("encoding", { enum: ["GSM-7", "UCS-2"] }).notNull(),
    segments: integer("segments").notNull(),
    estimatedCostMicros: bigint("estimated_cost_micros", { mode: "number" }).notNull(),
    currency: text("currency").notNull(),
    metadata: jsonb("metadata").$type<Record<string, string>>(),
    status: text("status").notNull(),
    statusReason: text("status_reason"),
    provider: text("provider"),
    providerMessageId: text("provider_message_id"),
    /**
     * Where dispatch stands, apart from the public status: `pending` (claimable
     * once next_attempt_at passes), `claimed` (a worker holds the lease),
     * `unknown` (an attempt's outcome is unknown: never re-sent blindly), `done`.
     */
    dispatchState: text("dispatch_state", { enum: ["pending", "claimed", "unknown", "done"] })
      .notNull()
      .default("pending"),
    attemptCount: integer("attempt_count").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull(),
    leaseUntil: ts("lease_until"),
    /** After this the message is worthless (e.g. an OTP): providers get it as validity / TTL. */
    deadlineAt: ts("deadline_at"),
    /** When a scheduled message (quiet hours, `send_at`) may go out. */
    scheduledFor: ts("scheduled_for"),
    /** The recipient's time zone the request gave, instead of the number's. */
    recipientTimeZone: text("recipient_time_zone"),
    /**
     * Set only by the gateway for the one STOP confirmation: the database refuses every
     * other message to an opted-out number (trigger in drizzle/0005).
     */
    optOutExempt: boolean("opt_out_exempt").notNull().default(false),
    /** India DLT registration for this message (entity and template ids), when required. */
    dlt: jsonb("dlt").$type<{ entityId: string; templateId: string }>(),
    /** A provider the request pinned (routing then uses only it). */
    pinnedProvider: text("pinned_provider"),
    /** Start of the current dispatch round: attempts since then are this round's (no provider twice). */
    roundStartedAt: ts("round_started_at").notNull(),
    /** Completed rounds that ended in a retry: drives the backoff. */
    retryRound: integer("retry_round").notNull().default(0),
    /** Whether a failed receipt already triggered the one re-send through another provider. */
    resent: boolean("resent").notNull().default(false),
    /** An unknown outcome waits for a receipt until then, and then fails. */
    outcomeDeadlineAt: ts("outcome_deadline_at"),
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash"),
    /** The response first given for an idempotent request; null while it is in flight. */
    responseStatus: integer("response_status"),
    responseBody: jsonb("response_body"),
    createdAt: ts("created_at").notNull(),
    updatedAt: ts("updated_at").notNull(),
    completedAt: ts("completed_at"),
  },
  (t) => [
    uniqueIndex("messages_idempotency_idx").on(t.tenantId, t.idempotencyKey),
    index("messages_tenant_list_idx").on(t.tenantId, t.id),
    index("messages_due_idx")
      .on(t.nextAttemptAt)
      .where(sql`dispatch_state in ('pending', 'claimed')`),
    index("messages_provider_id_idx").on(t.provider, t.providerMessageId),
  ],
);

/** The tenant's sender register: what it may send from, per provider and country. */
export const senders = pgTable(
  "senders",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    provider: text("provider").notNull(),
    kind: text("kind", {
      enum: ["phone", "short_code", "alphanumeric", "messaging_service"],
    }).notNull(),
    value: text("value").notNull(),
    /** ISO country codes it may send to; empty means any. */
    countries: text("countries").array().notNull(),
    /**
     * Whether the provider itself answers STOP/HELP on this sender (Twilio Advanced
     * Opt-Out, End User Messaging): then the gateway sends no confirmation of its own.
     */
    providerAnswersKeywords: boolean("provider_answers_keywords").notNull().default(true),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("senders_tenant_value_idx").on(t.tenantId, t.provider, t.kind, t.value),
    // A number or short code belongs to one tenant: inbound messages find their tenant by it.
    uniqueIndex("senders_number_owner_idx")
      .on(t.provider, t.value)
      .where(sql`kind in ('phone', 'short_code')`),
  ],
);

/** A tenant's own provider credentials, AES-GCM encrypted; never returned by the API. */
export const providerCredentials = pgTable(
  "provider_credentials",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    provider: text("provider").notNull(),
    ciphertext: text("ciphertext").notNull(),
    updatedAt: ts("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.provider] })],
);

export const messageAttempts = pgTable(
  "message_attempts",
  {
    id: text("id").primaryKey(),
    messageId: text("message_id")
      .notNull()
      .references(() => messages.id),
    tenantId: text("tenant_id").notNull(),
    provider: text("provider").notNull(),
    startedAt: ts("started_at").notNull(),
    endedAt: ts("ended_at"),
    /** Null while the provider call is in flight (or its isolate died). */
    outcome: text("outcome"),
    providerMessageId: text("provider_message_id"),
    errorCode: text("error_code"),
    errorMessage: text("error_message"),
    costMicros: bigint("cost_micros", { mode: "number" }),
    currency: text("currency"),
    /** The accepted attempt whose failed receipt this attempt re-sends. */
    resendOf: text("resend_of"),
    /** The sender (number, short code, sender ID) this attempt sent from, when one was chosen. */
    sender: text("sender"),
  },
  (t) => [index("message_attempts_message_idx").on(t.messageId)],
);

export const messageEvents = pgTable(
  "message_events",
  {
    id: text("id").primaryKey(),
    messageId: text("message_id")
      .notNull()
      .references(() => messages.id),
    tenantId: text("tenant_id").notNull(),
    status: text("status").notNull(),
    /** False when the state machine ignored it (late, duplicate, out of order). */
    applied: boolean("applied").notNull(),
    source: text("source").notNull(),
    provider: text("provider"),
    providerStatus: text("provider_status"),
    errorCode: text("error_code"),
    /** The provider's identity of this report, so a redelivered webhook is recorded once. */
    providerEventId: text("provider_event_id"),
    occurredAt: ts("occurred_at").notNull(),
    receivedAt: ts("received_at").notNull(),
  },
  (t) => [
    index("message_events_message_idx").on(t.messageId, t.receivedAt),
    uniqueIndex("message_events_provider_event_idx").on(t.provider, t.providerEventId),
  ],
);

/** A receipt that matched no message: kept (the provider stops retrying) and flagged. */
export const unmatchedReceipts = pgTable(
  "unmatched_receipts",
  {
    id: text("id").primaryKey(),
    provider: text("provider").notNull(),
    providerMessageId: text("provider_message_id"),
    /** The message id the receipt claimed, when it carried one. */
    messageIdHint: text("message_id_hint"),
    providerEventId: text("provider_event_id"),
    status: text("status"),
    providerStatus: text("provider_status"),
    errorCode: text("error_code"),
    payload: jsonb("payload").notNull(),
    receivedAt: ts("received_at").notNull(),
  },
  (t) => [uniqueIndex("unmatched_receipts_event_idx").on(t.provider, t.providerEventId)],
);

/** SMS received on one of a tenant's senders. */
export const inboundMessages = pgTable(
  "inbound_messages",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    provider: text("provider").notNull(),
    providerMessageId: text("provider_message_id").notNull(),
    from: text("from_e164").notNull(),
    /** The sender (our number, short code…) it was sent to. */
    to: text("to_sender").notNull(),
    body: text("body").notNull(),
    /** The keyword it was read as: stop, start, help, or null. */
    keyword: text("keyword"),
    /** The latest outbound message to this person from this sender, when there is one. */
    inReplyTo: text("in_reply_to"),
    receivedAt: ts("received_at").notNull(),
  },
  (t) => [
    uniqueIndex("inbound_provider_id_idx").on(t.provider, t.providerMessageId),
    index("inbound_tenant_idx").on(t.tenantId, t.id),
  ],
);

/** People who asked not to be contacted by a tenant (STOP, the API, a provider's opt-out list). */
export const optOuts = pgTable(
  "opt_outs",
  {
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    phone: text("phone_e164").notNull(),
    /** Where it came from: sms (a STOP reply), api, provider (an opted-out error), import, … */
    source: text("source").notNull(),
    /**
     * The channels it covers (sms, email, voice, web, other): all unless narrowed. The SMS
     * guard (trigger, drizzle/0008) refuses a message only when `sms` is among them.
     */
    channels: text("channels")
      .array()
      .notNull()
      .default(sql`'{sms,email,voice,web,other}'::text[]`),
    reason: text("reason"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.phone] })],
);

/**
 * Consent evidence, append-only: a withdrawal is a new row with `withdrawn` set, and the
 * latest row (by `given_at`) for a number and purpose is what holds.
 */
export const consents = pgTable(
  "consents",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    phone: text("phone_e164").notNull(),
    purpose: text("purpose", { enum: ["marketing", "transactional"] }).notNull(),
    method: text("method", { enum: ["web", "sms", "voice", "paper", "other"] }).notNull(),
    withdrawn: boolean("withdrawn").notNull().default(false),
    givenAt: ts("given_at").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
    evidence: text("evidence"),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [index("consents_lookup_idx").on(t.tenantId, t.phone, t.purpose, t.givenAt)],
);

/** A tenant's endpoints for signed event webhooks. */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    tenantId: text("tenant_id")
      .notNull()
      .references(() => tenants.id),
    url: text("url").notNull(),
    eventTypes: text("event_types").array().notNull(),
    /** The Standard Webhooks signing secret (whsec_…), AES-GCM sealed. */
    secretCiphertext: text("secret_ciphertext").notNull(),
    status: text("status", { enum: ["active", "disabled"] }).notNull(),
    disabledReason: text("disabled_reason"),
    /** Deliveries in a row that ended as dead letters; resets on success. */
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    createdAt: ts("created_at").notNull(),
  },
  (t) => [index("webhook_endpoints_tenant_idx").on(t.tenantId)],
);

/** One event for one endpoint: persisted before delivery, retried, then a dead letter. */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    /** Also the `webhook-id` header: stable across retries, for the receiver's deduplication. */
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id),
    tenantId: text("tenant_id").notNull(),
    eventType: text("event_type").notNull(),
    payload: jsonb("payload").notNull(),
    status: text("status", { enum: ["pending", "delivering", "delivered", "dead"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: ts("next_attempt_at").notNull(),
    leaseUntil: ts("lease_until"),
    lastError: text("last_error"),
    createdAt: ts("created_at").notNull(),
    deliveredAt: ts("delivered_at"),
  },
  (t) => [
    index("webhook_deliveries_due_idx")
      .on(t.nextAttemptAt)
      .where(sql`status in ('pending', 'delivering')`),
    index("webhook_deliveries_endpoint_idx").on(t.endpointId, t.createdAt),
  ],
);

export type MessageRow = typeof messages.$inferSelect;
export type AttemptRow = typeof messageAttempts.$inferSelect;
export type EventRow = typeof messageEvents.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type SenderRow = typeof senders.$inferSelect;

export const messagesRelations = relations(messages, ({ many }) => ({
  attempts: many(messageAttempts),
  events: many(messageEvents),
}));

export const messageAttemptsRelations = relations(messageAttempts, ({ one }) => ({
  message: one(messages, { fields: [messageAttempts.messageId], references: [messages.id] }),
}));

export const messageEventsRelations = relations(messageEvents, ({ one }) => ({
  message: one(messages, { fields: [messageEvents.messageId], references: [messages.id] }),
}));
