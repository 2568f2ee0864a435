import { neonConfig, Pool } from "@neondatabase/serverless";
import { drizzle, type NeonDatabase } from "drizzle-orm/neon-serverless";
import type { IoMeter } from "../lib/io-meter";
import * as schema from "./schema";

export type Db = NeonDatabase<typeof schema>;

export interface DbHandle {
  db: Db;
  /** Ends the pool's connections; call once the request's background work is done. */
  close(): Promise<void>;
}

/**
 * One pool per request (Workers cannot share sockets across requests). The
 * Neon driver speaks the Postgres protocol over a WebSocket; in production the
 * socket goes to Neon's proxy, locally to our WebSocket-to-TCP bridge.
 */
export function openDb(databaseUrl: string, wsProxy: string | undefined, meter: IoMeter): DbHandle {
  if (wsProxy) {
    neonConfig.wsProxy = (host, port) => `${wsProxy}?address=${host}:${port}`;
    neonConfig.useSecureWebSocket = false;
  }
  // Cleartext password in the first flight (over TLS in production) saves a
  // round trip on every connection: Neon's documented fast path.
  neonConfig.pipelineConnect = "password";
  // Idle connections close quickly: background work (a sandbox receipt's delay,
  // a retry) must not hold a Postgres connection while it waits.
  const pool = new Pool({ connectionString: databaseUrl, max: 3, idleTimeoutMillis: 100 });
  pool.on("connect", () => {
    meter.dbConnections++;
  });
  const db = drizzle({
    client: pool,
    schema,
    logger: {
      logQuery: () => {
        meter.dbQueries++;
      },
    },
  });
  return { db, close: () => pool.end() };
}
