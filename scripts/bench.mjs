#!/usr/bin/env node
// `npm run bench`: throughput and latency of POST /v1/messages (test key,
// sandbox provider) on the real local stack, next to a floor measured in the
// same run: a bare Worker route doing one Redis call and one Postgres insert
// through the same drivers. Env: BENCH_SECONDS (10), BENCH_CONCURRENCY (16).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { startStack } from "./stack/index.mjs";
import { freePort } from "./stack/net.mjs";
import { startWranglerDev, waitForOk, writeEnvFile } from "./wrangler-dev.mjs";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const dataDir = mkdtempSync(join(tmpdir(), "sms-gateway-bench-"));
const log = (line) => console.log(`[bench] ${line}`);

const stack = await startStack({ dataDir, log });
const stops = [stack.stop];
try {
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  await db.query(
    "create table if not exists bench_floor (id text primary key, created_at timestamptz)",
  );
  await db.end();

  const adminToken = "bench-admin-token-0123456789";
  const envFile = join(dataDir, "bench.vars");
  writeEnvFile(envFile, {
    DATABASE_URL: stack.databaseUrl,
    NEON_WS_PROXY: stack.neonWsProxy,
    UPSTASH_REDIS_REST_URL: stack.redisRestUrl,
    UPSTASH_REDIS_REST_TOKEN: stack.redisRestToken,
    ADMIN_TOKEN: adminToken,
  });
  const [appPort, floorPort] = [await freePort(), await freePort()];
  const persist = ["--persist-to", join(dataDir, "wrangler")];
  const app = startWranglerDev({
    port: appPort,
    inspectorPort: await freePort(),
    envFile,
    args: persist,
    quiet: true,
  });
  stops.push(app.stop);
  const floor = startWranglerDev({
    port: floorPort,
    inspectorPort: await freePort(),
    envFile,
    config: "scripts/bench/floor.wrangler.toml",
    args: persist,
    quiet: true,
  });
  stops.push(floor.stop);
  const appUrl = `http://127.0.0.1:${appPort}`;
  await waitForOk(`${appUrl}/healthz`);

  const tenant = await fetch(`${appUrl}/v1/admin/tenants`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench" }),
  }).then((r) => r.json());
  const send = {
    url: `${appUrl}/v1/messages`,
    headers: { authorization: `Bearer ${tenant.api_key.key}`, "content-type": "application/json" },
    body: JSON.stringify({ to: "+14155550100", body: "Benchmark message" }),
  };
  const bare = { url: `http://127.0.0.1:${floorPort}/`, headers: {}, body: "" };
  await waitForOk(bare.url);

  const load = (target, secs) =>
    new Promise((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          new URL("./bench/load.mjs", import.meta.url).pathname,
          JSON.stringify({ ...target, concurrency, seconds: secs }),
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      let out = "";
      child.stdout.on("data", (chunk) => {
        out += chunk;
      });
      child.on("exit", (code) =>
        code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`)),
      );
    });

  log(`warming up, then ${seconds}s per target with ${concurrency} concurrent clients`);
  await load(bare, 2);
  await load(send, 2);
  const floorResult = await load(bare, seconds);
  const appResult = await load(send, seconds);

  const row = (name, r) =>
    `| ${name.padEnd(34)} | ${r.rps.toFixed(0).padStart(8)} | ${r.p50.toFixed(1).padStart(7)} | ${r.p99.toFixed(1).padStart(7)} | ${String(r.errors).padStart(6)} |`;
  console.log(`
| target                             |  req/s   | p50 ms  | p99 ms  | errors |
|------------------------------------|---------:|--------:|--------:|-------:|
${row("floor (1 Redis GET + 1 INSERT)", floorResult)}
${row("POST /v1/messages (202)", appResult)}

POST /v1/messages throughput is ${((appResult.rps / floorResult.rps) * 100).toFixed(0)}% of the floor; p50 latency ${(appResult.p50 / floorResult.p50).toFixed(2)}x.
Round trips before the response, from Server-Timing (responses: count):`);
  for (const [timing, count] of Object.entries(appResult.serverTiming)) {
    console.log(`  ${timing}: ${count}`);
  }
  console.log(
    `Redis behind the REST endpoint: ${stack.redisKind}; ${seconds}s, ${concurrency} clients.`,
  );
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
}
