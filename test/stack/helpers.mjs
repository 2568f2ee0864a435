import { accessSync, constants } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pingRedis } from "../../scripts/stack/net.mjs";
import { spawnRedisServer, startRedis, startStandIn } from "../../scripts/stack/redis.mjs";

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
 * The Redis backends to test the REST endpoint against. The real one is preferably a private
 * redis-server from PATH, else what startRedis finds ($REDIS_URL or 127.0.0.1:6379, shared: tests
 * use random key prefixes there); it is unavailable when there is no real Redis anywhere.
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
      available: spawnable || reachable,
      start: async () => (spawnable ? spawnRedisServer() : startRedis({ log: () => {} })),
    },
    { name: "the stand-in", available: true, start: async () => startStandIn() },
  ];
}
