// Signs Amazon SNS HTTP/S messages the way SNS does (providers.md §5), for the fakes and the
// tests: a fresh RSA key and self-signed certificate per signer, the PEM served over plain http
// on 127.0.0.1 (the gateway accepts that only when configured for tests or local development).
import "reflect-metadata";
import { createSign, KeyObject } from "node:crypto";
import { createServer } from "node:http";
import * as x509 from "@peculiar/x509";

const CERT_PATH = "/SimpleNotificationService-fake.pem";

// The string to sign as the PHP validator builds it: one key list for every type, each key
// included when present. The gateway uses the AWS doc's per-type lists; both must agree.
const SIGNED_KEYS = [
  "Message",
  "MessageId",
  "Subject",
  "SubscribeURL",
  "Timestamp",
  "Token",
  "TopicArn",
  "Type",
];
const ALGORITHMS = { 1: "RSA-SHA1", 2: "RSA-SHA256" };
const YEAR_MS = 365 * 24 * 3600_000;

/** @param {Record<string, unknown>} message */
const stringToSign = (message) =>
  SIGNED_KEYS.filter((key) => message[key] !== undefined)
    .map((key) => `${key}\n${message[key]}\n`)
    .join("");

async function selfSigned(notBefore, notAfter) {
  const algorithm = {
    name: "RSASSA-PKCS1-v1_5",
    hash: "SHA-256",
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 2048,
  };
  const keys = await crypto.subtle.generateKey(algorithm, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=sns.fake.amazonaws.com",
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    keys,
  });
  return { pem: cert.toString("pem"), privateKey: KeyObject.from(keys.privateKey) };
}

/**
 * @param {{ port?: number, notBefore?: Date, notAfter?: Date }} [options] the certificate is
 *   valid from an hour ago for a year unless told otherwise
 */
export async function startSnsSigner({
  port = 0,
  notBefore = new Date(Date.now() - 3600_000),
  notAfter = new Date(Date.now() + YEAR_MS),
} = {}) {
  const { pem, privateKey } = await selfSigned(notBefore, notAfter);
  let fetches = 0;
  const server = createServer((request, response) => {
    if (request.url !== CERT_PATH) return response.writeHead(404).end();
    fetches++;
    response.writeHead(200, { "content-type": "application/x-pem-file" }).end(pem);
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(undefined));
  });
  const address = server.address();
  if (!address || typeof address === "string") throw new Error("the signer has no TCP address");
  const certUrl = `http://127.0.0.1:${address.port}${CERT_PATH}`;

  return {
    certUrl,
    /** How many times the certificate was downloaded. */
    certFetches: () => fetches,
    sign(message, { signatureVersion = "2" } = {}) {
      const signature = createSign(ALGORITHMS[signatureVersion])
        .update(stringToSign(message), "utf8")
        .sign(privateKey, "base64");
      return {
        ...message,
        SignatureVersion: signatureVersion,
        Signature: signature,
        SigningCertURL: certUrl,
      };
    },
    stop: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}
