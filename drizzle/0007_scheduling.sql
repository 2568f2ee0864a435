ALTER TABLE "messages" ADD COLUMN "scheduled_for" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "recipient_time_zone" text;