import type { AwsIdentity } from "./aws-sigv4.mjs";
import type { FakeServer } from "./common.mjs";

/** Types for aws-sms-voice.mjs. */
export declare function startFakeSmsVoice(
  options: AwsIdentity & { port?: number },
): Promise<FakeServer>;
