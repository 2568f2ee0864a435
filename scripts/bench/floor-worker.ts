// The benchmark's floor: a bare Worker route doing the minimal I/O an accepted
// message needs (one Redis call, one Postgres insert) through the same drivers
// and the same per-request pool as the gateway, and nothing else.
// `/policy` adds the gateway's real policy step (src/services/send-policy.ts: geo,
// blocklists, pumping, every rate limit) in front of the insert, so its cost is
// measured against the floor in the same run.
// `/bulk?n=10000` is the bulk acceptance's floor: one Redis call and one `unnest` INSERT of
// n rows (the same statement shape as the gateway's), through the same drivers.
import { neonConfig, Pool } from "@neondatabase/serverless";
import { Redis } from "@upstash/redis/cloudflare";
import { openScope } from "../../src/context";
import { type Env, loadConfig } from "../../src/env";
import { serverTiming } from "../../src/lib/io-meter";
import { admitSend } from "../../src/services/send-policy";

/** Limits far above what the bench sends: checked on every request, never hit. */
const UNREACHED = { perMinute: 100_000_000, perHour: 100_000_000, perDay: 100_000_000 };

/** The policy step for one send to a fixed number, as the gateway runs it; its Server-Timing. */
async function policyStep(env: Env): Promise<string> {
  const scope = openScope(loadConfig(env), { bench: "policy" });
  const s = scope.services;
  try {
    await admitSend(
      s,
      {
        keyId: "key_bench",
        tenantId: "ten_bench",
        mode: "test",
        scopes: [],
        expiresAt: null,
        rateLimits: {
          key: UNREACHED,
          perDestination: UNREACHED,
          perCountry: UNREACHED,
          pumping: { maxPerBucket: UNREACHED.perDay },
        },
      },
      {
        e164: "+14155550100",
        digests: await s.pii.digests("+14155550100"),
        country: "US",
        type: "transactional",
      },
    );
    return serverTiming(s.io);
  } finally {
    await scope.finished();
  }
}

interface FloorEnv {
  DATABASE_URL: string;
  NEON_WS_PROXY?: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
}

export default {
  async fetch(request, env, ctx) {
    if (env.NEON_WS_PROXY) {
      neonConfig.wsProxy = (host, port) => `${env.NEON_WS_PROXY}?address=${host}:${port}`;
      neonConfig.useSecureWebSocket = false;
    }
    neonConfig.pipelineConnect = "password";
    const pool = new Pool({ connectionString: env.DATABASE_URL, max: 3 });
    const redis = new Redis({
      url: env.UPSTASH_REDIS_REST_URL,
      token: env.UPSTASH_REDIS_REST_TOKEN,
      retry: false,
      enableTelemetry: false,
    });
    try {
      await redis.get("bench:floor");
      const policy =
        new URL(request.url).pathname === "/policy"
          ? await policyStep(env as unknown as Env)
          : undefined;
      const url = new URL(request.url);
      if (url.pathname === "/bulk") {
        const ids = Array.from({ length: Number(url.searchParams.get("n") ?? 1) }, () =>
          crypto.randomUUID(),
        );
        await pool.query(
          "insert into bench_floor (id, created_at) select id, now() from unnest($1::text[]) as id",
          [ids],
        );
        return Response.json({ inserted: ids.length }, { status: 202 });
      }
      const id = crypto.randomUUID();
      await pool.query("insert into bench_floor (id, created_at) values ($1, now())", [id]);
      return Response.json(
        { id },
        { status: 202, headers: policy ? { "Server-Timing": policy } : {} },
      );
    } finally {
      ctx.waitUntil(pool.end());
    }
  },
} satisfies ExportedHandler<FloorEnv>;
