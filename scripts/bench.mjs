#!/usr/bin/env node
// `npm run bench`: throughput and latency of the real stack, each next to a
// reference measured in the same run.
//   1. POST /v1/messages (test key, 202) vs a floor: a bare Worker route doing
//      one Redis call and one Postgres insert through the same drivers.
//   2. The dispatch path with `Prefer: wait` (the answer comes after the
//      provider hand-off): live keys through routing, SigV4/Basic signing and
//      the real provider clients against fake providers that answer at once,
//      vs the sandbox provider.
//   3. Bulk (scripts/bench/bulk.mjs): one 10,000-recipient request vs its floor, and the
//      dispatch through the queues, with the workerd process's CPU time and peak memory.
// Env: BENCH_SECONDS (10), BENCH_CONCURRENCY (16).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { benchBulk } from "./bench/bulk.mjs";
import { startFakeProviders } from "./fakes/index.mjs";
import { startStack } from "./stack/index.mjs";
import { freePort } from "./stack/net.mjs";
import { newPiiKeys, startWranglerDev, waitForOk, writeEnvFile } from "./wrangler-dev.mjs";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);
const dataDir = mkdtempSync(join(tmpdir(), "sms-gateway-bench-"));
const log = (line) => console.log(`[bench] ${line}`);
const adminToken = "bench-admin-token-0123456789";

const stack = await startStack({ dataDir, log });
const stops = [stack.stop];

/** Runs the load generator in its own process, so it does not share the stack's event loop. */
const load = (target, secs) =>
  new Promise((resolve, reject) => {
    const script = new URL("./bench/load.mjs", import.meta.url).pathname;
    const options = JSON.stringify({ ...target, concurrency, seconds: secs });
    const child = spawn(process.execPath, [script, options], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.on("exit", (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load exited ${code}`)),
    );
  });

/** Every quota the bench meets, far above what it sends: the limits are checked, never hit. */
const UNREACHED = { perMinute: 100_000_000, perHour: 100_000_000, perDay: 100_000_000 };

async function tenantKey(appUrl, mode) {
  const headers = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
  const response = await fetch(`${appUrl}/v1/admin/tenants`, {
    method: "POST",
    headers,
    body: JSON.stringify({ name: `bench ${mode}`, api_key: { mode } }),
  });
  const tenant = await response.json();
  const limits = await fetch(`${appUrl}/v1/admin/tenants/${tenant.id}/limits`, {
    method: "PUT",
    headers,
    body: JSON.stringify({
      limits: {
        key: UNREACHED,
        perDestination: UNREACHED,
        perCountry: UNREACHED,
        pumping: { maxPerBucket: UNREACHED.perDay },
      },
    }),
  });
  if (limits.status !== 204) throw new Error(`bench limits: ${await limits.text()}`);
  return tenant.api_key.key;
}

const sendTo = (appUrl, key, to, extraHeaders = {}, expect = 202) => ({
  url: `${appUrl}/v1/messages`,
  headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...extraHeaders },
  body: JSON.stringify({ to, body: "Benchmark message" }),
  expect,
});

const row = (name, r) =>
  `| ${name.padEnd(48)} | ${r.rps.toFixed(0).padStart(6)} | ${r.p50.toFixed(1).padStart(7)} | ${r.p99.toFixed(1).padStart(7)} | ${String(r.errors).padStart(6)} |`;
const header = `| ${"target".padEnd(48)} | req/s  | p50 ms  | p99 ms  | errors |
|${"-".repeat(50)}|-------:|--------:|--------:|-------:|`;

try {
  const db = new pg.Client({ connectionString: stack.databaseUrl });
  await db.connect();
  await db.query(
    "create table if not exists bench_floor (id text primary key, created_at timestamptz)",
  );
  await db.end();

  const providers = await startFakeProviders();
  stops.push(providers.stop);
  const envFile = join(dataDir, "bench.vars");
  writeEnvFile(envFile, {
    DATABASE_URL: stack.databaseUrl,
    NEON_WS_PROXY: stack.neonWsProxy,
    UPSTASH_REDIS_REST_URL: stack.redisRestUrl,
    UPSTASH_REDIS_REST_TOKEN: stack.redisRestToken,
    ADMIN_TOKEN: adminToken,
    // The machinery's own throughput: send rates and spend caps out of the way.
    SEND_RATE_POLICY: JSON.stringify({ perSender: 100_000, defaultPerProvider: 100_000 }),
    BUDGET_POLICY: JSON.stringify({ daily: "100000000", monthly: "100000000" }),
    ...newPiiKeys(),
    ...providers.workerEnv,
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
  const bare = { url: `http://127.0.0.1:${floorPort}/`, headers: {}, body: "", expect: 202 };
  await waitForOk(`${appUrl}/healthz`);
  await waitForOk(bare.url);

  const testKey = await tenantKey(appUrl, "test");
  const liveKey = await tenantKey(appUrl, "live");
  const wait = { prefer: "wait" };
  const targets = {
    floor: bare,
    floorPolicy: { ...bare, url: `${bare.url}policy` },
    accept: sendTo(appUrl, testKey, "+14155550100"),
    sandboxWait: sendTo(appUrl, testKey, "+14155550100", wait, 201),
    awsWait: sendTo(appUrl, liveKey, "+14155550100", wait, 201),
    africasTalkingWait: sendTo(appUrl, liveKey, "+254712345678", wait, 201),
  };

  log(`warming up, then ${seconds}s per target with ${concurrency} concurrent clients`);
  for (const target of Object.values(targets)) await load(target, 2);
  const r = {};
  for (const [name, target] of Object.entries(targets)) {
    r[name] = await load(target, seconds);
    if (r[name].firstError) log(`${name}: ${r[name].errors} errors, first: ${r[name].firstError}`);
  }

  const pct = (a, b) => `${((a / b) * 100).toFixed(0)}%`;
  console.log(`
${header}
${row("floor (1 Redis GET + 1 INSERT)", r.floor)}
${row("floor + the policy step (limits, lists, pumping)", r.floorPolicy)}
${row("POST /v1/messages, test key (202)", r.accept)}
${row("Prefer: wait, sandbox (201)", r.sandboxWait)}
${row("Prefer: wait, live → AWS SNS fake (201)", r.awsWait)}
${row("Prefer: wait, live → Africa's Talking fake (201)", r.africasTalkingWait)}

Policy step: ${pct(r.floorPolicy.rps, r.floor.rps)} of the floor's throughput; p50 +${(r.floorPolicy.p50 - r.floor.p50).toFixed(1)} ms, p99 +${(r.floorPolicy.p99 - r.floor.p99).toFixed(1)} ms.
Accept path: ${pct(r.accept.rps, r.floor.rps)} of the floor's throughput; p50 ${(r.accept.p50 / r.floor.p50).toFixed(2)}x.
Live dispatch (routing + signing + client) vs sandbox dispatch: AWS ${pct(r.awsWait.rps, r.sandboxWait.rps)} of the throughput, p50 ${(r.awsWait.p50 / r.sandboxWait.p50).toFixed(2)}x; Africa's Talking ${pct(r.africasTalkingWait.rps, r.sandboxWait.rps)}, p50 ${(r.africasTalkingWait.p50 / r.sandboxWait.p50).toFixed(2)}x.
Round trips before the response, from Server-Timing (responses: count):`);
  for (const [name, result] of Object.entries(r)) {
    for (const [timing, count] of Object.entries(result.serverTiming)) {
      console.log(`  ${name}: ${timing}: ${count}`);
    }
  }
  console.log(
    `Redis behind the REST endpoint: ${stack.redisKind}; ${seconds}s, ${concurrency} clients.`,
  );
  console.log(
    await benchBulk({
      appUrl,
      floorUrl: bare.url,
      appPid: app.child.pid,
      testKey,
      liveKey,
      log,
    }),
  );
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
}
