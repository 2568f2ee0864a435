/** Types for common.mjs, for the TypeScript tests that start the fakes. */

export type Behaviour =
  | "invalid_number"
  | "opted_out"
  | "config_error"
  | "throttled"
  | "outage"
  | "bad_gateway"
  | "hang"
  | "truncated";

export declare const BEHAVIOURS: Readonly<
  Record<"991" | "992" | "993" | "994" | "995" | "996" | "997" | "998", Behaviour>
>;

export declare function behaviourFor(e164: string): Behaviour | "success";

export interface FakeRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  url: URL;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Whether the provider took the message; defaults to "status is 2xx". */
  accepted?: boolean;
}

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  accepted: boolean;
}

export interface FakeServer {
  name: string;
  url: string;
  requests(): ReceivedRequest[];
  clear(): void;
  stop(): Promise<void>;
}

export declare function startFakeServer(options: {
  name: string;
  handle: (request: FakeRequest) => FakeResponse | Promise<FakeResponse>;
  port?: number;
}): Promise<FakeServer>;

/** bad_gateway, hang or truncated (`success()` cut short) as every fake answers them; else null. */
export declare function transportFailure(
  behaviour: Behaviour | "success",
  success: () => FakeResponse & { body: string },
): FakeResponse | Promise<never> | null;
