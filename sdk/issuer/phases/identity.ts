/**
 * Phase 2 — identity: verification sessions of the pluggable `IdentityVerifier` (default: HR record + SMS one-time
 * code). The workflow keeps what is common to every method: sessions, expiry, attempt limits and the audit.
 */
import { CivilIdError } from "../../errors.js";
import type { IdentitySubject, JsonObject } from "../identity.js";
import type { DeliveryOutcome } from "../workflow-types.js";
import type { RequestRecord } from "../workflow-store.js";
import { checkActor, type WorkflowContext } from "./context.js";
import { deliver, queueSms } from "./outbox.js";

export function subjectOf(r: RequestRecord): IdentitySubject {
  return { requestId: r.id, name: r.name, employeeRef: r.employeeRef, mobile: r.mobile, agencyCode: r.agencyCode, organisationName: r.organisationName };
}

/** Starts an identity verification session (the default verifier texts a one-time code to the HR phone). */
export async function startIdentityVerification(ctx: WorkflowContext, id: string, actor: string): Promise<{ sessionId: number; expiresAt: string; sms: DeliveryOutcome | undefined }> {
  checkActor(actor);
  const request = await ctx.requireState(id, ["approved"], "startIdentityVerification");
  const exhausted = () => new CivilIdError("IDENTITY_NOT_VERIFIED", `Request ${id} used all ${ctx.maxIdentitySessions} identity verification sessions.`);
  if ((await ctx.store.identitySessions(id)).length >= ctx.maxIdentitySessions) throw exhausted();
  const at = ctx.now();
  const session = await ctx.verifier.begin(subjectOf(request), at);
  if (!(session.expiresAt > at) || !Number.isInteger(session.maxAttempts) || session.maxAttempts < 1) {
    throw new CivilIdError("INVALID_INPUT", `Identity verifier ${ctx.verifier.method} returned an invalid session.`);
  }
  let sessionId = 0;
  let outboxId: number | undefined;
  await ctx.transition(id, "identity-verification-started", actor, {}, {}, async () => {
    if ((await ctx.store.identitySessions(id)).length >= ctx.maxIdentitySessions) throw exhausted();
    await ctx.store.closeIdentitySessions(id, at);
    await ctx.store.expireSms(id, "identity-code");
    sessionId = await ctx.store.insertIdentitySession({
      requestId: id, method: ctx.verifier.method, state: session.state, createdAt: at, expiresAt: session.expiresAt, maxAttempts: session.maxAttempts,
    });
    if (session.sms) outboxId = await queueSms(ctx, id, "identity-code", request.mobile, session.sms, at, session.expiresAt);
    return { method: ctx.verifier.method, sessionId, expiresAt: new Date(session.expiresAt).toISOString(), maxAttempts: session.maxAttempts };
  });
  const sms = outboxId === undefined ? undefined : await deliver(ctx, outboxId);
  return { sessionId, expiresAt: new Date(session.expiresAt).toISOString(), sms };
}

/**
 * Checks the applicant's evidence against the open session. Success moves the request to identity_verified.
 * Every failure is audited and counts against the session; when the last session is used up the request
 * becomes identity_failed (final). Throws IDENTITY_NOT_VERIFIED with `details.reason` and `attemptsLeft`.
 */
export async function verifyIdentity(ctx: WorkflowContext, id: string, evidence: unknown, actor: string): Promise<void> {
  checkActor(actor);
  const request = await ctx.requireState(id, ["approved"], "verifyIdentity");
  const session = (await ctx.store.identitySessions(id)).filter((s) => s.closedAt === undefined).at(-1);
  if (!session) {
    throw new CivilIdError("IDENTITY_NOT_VERIFIED", `No identity verification is open for ${id}; call startIdentityVerification first.`, { details: { reason: "NO_SESSION" } });
  }
  const at = ctx.now();
  if (at >= session.expiresAt) {
    await failSession(ctx, id, session.id, actor, at, "EXPIRED", 0);
    throw new CivilIdError("IDENTITY_NOT_VERIFIED", `The identity code for ${id} expired; start a new verification.`, { details: { reason: "EXPIRED", attemptsLeft: 0 } });
  }
  const reserved = await ctx.store.reserveIdentityAttempt(session.id);
  if (!reserved) {
    await failSession(ctx, id, session.id, actor, at, "NO_ATTEMPTS_LEFT", 0);
    throw new CivilIdError("IDENTITY_NOT_VERIFIED", `No attempts left for this identity code of ${id}; start a new verification.`, { details: { reason: "NO_ATTEMPTS_LEFT", attemptsLeft: 0 } });
  }
  const attemptsLeft = session.maxAttempts - session.attempts - 1;
  const result = await ctx.verifier.check(subjectOf(request), session.state, evidence, at);
  if (result.verified) {
    await ctx.transition(id, "verify-identity", actor, { identityMethod: ctx.verifier.method, identityVerifiedAt: at },
      { method: ctx.verifier.method, sessionId: session.id, ...(result.details ? { check: result.details } : {}) },
      async () => {
        await ctx.store.closeIdentitySessions(id, at);
        await ctx.store.expireSms(id, "identity-code");
      });
    return;
  }
  await failSession(ctx, id, session.id, actor, at, result.reason, attemptsLeft, result.details);
  throw new CivilIdError(
    "IDENTITY_NOT_VERIFIED",
    `Identity not verified for ${id} (${result.reason}); ${attemptsLeft > 0 ? `${attemptsLeft} attempt(s) left with this code` : "this code has no attempts left"}.`,
    { details: { reason: result.reason, attemptsLeft } },
  );
}

/** Records a failed identity check; closes the session when it has no attempts left and fails the request when no session is left. */
async function failSession(ctx: WorkflowContext, id: string, sessionId: number, actor: string, at: number, reason: string, attemptsLeft: number, check?: JsonObject): Promise<void> {
  const sessionsUsed = (await ctx.store.identitySessions(id)).length;
  const lastSession = attemptsLeft <= 0 && sessionsUsed >= ctx.maxIdentitySessions;
  await ctx.transition(id, lastSession ? "identity-failed" : "identity-check-failed", actor, {},
    { sessionId, reason, attemptsLeft, ...(check ? { check } : {}), ...(lastSession ? { sessionsUsed } : {}) },
    async () => {
      if (attemptsLeft <= 0) {
        await ctx.store.closeIdentitySessions(id, at);
        await ctx.store.expireSms(id, "identity-code");
      }
    });
}
