/** SigV4 signing shared by the AWS provider clients (SNS, End User Messaging SMS). */
import { AwsClient } from "aws4fetch";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  /** Present for temporary (STS) credentials; sent as the signed `X-Amz-Security-Token`. */
  sessionToken?: string;
}

export interface AwsScope {
  /** Signing name, e.g. `sns` or `sms-voice`. */
  service: string;
  region: string;
}

/**
 * Service and region are always given: aws4fetch would otherwise guess them from the host, which
 * is wrong for test servers, proxies and FIPS/regional endpoints with other names.
 */
export function createAwsClient(credentials: AwsCredentials, scope: AwsScope): AwsClient {
  return new AwsClient({
    ...credentials,
    service: scope.service,
    region: scope.region,
    // AwsClient.fetch() would otherwise re-send on 5xx/429: for an SMS that can deliver it twice.
    // We only use sign() and send through callOnce, but a stray fetch() must not retry either.
    retries: 0,
  });
}

export interface AwsRequestInit {
  method: "GET" | "POST";
  headers?: Record<string, string>;
  /** A string: aws4fetch cannot hash a URLSearchParams or stream body. */
  body?: string;
  /** The signing instant (X-Amz-Date); the current time when absent. */
  at?: Date;
}

/** `2015-08-30T12:36:00.000Z` → `20150830T123600Z`. */
const amzDate = (at: Date): string => at.toISOString().replace(/[:-]|\.\d{3}/g, "");

/**
 * Signs a request without sending it, so that it goes out through `callOnce` (one attempt, a
 * timeout). `allHeaders` makes aws4fetch sign content-type too, as the AWS SDKs do: the body's
 * media type is then covered by the signature along with the body itself.
 */
export function signAwsRequest(
  client: AwsClient,
  url: string,
  init: AwsRequestInit,
): Promise<Request> {
  return client.sign(url, {
    method: init.method,
    headers: init.headers ?? {},
    body: init.body ?? null,
    aws: { allHeaders: true, ...(init.at ? { datetime: amzDate(init.at) } : {}) },
  });
}
