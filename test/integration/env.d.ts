declare module "cloudflare:test" {
  interface ProvidedEnv {
    DATABASE_URL: string;
    NEON_WS_PROXY: string;
    UPSTASH_REDIS_REST_URL: string;
    UPSTASH_REDIS_REST_TOKEN: string;
    ADMIN_TOKEN: string;
    TWILIO_BASE_URL: string;
    TWILIO_AUTH_TOKEN: string;
    TWILIO_ACCOUNT_SID: string;
    AWS_SNS_BASE_URL: string;
    AWS_SMS_VOICE_BASE_URL: string;
    AFRICASTALKING_BASE_URL: string;
    SEND_RATE_POLICY: string;
    SCHEDULER_BATCH_SIZE?: string;
  }
}
