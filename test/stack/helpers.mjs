import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Redis } from "@upstash/redis";
import { pingRedis } from "../../scripts/stack/net.mjs";
import { spawnRedisServer, startRedis, startStandIn } from "../../scripts/stack/redis.mjs";
import { startUpstashRest } from "../../scripts/stack/upstash-rest.mjs";

/** A fresh directory under the OS temp dir; `remove()` deletes it. */
export async function tempDir(prefix) {
  const dir = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

function onPath(command) {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => {
    try {
      accessSync(path.join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * A Redis backend behind an Upstash REST endpoint that takes `token`: resolves to the endpoint
 * (`rest`), an @upstash/redis client on it (`redis`) and `stop()`, which stops both.
 */
async function overRest(startBackend, token) {
  const backend = await startBackend();
  let rest;
  const stop = async () => {
    await rest?.stop();
    await backend.stop();
  };
  try {
    rest = await startUpstashRest({ client: backend.client, token });
    return { rest, redis: new Redis({ url: rest.url, token }), stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * The Redis backends to test the REST endpoint against, each `start(token)`ed behind its own
 * endpoint (see overRest). The real one is preferably a private redis-server from PATH, else what
 * startRedis finds ($REDIS_URL or 127.0.0.1:6379, shared: tests use random key prefixes there);
 * `unavailable` says why its tests are skipped when there is no real Redis anywhere.
 */
export async function redisBackends() {
  const spawnable = onPath("redis-server");
  // startRedis would hand out the stand-in when it is forced.
  const reachable =
    process.env.REDIS_STAND_IN !== "1" &&
    (Boolean(process.env.REDIS_URL) || (await pingRedis(6379)));
  return [
    {
      name: "real Redis",
      unavailable:
        spawnable || reachable
          ? null
          : "needs a Redis: none found (no redis-server on PATH, no REDIS_URL, nothing on 6379)",
      start: (token) =>
        overRest(() => (spawnable ? spawnRedisServer() : startRedis({ log: () => {} })), token),
    },
    { name: "the stand-in", unavailable: null, start: (token) => overRest(startStandIn, token) },
  ];
}
