import { createHash } from "node:crypto";

/*
 * Upstash accepts a Lua script flag that Redis does not: `#!lua flags=allow-key-locking` (Upstash
 * then locks only the keys in KEYS). @upstash/ratelimit 2.x puts it on its scripts, and Redis 7
 * answers "ERR Unexpected flag in script shebang". So scripts lose that flag on their way to Redis.
 * Their SHA1 changes with it, while clients send EVALSHA with the SHA1 of the text they sent, so
 * the translation remembers which client SHA1 stands for which Redis SHA1.
 */

const UPSTASH_ONLY_FLAGS = new Set(["allow-key-locking"]);

const sha1 = (text) => createHash("sha1").update(text).digest("hex");

function withoutUpstashFlags(script) {
  return script.replace(/^(#!lua\b[^\n]*?)\s*flags=(\S*)/, (_, shebang, flags) => {
    const kept = flags.split(",").filter((flag) => !UPSTASH_ONLY_FLAGS.has(flag));
    return kept.length > 0 ? `${shebang} flags=${kept.join(",")}` : shebang;
  });
}

/**
 * @returns {(command: string[]) => { command: string[], reply?: Buffer }} rewrites one command
 *   (name upper-cased); `reply`, when set, replaces what Redis answers
 */
export function createScriptTranslator() {
  /** @type {Map<string, string>} client SHA1 → Redis SHA1, for rewritten scripts only */
  const redisShas = new Map();
  const script = (text) => {
    const rewritten = withoutUpstashFlags(text);
    if (rewritten !== text) redisShas.set(sha1(text), sha1(rewritten));
    return rewritten;
  };
  const sha = (clientSha) => redisShas.get(clientSha.toLowerCase()) ?? clientSha;

  return ([name, ...args]) => {
    const subcommand = args[0]?.toUpperCase();
    if ((name === "EVAL" || name === "EVAL_RO") && args.length > 0) {
      return { command: [name, script(args[0]), ...args.slice(1)] };
    }
    if ((name === "EVALSHA" || name === "EVALSHA_RO") && args.length > 0) {
      return { command: [name, sha(args[0]), ...args.slice(1)] };
    }
    if (name === "SCRIPT" && subcommand === "LOAD" && args.length === 2) {
      // The client expects the SHA1 of its own text back.
      return { command: [name, args[0], script(args[1])], reply: Buffer.from(sha1(args[1])) };
    }
    if (name === "SCRIPT" && subcommand === "EXISTS") {
      return { command: [name, args[0], ...args.slice(1).map(sha)] };
    }
    return { command: [name, ...args] };
  };
}
