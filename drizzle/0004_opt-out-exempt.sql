ALTER TABLE "messages" ALTER COLUMN "api_key_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "messages" ADD COLUMN "opt_out_exempt" boolean DEFAULT false NOT NULL;