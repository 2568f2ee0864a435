import { createHash, timingSafeEqual } from "node:crypto";
import http from "node:http";
import { createScriptTranslator } from "./upstash-scripts.mjs";

/*
 * The Upstash Redis REST API, as far as @upstash/redis 1.x uses it: POST / with one command as a
 * JSON array, POST /pipeline and POST /multi-exec with an array of them, a bearer token, and
 * `Upstash-Encoding: base64` asking for every string in the result to be base64 (the client sends
 * that by default and decodes it). The client's upstash-sync-token header only matters across
 * Upstash replicas; there is one server here, so it is ignored.
 */

// They would change the state of the one connection that all requests share.
const CONNECTION_COMMANDS = new Set([
  "AUTH",
  "DISCARD",
  "EXEC",
  "HELLO",
  "MONITOR",
  "MULTI",
  "PSUBSCRIBE",
  "PUNSUBSCRIBE",
  "QUIT",
  "RESET",
  "SELECT",
  "SSUBSCRIBE",
  "SUBSCRIBE",
  "SUNSUBSCRIBE",
  "UNSUBSCRIBE",
  "UNWATCH",
  "WATCH",
]);

class RequestError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// Hashing first gives equal lengths, which timingSafeEqual needs.
const digest = (text) => createHash("sha256").update(text).digest();

/** Buffers (bulk and status replies) to strings, recursively; integers and nil stay as they are. */
function encode(value, base64) {
  if (Buffer.isBuffer(value)) return value.toString(base64 ? "base64" : "utf8");
  if (Array.isArray(value)) return value.map((item) => encode(item, base64));
  return value;
}

/** @returns {[string, ...string[]]} the command with its name upper-cased */
function parseCommand(command) {
  const valid =
    Array.isArray(command) &&
    typeof command[0] === "string" &&
    command.every((arg) => ["string", "number", "boolean"].includes(typeof arg));
  if (!valid) throw new RequestError(400, "ERR a command is a JSON array of strings and numbers");
  const [name, ...args] = command.map(String);
  // Upper case also keeps ioredis from reshaping replies (a lower-case hgetall becomes an object).
  const upper = name.toUpperCase();
  if (CONNECTION_COMMANDS.has(upper)) {
    throw new RequestError(400, `ERR ${upper} is not supported over REST`);
  }
  return [upper, ...args];
}

function expectCommandList(body) {
  if (!Array.isArray(body) || body.length === 0) {
    throw new RequestError(400, "ERR expected a non-empty JSON array of commands");
  }
  return body;
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new RequestError(400, "ERR request body is not valid JSON");
  }
}

/**
 * @param {{ client: { callBuffer: Function, multi: Function }, token: string, port?: number }} options
 *   client: ioredis, or anything with its callBuffer/multi API
 * @returns {Promise<{ url: string, token: string, stop: () => Promise<void> }>}
 */
export async function startUpstashRest({ client, token, port = 0 }) {
  const expected = digest(`Bearer ${token}`);
  const translate = createScriptTranslator();

  async function respond(req) {
    if (!timingSafeEqual(digest(req.headers.authorization ?? ""), expected)) {
      throw new RequestError(401, "Unauthorized");
    }
    if (req.method !== "POST") throw new RequestError(405, "ERR only POST is supported");
    const base64 = req.headers["upstash-encoding"] === "base64";
    const execute = async (body) => {
      const { command, reply } = translate(parseCommand(body));
      const result = await client.callBuffer(...command);
      return encode(reply ?? result, base64);
    };
    const path = new URL(req.url, "http://localhost").pathname;
    const body = await readJson(req);

    if (path === "/") {
      const result = await execute(body).catch((error) => {
        throw new RequestError(400, error.message);
      });
      return { result };
    }
    if (path === "/pipeline") {
      // Not atomic, as on Upstash: each command answers on its own.
      return Promise.all(
        expectCommandList(body).map((command) =>
          execute(command).then(
            (result) => ({ result }),
            (error) => ({ error: error.message }),
          ),
        ),
      );
    }
    if (path === "/multi-exec") {
      const translated = expectCommandList(body).map((command) => translate(parseCommand(command)));
      const transaction = client.multi();
      for (const { command } of translated) transaction.callBuffer(...command);
      // exec() rejects when Redis discarded the whole transaction (EXECABORT).
      const replies = await transaction.exec().catch((error) => {
        throw new RequestError(400, error.message);
      });
      return replies.map(([error, result], i) =>
        error
          ? { error: error.message }
          : { result: encode(translated[i].reply ?? result, base64) },
      );
    }
    throw new RequestError(404, `ERR unknown path ${path}`);
  }

  const server = http.createServer((req, res) => {
    const send = (status, payload) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    respond(req).then(
      (payload) => send(200, payload),
      (error) => send(error.status ?? 500, { error: error.message }),
    );
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });

  return {
    url: `http://127.0.0.1:${server.address().port}`,
    token,
    stop: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // The client keeps connections alive; close() alone would wait for them to time out.
        server.closeAllConnections();
      }),
  };
}
