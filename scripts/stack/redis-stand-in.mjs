import { createHash } from "node:crypto";
import RedisMock from "ioredis-mock";

/*
 * Lua that runs ahead of every script, on the script's first line so that line numbers in error
 * messages stay right. ioredis-mock's Lua VM (fengari) hands array replies to Lua as JS proxies in
 * which a nil element is a JS `null` userdata, whereas Redis gives Lua `false`. Scripts that test
 * `reply[1] == false` (the @upstash/ratelimit token bucket does, on HMGET) then take the wrong
 * branch and do arithmetic on nil. So array replies are copied into plain Lua tables with null
 * turned into false. JS null is the only userdata in a reply that has no `length`. The copy is
 * made by a table constructor because ioredis-mock takes a returned table for an array only when
 * its keys enumerate in the order a constructor inserts them. And a failing redis.call raises the
 * JS error object, which ioredis-mock reports as "null": it is re-raised as its message.
 * The script runs as a function whose result is copied the same way (nested tables too), so a
 * table a script fills by assignment (`t[i] = …`) comes back as an array, as in Redis.
 */
const PRELUDE = `
  local __call, __pcall = redis.call, redis.pcall
  local function __isnull(v) return type(v) == "userdata" and not pcall(function() return v.length end) end
  local function __table(reply)
    if type(reply) ~= "userdata" then return reply end
    local n, t = #reply, {}
    for i = 1, n do
      local v = reply[i]
      if __isnull(v) then v = false end
      t[i] = v
    end
    return {table.unpack(t, 1, n)}
  end
  redis.call = function(...)
    local ok, reply = pcall(__call, ...)
    if not ok then error(tostring(reply), 2) end
    return __table(reply)
  end
  redis.pcall = function(...) return __table(__pcall(...)) end
  local function __reply(v)
    if type(v) ~= "table" or v.err or v.ok then return v end
    local n, t = #v, {}
    for i = 1, n do t[i] = __reply(v[i]) end
    return {table.unpack(t, 1, n)}
  end
`.replace(/\s*\n\s*/g, " ");

let instances = 0;

const sha1 = (text) => createHash("sha1").update(text).digest("hex");

/** Lua return value to Redis reply, as Redis converts it: integers, true → 1, false → nil. */
function luaToReply(value) {
  if (Array.isArray(value)) return value.map(luaToReply);
  if (typeof value === "number") return Math.trunc(value);
  if (value === true) return 1;
  if (value === false || value === undefined) return null;
  return value;
}

/** ioredis-mock answers some commands (HGETALL) with an object; the wire format is a flat array. */
function wireReply(value) {
  if (value && typeof value === "object" && !Array.isArray(value) && !Buffer.isBuffer(value)) {
    return Object.entries(value).flat();
  }
  return value;
}

function toBuffers(value) {
  if (typeof value === "string") return Buffer.from(value);
  if (Array.isArray(value)) return value.map(toBuffers);
  return value;
}

/**
 * An in-process Redis stand-in on ioredis-mock, with the subset of the ioredis API the stack uses:
 * `call`, `callBuffer`, `multi().callBuffer(...).exec()` and `quit`. Scripts are keyed by the SHA1
 * of the text the client sent (before the prelude is added), so EVALSHA with a client-computed hash
 * finds a script loaded by EVAL or SCRIPT LOAD, and an unknown hash gets NOSCRIPT as in Redis.
 */
export function createStandInClient() {
  instances += 1;
  // ioredis-mock shares one keyspace between instances with the same host:port.
  const mock = new RedisMock({ host: "stand-in", port: instances, lazyConnect: false });
  /** @type {Map<string, string>} */
  const scripts = new Map();

  const remember = (script) => {
    const sha = sha1(script);
    scripts.set(sha, script);
    return sha;
  };
  const runScript = (script, args) =>
    mock
      .eval(
        `${PRELUDE} return __reply((function() ${script.replace(/^#!.*/, "")}\nend)())`,
        ...args,
      )
      .then(luaToReply);

  function dispatch(name, args) {
    switch (name) {
      case "eval":
        remember(args[0]);
        return runScript(args[0], args.slice(1));
      case "evalsha": {
        const script = scripts.get(args[0]?.toLowerCase());
        if (!script) throw new Error("NOSCRIPT No matching script. Please use EVAL.");
        return runScript(script, args.slice(1));
      }
      case "script":
        return scriptCommand(args[0]?.toLowerCase(), args.slice(1));
      case "set":
        // Redis takes SET's options (EX, NX…) in any case and @upstash/redis sends them in lower
        // case; ioredis-mock only knows upper case and would silently drop the expiry.
        return mock.set(
          args[0],
          args[1],
          ...args.slice(2).map((a) => (/^[a-z]+$/i.test(a) ? a.toUpperCase() : a)),
        );
      default:
        // Commands are own properties of the mock; its prototype holds helpers such as disconnect.
        if (!Object.hasOwn(mock, name) || typeof mock[name] !== "function") {
          throw new Error(`ERR unknown command '${name}'`);
        }
        return mock[name](...args);
    }
  }

  function scriptCommand(sub, args) {
    switch (sub) {
      case "load":
        return remember(args[0]);
      case "exists":
        return args.map((sha) => (scripts.has(sha.toLowerCase()) ? 1 : 0));
      case "flush":
        scripts.clear();
        return "OK";
      default:
        throw new Error(`ERR unknown subcommand '${sub}'`);
    }
  }

  /** Starts the command synchronously: the mock executes it before the returned promise settles. */
  function call(name, ...args) {
    try {
      const result = dispatch(String(name).toLowerCase(), args.map(String));
      return Promise.resolve(result).then(wireReply);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  const client = {
    call,
    callBuffer: (name, ...args) => call(name, ...args).then(toBuffers),
    multi() {
      const queued = [];
      const transaction = {
        callBuffer(...command) {
          queued.push(command);
          return transaction;
        },
        // Every command runs synchronously as it is issued, so nothing can interleave: atomic.
        exec: () =>
          Promise.all(
            queued.map((command) =>
              client.callBuffer(...command).then(
                (result) => [null, result],
                (error) => [error],
              ),
            ),
          ),
      };
      return transaction;
    },
    async quit() {
      await mock.flushall();
      mock.disconnect();
      return "OK";
    },
  };
  return client;
}
