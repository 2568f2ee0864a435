import type { FakeServer } from "./common.mjs";
import type { SnsSigner } from "./sns-signer.mjs";

/** Types for index.mjs. */

export declare const FAKE_CREDENTIALS: {
  twilio: { accountSid: string; authToken: string; apiKeySid: string; apiKeySecret: string };
  aws: { accessKeyId: string; secretAccessKey: string; region: string };
  africastalking: { username: string; apiKey: string };
};

export declare const FAKE_WEBHOOKS: {
  /** Where callbacks are addressed without a `gatewayUrl`: https://gateway.test */
  baseUrl: string;
  africastalkingToken: string;
  topicArn: string;
  configurationSet: string;
};

export type FakeName = "twilio" | "aws-sns" | "aws-sms-voice" | "africastalking";

export interface FakeProviders {
  fakes: Record<FakeName, FakeServer>;
  snsSigner: SnsSigner;
  /** The Worker's environment for the fakes: credentials, base URLs, webhook acceptance. */
  workerEnv: Record<string, string>;
  stop(): Promise<void>;
}

export declare function startFakeProviders(options?: {
  /** The gateway the AT and End User Messaging callbacks go to (default FAKE_WEBHOOKS.baseUrl). */
  gatewayUrl?: string;
  /** The fakes POST their callbacks themselves too (default false: outbox only). */
  deliverCallbacks?: boolean;
}): Promise<FakeProviders>;
