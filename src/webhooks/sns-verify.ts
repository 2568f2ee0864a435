// @peculiar/x509 imports tsyringe, which throws at import time unless a Reflect metadata
// polyfill is already installed; this one only adds methods to the global Reflect.
import "reflect-metadata";
import { X509Certificate } from "@peculiar/x509";
import { z } from "zod";

/*
 * Signature verification of Amazon SNS HTTP/S messages (providers.md §5): the exact string to
 * sign per type, SigningCertURL checks as in the official validators, the certificate's public
 * key through WebCrypto. SignatureVersion "1" is RSA-SHA1, "2" RSA-SHA256.
 */

const envelope = {
  MessageId: z.string(),
  TopicArn: z.string(),
  Message: z.string(),
  Timestamp: z.string(),
  // Any string, so an unknown version is refused with a reason rather than failing to parse.
  SignatureVersion: z.string(),
  Signature: z.string(),
  SigningCertURL: z.string(),
};

export const snsMessageSchema = z.discriminatedUnion("Type", [
  z.object({
    ...envelope,
    Type: z.literal("Notification"),
    Subject: z.string().optional(),
    // Not signed, and not needed to process a notification.
    UnsubscribeURL: z.string().optional(),
  }),
  z.object({
    ...envelope,
    Type: z.enum(["SubscriptionConfirmation", "UnsubscribeConfirmation"]),
    SubscribeURL: z.string(),
    Token: z.string(),
  }),
]);

export type SnsMessage = z.infer<typeof snsMessageSchema>;

export type SnsVerdict = { ok: true } | { ok: false; reason: string };

export interface SnsVerifierOptions {
  fetch?: typeof fetch;
  /**
   * Tested against the certificate URL's `host`: the hostname, plus the port when it is not the
   * scheme's default (so a local fake needs e.g. `^127\.0\.0\.1:\d+$`).
   */
  allowedCertHost?: RegExp;
  /** Tests and local development only. */
  allowHttpCertUrl?: boolean;
  now?: () => Date;
}

// The official validators' pattern; URL hosts are lower-cased, so [a-z] covers their [a-zA-Z].
const AWS_CERT_HOST = /^sns\.[a-z0-9-]{3,}\.amazonaws\.com(\.cn)?$/;
const HASH_BY_VERSION = new Map([
  ["1", "SHA-1"],
  ["2", "SHA-256"],
]);
// The AWS doc's key lists (the PHP validator agrees). aws-js-sns-message-validator leaves Token
// out for UnsubscribeConfirmation, which contradicts the doc.
const CONFIRMATION_KEYS = [
  "Message",
  "MessageId",
  "SubscribeURL",
  "Timestamp",
  "Token",
  "TopicArn",
  "Type",
] as const;
const SIGNED_KEYS = {
  Notification: ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
  SubscriptionConfirmation: CONFIRMATION_KEYS,
  UnsubscribeConfirmation: CONFIRMATION_KEYS,
} as const;
const CERT_FETCH_TIMEOUT_MS = 5_000;
const encoder = new TextEncoder();

export function createSnsVerifier(options: SnsVerifierOptions = {}) {
  // A local, not a property call: workerd's fetch refuses to run with another object as `this`.
  const fetchCert = options.fetch ?? fetch;
  const allowedHost = options.allowedCertHost ?? AWS_CERT_HOST;
  const now = options.now ?? (() => new Date());

  async function verify(message: SnsMessage): Promise<SnsVerdict> {
    const hash = HASH_BY_VERSION.get(message.SignatureVersion);
    if (!hash) {
      return refused(`unsupported SignatureVersion ${JSON.stringify(message.SignatureVersion)}`);
    }
    const urlProblem = certUrlProblem(
      message.SigningCertURL,
      allowedHost,
      options.allowHttpCertUrl,
    );
    if (urlProblem) return refused(urlProblem);

    let cert: SigningCert;
    try {
      cert = await certificate(message.SigningCertURL, fetchCert);
    } catch (error) {
      return refused(`signing certificate unavailable: ${describe(error)}`);
    }
    const at = now();
    if (at < cert.notBefore || at > cert.notAfter) {
      return refused("signing certificate is outside its validity period");
    }

    try {
      const algorithm = { name: "RSASSA-PKCS1-v1_5", hash };
      const key = await crypto.subtle.importKey("spki", cert.spki, algorithm, false, ["verify"]);
      const signature = Uint8Array.from(atob(message.Signature), (c) => c.charCodeAt(0));
      const valid = await crypto.subtle.verify(
        algorithm,
        key,
        signature,
        encoder.encode(stringToSign(message)),
      );
      return valid ? { ok: true } : refused("signature does not match");
    } catch (error) {
      return refused(`signature could not be checked: ${describe(error)}`);
    }
  }

  return { verify };
}

const refused = (reason: string): SnsVerdict => ({ ok: false, reason });

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** `Key\nValue\n` for each signed key present, in the fixed order of the message's type. */
function stringToSign(message: SnsMessage): string {
  const fields: Record<string, string | undefined> = message;
  return SIGNED_KEYS[message.Type]
    .filter((key) => fields[key] !== undefined)
    .map((key) => `${key}\n${fields[key]}\n`)
    .join("");
}

/** Why the certificate must not be fetched from this URL, or null when it may. */
function certUrlProblem(raw: string, allowedHost: RegExp, allowHttp = false): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "SigningCertURL is not a URL";
  }
  if (url.protocol !== "https:" && !(allowHttp && url.protocol === "http:")) {
    return `SigningCertURL must use https, not ${url.protocol}`;
  }
  if (!allowedHost.test(url.host)) return `SigningCertURL host ${url.host} is not allowed`;
  if (!url.pathname.endsWith(".pem")) return "SigningCertURL does not point to a .pem file";
  return null;
}

interface SigningCert {
  spki: ArrayBuffer;
  notBefore: Date;
  notAfter: Date;
}

/*
 * Certificates by URL, for the isolate's lifetime. Only settled results are kept: a promise
 * still waiting on another request's fetch could never settle if that request is cancelled,
 * so two cold requests at once may both fetch. Failures are not kept, so they are retried.
 */
const CACHE_LIMIT = 16;
const certificates = new Map<string, SigningCert>();

async function certificate(url: string, fetchCert: typeof fetch): Promise<SigningCert> {
  const cached = certificates.get(url);
  if (cached) return cached;
  const response = await fetchCert(url, { signal: AbortSignal.timeout(CERT_FETCH_TIMEOUT_MS) });
  if (!response.ok) throw new Error(`fetching it answered HTTP ${response.status}`);
  const parsed = new X509Certificate(await response.text());
  const cert = {
    spki: parsed.publicKey.rawData,
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
  };
  // Map keeps insertion order: the first key is the oldest entry.
  const oldest = certificates.keys().next();
  if (certificates.size >= CACHE_LIMIT && !oldest.done) certificates.delete(oldest.value);
  certificates.set(url, cert);
  return cert;
}
