// The benchmark's floor: a bare Worker route doing the minimal I/O an accepted
// message needs (one Redis call, one Postgres insert) through the same drivers
// and the same per-request pool as the gateway, and nothing else.
import { neonConfig, Pool } from "@neondatabase/serverless";
import { Redis } from "@upstash/redis/cloudflare";

interface FloorEnv {
  DATABASE_URL: string;
  NEON_WS_PROXY?: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
}

export default {
  async fetch(_request, env, ctx) {
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
      const id = crypto.randomUUID();
      await pool.query("insert into bench_floor (id, created_at) values ($1, now())", [id]);
      return Response.json({ id }, { status: 202 });
    } finally {
      ctx.waitUntil(pool.end());
    }
  },
} satisfies ExportedHandler<FloorEnv>;
