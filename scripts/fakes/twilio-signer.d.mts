/** Types for twilio-signer.mjs. */

/** The base64 X-Twilio-Signature of a form-encoded callback to `url` carrying `params`. */
export declare function twilioSignature(
  authToken: string,
  url: string,
  params: Record<string, string>,
): string;
