import type { AwsIdentity } from "./aws-sigv4.mjs";
import type { FakeServer } from "./common.mjs";

/** Types for aws-sns.mjs. */
export declare function startFakeSns(options: AwsIdentity & { port?: number }): Promise<FakeServer>;
