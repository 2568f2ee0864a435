/** Types for sns-signer.mjs. */

/** An SNS HTTP/S message before signing (providers.md §5.1). */
export interface UnsignedSnsMessage {
  Type: "Notification" | "SubscriptionConfirmation" | "UnsubscribeConfirmation";
  MessageId: string;
  TopicArn: string;
  Message: string;
  Timestamp: string;
  Subject?: string;
  SubscribeURL?: string;
  Token?: string;
  UnsubscribeURL?: string;
}

export type SignatureVersion = "1" | "2";

export type Signed<T> = T & {
  SignatureVersion: SignatureVersion;
  Signature: string;
  SigningCertURL: string;
};

export interface SnsSigner {
  /** http://127.0.0.1:<port>/SimpleNotificationService-fake.pem */
  certUrl: string;
  /** How many times the certificate was downloaded. */
  certFetches(): number;
  /** Signs with SignatureVersion "2" (RSA-SHA256) unless told "1" (RSA-SHA1). */
  sign<T extends UnsignedSnsMessage>(
    message: T,
    options?: { signatureVersion?: SignatureVersion },
  ): Signed<T>;
  stop(): Promise<void>;
}

/** The certificate is valid from an hour ago for a year unless told otherwise. */
export declare function startSnsSigner(options?: {
  port?: number;
  notBefore?: Date;
  notAfter?: Date;
}): Promise<SnsSigner>;
