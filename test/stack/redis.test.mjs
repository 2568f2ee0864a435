import { afterEach, describe, expect, it, vi } from "vitest";
import { pingRedis } from "../../scripts/stack/net.mjs";
import { spawnRedisServer, startRedis } from "../../scripts/stack/redis.mjs";

describe("startRedis", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("uses the stand-in when REDIS_STAND_IN=1, and says so loudly", async () => {
    vi.stubEnv("REDIS_STAND_IN", "1");
    const lines = [];
    const redis = await startRedis({ log: (line) => lines.push(line) });
    try {
      expect(redis.kind).toBe("stand-in");
      expect(lines.join("\n")).toMatch(/STAND-IN/);
      expect(lines.join("\n").split("\n").length).toBeGreaterThan(3);
      expect(await redis.client.call("PING")).toBe("PONG");
    } finally {
      await redis.stop();
    }
  });

  it("uses REDIS_URL when it is set", async (ctx) => {
    const server = await spawnRedisServer();
    if (!server) ctx.skip();
    const port = server.client.options.port;
    vi.stubEnv("REDIS_URL", `redis://127.0.0.1:${port}`);
    vi.stubEnv("REDIS_STAND_IN", "");
    const redis = await startRedis({ log: () => {} });
    try {
      expect(redis.kind).toBe("external");
      expect(await redis.client.call("PING")).toBe("PONG");
    } finally {
      await redis.stop();
      await server.stop();
    }
    expect(await pingRedis(port)).toBe(false);
  });

  it("spawns redis-server from PATH on a free port, and stop() ends it", async (ctx) => {
    const server = await spawnRedisServer();
    if (!server) ctx.skip();
    const port = server.client.options.port;
    expect(port).not.toBe(6379);
    expect(await pingRedis(port)).toBe(true);
    await server.stop();
    expect(await pingRedis(port)).toBe(false);
  });
});
