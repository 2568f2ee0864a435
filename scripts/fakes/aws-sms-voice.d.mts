import type { FakeServer } from "./common.mjs";

/** Types for aws-sms-voice.mjs. */
export declare function startFakeSmsVoice(options: {
  accessKeyId: string;
  secretAccessKey: string;
  /** When given, every request must carry it (temporary credentials). */
  sessionToken?: string;
  region: string;
  port?: number;
}): Promise<FakeServer>;
