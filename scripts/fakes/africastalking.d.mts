import type { FakeServer } from "./common.mjs";

/** Types for africastalking.mjs. */
export declare function startFakeAfricasTalking(options: {
  username: string;
  apiKey: string;
  port?: number;
}): Promise<FakeServer>;
