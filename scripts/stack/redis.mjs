import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import os from "node:os";
import Redis from "ioredis";
import { freePort, pingRedis } from "./net.mjs";
import { createStandInClient } from "./redis-stand-in.mjs";

/** @typedef {"external" | "local" | "spawned" | "stand-in"} RedisKind */
/** @typedef {{ client: any, kind: RedisKind, stop: () => Promise<void> }} RedisHandle */

const STAND_IN_WARNING = [
  "Using the IN-PROCESS STAND-IN (ioredis-mock): its Lua VM and commands only",
  "approximate Redis. Rate limiting is tested against it, little else is.",
  "For the real thing: apt-get install redis-server, or set REDIS_URL.",
];

function box(lines) {
  const width = Math.max(...lines.map((line) => line.length));
  const rule = "!".repeat(width + 4);
  return [rule, ...lines.map((line) => `! ${line.padEnd(width)} !`), rule].join("\n");
}

const disconnect = (client) => async () => client.disconnect();

/**
 * Redis for the local stack, first found wins: $REDIS_URL; a Redis answering on 127.0.0.1:6379; a
 * redis-server from PATH that we start; the in-process stand-in. REDIS_STAND_IN=1 forces the latter.
 * @param {{ dataDir?: string, log?: (line: string) => void }} [options]
 * @returns {Promise<RedisHandle>}
 */
export async function startRedis({ dataDir = os.tmpdir(), log = console.log } = {}) {
  const forced = process.env.REDIS_STAND_IN === "1";
  if (!forced) {
    if (process.env.REDIS_URL) {
      const client = new Redis(process.env.REDIS_URL);
      return { client, kind: "external", stop: disconnect(client) };
    }
    if (await pingRedis(6379)) {
      const client = new Redis(6379, "127.0.0.1");
      return { client, kind: "local", stop: disconnect(client) };
    }
    const spawned = await spawnRedisServer({ dataDir });
    if (spawned) return spawned;
  }
  const reason = forced
    ? "REDIS_STAND_IN=1 is set."
    : "No Redis found: REDIS_URL unset, nothing on 127.0.0.1:6379, no redis-server on PATH.";
  log(box([reason, ...STAND_IN_WARNING]));
  return startStandIn();
}

/** @returns {RedisHandle} */
export function startStandIn() {
  const client = createStandInClient();
  return {
    client,
    kind: "stand-in",
    async stop() {
      await client.quit();
    },
  };
}

/**
 * Starts redis-server from PATH on a free port, without persistence.
 * @returns {Promise<RedisHandle | null>} null when there is no redis-server on PATH
 */
export async function spawnRedisServer({ dataDir = os.tmpdir() } = {}) {
  await mkdir(dataDir, { recursive: true });
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  const child = spawn("redis-server", [...args, "--dir", dataDir], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk) => {
    output += chunk;
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  /** @type {{ code?: number | string | null, signal?: string | null } | undefined} */
  let exit;
  const exited = new Promise((resolve) => {
    child.once("error", (error) => resolve({ code: error.code }));
    child.once("exit", (code, signal) => resolve({ code, signal }));
  }).then((value) => {
    exit = value;
  });

  const deadline = Date.now() + 5000;
  while (!exit && !(await pingRedis(port))) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server did not answer on port ${port} within 5 s:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (exit?.code === "ENOENT") return null;
  if (exit) throw new Error(`redis-server exited (${JSON.stringify(exit)}):\n${output}`);

  // Without this, a parent that exits without calling stop() would leave redis-server running.
  const killChild = () => child.kill("SIGKILL");
  process.once("exit", killChild);

  const client = new Redis(port, "127.0.0.1");
  return {
    client,
    kind: "spawned",
    async stop() {
      process.off("exit", killChild);
      client.disconnect();
      if (!exit) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
