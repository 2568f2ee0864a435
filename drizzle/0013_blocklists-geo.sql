CREATE TABLE "blocklist_entries" (
	"id" text PRIMARY KEY NOT NULL,
	"tenant_id" text,
	"kind" text NOT NULL,
	"value" text NOT NULL,
	"value_sealed" text,
	"reason" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "allowed_countries" text[];--> statement-breakpoint
CREATE UNIQUE INDEX "blocklist_entries_value_idx" ON "blocklist_entries" USING btree (coalesce("tenant_id", ''),"kind","value");