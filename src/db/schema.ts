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
    apiKeyId: text("api_key_id").notNull(),
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
    /** India DLT registration for this message (entity and template ids), when required. */
    dlt: jsonb("dlt").$type<{ entityId: string; templateId: string }>(),
    /** A provider the request pinned (routing then uses only it). */
    pinnedProvider: text("pinned_provider"),
    /** Start of the current dispatch round: attempts since then are this round's (no provider twice). */
    roundStartedAt: ts("round_started_at").notNull(),
    /** Completed rounds that ended in a retry: drives the backoff. */
    retryRound: integer("retry_round").notNull().default(0),
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
    occurredAt: ts("occurred_at").notNull(),
    receivedAt: ts("received_at").notNull(),
  },
  (t) => [index("message_events_message_idx").on(t.messageId, t.receivedAt)],
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
