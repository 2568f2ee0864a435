import { z } from "zod";
import type { Services } from "../context";
import {
  mapAfricasTalkingStatus,
  mapEndUserMessagingEvent,
  mapTwilioStatus,
} from "../domain/receipts";
import type { Receipt } from "../providers/types";
import { dispatchNow } from "./dispatch";
import { type InboundOutcome, receiveInbound } from "./inbound";
import { receiveReceipt as applyReceipt, type StatusOutcome } from "./status";

/** A provider's receipt; one that buys a re-send (see status.ts) is dispatched right away. */
async function receiveReceipt(s: Services, receipt: Receipt): Promise<StatusOutcome> {
  const { outcome, messageId } = await applyReceipt(s, receipt);
  if (outcome === "resent" && messageId) s.background(() => dispatchNow(s, messageId));
  return outcome;
}

/**
 * Provider callbacks, already authenticated by the route, translated into the
 * two things the gateway understands: a receipt for the status service, or an
 * inbound SMS. Each provider's status vocabulary maps through one table
 * (src/domain/receipts.ts).
 */

export type Handled = StatusOutcome | InboundOutcome | "ignored";

const form = <T extends z.ZodRawShape>(shape: T) => z.object(shape).passthrough();

export const twilioStatusSchema = form({
  MessageSid: z.string().min(1),
  MessageStatus: z.string().min(1),
  ErrorCode: z.string().optional(),
  AccountSid: z.string().optional(),
});

export const twilioInboundSchema = form({
  MessageSid: z.string().min(1),
  From: z.string().min(1),
  To: z.string().min(1),
  Body: z.string(),
  AccountSid: z.string().optional(),
});

export async function twilioStatus(
  s: Services,
  params: z.infer<typeof twilioStatusSchema>,
  messageId: string | undefined,
): Promise<Handled> {
  const mapped = mapTwilioStatus(params.MessageStatus, params.ErrorCode);
  if (!mapped) return "ignored";
  return receiveReceipt(s, {
    provider: "twilio",
    providerMessageId: params.MessageSid,
    ...(messageId ? { messageId } : {}),
    status: mapped.status,
    providerStatus: params.MessageStatus,
    // Twilio calls back once per status change of a message.
    providerEventId: `${params.MessageSid}:${params.MessageStatus}`,
    ...(params.ErrorCode ? { errorCode: params.ErrorCode } : {}),
    occurredAt: s.now(),
    raw: params,
  });
}

export function twilioInbound(s: Services, params: z.infer<typeof twilioInboundSchema>) {
  return receiveInbound(s, {
    provider: "twilio",
    providerMessageId: params.MessageSid,
    from: params.From,
    to: params.To,
    body: params.Body,
    receivedAt: s.now(),
  });
}

/** End User Messaging delivery event (§4.6) or two-way inbound SMS (§4.5), as SNS's `Message`. */
const eumEventSchema = z
  .object({
    eventType: z.string(),
    messageId: z.string(),
    messageStatus: z.string().optional(),
    messageStatusDescription: z.string().optional(),
    isFinal: z.boolean().optional(),
    eventTimestamp: z.number().optional(),
    context: z.record(z.string(), z.string()).optional(),
  })
  .passthrough();

const eumInboundSchema = z
  .object({
    originationNumber: z.string(),
    destinationNumber: z.string(),
    messageBody: z.string(),
    inboundMessageId: z.string(),
    previousPublishedMessageId: z.string().optional(),
  })
  .passthrough();

export async function snsNotification(
  s: Services,
  notification: { MessageId: string; Message: string; Timestamp: string },
): Promise<Handled> {
  let message: unknown;
  try {
    message = JSON.parse(notification.Message);
  } catch {
    return "ignored";
  }
  const inbound = eumInboundSchema.safeParse(message);
  if (inbound.success) {
    return receiveInbound(s, {
      provider: "aws-sms-voice",
      providerMessageId: inbound.data.inboundMessageId,
      from: inbound.data.originationNumber,
      to: inbound.data.destinationNumber,
      body: inbound.data.messageBody,
      ...(inbound.data.previousPublishedMessageId
        ? { previousProviderMessageId: inbound.data.previousPublishedMessageId }
        : {}),
      receivedAt: new Date(notification.Timestamp),
    });
  }
  const event = eumEventSchema.safeParse(message);
  if (!event.success) return "ignored";
  const mapped = mapEndUserMessagingEvent(event.data);
  if (!mapped) return "ignored";
  const receipt: Receipt = {
    provider: "aws-sms-voice",
    providerMessageId: event.data.messageId,
    status: mapped.status,
    providerStatus: event.data.messageStatus ?? event.data.eventType,
    providerEventId: notification.MessageId,
    occurredAt: event.data.eventTimestamp ? new Date(event.data.eventTimestamp) : s.now(),
    raw: event.data,
  };
  const ours = event.data.context?.message_id;
  if (ours) receipt.messageId = ours;
  if (mapped.reason) receipt.errorCode = mapped.reason;
  return receiveReceipt(s, receipt);
}

export const africasTalkingDeliverySchema = form({
  id: z.string().min(1),
  status: z.string().min(1),
  phoneNumber: z.string().optional(),
  networkCode: z.string().optional(),
  failureReason: z.string().optional(),
  retryCount: z.string().optional(),
});

export const africasTalkingInboundSchema = form({
  id: z.string().min(1),
  from: z.string().min(1),
  to: z.string().min(1),
  text: z.string(),
  date: z.string().optional(),
  linkId: z.string().optional(),
});

export async function africasTalkingDelivery(
  s: Services,
  params: z.infer<typeof africasTalkingDeliverySchema>,
): Promise<Handled> {
  const mapped = mapAfricasTalkingStatus(params.status, params.failureReason);
  if (!mapped) return "ignored";
  return receiveReceipt(s, {
    provider: "africastalking",
    providerMessageId: params.id,
    status: mapped.status,
    providerStatus: params.status,
    providerEventId: `${params.id}:${params.status}:${params.retryCount ?? "0"}`,
    ...(params.failureReason ? { errorCode: params.failureReason } : {}),
    occurredAt: s.now(),
    raw: params,
  });
}

export function africasTalkingInbound(
  s: Services,
  params: z.infer<typeof africasTalkingInboundSchema>,
) {
  const date = params.date ? new Date(params.date) : undefined;
  return receiveInbound(s, {
    provider: "africastalking",
    providerMessageId: params.id,
    from: params.from,
    to: params.to,
    body: params.text,
    receivedAt: date && !Number.isNaN(date.getTime()) ? date : s.now(),
  });
}
