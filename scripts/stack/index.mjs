import { randomBytes } from "node:crypto";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { migrate } from "./migrate.mjs";
import { startPostgres } from "./postgres.mjs";
import { startRedis } from "./redis.mjs";
import { startUpstashRest } from "./upstash-rest.mjs";
import { startWsBridge } from "./ws-bridge.mjs";

const DEFAULT_DATA_DIR = fileURLToPath(new URL("../../.local/stack", import.meta.url));

/**
 * @typedef {object} Stack
 * @property {string} databaseUrl postgres://… on 127.0.0.1, migrated
 * @property {string} neonWsProxy "127.0.0.1:PORT/v1", for neonConfig.wsProxy
 * @property {string} redisRestUrl Upstash-compatible REST endpoint
 * @property {string} redisRestToken its bearer token
 * @property {import("./redis.mjs").RedisKind} redisKind what serves Redis behind it
 * @property {() => Promise<void>} stop stops what was started, in reverse order; idempotent
 */

/**
 * Starts the local services that let the production drivers (Neon over WebSocket, Upstash over
 * REST) run unchanged: PostgreSQL (migrated), the WebSocket bridge, Redis and its REST endpoint.
 * @param {{ dataDir?: string, log?: (line: string) => void }} [options]
 * @returns {Promise<Stack>}
 */
export async function startStack({ dataDir = DEFAULT_DATA_DIR, log = console.log } = {}) {
  /** @type {Array<() => Promise<void>>} */
  const stops = [];
  let stopping;
  const stop = () => {
    stopping ??= (async () => {
      const errors = [];
      for (const stopOne of stops.reverse()) await stopOne().catch((error) => errors.push(error));
      if (errors.length > 0) throw errors[0];
    })();
    return stopping;
  };

  try {
    const postgres = await startPostgres({ dataDir: path.join(dataDir, "postgres"), log });
    stops.push(postgres.stop);
    if (!(await migrate(postgres.url))) {
      log("No migrations in ./drizzle yet (npm run db:generate): the database has no tables.");
    }
    const bridge = await startWsBridge();
    stops.push(bridge.stop);
    const redis = await startRedis({ dataDir: path.join(dataDir, "redis"), log });
    stops.push(redis.stop);
    const token = process.env.UPSTASH_REDIS_REST_TOKEN || randomBytes(24).toString("base64url");
    const rest = await startUpstashRest({ client: redis.client, token });
    stops.push(rest.stop);

    return {
      databaseUrl: postgres.url,
      neonWsProxy: bridge.proxy,
      redisRestUrl: rest.url,
      redisRestToken: token,
      redisKind: redis.kind,
      stop,
    };
  } catch (error) {
    await stop().catch(() => {});
    throw error;
  }
}
