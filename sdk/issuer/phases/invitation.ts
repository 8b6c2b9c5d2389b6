/**
 * Phase 3 — invitation: a single-use, expiring activation link (256-bit token) and code sent by SMS; only their
 * keyed hashes are stored. Inviting again replaces the previous invitation.
 */
import { randomBytes } from "node:crypto";
import { CivilIdError } from "../../errors.js";
import type { ActivationChallenge } from "../../protocol/activation.js";
import { randomDigits, randomToken, secretHash } from "../secrets.js";
import { statesFor } from "../transitions.js";
import type { DeliveryOutcome } from "../workflow-types.js";
import type { InvitationRecord } from "../workflow-store.js";
import { checkActor, type WorkflowContext } from "./context.js";
import { deliver, queueSms } from "./outbox.js";

export function tokenHash(key: Uint8Array, token: string): string {
  return secretHash(key, "activation-token", "", token);
}

/** Sends (or re-sends, replacing the previous one) the invitation SMS. */
export async function invite(ctx: WorkflowContext, id: string, actor: string): Promise<{ invitationId: number; expiresAt: string; sms: DeliveryOutcome }> {
  checkActor(actor);
  const request = await ctx.requireState(id, statesFor("invite", "re-invite"), "invite");
  const at = ctx.now();
  const token = randomToken();
  const code = randomDigits(ctx.activationDigits);
  const challenge = "0x" + randomBytes(32).toString("hex");
  const expiresAt = at + ctx.invitationTtlMs;
  const url = new URL(ctx.activationUrl.href);
  url.searchParams.set("token", token);
  const redactedUrl = new URL(ctx.activationUrl.href);
  redactedUrl.searchParams.set("token", "REDACTED");
  const hours = Math.round(ctx.invitationTtlMs / 3_600_000);
  const text = (link: string, c: string) =>
    `[모바일 공무원증] ${request.organisationName} 발급 안내: 앱 설치·활성화 ${link} 활성화 코드 ${c} (${hours}시간 유효, 1회용).`;
  let invitationId = 0;
  let outboxId = 0;
  await ctx.transition(id, request.state === "invited" ? "re-invite" : "invite", actor, {}, {}, async () => {
    await ctx.store.revokeInvitations(id, at);
    await ctx.store.expireSms(id, "invitation");
    invitationId = await ctx.store.insertInvitation({
      requestId: id, tokenHash: tokenHash(ctx.codeKey, token), codeHash: secretHash(ctx.codeKey, "activation-code", id, code),
      challenge, createdAt: at, expiresAt, maxAttempts: ctx.invitationAttempts,
    });
    outboxId = await queueSms(ctx, id, "invitation", request.mobile, { body: text(url.href, code), redactedBody: text(redactedUrl.href, "*".repeat(code.length)) }, at, expiresAt);
    return { invitationId, expiresAt: new Date(expiresAt).toISOString(), maxAttempts: ctx.invitationAttempts };
  });
  return { invitationId, expiresAt: new Date(expiresAt).toISOString(), sms: await deliver(ctx, outboxId) };
}

/** What the device signs to activate: look-up by the link's token (refused when the link is not usable). */
export async function activationChallenge(ctx: WorkflowContext, token: string, actor: string): Promise<ActivationChallenge & { readonly expiresAt: string }> {
  checkActor(actor);
  const invitation = await usableInvitation(ctx, token, actor);
  return { chainId: ctx.chainId, requestId: invitation.requestId, challenge: invitation.challenge, expiresAt: new Date(invitation.expiresAt).toISOString() };
}

/** The invitation of a link's token if it can still be used; otherwise INVITATION_INVALID (recorded when the invitation is known). */
export async function usableInvitation(ctx: WorkflowContext, token: unknown, actor: string): Promise<InvitationRecord> {
  if (typeof token !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(token)) {
    throw new CivilIdError("INVITATION_INVALID", "The activation link is not valid; use the link from the latest SMS.", { details: { reason: "UNKNOWN" } });
  }
  const invitation = await ctx.store.invitationByToken(tokenHash(ctx.codeKey, token));
  const refuse = async (reason: string, message: string): Promise<never> => {
    const request = invitation ? await ctx.store.request(invitation.requestId) : undefined;
    if (invitation && request) await ctx.record(request.id, actor, "activation-refused", request.state, { invitationId: invitation.id, reason });
    throw new CivilIdError("INVITATION_INVALID", message, { details: { reason } });
  };
  if (!invitation) return await refuse("UNKNOWN", "The activation link is not valid; use the link from the latest SMS.");
  if (invitation.usedAt !== undefined) return await refuse("USED", "This activation link was already used; it works once.");
  if (invitation.revokedAt !== undefined) return await refuse("REPLACED", "This activation link was replaced by a newer invitation or cancelled; use the latest SMS.");
  if (ctx.now() >= invitation.expiresAt) return await refuse("EXPIRED", "This activation link expired; ask your HR office to invite you again.");
  if (invitation.attempts >= invitation.maxAttempts) return await refuse("NO_ATTEMPTS_LEFT", "Too many failed activation attempts with this link; ask your HR office to invite you again.");
  return invitation;
}
