import type { Redis } from "@upstash/redis/cloudflare";

/**
 * A Lua script run with EVALSHA (falling back to EVAL the first time a Redis has not seen it).
 * The SHA is computed once per isolate, before any command is issued, so that a script call
 * can join an auto-pipeline with the commands issued in the same tick (@upstash/redis's
 * `createScript` hashes lazily, which would push the call into a later pipeline).
 */
export interface LuaScript<T> {
  /** Resolves once the SHA is known; then `run` issues its command synchronously. */
  ready(): Promise<void>;
  run(redis: Redis, keys: string[], args: string[]): Promise<T>;
}

async function sha1Hex(text: string): Promise<string> {
  const hash = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function luaScript<T>(source: string): LuaScript<T> {
  let sha: string | undefined;
  let hashing: Promise<void> | undefined;
  return {
    ready() {
      if (!hashing) {
        hashing = sha1Hex(source).then((hex) => {
          sha = hex;
        });
      }
      return hashing;
    },
    run(redis, keys, args) {
      if (!sha) throw new Error("await ready() before run()");
      return redis.evalsha<string[], T>(sha, keys, args).catch((error: unknown) => {
        if (!String(error).toLowerCase().includes("noscript")) throw error;
        return redis.eval<string[], T>(source, keys, args);
      });
    },
  };
}
