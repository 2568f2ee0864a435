import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import { createOutbox } from "./callbacks.mjs";

/*
 * What every fake provider server shares: an HTTP server on 127.0.0.1 that logs what it
 * receives, the control endpoints tests use to read that log, and the magic destinations.
 * Plain Node ESM with no test-framework imports: the contract tests, the integration test
 * runner and the benchmark all start these fakes.
 */

/**
 * Magic destinations, by the last three digits of the E.164 number, the same for every fake so
 * that one test number means the same thing whichever provider serves it. Each fake answers a
 * behaviour in its own provider's documented shape; anything else succeeds. `undelivered` is
 * a success at send time whose delivery callbacks then report the carrier could not deliver it.
 */
export const BEHAVIOURS = Object.freeze({
  990: "undelivered",
  991: "invalid_number",
  992: "opted_out",
  993: "config_error",
  994: "throttled",
  995: "outage",
  996: "bad_gateway",
  997: "hang",
  998: "truncated",
});

/**
 * The behaviour a test forced on the fake serving the current request (see the
 * `/__fake/behaviour` control endpoint), so one provider can fail while the others work.
 */
const forcedBehaviour = new AsyncLocalStorage();

/** @param {string} e164 @returns {string} a BEHAVIOURS value, or "success" */
export function behaviourFor(e164) {
  return forcedBehaviour.getStore() ?? BEHAVIOURS[String(e164).slice(-3)] ?? "success";
}

// Three behaviours no provider shapes: the provider never produced these answers.

/** A proxy in front of the provider failed: it answers in HTML, whatever the provider speaks. */
const badGateway = () => ({
  status: 502,
  headers: { "content-type": "text/html" },
  body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
});

/** Never answers, so the client's timeout has to fire. The server's stop() still closes. */
const hang = () => new Promise(() => {});

/** The provider's own success answer with its body cut in half: the provider did take it. */
const truncated = (response) => ({
  ...response,
  body: response.body.slice(0, Math.floor(response.body.length / 2)),
});

/**
 * The answer to one of those three behaviours, the same from every fake (`success()` is the
 * provider's own success answer, which `truncated` cuts short), or null for any other behaviour:
 * the fake answers those in its provider's shape.
 */
export function transportFailure(behaviour, success) {
  switch (behaviour) {
    case "bad_gateway":
      return badGateway();
    case "hang":
      return hang();
    case "truncated":
      return truncated(success());
    default:
      return null;
  }
}

const CONTROL_PATH = "/__fake/requests";
const BEHAVIOUR_PATH = "/__fake/behaviour";
const CALLBACKS_PATH = "/__fake/callbacks";

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function answer(res, { status, headers = {}, body = "" }) {
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * Starts a fake provider on 127.0.0.1 (port 0: any free port).
 *
 * `handle({ method, path, headers, body, url })` returns (or resolves to) `{ status, headers,
 * body, accepted?, callbacks? }`; `accepted` says whether the provider took the message and
 * defaults to "status is 2xx" (a provider that reports per-recipient failures in a 2xx sets it).
 * `callbacks` are the delivery callbacks the provider will make for what it took (`{ url,
 * method, headers, body }`, or promises of them), in order: they go to the outbox before the
 * answer does, and with `deliverCallbacks` the fake also POSTs them itself, `callbackDelayMs`
 * apart (see callbacks.mjs). Every request except the control endpoints is logged on arrival,
 * so a request that hangs is logged. Headers are Node's: names lower-cased.
 *
 * Control endpoints: `GET /__fake/requests` lists the log as JSON, `DELETE /__fake/requests`
 * clears it; `PUT /__fake/behaviour` with `{"behaviour": "outage"}` (a BEHAVIOURS value) makes
 * every send answer that way whatever its number, `DELETE /__fake/behaviour` restores normal;
 * `GET /__fake/callbacks` lists the outbox as JSON, `DELETE /__fake/callbacks` clears it.
 */
export async function startFakeServer({
  name,
  handle,
  port = 0,
  deliverCallbacks = false,
  callbackDelayMs = 200,
}) {
  const log = [];
  const outbox = createOutbox({ deliver: deliverCallbacks, delayMs: callbackDelayMs });
  let forced;
  const server = http.createServer(async (req, res) => {
    const body = await readBody(req);
    // Absolute-form targets (a client that treats this server as its proxy) keep their path too.
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const path = url.pathname + url.search;

    if (url.pathname === CONTROL_PATH) {
      if (req.method === "GET") {
        return answer(res, {
          status: 200,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(log),
        });
      }
      if (req.method === "DELETE") {
        log.length = 0;
        return answer(res, { status: 204 });
      }
      return answer(res, { status: 405, headers: { allow: "GET, DELETE" } });
    }

    if (url.pathname === CALLBACKS_PATH) {
      if (req.method === "GET") {
        return answer(res, {
          status: 200,
          headers: { "content-type": "application/json" },
          body: JSON.stringify(outbox.list()),
        });
      }
      if (req.method === "DELETE") {
        outbox.clear();
        return answer(res, { status: 204 });
      }
      return answer(res, { status: 405, headers: { allow: "GET, DELETE" } });
    }

    if (url.pathname === BEHAVIOUR_PATH) {
      if (req.method === "PUT") {
        const wanted = JSON.parse(body || "{}").behaviour;
        if (!Object.values(BEHAVIOURS).includes(wanted)) {
          return answer(res, { status: 400, body: `unknown behaviour ${wanted}` });
        }
        forced = wanted;
        return answer(res, { status: 204 });
      }
      if (req.method === "DELETE") {
        forced = undefined;
        return answer(res, { status: 204 });
      }
      return answer(res, { status: 405, headers: { allow: "PUT, DELETE" } });
    }

    const entry = { method: req.method, path, headers: req.headers, body, accepted: false };
    log.push(entry);
    let response;
    try {
      const request = { method: req.method, path, headers: req.headers, body, url };
      response = await forcedBehaviour.run(forced, () => handle(request));
    } catch (error) {
      // A bug in the fake must not pass for a provider outage: say so loudly.
      console.error(`[fake ${name}]`, error);
      response = {
        status: 500,
        headers: { "content-type": "text/plain" },
        body: `fake ${name} crashed: ${error}`,
      };
    }
    entry.accepted = response.accepted ?? (response.status >= 200 && response.status < 300);
    if (response.callbacks?.length) {
      try {
        outbox.add(await Promise.all(response.callbacks));
      } catch (error) {
        // The provider took the message; a fake that cannot sign its callback is still a bug.
        console.error(`[fake ${name}] callbacks`, error);
      }
    }
    answer(res, response);
  });

  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");

  return {
    name,
    url: `http://127.0.0.1:${address.port}`,
    requests: () => log.map((entry) => ({ ...entry })),
    clear: () => {
      log.length = 0;
    },
    callbacks: outbox.list,
    clearCallbacks: outbox.clear,
    callbacksSettled: outbox.settled,
    stop: async () => {
      await outbox.stop();
      await new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Hanging requests keep their sockets open; close() alone would wait for them forever.
        server.closeAllConnections();
      });
    },
  };
}
