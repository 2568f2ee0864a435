import type { FakeServer } from "./common.mjs";

/** Types for twilio.mjs. */
export declare function startFakeTwilio(options: {
  accountSid: string;
  authToken: string;
  apiKeySid: string;
  apiKeySecret: string;
  port?: number;
}): Promise<FakeServer>;
