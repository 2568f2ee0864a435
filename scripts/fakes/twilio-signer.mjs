import { createHmac } from "node:crypto";

/**
 * The X-Twilio-Signature Twilio puts on a form-encoded callback (providers.md §1.8), for the
 * fakes to sign the callbacks they send: HMAC-SHA1 over the URL followed by every parameter as
 * name + value, names sorted. Written with node:crypto, apart from the gateway's WebCrypto code.
 *
 * @param {string} authToken
 * @param {string} url the full URL the callback is posted to, query string included
 * @param {Record<string, string>} params the form parameters
 * @returns {string} base64
 */
export function twilioSignature(authToken, url, params) {
  const data = Object.keys(params)
    .sort()
    .map((name) => name + params[name])
    .join("");
  return createHmac("sha1", authToken)
    .update(url + data, "utf8")
    .digest("base64");
}
