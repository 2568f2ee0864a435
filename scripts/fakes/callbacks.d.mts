import type { Callback, OutboxEntry } from "./common.mjs";

/** Types for callbacks.mjs. */

/** What signs an SNS message (sns-signer.mjs). */
export interface SnsMessageSigner {
  sign(message: Record<string, string>): Record<string, string> | Promise<Record<string, string>>;
}

export declare function formCallback(
  url: string,
  fields: Record<string, string | number | undefined | null>,
  headers?: Record<string, string>,
): Callback;

export declare function snsNotificationCallback(options: {
  endpoint: string;
  topicArn: string;
  message: string;
  signer: SnsMessageSigner;
}): Promise<Callback>;

export interface Outbox {
  add(callbacks: Callback[]): void;
  list(): OutboxEntry[];
  clear(): void;
  settled(): Promise<void>;
  stop(): Promise<void>;
}

export declare function createOutbox(options?: { deliver?: boolean; delayMs?: number }): Outbox;
