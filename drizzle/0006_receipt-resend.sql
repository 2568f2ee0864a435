ALTER TABLE "message_attempts" ADD COLUMN "resend_of" text;--> statement-breakpoint
ALTER TABLE "message_attempts" ADD COLUMN "sender" text;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "resent" boolean DEFAULT false NOT NULL;