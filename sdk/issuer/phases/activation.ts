/**
 * Phase 4 — activation and collection: the device proves possession of its key with the link and the SMS code
 * (its DID is bound to the request), and later collects its issued credential by signing a keyed, expiring
 * challenge (nothing stored). The message formats are in ../activation.ts and ../collection.ts.
 */
import { CivilIdError } from "../../errors.js";
import { parseEthrDid } from "../../did/did.js";
import { checkActivationInput, checkPossessionProof } from "../../protocol/activation.js";
import { COLLECTION_TTL_MS, checkCollectionSignature, type CollectionChallenge } from "../../protocol/collection.js";
import { hashEquals, secretHash } from "../secrets.js";
import type { ActivationInput } from "../workflow-types.js";
import type { RequestRecord } from "../workflow-store.js";
import { checkActor, wrongState, type WorkflowContext } from "./context.js";
import { usableInvitation } from "./invitation.js";

/**
 * The device activates: the link's token, the SMS code, its DID and public key, and its signature over the
 * activation message. Single use; a wrong code or signature is audited and counts against the invitation.
 * Returns the request id.
 */
export async function activate(ctx: WorkflowContext, input: ActivationInput, actor: string): Promise<string> {
  checkActor(actor);
  const { token, code } = checkActivationInput(input?.token, input?.code);
  const invitation = await usableInvitation(ctx, token, actor);
  const id = invitation.requestId;
  await ctx.requireState(id, ["invited"], "activate");
  const at = ctx.now();
  const reserved = await ctx.store.reserveInvitationAttempt(invitation.id);
  if (!reserved) throw new CivilIdError("INVITATION_INVALID", "Too many failed activation attempts with this link; ask your HR office to invite you again.", { details: { reason: "NO_ATTEMPTS_LEFT" } });
  const attemptsLeft = invitation.maxAttempts - invitation.attempts - 1;

  let failure: string | null = null;
  let proof: ReturnType<typeof checkPossessionProof> | undefined;
  if (!hashEquals(secretHash(ctx.codeKey, "activation-code", id, code), invitation.codeHash)) failure = "WRONG_CODE";
  else {
    proof = checkPossessionProof({ chainId: ctx.chainId, requestId: id, challenge: invitation.challenge }, input.did, input.publicKey, input.signature);
    if (proof.failure) failure = proof.failure;
    else if (await ctx.store.requestBySubject(input.did)) failure = "DID_ALREADY_USED";
  }
  if (failure !== null || !proof || proof.failure !== null) {
    const reason = failure ?? "BAD_SIGNATURE";
    await ctx.record(id, actor, "activation-refused", "invited", { invitationId: invitation.id, reason, attemptsLeft });
    throw new CivilIdError(
      "ACTIVATION_FAILED",
      `Activation refused (${reason}); ${attemptsLeft > 0 ? `${attemptsLeft} attempt(s) left with this link` : "this link has no attempts left, ask for a new invitation"}.`,
      { details: { reason, attemptsLeft } },
    );
  }
  await ctx.transition(id, "activate", actor, { subjectDid: input.did, devicePublicKey: proof.publicKey, activatedAt: at },
    { invitationId: invitation.id, subjectDid: input.did }, async () => {
      await ctx.store.markInvitationUsed(invitation.id, at);
      // An invitation SMS still waiting for delivery carries a link that no longer works: drop its text, unsent.
      await ctx.store.expireSms(id, "invitation");
    });
  return id;
}

/** The challenge the device that activated a request signs to collect its issued credential. */
export async function collectionChallenge(ctx: WorkflowContext, did: string): Promise<CollectionChallenge> {
  const request = await collectableRequest(ctx, did);
  const expiresAt = new Date(ctx.now() + COLLECTION_TTL_MS).toISOString();
  return { chainId: ctx.chainId, requestId: request.id, challenge: challengeValue(ctx, request.id, did, expiresAt), expiresAt };
}

/** Hands the issued credential to the device that activated the request, once it proves possession of its key. */
export async function collectCredential(
  ctx: WorkflowContext,
  input: { did: string; challenge: CollectionChallenge; signature: string },
  actor: string,
): Promise<{ requestId: string; credentialId: bigint; credentialJwt: string }> {
  checkActor(actor);
  const request = await collectableRequest(ctx, input?.did);
  const c = input.challenge;
  const refuse = async (reason: string, message: string): Promise<never> => {
    await ctx.record(request.id, actor, "collection-refused", request.state, { reason });
    throw new CivilIdError("NOT_AUTHORISED", message, { details: { reason } });
  };
  const wellFormed = typeof c === "object" && c !== null && typeof c.challenge === "string" && /^0x[0-9a-f]{64}$/.test(c.challenge) && typeof c.expiresAt === "string";
  if (!wellFormed || c.chainId !== ctx.chainId || c.requestId !== request.id || !hashEquals(c.challenge.slice(2), challengeValue(ctx, request.id, input.did, c.expiresAt).slice(2))) {
    return await refuse("BAD_CHALLENGE", "The collection challenge was not issued by this server for this device; ask for a new one.");
  }
  if (!(ctx.now() < Date.parse(c.expiresAt))) return await refuse("EXPIRED", "The collection challenge expired; ask for a new one.");
  const failure = checkCollectionSignature(c, input.did, input.signature);
  if (failure !== null) return await refuse(failure, `Credential collection refused (${failure}): the device did not prove possession of its key.`);
  await ctx.record(request.id, actor, "credential-collected", request.state, { subjectDid: input.did, credentialId: request.credentialId!.toString() });
  return { requestId: request.id, credentialId: request.credentialId!, credentialJwt: request.credentialJwt! };
}

/** The request activated with `did`, which must be issued. */
async function collectableRequest(ctx: WorkflowContext, did: unknown): Promise<RequestRecord> {
  const parsed = parseEthrDid(did);
  if (parsed.chainId !== BigInt(ctx.chainId)) {
    throw new CivilIdError("INVALID_INPUT", `The device DID ${String(did)} is not on chain ${ctx.chainId}.`);
  }
  const request = await ctx.store.requestBySubject(did as string);
  if (!request) throw new CivilIdError("REQUEST_NOT_FOUND", `No request of organisation ${ctx.agencyCode} was activated with the device DID ${String(did)}.`);
  if (request.state !== "issued") throw wrongState(request, "credential collection", ["issued"]);
  return request;
}

function challengeValue(ctx: WorkflowContext, requestId: string, did: string, expiresAt: string): string {
  return "0x" + secretHash(ctx.codeKey, "collection-challenge", requestId, `${did}\0${expiresAt}`);
}
