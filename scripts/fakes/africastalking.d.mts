import type { CallbackOptions, FakeServer } from "./common.mjs";

/** Types for africastalking.mjs. */
export declare function startFakeAfricasTalking(
  options: {
    username: string;
    apiKey: string;
    /** The DLR URL set in the dashboard: delivery reports go there (none without it). */
    deliveryReportUrl?: string;
    port?: number;
  } & CallbackOptions,
): Promise<FakeServer>;
