import { existsSync } from "node:fs";
import path from "node:path";
import { neonConfig, Pool } from "@neondatabase/serverless";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { startStack } from "../../scripts/stack/index.mjs";
import { tempDir } from "./helpers.mjs";

describe("startStack", () => {
  let temp;

  beforeAll(async () => {
    vi.stubEnv("DATABASE_URL", "");
    vi.stubEnv("PG_PORT", "");
    vi.stubEnv("UPSTASH_REDIS_REST_TOKEN", "");
    // The stand-in is the one backend every machine has.
    vi.stubEnv("REDIS_STAND_IN", "1");
    temp = await tempDir("stack");
  });
  afterAll(async () => {
    await temp?.remove();
    vi.unstubAllEnvs();
  });

  it("starts everything the production drivers need, twice on the same data", async () => {
    for (let run = 0; run < 2; run++) {
      const stack = await startStack({ dataDir: temp.dir, log: () => {} });
      try {
        expect(stack.redisKind).toBe("stand-in");
        expect(stack.redisRestToken.length).toBeGreaterThanOrEqual(32);

        neonConfig.webSocketConstructor = WebSocket;
        neonConfig.wsProxy = (host, port) => `${stack.neonWsProxy}?address=${host}:${port}`;
        neonConfig.useSecureWebSocket = false;
        neonConfig.pipelineConnect = "password";
        const pool = new Pool({ connectionString: stack.databaseUrl });
        expect((await pool.query("select current_database() as db")).rows).toEqual([
          { db: "sms_gateway" },
        ]);
        await pool.end();

        const redis = new Redis({ url: stack.redisRestUrl, token: stack.redisRestToken });
        expect(await redis.incr("runs")).toBe(1);
      } finally {
        await stack.stop();
        await stack.stop();
      }
    }
    expect(existsSync(path.join(temp.dir, "postgres", "postmaster.pid"))).toBe(false);
  });

  it("stops what it started when a later part fails", async () => {
    const failingLog = (line) => {
      if (line.includes("STAND-IN")) throw new Error("log sink broke");
    };
    await expect(startStack({ dataDir: temp.dir, log: failingLog })).rejects.toThrow(
      "log sink broke",
    );
    // PostgreSQL had started (and was stopped): no postmaster owns the directory any more.
    expect(existsSync(path.join(temp.dir, "postgres", "postmaster.pid"))).toBe(false);
  });
});
