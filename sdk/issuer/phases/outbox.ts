/**
 * The SMS outbox, shared by the identity and invitation phases: a message is queued in the same transaction as the
 * step that caused it, then handed to the gateway; at-least-once delivery, retried by `deliverOutbox`.
 */
import type { JsonObject } from "../identity.js";
import type { SmsPurpose } from "../sms.js";
import type { DeliveryOutcome, UndeliveredSms } from "../workflow-types.js";
import type { WorkflowContext } from "./context.js";

export async function queueSms(ctx: WorkflowContext, requestId: string, purpose: SmsPurpose, to: string, sms: { body: string; redactedBody: string }, at: number, expiresAt: number): Promise<number> {
  return await ctx.store.enqueueSms({ requestId, purpose, to, body: sms.body, redactedBody: sms.redactedBody, at, expiresAt });
}

export async function deliver(ctx: WorkflowContext, outboxId: number): Promise<DeliveryOutcome> {
  const message = await ctx.store.outboxMessage(outboxId);
  if (!message || message.status === "sent" || message.status === "expired" || message.body === undefined) {
    return { outboxId, delivered: message?.status === "sent", error: message?.status === "sent" ? undefined : "EXPIRED" };
  }
  const at = ctx.now();
  if (at >= message.expiresAt) {
    await settle(ctx, message.requestId, outboxId, { status: "expired", at }, "sms-expired", { outboxId, purpose: message.purpose });
    return { outboxId, delivered: false, error: "EXPIRED" };
  }
  try {
    await ctx.options.sms.send({ id: message.id, requestId: message.requestId, purpose: message.purpose, to: message.to, body: message.body });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    await settle(ctx, message.requestId, outboxId, { status: "failed", at, error: why }, "sms-failed", { outboxId, purpose: message.purpose, error: why });
    return { outboxId, delivered: false, error: why };
  }
  await settle(ctx, message.requestId, outboxId, { status: "sent", at }, "sms-sent", { outboxId, purpose: message.purpose });
  return { outboxId, delivered: true, error: undefined };
}

async function settle(ctx: WorkflowContext, requestId: string, outboxId: number, outcome: { status: "sent" | "failed" | "expired"; at: number; error?: string }, action: string, details: JsonObject): Promise<void> {
  const state = (await ctx.store.request(requestId))?.state ?? null;
  await ctx.record(requestId, "system", action, state, details, () => ctx.store.settleSms(outboxId, outcome));
}

/** Delivers every queued SMS that is still useful; expired ones are dropped (their text erased). */
export async function deliverOutbox(ctx: WorkflowContext): Promise<{ delivered: number; failed: number; expired: number }> {
  let delivered = 0;
  let failed = 0;
  let expired = 0;
  if (!ctx.hasStore) return { delivered, failed, expired };
  for (const message of await ctx.store.undelivered()) {
    const outcome = await deliver(ctx, message.id);
    if (outcome.delivered) delivered++;
    else if (outcome.error === "EXPIRED") expired++;
    else failed++;
  }
  return { delivered, failed, expired };
}

/**
 * SMS still waiting for delivery (pending, or failed and to be retried) whose code has not expired, oldest first,
 * with their plain text: what an operator hands over, or a carrier integration picks up, when none was delivered.
 */
export async function undeliveredSms(ctx: WorkflowContext): Promise<UndeliveredSms[]> {
  const at = ctx.now();
  const out: UndeliveredSms[] = [];
  if (!ctx.hasStore) return out;
  for (const m of await ctx.store.undelivered()) {
    if (m.body === undefined || !(at < m.expiresAt) || (m.status !== "pending" && m.status !== "failed")) continue;
    out.push({
      id: m.id, requestId: m.requestId, purpose: m.purpose, to: m.to, body: m.body, status: m.status, attempts: m.attempts, lastError: m.lastError,
      createdAt: new Date(m.createdAt).toISOString(), expiresAt: new Date(m.expiresAt).toISOString(),
    });
  }
  return out;
}
