import type { FakeServer } from "./common.mjs";

/** Types for webhook-sink.mjs. */

export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  CNAME?: string;
  /** A DNS RCODE to answer instead (2 = SERVFAIL). */
  Status?: number;
}

export declare const DEFAULT_RECORDS: Readonly<Record<string, DnsRecords>>;

export declare function startWebhookSink(options?: { port?: number }): Promise<FakeServer>;

export declare function startFakeDoh(options?: {
  port?: number;
  records?: Record<string, DnsRecords>;
}): Promise<FakeServer>;

export declare function startWebhookFakes(): Promise<{
  sink: FakeServer;
  doh: FakeServer;
  workerEnv: { WEBHOOK_DOH_URL: string; WEBHOOK_ALLOWED_HOSTS: string; WEBHOOK_SINK_URL: string };
  stop(): Promise<unknown>;
}>;
