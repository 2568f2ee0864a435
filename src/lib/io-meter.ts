/**
 * Counts the network round trips a request makes to Postgres and Redis, so the
 * cost of an endpoint is visible (Server-Timing) and measured by the benchmark
 * rather than guessed.
 */
export interface IoMeter {
  dbConnections: number;
  dbQueries: number;
  kvRequests: number;
  /** Calls to Cloudflare Queues (`sendBatch`). */
  queueSends: number;
}

export const newIoMeter = (): IoMeter => ({
  dbConnections: 0,
  dbQueries: 0,
  kvRequests: 0,
  queueSends: 0,
});

export function serverTiming(meter: IoMeter): string {
  return [
    `db;desc="queries=${meter.dbQueries} connections=${meter.dbConnections}"`,
    `kv;desc="requests=${meter.kvRequests}"`,
    `queue;desc="sends=${meter.queueSends}"`,
  ].join(", ");
}
