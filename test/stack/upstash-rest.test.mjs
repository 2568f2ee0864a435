import { createHash, randomUUID } from "node:crypto";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisBackends } from "./helpers.mjs";

const TOKEN = "test-token";
const TEXT = "héllo wörld 🚀 — 日本語";
const sha1 = (text) => createHash("sha1").update(text).digest("hex");

describe.each(await redisBackends())(
  "@upstash/redis over REST on $name",
  ({ unavailable, start }) => {
    if (unavailable) {
      it.skip(unavailable);
      return;
    }

    let rest;
    let redis;
    let stop;
    // Random prefixes: the real backend may be a shared Redis.
    const key = (name) => `test:${randomUUID()}:${name}`;

    beforeAll(async () => {
      ({ rest, redis, stop } = await start(TOKEN));
    });
    afterAll(() => stop?.());

    it("round-trips UTF-8 strings", async () => {
      const k = key("text");
      expect(await redis.set(k, TEXT)).toBe("OK");
      expect(await redis.get(k)).toBe(TEXT);
    });

    it("round-trips JSON values through the client's (de)serialization", async () => {
      const k = key("json");
      const value = { to: "+254712345678", parts: [1, 2], text: TEXT, sent: false };
      await redis.set(k, value);
      expect(await redis.get(k)).toEqual(value);
    });

    it("keeps SET's expiry and NX, as the client sends them (lower case)", async () => {
      const k = key("expiring");
      expect(await redis.set(k, "1", { ex: 900, nx: true })).toBe("OK");
      expect(await redis.set(k, "2", { ex: 900, nx: true })).toBeNull();
      const ttl = await redis.ttl(k);
      expect(ttl).toBeGreaterThan(800);
      expect(ttl).toBeLessThanOrEqual(900);
    });

    it("increments counters", async () => {
      const k = key("counter");
      expect(await redis.incr(k)).toBe(1);
      expect(await redis.incrby(k, 41)).toBe(42);
    });

    it("stores and reads hashes", async () => {
      const k = key("hash");
      expect(await redis.hset(k, { status: "queued", text: TEXT })).toBe(2);
      expect(await redis.hgetall(k)).toEqual({ status: "queued", text: TEXT });
    });

    it("runs pipelines", async () => {
      const k = key("pipeline");
      // ASCII: the stand-in counts UTF-16 units where Redis counts bytes.
      const results = await redis.pipeline().set(k, "sms").append(k, "!").get(k).exec();
      expect(results).toEqual(["OK", 4, "sms!"]);
    });

    it("runs transactions", async () => {
      const k = key("multi");
      const results = await redis.multi().set(k, 1).incr(k).get(k).exec();
      expect(results).toEqual(["OK", 2, 2]);
    });

    it("evaluates Lua with keys, arguments and nested replies", async () => {
      const script = "return {KEYS[1], ARGV[1], 42, {ARGV[2]}}";
      expect(await redis.eval(script, ["k"], [TEXT, "nested"])).toEqual([
        "k",
        TEXT,
        42,
        ["nested"],
      ]);
    });

    it("knows scripts by the SHA1 of the client's text, Upstash-only flag included", async () => {
      const script = "#!lua flags=allow-key-locking\nreturn ARGV[1]";
      await expect(redis.evalsha(sha1(script), [], ["x"])).rejects.toThrow(/NOSCRIPT/);
      expect(await redis.eval(script, [], ["first"])).toBe("first");
      expect(await redis.evalsha(sha1(script), [], ["again"])).toBe("again");

      const loaded = "#!lua flags=allow-key-locking\nreturn 'loaded'";
      expect(await redis.scriptLoad(loaded)).toBe(sha1(loaded));
      expect(await redis.scriptExists(sha1(loaded), sha1("never loaded"))).toEqual([1, 0]);
      expect(await redis.evalsha(sha1(loaded), [], [])).toBe("loaded");
    });

    it("rejects a wrong token", async () => {
      const intruder = new Redis({ url: rest.url, token: "wrong", retry: false });
      await expect(intruder.get(key("any"))).rejects.toThrow(/Unauthorized/);
    });

    it("surfaces command errors", async () => {
      const k = key("string");
      await redis.set(k, "not a list");
      await expect(redis.lpush(k, "item")).rejects.toThrow();
      await expect(redis.eval("error('boom')", [], [])).rejects.toThrow(/boom/);
      // The message of an error raised by redis.call inside a script reaches the client.
      await expect(redis.eval("return redis.call('LPUSH', KEYS[1], 'x')", [k], [])).rejects.toThrow(
        /WRONGTYPE|does not contain a list/,
      );
      expect(await redis.get(k)).toBe("not a list");
    });

    it("speaks the wire format: base64 on request, per-command pipeline errors", async () => {
      const k = key("wire");
      const post = async (path, body, headers = {}) => {
        const response = await fetch(`${rest.url}${path}`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, ...headers },
          body: JSON.stringify(body),
        });
        return { status: response.status, body: await response.json() };
      };
      expect(await post("/", ["SET", k, TEXT])).toEqual({ status: 200, body: { result: "OK" } });
      expect(await post("/", ["GET", k], { "upstash-encoding": "base64" })).toEqual({
        status: 200,
        body: { result: Buffer.from(TEXT).toString("base64") },
      });
      expect(await post("/", ["GET", k])).toEqual({ status: 200, body: { result: TEXT } });

      const pipeline = await post("/pipeline", [
        ["EXISTS", k],
        ["EVAL", "error('boom')", 0],
      ]);
      expect(pipeline.status).toBe(200);
      expect(pipeline.body[0]).toEqual({ result: 1 });
      expect(pipeline.body[1].error).toMatch(/boom/);

      expect((await post("/", ["EVAL", "error('boom')", 0])).status).toBe(400);
      expect((await post("/", ["MULTI"])).status).toBe(400);
      expect((await post("/", "not a command")).status).toBe(400);
    });
  },
);
