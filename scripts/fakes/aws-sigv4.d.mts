import type { FakeRequest, FakeResponse } from "./common.mjs";

/** Types for aws-sigv4.mjs. */

/** The IAM identity, in one region, that a fake AWS service accepts requests from. */
export interface AwsIdentity {
  accessKeyId: string;
  secretAccessKey: string;
  /** When given, every request must carry it (temporary credentials). */
  sessionToken?: string;
  region: string;
}

export type SigV4Problem =
  | "missing"
  | "incomplete"
  | "unknown_key"
  | "bad_token"
  | "expired"
  | "wrong_scope"
  | "mismatch";

export interface SigV4Failure {
  problem: SigV4Problem;
  message: string;
}

/** Null when the signature is valid. */
export declare function verifySigV4(
  request: Pick<FakeRequest, "method" | "url" | "headers" | "body">,
  expected: AwsIdentity & { service: string },
): Promise<SigV4Failure | null>;

export declare function requireSigV4(options: {
  expected: AwsIdentity & { service: string };
  errors: Record<SigV4Problem, [status: number, code: string]>;
  refuse: (status: number, code: string, message: string) => FakeResponse;
  handle: (request: FakeRequest) => FakeResponse | Promise<FakeResponse>;
}): (request: FakeRequest) => Promise<FakeResponse>;
