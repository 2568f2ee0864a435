import type { CallbackOptions, FakeServer } from "./common.mjs";

/** Types for twilio.mjs. */
export declare function startFakeTwilio(
  options: {
    accountSid: string;
    authToken: string;
    apiKeySid: string;
    apiKeySecret: string;
    port?: number;
  } & CallbackOptions,
): Promise<FakeServer>;
