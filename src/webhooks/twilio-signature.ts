import { constantTimeEqual, sha256Hex } from "../lib/crypto";

/*
 * `X-Twilio-Signature` verification (providers.md §1.8), accepting exactly what twilio-node's
 * `validateRequest`/`validateRequestWithBody` (src/webhooks/webhooks.ts) accept: Twilio's own
 * SDK is the reference for what its back end signs, and it admits that back end is inconsistent
 * about ports and query encoding, so the same URL variants must be tried here.
 */

const encoder = new TextEncoder();

export interface TwilioRequest {
  authToken: string;
  /** The full public URL Twilio called, with its query string (not `request.url` behind a proxy). */
  url: string;
  /** The `X-Twilio-Signature` header. */
  signature: string | undefined;
  contentType: string | undefined;
  /** The raw request body. */
  body: string;
}

/** The form parameters of a callback body, by name; a repeated name keeps its last value. */
export function twilioParams(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

export async function verifyTwilioSignature(input: TwilioRequest): Promise<boolean> {
  if (!input.signature) return false;
  const signed = await signedPayload(input);
  if (signed === null) return false;
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(input.authToken),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  for (const url of candidateUrls(input.url)) {
    const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(url + signed));
    if (await constantTimeEqual(input.signature, toBase64(mac))) return true;
  }
  return false;
}

/**
 * What follows the URL in the signed string, or null when the body is not covered by the
 * signature at all. Form bodies are signed through their parameters; any other body only
 * through the `bodySHA256` query parameter (the JSON variant), which must then match it.
 */
async function signedPayload(input: TwilioRequest): Promise<string | null> {
  if (isForm(input.contentType)) return sortedParams(input.body);
  const bodyHash = bodySha256(input.url);
  if (bodyHash === null) return input.body === "" ? "" : null;
  return (await constantTimeEqual(bodyHash, await sha256Hex(input.body))) ? "" : null;
}

const isForm = (contentType: string | undefined) =>
  contentType?.split(";")[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";

function bodySha256(url: string): string | null {
  try {
    return new URL(url).searchParams.get("bodySHA256");
  } catch {
    return null;
  }
}

/**
 * Every parameter as `name + value`, names in plain string order. A repeated name contributes
 * each distinct value once, values sorted: twilio-node de-duplicates them with a Set.
 */
function sortedParams(body: string): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of new URLSearchParams(body)) {
    const values = byName.get(name) ?? new Set();
    byName.set(name, values.add(value));
  }
  return [...byName.keys()]
    .sort()
    .flatMap((name) => [...(byName.get(name) ?? [])].sort().map((value) => name + value))
    .join("");
}

/**
 * The URLs twilio-node tries, in its order: as received without and with the port, then the
 * WHATWG-normalised URL (which percent-encodes e.g. `'` and spaces in the query) without and
 * with the port, each also with its query re-encoded the way Node's legacy `querystring` does.
 */
function candidateUrls(url: string): string[] {
  const asReceived = [withoutPort(url), withDefaultPort(url)];
  let normalized: string;
  try {
    normalized = new URL(url).toString();
  } catch {
    return asReceived;
  }
  const variants = [withoutPort(normalized), withDefaultPort(normalized)];
  return [...new Set([...asReceived, ...variants, ...variants.map(withLegacyQuerystring)])];
}

/** twilio-node's `splitUrl`: split by hand, so the rest of the URL keeps its exact characters. */
function splitUrl(url: string) {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)/i.exec(url);
  if (!match) return null;
  const [prefix, scheme = "", authority = ""] = match;
  const userInfoEnd = authority.lastIndexOf("@");
  const hostAndPort = authority.slice(userInfoEnd + 1);
  // A colon starts the port only after the closing bracket of an IPv6 literal.
  const portStart = hostAndPort.indexOf(":", hostAndPort.lastIndexOf("]") + 1);
  return {
    scheme,
    userInfo: authority.slice(0, userInfoEnd + 1),
    host: portStart === -1 ? hostAndPort : hostAndPort.slice(0, portStart),
    port: portStart === -1 ? "" : hostAndPort.slice(portStart),
    rest: url.slice(prefix.length),
  };
}

/** Any port removed, default or not. */
function withoutPort(url: string): string {
  const parts = splitUrl(url);
  return parts ? parts.scheme + parts.userInfo + parts.host + parts.rest : url;
}

/** `:443` (https) or `:80` (anything else) added when there is no port; a port is kept. */
function withDefaultPort(url: string): string {
  const parts = splitUrl(url);
  if (!parts || parts.port) return url;
  const port = parts.scheme.toLowerCase() === "https://" ? ":443" : ":80";
  return parts.scheme + parts.userInfo + parts.host + port + parts.rest;
}

/**
 * `querystring.stringify(querystring.parse(query))` from Node, without Node: decode `+` and
 * percent escapes, group repeated names (in object key order, so integer-like names come
 * first, as in Node), re-encode with `encodeURIComponent`, which escapes the same characters.
 */
function withLegacyQuerystring(url: string): string {
  const start = url.indexOf("?");
  if (start === -1 || start === url.length - 1) return url;
  const byName: Record<string, string[]> = Object.create(null);
  for (const piece of url.slice(start + 1).split("&")) {
    if (piece === "") continue;
    const eq = piece.indexOf("=");
    const name = legacyDecode(eq === -1 ? piece : piece.slice(0, eq));
    const value = eq === -1 ? "" : legacyDecode(piece.slice(eq + 1));
    byName[name] = [...(byName[name] ?? []), value];
  }
  const query = Object.entries(byName)
    .flatMap(([name, values]) =>
      values.map((value) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`),
    )
    .join("&");
  return `${url.slice(0, start)}?${query}`;
}

/**
 * Node's `querystring.unescape`: strict UTF-8 decoding, else byte by byte, bad escapes kept
 * literally and bad UTF-8 as U+FFFD. The normalised URL is ASCII, so every character is a byte.
 */
function legacyDecode(text: string): string {
  const spaced = text.replaceAll("+", " ");
  try {
    return decodeURIComponent(spaced);
  } catch {
    const bytes = spaced.replace(/%([0-9a-f]{2})/gi, (_, hex: string) =>
      String.fromCharCode(Number.parseInt(hex, 16)),
    );
    return new TextDecoder().decode(Uint8Array.from(bytes, (c) => c.charCodeAt(0)));
  }
}

const toBase64 = (buffer: ArrayBuffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));
