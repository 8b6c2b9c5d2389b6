/**
 * Phase 5 — issuance and registration. The credential JWT carries the on-chain credential id, which the contract
 * assigns at registration, so the chain call sits between durable database steps: intent (draft fixed, nonce and
 * block recorded) → register on chain → credential id recorded → JWT signed → issued. Every interruption is
 * recoverable by reconcile.ts without a second registration.
 */
import { CivilIdError, isCivilIdError } from "../../errors.js";
import { CIVIL_SERVANT_ID_TYPE, agencyOfCredential, credentialTypeId } from "../../chain/codes.js";
import { toCivilIdError } from "../../chain/errors.js";
import { parseEthrDid } from "../../did/did.js";
import { nonceState, type Registration } from "../../status/registrations.js";
import { draftCredential, signCredential, type CredentialDraft } from "../../credential/index.js";
import type { TransitionAction } from "../transitions.js";
import type { RequestRecord } from "../workflow-store.js";
import type { WorkflowContext } from "./context.js";
import { wrongState } from "./context.js";
import { deviceKeyOfRecord } from "./records.js";
import { recordSupersession } from "./reissue.js";

/** Checks on chain that the organisation participates and the issuer key is trusted for it now; records a refusal. */
export async function preflight(ctx: WorkflowContext, request: RequestRecord, actor: string): Promise<void> {
  const refuse = async (code: "ORGANISATION_NOT_PARTICIPATING" | "NOT_AUTHORISED", reason: string): Promise<never> => {
    await ctx.record(request.id, actor, "issue-refused", request.state, { code, reason });
    throw new CivilIdError(code, `Issuance of ${request.id} refused: ${reason}.`, { details: { reason } });
  };
  const issuers = ctx.options.ledger.issuerRegistry;
  try {
    const active = await issuers.isOrganisationActive(ctx.agencyCode);
    if (!active) await refuse("ORGANISATION_NOT_PARTICIPATING", `organisation ${ctx.agencyCode} is not active on chain`);
    const issuerAddress = parseEthrDid(ctx.options.issuer.did).address;
    const [trusted, agency] = await issuers.isTrustedIssuer(issuerAddress, credentialTypeId(CIVIL_SERVANT_ID_TYPE), BigInt(Math.floor(ctx.now() / 1000)));
    if (!trusted || Number(agency) !== ctx.agencyCode) {
      await refuse("NOT_AUTHORISED", `the issuer key ${issuerAddress} is not a trusted issuer key of ${ctx.agencyCode} for ${CIVIL_SERVANT_ID_TYPE} now`);
    }
  } catch (error) {
    throw toCivilIdError(error, issuers.interface, "Issuer check");
  }
}

/**
 * Drafts the credential (content and times fixed, so its binding digest is known before the id) and persists the
 * registration intent with it, the registrar's next nonce and the current block (lower bound of the log search).
 */
export async function recordIntent(ctx: WorkflowContext, request: RequestRecord, actor: string, action: Extract<TransitionAction, "registration-intent" | "registration-retry">): Promise<void> {
  const issuedAt = Math.floor(ctx.now() / 1000);
  const draft = draftOf(ctx, request, { issuer: ctx.options.issuer.did, issuedAt, validFrom: issuedAt, validUntil: issuedAt + Math.floor(ctx.validityMs / 1000) });
  let block: number;
  let nonce: number;
  try {
    [block, { pending: nonce }] = await Promise.all([ctx.registrar.provider!.getBlockNumber(), nonceState(ctx.registrar)]);
  } catch (error) {
    throw toCivilIdError(error, ctx.options.ledger.statusRegistry.interface, "Registration preparation");
  }
  await ctx.transition(request.id, action, actor, {
    intentBlock: block, intentNonce: nonce, issuerDid: draft.issuerDid, issuedAtS: draft.issuedAt, validFromS: draft.validFrom,
    validUntilS: draft.validUntil, bindingDigest: draft.digest,
  }, { holderRef: request.holderRef, subjectDid: request.subjectDid ?? null, bindingDigest: draft.digest, issuer: draft.issuerDid, fromBlock: block, registrarNonce: nonce });
}

/** The credential draft of a request: its content from the HR record and the device, with the given issuer and times. */
export function draftOf(ctx: WorkflowContext, request: RequestRecord, fixed: { issuer: string; issuedAt: number; validFrom: number; validUntil: number }): CredentialDraft {
  if (fixed.issuer !== ctx.options.issuer.did) {
    throw new CivilIdError(
      "NOT_AUTHORISED",
      `Request ${request.id} was registered for issuer key ${fixed.issuer}, but this workflow signs with ${ctx.options.issuer.did}: configure that key to finish it (the registered binding names the issuer).`,
    );
  }
  if (request.subjectDid === undefined || request.devicePublicKey === undefined) throw wrongState(request, "drafting a credential", ["activated"]);
  return draftCredential(ctx.options.issuer, {
    chainId: ctx.chainId,
    statusRegistry: ctx.statusRegistry,
    holderDid: request.subjectDid,
    deviceKey: deviceKeyOfRecord(request.devicePublicKey),
    claims: {
      name: request.name, agencyCode: request.agencyCode, organisation: request.organisationName, department: request.department,
      position: request.position, employeeRef: request.employeeRef,
    },
    issuedAt: fixed.issuedAt,
    validFrom: fixed.validFrom,
    validUntil: fixed.validUntil,
    ...(ctx.options.statusListBaseUrl === undefined ? {} : { statusListBaseUrl: ctx.options.statusListBaseUrl }),
  });
}

/** Sends the registration recorded by the intent; a definitive contract refusal returns the request to activated. */
export async function registerOnChain(ctx: WorkflowContext, id: string, actor: string): Promise<void> {
  const request = await ctx.request(id);
  let outcome;
  try {
    outcome = await ctx.status.register(request.holderRef, request.bindingDigest!);
  } catch (error) {
    const refusal = contractRefusal(error);
    if (refusal) {
      // The contract refused: no registration exists, so the request goes back to activated (fixable, retryable).
      await ctx.transition(id, "registration-refused", actor, {
        intentBlock: undefined, intentNonce: undefined, issuerDid: undefined, issuedAtS: undefined, validFromS: undefined, validUntilS: undefined, bindingDigest: undefined,
      }, { code: isCivilIdError(error) ? error.code : "CONTRACT_REVERTED", message: error instanceof Error ? error.message : String(error), error: refusal.name });
    }
    throw error;
  }
  await ctx.step("registered-on-chain", id);
  await recordRegistration(ctx, id, actor, "register", {
    credentialId: outcome.credentialId, supersededId: outcome.supersededId, txHash: outcome.txHash, blockNumber: outcome.blockNumber,
  }, {});
  await ctx.step("credential-id-recorded", id);
}

/** Records a mined registration (`registering → registered`) and, for a reissue, the superseded request. */
export async function recordRegistration(
  ctx: WorkflowContext,
  id: string,
  actor: string,
  action: Extract<TransitionAction, "register" | "registration-recovered">,
  reg: Pick<Registration, "credentialId" | "supersededId" | "txHash" | "blockNumber">,
  extra: Record<string, number | string>,
): Promise<void> {
  if (agencyOfCredential(reg.credentialId) !== ctx.agencyCode) {
    throw new CivilIdError("CONTRACT_REVERTED", `Registration of ${id} returned credential ${reg.credentialId} of another organisation.`);
  }
  await ctx.transition(id, action, actor, {
    credentialId: reg.credentialId, supersededId: reg.supersededId, txHash: reg.txHash, blockNumber: reg.blockNumber,
  }, { credentialId: reg.credentialId.toString(), supersededId: reg.supersededId?.toString() ?? null, txHash: reg.txHash, blockNumber: reg.blockNumber, ...extra },
  () => recordSupersession(ctx, id, actor, reg.credentialId, reg.supersededId));
}

/** Signs the registered draft (same content and times, so the same binding digest) and stores the JWT. */
export async function sign(ctx: WorkflowContext, id: string, actor: string): Promise<void> {
  const request = await ctx.request(id);
  if (request.state !== "registered") throw wrongState(request, "sign", ["registered"]);
  const draft = draftOf(ctx, request, { issuer: request.issuerDid!, issuedAt: request.issuedAtS!, validFrom: request.validFromS!, validUntil: request.validUntilS! });
  if (draft.digest !== request.bindingDigest) {
    throw new CivilIdError("INVALID_WORKFLOW_STATE", `The stored content of ${id} no longer matches its registered binding digest; revoke credential ${request.credentialId} and reissue.`);
  }
  const jwt = await signCredential(ctx.options.issuer, draft, request.credentialId!);
  await ctx.step("jwt-signed", id);
  await ctx.transition(id, "issue", actor, { credentialJwt: jwt, issuedAt: ctx.now() },
    { credentialId: request.credentialId!.toString(), issuer: draft.issuerDid, bindingDigest: draft.digest, validUntil: new Date(draft.validUntil * 1000).toISOString() });
  await ctx.step("issued", id);
}

/**
 * Whether an error of a registration call is the contract's definitive refusal (so nothing was registered), and
 * which custom error it was: sdk/chain/errors.ts decoded it once into CONTRACT_REVERTED / NOT_AUTHORISED.
 */
function contractRefusal(error: unknown): { name: string | null } | undefined {
  if (!isCivilIdError(error, "CONTRACT_REVERTED") && !isCivilIdError(error, "NOT_AUTHORISED")) return undefined;
  const name = error.details?.error;
  return { name: typeof name === "string" ? name : null };
}
