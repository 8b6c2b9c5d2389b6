/**
 * The issuance workflow of one organisation's issuing server: HR request → approval → identity verification →
 * SMS invitation → device activation → on-chain registration and signed credential. This class is a thin facade:
 * each phase lives in sdk/issuer/phases/ and moves requests only through the transition table of transitions.ts;
 * the store (workflow-store.ts) persists each move in one transaction with its audit row. See docs/ISSUANCE.md.
 */
import { CivilIdError } from "../errors.js";
import { deploymentAnchor } from "../status/registrations.js";
import type { CollectionChallenge } from "../protocol/collection.js";
import type { ActivationChallenge } from "../protocol/activation.js";
import type { HrSource, ReissueReason } from "./hr-import.js";
import { activate, collectCredential, collectionChallenge } from "./phases/activation.js";
import { WorkflowContext, boundedInt, checkActor } from "./phases/context.js";
import { startIdentityVerification, verifyIdentity } from "./phases/identity.js";
import { approve, cancel, importRequests, reject } from "./phases/intake.js";
import { activationChallenge, invite } from "./phases/invitation.js";
import { preflight, recordIntent, registerOnChain, sign } from "./phases/issuance.js";
import { deliverOutbox, undeliveredSms } from "./phases/outbox.js";
import { reconcile, resolveRegistration } from "./phases/reconcile.js";
import {
  activateProvenDevice, checkActivationCode, identityRechecked, invitationOfLink, startIdentityRecheck, verifyIdentityRecheck, type InvitationOfLink, type ProvenDevice,
} from "./phases/openid4vci.js";
import { auditEntry, issuanceRecord } from "./phases/records.js";
import { reissueExport, type ReissueExport } from "./phases/reissue.js";
import { statesFor, type WorkflowState } from "./transitions.js";
import type {
  ActivationInput, AuditEntry, DeliveryOutcome, ImportReport, IssuanceRecord, IssuanceWorkflowOptions, ReconcileReport, UndeliveredSms,
} from "./workflow-types.js";

export type { WorkflowState } from "./transitions.js";
export type { ReissueExport } from "./phases/reissue.js";
export type { InvitationOfLink, ProvenDevice } from "./phases/openid4vci.js";
export type * from "./workflow-types.js";

export class IssuanceWorkflow {
  private constructor(private readonly ctx: WorkflowContext) {}

  /**
   * Opens the issuing server's workflow. The node is asked for its chain id and the hash of the deployment's first
   * block, and the database is bound to them (with the registry addresses) when created: a database opened against
   * another deployment — e.g. a restarted `npm run node` that redeployed at the same addresses — is refused with
   * DEPLOYMENT_MISMATCH. A missing database is created by the first successful `importRequests` (`create: false`
   * refuses it instead).
   */
  static async open(options: IssuanceWorkflowOptions): Promise<IssuanceWorkflow> {
    const provider = options.ledger.statusRegistry.runner?.provider;
    if (!provider) throw new CivilIdError("INVALID_INPUT", "ledger.statusRegistry must be connected to the organisation's Registrar signer (with a provider).");
    const anchor = await deploymentAnchor(provider, options.ledger.deployment);
    const ctx = new WorkflowContext(options, anchor);
    await ctx.openStore();
    return new IssuanceWorkflow(ctx);
  }

  /** Closes the database. Pending chain work is not cancelled; `reconcile()` after reopening completes it. */
  close(): Promise<void> {
    return this.ctx.close();
  }

  // ---------------------------------------------------------------- intake and approval (phases/intake.ts)

  /** Imports an HR export (see docs/ISSUANCE.md, "Import semantics"). */
  importRequests(source: HrSource, text: string | Uint8Array, actor: string): Promise<ImportReport> {
    return importRequests(this.ctx, source, text, actor);
  }

  async approve(id: string, approver: string): Promise<IssuanceRecord> {
    await approve(this.ctx, id, approver);
    return this.get(id);
  }

  async reject(id: string, approver: string, reason: string): Promise<IssuanceRecord> {
    await reject(this.ctx, id, approver, reason);
    return this.get(id);
  }

  async cancel(id: string, actor: string, reason: string): Promise<IssuanceRecord> {
    await cancel(this.ctx, id, actor, reason);
    return this.get(id);
  }

  // ---------------------------------------------------------------- identity (phases/identity.ts)

  startIdentityVerification(id: string, actor = "system"): Promise<{ sessionId: number; expiresAt: string; sms: DeliveryOutcome | undefined }> {
    return startIdentityVerification(this.ctx, id, actor);
  }

  async verifyIdentity(id: string, evidence: unknown, actor = "applicant"): Promise<IssuanceRecord> {
    await verifyIdentity(this.ctx, id, evidence, actor);
    return this.get(id);
  }

  // ---------------------------------------------------------------- invitation and SMS (phases/invitation.ts, outbox.ts)

  invite(id: string, actor = "system"): Promise<{ invitationId: number; expiresAt: string; sms: DeliveryOutcome }> {
    return invite(this.ctx, id, actor);
  }

  activationChallenge(token: string, actor = "device"): Promise<ActivationChallenge & { readonly expiresAt: string }> {
    return activationChallenge(this.ctx, token, actor);
  }

  deliverOutbox(): Promise<{ delivered: number; failed: number; expired: number }> {
    return deliverOutbox(this.ctx);
  }

  undeliveredSms(): Promise<UndeliveredSms[]> {
    return undeliveredSms(this.ctx);
  }

  // ---------------------------------------------------------------- activation and collection (phases/activation.ts)

  async activate(input: ActivationInput, actor = "device"): Promise<IssuanceRecord> {
    return this.get(await activate(this.ctx, input, actor));
  }

  collectionChallenge(did: string): Promise<CollectionChallenge> {
    return collectionChallenge(this.ctx, did);
  }

  collectCredential(input: { did: string; challenge: CollectionChallenge; signature: string }, actor = "device"): Promise<{ requestId: string; credentialId: bigint; credentialJwt: string }> {
    return collectCredential(this.ctx, input, actor);
  }

  // ---------------------------------------------------------------- activation through OpenID4VCI (phases/openid4vci.ts)

  /** The invitation behind an install link (the credential offer); INVITATION_INVALID with `reason` when not usable. */
  invitationOfLink(token: string, actor = "wallet"): Promise<InvitationOfLink> {
    return invitationOfLink(this.ctx, token, actor);
  }

  /** The token endpoint's `tx_code` check against the invitation's activation code (attempt counted). */
  checkActivationCode(input: { requestId: string; invitationId: number; code: string }, actor = "wallet"): Promise<void> {
    return checkActivationCode(this.ctx, input, actor);
  }

  /** Opens an identity re-check of the invited holder (a one-time code to the HR phone) before the offer is released. */
  startIdentityRecheck(input: { requestId: string; invitationId: number }, actor = "wallet"): Promise<{ sessionId: number; expiresAt: string; sms: DeliveryOutcome | undefined }> {
    return startIdentityRecheck(this.ctx, input, actor);
  }

  verifyIdentityRecheck(input: { requestId: string; invitationId: number; evidence: unknown }, actor = "wallet"): Promise<void> {
    return verifyIdentityRecheck(this.ctx, input, actor);
  }

  identityRechecked(requestId: string, invitationId: number): Promise<boolean> {
    return identityRechecked(this.ctx, requestId, invitationId);
  }

  /** Binds a device key proven by the protocol's own proof (ES256K → did:ethr, ES256 → did:jwk) after `checkActivationCode`. */
  async activateProvenDevice(input: ProvenDevice, actor = "wallet"): Promise<IssuanceRecord> {
    return this.get(await activateProvenDevice(this.ctx, input, actor));
  }

  // ---------------------------------------------------------------- issuance, reissue, reconcile (phases/issuance.ts, reissue.ts, reconcile.ts)

  /**
   * Registers the credential's status entry on chain (superseding the holder's earlier credential), then signs
   * and stores the credential. On an interrupted request (registering, registered), resumes it.
   */
  async issue(id: string, actor = "system"): Promise<IssuanceRecord> {
    checkActor(actor);
    const ctx = this.ctx;
    return ctx.serial(async () => {
      const request = await ctx.requireState(id, statesFor("registration-intent", "register", "issue"), "issue");
      if (request.state === "activated") {
        await preflight(ctx, request, actor);
        await recordIntent(ctx, request, actor, "registration-intent");
        await ctx.step("intent-recorded", id);
        await registerOnChain(ctx, id, actor);
      } else if (request.state === "registering") {
        const outcome = await resolveRegistration(ctx, id, actor);
        if (!outcome.registered) {
          throw new CivilIdError("INVALID_WORKFLOW_STATE", `The registration of ${id} is still in flight (${outcome.reason}); reconcile once it is mined.`, { details: { state: "registering", reason: outcome.reason } });
        }
      }
      await sign(ctx, id, actor);
      return this.get(id);
    });
  }

  /** The HR export of a reissue request for the holder of the issued request `fromId` (see phases/reissue.ts). */
  reissueExport(fromId: string, input: { reason: ReissueReason; hrRequestId: string; personId: string }): Promise<ReissueExport> {
    return reissueExport(this.ctx, fromId, input);
  }

  /** Completes every interrupted issuance and delivers queued SMS (see phases/reconcile.ts). */
  reconcile(actor = "system"): Promise<ReconcileReport> {
    return reconcile(this.ctx, actor);
  }

  // ---------------------------------------------------------------- reads

  async get(id: string): Promise<IssuanceRecord> {
    return issuanceRecord(await this.ctx.request(id));
  }

  async list(filter: { state?: WorkflowState | readonly WorkflowState[]; source?: HrSource; limit?: number; offset?: number } = {}): Promise<IssuanceRecord[]> {
    const states = filter.state === undefined ? undefined : typeof filter.state === "string" ? [filter.state] : filter.state;
    const limit = boundedInt(filter.limit ?? 100, "limit", 1, 10_000);
    const offset = boundedInt(filter.offset ?? 0, "offset", 0, Number.MAX_SAFE_INTEGER);
    if (!this.ctx.hasStore) return [];
    return (await this.ctx.store.listRequests({ ...(states ? { states } : {}), ...(filter.source ? { source: filter.source } : {}), limit, offset })).map(issuanceRecord);
  }

  /** The audit trail of a request, oldest first; without an id, the import-level entries. */
  async audit(id?: string): Promise<AuditEntry[]> {
    if (id !== undefined) await this.get(id);
    if (!this.ctx.hasStore) return [];
    return (await this.ctx.store.auditOf(id ?? null)).map(auditEntry);
  }

  /** The SMS of a request as stored (delivered ones keep only their redacted text). */
  async outbox(id: string): Promise<{ id: number; purpose: string; to: string; status: string; body: string | null; redactedBody: string; attempts: number }[]> {
    await this.get(id);
    return (await this.ctx.store.outboxOf(id)).map((m) => ({ id: m.id, purpose: m.purpose, to: m.to, status: m.status, body: m.body ?? null, redactedBody: m.redactedBody, attempts: m.attempts }));
  }
}
