/** Types for common.mjs, for the TypeScript tests that start the fakes. */

export type Behaviour =
  | "undelivered"
  | "invalid_number"
  | "opted_out"
  | "config_error"
  | "throttled"
  | "outage"
  | "bad_gateway"
  | "hang"
  | "truncated";

export declare const BEHAVIOURS: Readonly<
  Record<"990" | "991" | "992" | "993" | "994" | "995" | "996" | "997" | "998", Behaviour>
>;

export declare function behaviourFor(e164: string): Behaviour | "success";

export interface FakeRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  url: URL;
}

/** A delivery callback as the provider would make it. */
export interface Callback {
  url: string;
  method: "POST";
  headers: Record<string, string>;
  body: string;
  /** The provider's id of the message it is about, when the fake says. */
  providerMessageId?: string;
}

/** A callback in a fake's outbox. */
export interface OutboxEntry extends Callback {
  /** When the fake produced it (ISO 8601). */
  createdAt: string;
  /** With `deliverCallbacks`: the receiver's answer status, once the fake POSTed it. */
  status?: number;
  /** With `deliverCallbacks`: why the POST failed (network error, timeout). */
  error?: string;
}

export interface FakeResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Whether the provider took the message; defaults to "status is 2xx". */
  accepted?: boolean;
  /** The delivery callbacks for what the provider took, in order. */
  callbacks?: Array<Callback | Promise<Callback>>;
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
  /** Clears the request log (not the outbox). */
  clear(): void;
  /** The outbox: every delivery callback produced so far, oldest first. */
  callbacks(): OutboxEntry[];
  clearCallbacks(): void;
  /** With `deliverCallbacks`: resolves once every delivery scheduled so far was attempted. */
  callbacksSettled(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether and how a fake delivers its callbacks itself. */
export interface CallbackOptions {
  /** POST each callback to its URL too, not only keep it in the outbox (default false). */
  deliverCallbacks?: boolean;
  /** The wait before each delivery (default 200 ms). */
  callbackDelayMs?: number;
}

export declare function startFakeServer(
  options: {
    name: string;
    handle: (request: FakeRequest) => FakeResponse | Promise<FakeResponse>;
    port?: number;
  } & CallbackOptions,
): Promise<FakeServer>;

/** bad_gateway, hang or truncated (`success()` cut short) as every fake answers them; else null. */
export declare function transportFailure(
  behaviour: Behaviour | "success",
  success: () => FakeResponse & { body: string },
): FakeResponse | Promise<never> | null;
