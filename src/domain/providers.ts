/** The providers the gateway speaks to, and the vocabulary routing and clients share. */
export const PROVIDER_NAMES = ["twilio", "aws-sns", "aws-sms-voice", "africastalking"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export type SenderKind = "phone" | "short_code" | "alphanumeric" | "messaging_service";

export type MessageType = "transactional" | "promotional" | "otp";
