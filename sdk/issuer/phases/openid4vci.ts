/**
 * Phase 4b — activation through OpenID4VCI (services/issuer): the SMS link is the credential offer, its activation
 * code the pre-authorized code flow's `tx_code`, and the device proves its key with the protocol's own `jwt` proof
 * instead of the activation message of phases/activation.ts. The holder may re-check their identity in the app
 * before the offer is released (a second identity session on the invited request, same verifier and limits).
 * Every rule — link expiry and single use, attempt counters, one device key per request — is the workflow's own,
 * shared with phases/invitation.ts and phases/activation.ts.
 */
import { CivilIdError } from "../../errors.js";
import { checkDeviceKeyJwk, deviceKeyMatchesHolder, type DeviceKeyJwk } from "../../credential/device-key.js";
import { parseHolderDid } from "../../did/holder.js";
import { hashEquals, secretHash } from "../secrets.js";
import type { DeliveryOutcome } from "../workflow-types.js";
import type { InvitationRecord } from "../workflow-store.js";
import { checkActor, type WorkflowContext } from "./context.js";
import { subjectOf } from "./identity.js";
import { usableInvitation } from "./invitation.js";
import { deliver, queueSms } from "./outbox.js";
import { storedDeviceKey } from "./records.js";

export interface InvitationOfLink {
  readonly requestId: string;
  readonly invitationId: number;
  readonly expiresAt: string;
}

/** What the protocol proved about the device: its holder DID and public JWK (secp256k1 → did:ethr, P-256 → did:jwk). */
export interface ProvenDevice {
  readonly requestId: string;
  readonly invitationId: number;
  readonly did: string;
  readonly deviceKey: DeviceKeyJwk;
  /** How possession was proven, for the audit (e.g. `openid4vci-jwt-proof ES256`). */
  readonly proof: string;
}

const NO_ATTEMPTS = "Too many failed activation attempts with this link; ask your HR office to invite you again.";

/**
 * The invitation behind an install link, for an OpenID4VCI credential offer: refused like `activationChallenge`
 * (INVITATION_INVALID with `details.reason`) when the link is unknown — also before this organisation's first
 * import — used, replaced, expired or out of attempts.
 */
export async function invitationOfLink(ctx: WorkflowContext, token: string, actor: string): Promise<InvitationOfLink> {
  checkActor(actor);
  if (!ctx.hasStore) throw new CivilIdError("INVITATION_INVALID", "The activation link is not valid; use the link from the latest SMS.", { details: { reason: "UNKNOWN" } });
  const invitation = await usableInvitation(ctx, token, actor);
  await ctx.requireState(invitation.requestId, ["invited"], "invitationOfLink");
  return { requestId: invitation.requestId, invitationId: invitation.id, expiresAt: new Date(invitation.expiresAt).toISOString() };
}

/**
 * The token endpoint's check of `tx_code` against the invitation's activation code. Counts the attempt against the
 * invitation exactly as `activate` does (the libraries compare `tx_code` but keep no counter); the invitation stays
 * open until `activateProvenDevice`. Throws INVITATION_INVALID (no longer usable, or out of attempts) or
 * ACTIVATION_FAILED `WRONG_CODE` with `attemptsLeft`.
 */
export async function checkActivationCode(ctx: WorkflowContext, input: { requestId: string; invitationId: number; code: string }, actor: string): Promise<void> {
  checkActor(actor);
  const code = typeof input?.code === "string" ? input.code.trim() : "";
  const request = await ctx.requireState(input.requestId, ["invited"], "checkActivationCode");
  const invitation = await openInvitation(ctx, request.id, input.invitationId);
  if (invitation.attempts >= invitation.maxAttempts) throw new CivilIdError("INVITATION_INVALID", NO_ATTEMPTS, { details: { reason: "NO_ATTEMPTS_LEFT" } });
  const reserved = await ctx.store.reserveInvitationAttempt(invitation.id);
  if (!reserved) throw new CivilIdError("INVITATION_INVALID", NO_ATTEMPTS, { details: { reason: "NO_ATTEMPTS_LEFT" } });
  const attemptsLeft = invitation.maxAttempts - invitation.attempts - 1;
  if (!/^[0-9]{4,12}$/.test(code) || !hashEquals(secretHash(ctx.codeKey, "activation-code", request.id, code), invitation.codeHash)) {
    await ctx.record(request.id, actor, "activation-refused", "invited", { invitationId: invitation.id, reason: "WRONG_CODE", attemptsLeft });
    throw new CivilIdError(
      "ACTIVATION_FAILED",
      `Activation refused (WRONG_CODE); ${attemptsLeft > 0 ? `${attemptsLeft} attempt(s) left with this link` : "this link has no attempts left, ask for a new invitation"}.`,
      { details: { reason: "WRONG_CODE", attemptsLeft } },
    );
  }
  await ctx.transition(request.id, "activation-code-accepted", actor, {}, { invitationId: invitation.id });
}

/**
 * The holder verifies their identity again in the app before the offer is released (OpenID4VCI leaves this out
 * of the pre-authorized flow): a new identity session on the invited request, its one-time code texted through
 * the outbox to the HR-registered phone. Sessions count against `maxIdentitySessions`, with the first check's.
 */
export async function startIdentityRecheck(
  ctx: WorkflowContext,
  input: { requestId: string; invitationId: number },
  actor: string,
): Promise<{ sessionId: number; expiresAt: string; sms: DeliveryOutcome | undefined }> {
  checkActor(actor);
  const request = await ctx.requireState(input.requestId, ["invited"], "startIdentityRecheck");
  await openInvitation(ctx, request.id, input.invitationId);
  const exhausted = () => new CivilIdError("IDENTITY_NOT_VERIFIED", `Request ${request.id} used all ${ctx.maxIdentitySessions} identity verification sessions; ask your HR office.`, { details: { reason: "NO_SESSIONS_LEFT" } });
  if ((await ctx.store.identitySessions(request.id)).length >= ctx.maxIdentitySessions) throw exhausted();
  const at = ctx.now();
  const session = await ctx.verifier.begin(subjectOf(request), at);
  if (!(session.expiresAt > at) || !Number.isInteger(session.maxAttempts) || session.maxAttempts < 1) {
    throw new CivilIdError("INVALID_INPUT", `Identity verifier ${ctx.verifier.method} returned an invalid session.`);
  }
  let sessionId = 0;
  let outboxId: number | undefined;
  await ctx.transition(request.id, "identity-recheck-started", actor, {}, { invitationId: input.invitationId, method: ctx.verifier.method }, async () => {
    if ((await ctx.store.identitySessions(request.id)).length >= ctx.maxIdentitySessions) throw exhausted();
    await ctx.store.closeIdentitySessions(request.id, at);
    await ctx.store.expireSms(request.id, "identity-code");
    sessionId = await ctx.store.insertIdentitySession({
      requestId: request.id, method: ctx.verifier.method, state: session.state, createdAt: at, expiresAt: session.expiresAt, maxAttempts: session.maxAttempts,
    });
    if (session.sms) outboxId = await queueSms(ctx, request.id, "identity-code", request.mobile, session.sms, at, session.expiresAt);
    return { sessionId, expiresAt: new Date(session.expiresAt).toISOString(), maxAttempts: session.maxAttempts };
  });
  const sms = outboxId === undefined ? undefined : await deliver(ctx, outboxId);
  return { sessionId, expiresAt: new Date(session.expiresAt).toISOString(), sms };
}

/**
 * Checks the re-check evidence against the open session (the attempt is counted before the check). Success is
 * audited as `identity-rechecked` for this invitation; a failure throws IDENTITY_NOT_VERIFIED with `reason` and
 * `attemptsLeft`. The request stays invited either way: the holder's identity was verified once already, the
 * re-check only gates the offer.
 */
export async function verifyIdentityRecheck(ctx: WorkflowContext, input: { requestId: string; invitationId: number; evidence: unknown }, actor: string): Promise<void> {
  checkActor(actor);
  const request = await ctx.requireState(input.requestId, ["invited"], "verifyIdentityRecheck");
  await openInvitation(ctx, request.id, input.invitationId);
  const session = (await ctx.store.identitySessions(request.id)).filter((s) => s.closedAt === undefined).at(-1);
  if (!session) throw new CivilIdError("IDENTITY_NOT_VERIFIED", "No identity check is open; start one first.", { details: { reason: "NO_SESSION" } });
  const at = ctx.now();
  const fail = async (reason: string, attemptsLeft: number, message: string): Promise<never> => {
    await ctx.transition(request.id, "identity-recheck-failed", actor, {}, { invitationId: input.invitationId, sessionId: session.id, reason, attemptsLeft }, async () => {
      if (attemptsLeft <= 0) {
        await ctx.store.closeIdentitySessions(request.id, at);
        await ctx.store.expireSms(request.id, "identity-code");
      }
    });
    throw new CivilIdError("IDENTITY_NOT_VERIFIED", message, { details: { reason, attemptsLeft } });
  };
  if (at >= session.expiresAt) return await fail("EXPIRED", 0, "The identity code expired; start a new check.");
  if (!await ctx.store.reserveIdentityAttempt(session.id)) return await fail("NO_ATTEMPTS_LEFT", 0, "No attempts left with this identity code; start a new check.");
  const attemptsLeft = session.maxAttempts - session.attempts - 1;
  const result = await ctx.verifier.check(subjectOf(request), session.state, input.evidence, at);
  if (!result.verified) {
    return await fail(result.reason, attemptsLeft, `Identity not verified (${result.reason}); ${attemptsLeft > 0 ? `${attemptsLeft} attempt(s) left with this code` : "this code has no attempts left"}.`);
  }
  await ctx.transition(request.id, "identity-rechecked", actor, {}, { invitationId: input.invitationId, sessionId: session.id, method: ctx.verifier.method }, async () => {
    await ctx.store.closeIdentitySessions(request.id, at);
    await ctx.store.expireSms(request.id, "identity-code");
  });
}

/** Whether the holder re-checked their identity for this invitation (`verifyIdentityRecheck` succeeded). */
export async function identityRechecked(ctx: WorkflowContext, requestId: string, invitationId: number): Promise<boolean> {
  if (!ctx.hasStore) return false;
  return (await ctx.store.auditOf(requestId)).some((a) => a.action === "identity-rechecked" && a.details.invitationId === invitationId);
}

/**
 * Binds the device key whose possession the caller verified with its protocol's own proof (the OpenID4VCI `jwt`
 * proof over a nonce of the service), for an invitation whose code `checkActivationCode` accepted. Marks the
 * invitation used, as `activate` does. A secp256k1 key is bound under its did:ethr (on this chain), a P-256 key
 * under its did:jwk. INVITATION_INVALID when the invitation is no longer the usable one; ACTIVATION_FAILED with
 * `reason` for a key that is not the DID's or is already bound to another request. Returns the request id.
 */
export async function activateProvenDevice(ctx: WorkflowContext, input: ProvenDevice, actor: string): Promise<string> {
  checkActor(actor);
  const request = await ctx.requireState(input.requestId, ["invited"], "activateProvenDevice");
  const invitation = await openInvitation(ctx, request.id, input.invitationId);
  if (!(await ctx.store.auditOf(request.id)).some((a) => a.action === "activation-code-accepted" && a.details.invitationId === invitation.id)) {
    throw new CivilIdError("ACTIVATION_FAILED", "The activation code of this invitation was not accepted yet (token endpoint first).", { details: { reason: "CODE_NOT_CHECKED" } });
  }
  const refuse = async (reason: string, message: string, cause?: unknown): Promise<never> => {
    await ctx.record(request.id, actor, "activation-refused", "invited", { invitationId: invitation.id, reason });
    throw new CivilIdError("ACTIVATION_FAILED", message, { details: { reason }, ...(cause === undefined ? {} : { cause }) });
  };
  let deviceKey: DeviceKeyJwk;
  try {
    deviceKey = checkDeviceKeyJwk(input.deviceKey);
  } catch (error) {
    return await refuse("MALFORMED_PUBLIC_KEY", "The device public key is malformed.", error);
  }
  const holder = parseHolderDid(input.did);
  if (holder === undefined) return await refuse("MALFORMED_DID", "The device DID must be a canonical did:ethr (secp256k1 key) or did:jwk (P-256 key).");
  if (holder.method === "ethr" && holder.chainId !== BigInt(ctx.chainId)) return await refuse("WRONG_CHAIN", `The device DID is not on chain ${ctx.chainId}.`);
  if (!deviceKeyMatchesHolder(deviceKey, holder.did)) return await refuse("KEY_NOT_OF_DID", "The device public key is not the DID's key.");
  if (await ctx.store.requestBySubject(holder.did)) return await refuse("DID_ALREADY_USED", "This device key was already used for another request; create a new key.");
  const at = ctx.now();
  await ctx.transition(request.id, "activate", actor, { subjectDid: holder.did, devicePublicKey: storedDeviceKey(deviceKey), activatedAt: at },
    { invitationId: invitation.id, subjectDid: holder.did, proof: input.proof }, async () => {
      await ctx.store.markInvitationUsed(invitation.id, at);
      await ctx.store.expireSms(request.id, "invitation");
    });
  return request.id;
}

/** The request's invitation `invitationId` if it is still open (not used, replaced or expired). */
async function openInvitation(ctx: WorkflowContext, requestId: string, invitationId: number): Promise<InvitationRecord> {
  const invitation = (await ctx.store.invitations(requestId)).find((i) => i.id === invitationId);
  if (!invitation || invitation.usedAt !== undefined || invitation.revokedAt !== undefined || ctx.now() >= invitation.expiresAt) {
    const reason = !invitation ? "UNKNOWN" : invitation.usedAt !== undefined ? "USED" : invitation.revokedAt !== undefined ? "REPLACED" : "EXPIRED";
    throw new CivilIdError("INVITATION_INVALID", "This invitation is no longer usable; ask your HR office to invite you again.", { details: { reason } });
  }
  return invitation;
}
