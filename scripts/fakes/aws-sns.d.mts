import type { AwsIdentity } from "./aws-sigv4.mjs";
import type { FakeServer } from "./common.mjs";

/** Types for aws-sns.mjs. */
export declare function startFakeSns(
  options: AwsIdentity & {
    port?: number;
    /** The clock of OptInPhoneNumber's once-every-30-days rule (default: the system clock). */
    now?: () => Date;
  },
): Promise<FakeServer>;
