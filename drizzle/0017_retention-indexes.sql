CREATE INDEX "inbound_body_retention_idx" ON "inbound_messages" USING btree ("received_at") WHERE body_sealed is not null;--> statement-breakpoint
CREATE INDEX "messages_reserved_idx" ON "messages" USING btree ("reserved_at") WHERE reserved_at is not null;--> statement-breakpoint
CREATE INDEX "unmatched_receipts_received_idx" ON "unmatched_receipts" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "webhook_deliveries_finished_idx" ON "webhook_deliveries" USING btree ("created_at") WHERE status in ('delivered', 'dead');