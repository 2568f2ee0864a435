import type { AwsIdentity } from "./aws-sigv4.mjs";
import type { SnsMessageSigner } from "./callbacks.mjs";
import type { CallbackOptions, FakeServer } from "./common.mjs";

/** Types for aws-sms-voice.mjs. */
export declare function startFakeSmsVoice(
  options: AwsIdentity & {
    port?: number;
    /** The SNS event destination's HTTP/S subscription URL: delivery events go there. */
    snsEndpoint?: string;
    /** The event destination's topic (required with `snsEndpoint`). */
    topicArn?: string;
    /** Only this configuration set has the event destination (default: any one named). */
    configurationSetName?: string;
    /** Signs the SNS notifications; without it the fake starts its own signer. */
    snsSigner?: SnsMessageSigner;
    /**
     * The opt-out lists that exist (PutOptedOutNumber/DeleteOptedOutNumber on another answer
     * ResourceNotFoundException); by default any list name does.
     */
    optOutListNames?: string[];
  } & CallbackOptions,
): Promise<FakeServer>;
