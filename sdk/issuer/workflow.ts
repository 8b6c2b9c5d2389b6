/**
 * The issuance workflow of one organisation's issuing server: HR request → approval → identity verification →
 * SMS invitation → device activation → on-chain registration and signed credential. Every step is persisted in
 * SQLite (see workflow-store.ts) in one transaction with its audit row, so a crash between two steps loses
 * nothing; the one step that spans the chain and the database (registration) is made restartable by recording
 * the intent first and, on restart, finding a mined registration by its `CredentialRegistered` log before ever
 * registering again. See docs/ISSUANCE.md.
 */
import { randomBytes } from "node:crypto";
import { SigningKey, computeAddress, getAddress, isCallException, type Interface, type Signer } from "ethers";
import type { Issuer } from "did-jwt-vc";
import { CivilIdError, isCivilIdError } from "../errors.js";
import type { LedgerContracts } from "../chain/contracts.js";
import { CIVIL_SERVANT_ID_TYPE, OrgKind, OrgStatus, agencyOfCredential, credentialTypeId, parseAgencyCode } from "../chain/codes.js";
import { toCivilIdError } from "../chain/errors.js";
import { parseEthrDid } from "../did/did.js";
import { StatusClient } from "../status/client.js";
import { holderReference } from "../status/holder-ref.js";
import { deviceKeyJwk, draftCredential, signCredential, type CredentialDraft } from "./credential.js";
import { hasControlCharacters, parseHrExport, type HrRequest, type HrRowError, type HrSource, type ReissueReason, type RequestKind } from "./hr-import.js";
import { HrOtpIdentityVerifier, type IdentitySubject, type IdentityVerifier, type JsonObject } from "./identity.js";
import { checkActivationInput, checkPossessionProof, type ActivationChallenge } from "./activation.js";
import { COLLECTION_TTL_MS, checkCollectionSignature, type CollectionChallenge } from "./collection.js";
import { checkKey, deriveCodeKey, hashEquals, randomDigits, randomToken, secretHash } from "./secrets.js";
import type { SmsGateway, SmsPurpose } from "./sms.js";
import { WorkflowStore, type AuditRow, type RequestRow, type WorkflowState } from "./workflow-store.js";

export type { WorkflowState } from "./workflow-store.js";

/** Durable points inside `issue()`, in order; `afterIssueStep` runs after each (for fault injection and metrics). */
export type IssueStep = "intent-recorded" | "registered-on-chain" | "credential-id-recorded" | "jwt-signed" | "issued";

export interface WorkflowHooks {
  /** Runs inside every transaction after its writes, before COMMIT: throwing rolls the whole transaction back. */
  beforeCommit?(event: { readonly requestId: string | null; readonly action: string; readonly from: WorkflowState | null; readonly to: WorkflowState | null }): void;
  /** Runs after each durable step of an issuance; throwing there stops the issuance as a crash would. */
  afterIssueStep?(step: IssueStep, requestId: string): void | Promise<void>;
}

export interface IssuanceWorkflowOptions {
  /** SQLite file (created with its directory if missing). One database per organisation. */
  readonly dbPath: string;
  /** The organisation this issuing server issues for (its 7-digit 기관코드). */
  readonly agencyCode: number;
  /** The consortium contracts; `statusRegistry` must be connected to the organisation's Registrar signer. */
  readonly ledger: LedgerContracts;
  /** An issuer key of the organisation (did-jwt ES256K issuer), registered in the issuer registry. */
  readonly issuer: Issuer;
  /** Must equal the deployment's chain id. */
  readonly chainId: number;
  /** The consortium holder-reference secret (>= 32 bytes): holderRef = HMAC(secret, personId). */
  readonly holderSecret: Uint8Array;
  readonly sms: SmsGateway;
  readonly invitation: {
    /** Install / activation page; the token is appended as `?token=`. */
    readonly baseUrl: string;
    /** Default 72 h. */
    readonly ttlSeconds?: number;
    /** Wrong code or signature submissions per invitation; default 5. */
    readonly maxAttempts?: number;
    /** Activation code length; default 8. */
    readonly codeDigits?: number;
  };
  /** Default: HR record + SMS one-time code ({@link HrOtpIdentityVerifier}). */
  readonly identityVerifier?: IdentityVerifier;
  /** Verification sessions (codes sent) per request before it fails for good; default 3. */
  readonly maxIdentitySessions?: number;
  /** Key of the one-time code hashes; default HKDF(holderSecret, agency). */
  readonly codeHashKey?: Uint8Array;
  /** Credential lifetime; default 1095 days. */
  readonly credentialValidityDays?: number;
  /** Unix milliseconds; default Date.now. */
  readonly clock?: () => number;
  readonly hooks?: WorkflowHooks;
}

export interface IssuanceRecord {
  readonly id: string;
  readonly source: HrSource;
  readonly hrRequestId: string;
  readonly state: WorkflowState;
  /** What has to happen next, in words. */
  readonly nextStep: string;
  readonly agencyCode: number;
  readonly organisationName: string;
  readonly department: string;
  readonly position: string;
  readonly name: string;
  readonly employeeRef: string;
  readonly mobile: string;
  readonly holderRef: string;
  readonly kind: RequestKind;
  readonly reissueReason: ReissueReason | undefined;
  readonly requestedAt: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly refusal: { readonly code: string; readonly reason: string } | undefined;
  readonly approver: string | undefined;
  readonly decidedAt: string | undefined;
  readonly rejectionReason: string | undefined;
  readonly identityMethod: string | undefined;
  readonly identityVerifiedAt: string | undefined;
  readonly subjectDid: string | undefined;
  readonly devicePublicKey: string | undefined;
  readonly activatedAt: string | undefined;
  /** keccak256 binding digest of the credential's content, registered on chain with it (set from registration on). */
  readonly bindingDigest: string | undefined;
  readonly credentialId: bigint | undefined;
  /** The holder's earlier credential that this issuance revoked on chain (SUPERSEDED_BY_REISSUE). */
  readonly supersededId: bigint | undefined;
  /** The later credential that superseded this one. */
  readonly supersededBy: bigint | undefined;
  readonly txHash: string | undefined;
  readonly blockNumber: number | undefined;
  readonly credentialJwt: string | undefined;
  readonly issuedAt: string | undefined;
}

export interface AuditEntry {
  readonly seq: number;
  readonly requestId: string | undefined;
  readonly at: string;
  readonly actor: string;
  readonly action: string;
  readonly from: WorkflowState | undefined;
  readonly to: WorkflowState | undefined;
  readonly details: JsonObject;
}

/** Per-row outcome of an import whose file was valid. */
export interface ImportReport {
  readonly source: HrSource;
  readonly rows: number;
  /** New requests (state requested). */
  readonly created: readonly string[];
  /** Already imported with identical content (idempotent re-import): nothing changed. */
  readonly duplicates: readonly string[];
  /** Recorded as refused (final): the organisation does not participate, or the holder has an open request. */
  readonly refused: readonly { readonly id: string; readonly row: number; readonly code: string; readonly reason: string }[];
  /** The request id exists with different content: left unchanged (HR must use a new request id). */
  readonly conflicts: readonly { readonly id: string; readonly row: number }[];
}

export interface DeliveryOutcome {
  readonly outboxId: number;
  readonly delivered: boolean;
  readonly error: string | undefined;
}

export interface ActivationInput {
  /** From the invitation link. */
  readonly token: string;
  /** From the invitation SMS. */
  readonly code: string;
  /** did:ethr of the device key. */
  readonly did: string;
  /** secp256k1 public key of the device (compressed or uncompressed hex). */
  readonly publicKey: string;
  /** EIP-191 signature of `activationMessage(challenge, did)` by the device key. */
  readonly signature: string;
}

export interface ReconcileReport {
  /** Requests brought to `issued`. */
  readonly completed: readonly string[];
  /** Requests left as they are for now (e.g. a registration transaction still in flight). */
  readonly pending: readonly { readonly id: string; readonly reason: string }[];
  readonly failed: readonly { readonly id: string; readonly code: string; readonly message: string }[];
  readonly sms: { readonly delivered: number; readonly failed: number; readonly expired: number };
}

const CANCELLABLE: readonly WorkflowState[] = ["requested", "approved", "identity_verified", "invited", "activated"];
const DAY_MS = 86_400_000;

const NEXT_STEP: Record<WorkflowState, string> = {
  requested: "approve or reject (department head)",
  refused: "none: refused for good (HR submits a new request)",
  rejected: "none: rejected for good (HR submits a new request)",
  approved: "verify the applicant's identity (startIdentityVerification, then verifyIdentity)",
  identity_failed: "none: identity verification failed for good (HR submits a new request)",
  identity_verified: "invite (sends the activation SMS)",
  invited: "activate on the device with the link and code from the SMS (or invite again)",
  activated: "issue",
  cancelled: "none: cancelled (HR submits a new request)",
  registering: "reconcile (the issuance was interrupted during registration)",
  registered: "reconcile (the issuance was interrupted before the credential was signed)",
  issued: "none: issued (a new device needs a reissue request from HR)",
};

const ORG_STATUS_REFUSAL: Record<number, string> = {
  [OrgStatus.None]: "NOT_ACCREDITED",
  [OrgStatus.Suspended]: "SUSPENDED",
  [OrgStatus.Removed]: "REMOVED",
};

export class IssuanceWorkflow {
  private readonly store: WorkflowStore;
  private readonly options: IssuanceWorkflowOptions;
  private readonly agencyCode: number;
  private readonly now: () => number;
  private readonly codeKey: Uint8Array;
  private readonly verifier: IdentityVerifier;
  private readonly status: StatusClient;
  private readonly registrar: Signer;
  private readonly statusRegistry: string;
  private readonly invitationTtlMs: number;
  private readonly invitationAttempts: number;
  private readonly activationDigits: number;
  private readonly maxIdentitySessions: number;
  private readonly validityMs: number;
  private readonly activationUrl: URL;
  /** Chain work runs one at a time: the registrar's nonce recorded with an intent is then the one it uses. */
  private chainQueue: Promise<unknown> = Promise.resolve();

  constructor(options: IssuanceWorkflowOptions) {
    this.options = options;
    this.agencyCode = parseAgencyCode(options.agencyCode);
    if (options.chainId !== options.ledger.deployment.chainId) {
      throw new CivilIdError("CHAIN_ID_MISMATCH", `chainId ${options.chainId} differs from the deployment's chain ${options.ledger.deployment.chainId}.`);
    }
    const issuerDid = parseEthrDid(options.issuer.did);
    if (issuerDid.chainId !== BigInt(options.chainId)) {
      throw new CivilIdError("CHAIN_ID_MISMATCH", `The issuer DID ${options.issuer.did} is not on chain ${options.chainId}.`);
    }
    checkKey(options.holderSecret, "holder secret");
    this.codeKey = options.codeHashKey ?? deriveCodeKey(options.holderSecret, this.agencyCode);
    checkKey(this.codeKey, "code hash key");
    const runner = options.ledger.statusRegistry.runner as Signer | null;
    if (!runner || typeof runner.getAddress !== "function" || !runner.provider) {
      throw new CivilIdError("INVALID_INPUT", "ledger.statusRegistry must be connected to the organisation's Registrar signer (with a provider).");
    }
    this.registrar = runner;
    this.status = new StatusClient(options.ledger.statusRegistry);
    this.statusRegistry = getAddress(options.ledger.deployment.statusRegistry);
    this.now = options.clock ?? Date.now;
    this.verifier = options.identityVerifier ?? new HrOtpIdentityVerifier({ key: this.codeKey });
    this.invitationTtlMs = boundedInt(options.invitation.ttlSeconds ?? 72 * 3600, "invitation.ttlSeconds", 60, 30 * 86_400) * 1000;
    this.invitationAttempts = boundedInt(options.invitation.maxAttempts ?? 5, "invitation.maxAttempts", 1, 20);
    this.activationDigits = boundedInt(options.invitation.codeDigits ?? 8, "invitation.codeDigits", 6, 12);
    this.maxIdentitySessions = boundedInt(options.maxIdentitySessions ?? 3, "maxIdentitySessions", 1, 10);
    this.validityMs = boundedInt(options.credentialValidityDays ?? 1095, "credentialValidityDays", 1, 3650) * DAY_MS;
    try {
      this.activationUrl = new URL(options.invitation.baseUrl);
    } catch (error) {
      throw new CivilIdError("INVALID_INPUT", "invitation.baseUrl must be an absolute URL.", { cause: error });
    }
    // Plain http only on loopback (development: `npm run serve` on 127.0.0.1).
    if (this.activationUrl.protocol !== "https:" && !["localhost", "127.0.0.1", "[::1]"].includes(this.activationUrl.hostname)) {
      throw new CivilIdError("INVALID_INPUT", "invitation.baseUrl must use https (the link carries a secret token).");
    }
    this.store = new WorkflowStore(options.dbPath, { agencyCode: this.agencyCode, chainId: options.chainId, statusRegistry: this.statusRegistry });
  }

  /** Closes the database. Pending chain work is not cancelled; `reconcile()` after reopening completes it. */
  close(): void {
    this.store.close();
  }

  // ================================================================== 1. requested

  /**
   * Imports an HR export. A file with any invalid row is refused whole (INVALID_INPUT listing every row, field
   * and reason; the refusal is audited). For a valid file each row is, in one transaction: created, a duplicate
   * of an identical earlier import (no change), refused (recorded, final) or a conflict (same id, other content).
   */
  async importRequests(source: HrSource, text: string | Uint8Array, actor: string): Promise<ImportReport> {
    checkActor(actor);
    const at = this.now();
    let requests: HrRequest[];
    try {
      requests = parseHrExport(source, text, at);
      const foreign = requests.filter((r) => r.agencyCode !== this.agencyCode);
      if (foreign.length > 0) {
        const errors: HrRowError[] = foreign.map((r) => ({ row: r.row, field: "agencyCode", reason: `${r.agencyCode} is not served by this issuing server (${this.agencyCode})` }));
        throw new CivilIdError("INVALID_INPUT", `HR export refused, nothing was imported: ${errors.map((e) => `row ${e.row} agencyCode: ${e.reason}`).join("; ")}.`, { details: { errors } });
      }
    } catch (error) {
      if (isCivilIdError(error, "INVALID_INPUT")) {
        const errors = (error.details?.errors as HrRowError[] | undefined) ?? [];
        this.store.transaction(
          () => this.store.appendAudit({ requestId: null, at, actor, action: "import-refused", from: null, to: null, details: { source, errors: errors.slice(0, 200).map((e) => ({ ...e })), problems: errors.length } }),
          () => this.options.hooks?.beforeCommit?.({ requestId: null, action: "import-refused", from: null, to: null }),
        );
      }
      throw error;
    }
    const participation = await this.participation(source);

    const created: string[] = [];
    const duplicates: string[] = [];
    const refused: { id: string; row: number; code: string; reason: string }[] = [];
    const conflicts: { id: string; row: number }[] = [];
    this.store.transaction(
      () => {
        for (const r of requests) {
          const id = `${source}:${r.requestId}`;
          const fingerprint = secretHash(this.codeKey, "hr-request", source, JSON.stringify([
            r.requestId, r.personId, r.name, r.agencyCode, r.organisationName, r.department, r.position, r.employeeRef,
            r.mobile, r.kind, r.reissueReason ?? "", r.requestedAt,
          ]));
          const existing = this.store.requestByHrId(source, r.requestId);
          if (existing) {
            if (hashEquals(existing.fingerprint, fingerprint)) {
              duplicates.push(id);
            } else {
              conflicts.push({ id, row: r.row });
              this.store.appendAudit({ requestId: id, at, actor, action: "import-conflict", from: existing.state, to: existing.state, details: { row: r.row, reason: "the same HR request id was exported again with different content; the request was left unchanged" } });
            }
            continue;
          }
          const holderRef = holderReference(this.options.holderSecret, r.personId);
          let refusal: { code: string; reason: string } | undefined;
          if (participation) refusal = { code: "ORGANISATION_NOT_PARTICIPATING", reason: participation };
          else {
            const open = this.store.openRequestsOfHolder(holderRef);
            if (open.length > 0) {
              refusal = { code: "DUPLICATE_REQUEST", reason: `HOLDER_HAS_OPEN_REQUEST: ${open.map((o) => o.id).join(", ")} is still in progress for this person; finish or cancel it first` };
            }
          }
          const state: WorkflowState = refusal ? "refused" : "requested";
          this.store.insertRequest({
            id, source, hr_request_id: r.requestId, fingerprint, state, agency_code: r.agencyCode,
            organisation_name: r.organisationName, department: r.department, position: r.position, name: r.name,
            employee_ref: r.employeeRef, mobile: r.mobile, holder_ref: holderRef, kind: r.kind,
            reissue_reason: r.reissueReason ?? null, requested_at: r.requestedAt, created_at: at, updated_at: at,
            refusal_code: refusal?.code ?? null, refusal_reason: refusal?.reason ?? null, approver: null, decided_at: null,
            rejection_reason: null, identity_method: null, identity_verified_at: null, subject_did: null,
            device_public_key: null, activated_at: null, intent_block: null, intent_nonce: null, issuer_did: null,
            issued_at_s: null, valid_from_s: null, valid_until_s: null, binding_digest: null, credential_id: null,
            superseded_id: null, superseded_by: null, tx_hash: null, block_number: null, credential_jwt: null, issued_at: null,
          });
          this.store.appendAudit({
            requestId: id, at, actor, action: refusal ? "import-refused-request" : "import", from: null, to: state,
            details: { source, row: r.row, kind: r.kind, reissueReason: r.reissueReason ?? null, ...(refusal ? { refusal } : {}) },
          });
          if (refusal) refused.push({ id, row: r.row, ...refusal });
          else created.push(id);
        }
        this.store.appendAudit({
          requestId: null, at, actor, action: "import", from: null, to: null,
          details: { source, rows: requests.length, created: created.length, duplicates: duplicates.length, refused: refused.length, conflicts: conflicts.length },
        });
      },
      () => this.options.hooks?.beforeCommit?.({ requestId: null, action: "import", from: null, to: null }),
    );
    return { source, rows: requests.length, created, duplicates, refused, conflicts };
  }

  /** Why this organisation may not take requests from `source` now (undefined when it may). */
  private async participation(source: HrSource): Promise<string | undefined> {
    let org: { kind: bigint; status: bigint };
    try {
      org = await this.options.ledger.issuerRegistry.organisation(this.agencyCode);
    } catch (error) {
      throw toCivilIdError(error, this.options.ledger.issuerRegistry.interface, "Organisation query");
    }
    const status = Number(org.status) as OrgStatus;
    if (status !== OrgStatus.Active) return `${ORG_STATUS_REFUSAL[status] ?? "NOT_ACTIVE"}: organisation ${this.agencyCode} is not an active participant on chain (status ${OrgStatus[status] ?? status})`;
    const expected = source === "e-saram" ? OrgKind.CentralAgency : OrgKind.LocalGovernment;
    const kind = Number(org.kind) as OrgKind;
    if (kind !== expected) {
      return `SOURCE_KIND_MISMATCH: organisation ${this.agencyCode} is accredited as ${OrgKind[kind]}, but ${source === "e-saram" ? "e-사람" : "차세대 인사랑"} requests come from ${OrgKind[expected]} organisations`;
    }
    return undefined;
  }

  // ================================================================== 2. approved / rejected

  /** The department head approves the request. */
  approve(id: string, approver: string): IssuanceRecord {
    checkActor(approver);
    const at = this.now();
    this.transition(id, ["requested"], "approved", "approve", approver, { approver, decided_at: at }, {});
    return this.get(id);
  }

  /** The department head rejects the request (final); the reason is required. */
  reject(id: string, approver: string, reason: string): IssuanceRecord {
    checkActor(approver);
    const why = checkReason(reason);
    this.transition(id, ["requested"], "rejected", "reject", approver, { approver, decided_at: this.now(), rejection_reason: why }, { reason: why });
    return this.get(id);
  }

  /** Cancels a request that is not yet being registered (e.g. the applicant lost the phone during activation). */
  cancel(id: string, actor: string, reason: string): IssuanceRecord {
    checkActor(actor);
    const why = checkReason(reason);
    const at = this.now();
    this.transition(id, CANCELLABLE, "cancelled", "cancel", actor, {}, { reason: why }, () => {
      this.store.revokeInvitations(id, at);
      this.store.closeIdentitySessions(id, at);
      this.store.expireSms(id, "invitation");
      this.store.expireSms(id, "identity-code");
    });
    return this.get(id);
  }

  // ================================================================== 3. identity verified

  /** Starts an identity verification session (the default verifier texts a one-time code to the HR phone). */
  async startIdentityVerification(id: string, actor = "system"): Promise<{ sessionId: number; expiresAt: string; sms: DeliveryOutcome | undefined }> {
    checkActor(actor);
    const row = this.requireState(id, ["approved"], "startIdentityVerification");
    const used = this.store.identitySessions(id).length;
    if (used >= this.maxIdentitySessions) {
      throw new CivilIdError("IDENTITY_NOT_VERIFIED", `Request ${id} used all ${this.maxIdentitySessions} identity verification sessions.`);
    }
    const at = this.now();
    const session = await this.verifier.begin(subjectOf(row), at);
    if (!(session.expiresAt > at) || !Number.isInteger(session.maxAttempts) || session.maxAttempts < 1) {
      throw new CivilIdError("INVALID_INPUT", `Identity verifier ${this.verifier.method} returned an invalid session.`);
    }
    let sessionId = 0;
    let outboxId: number | undefined;
    this.transition(id, ["approved"], "approved", "identity-verification-started", actor, {}, {}, () => {
      if (this.store.identitySessions(id).length >= this.maxIdentitySessions) {
        throw new CivilIdError("IDENTITY_NOT_VERIFIED", `Request ${id} used all ${this.maxIdentitySessions} identity verification sessions.`);
      }
      this.store.closeIdentitySessions(id, at);
      this.store.expireSms(id, "identity-code");
      sessionId = this.store.insertIdentitySession({
        request_id: id, method: this.verifier.method, state: JSON.stringify(session.state), created_at: at,
        expires_at: session.expiresAt, max_attempts: session.maxAttempts,
      });
      if (session.sms) outboxId = this.queueSms(id, "identity-code", row.mobile, session.sms, at, session.expiresAt);
      return { method: this.verifier.method, sessionId, expiresAt: new Date(session.expiresAt).toISOString(), maxAttempts: session.maxAttempts };
    });
    const sms = outboxId === undefined ? undefined : await this.deliver(outboxId);
    return { sessionId, expiresAt: new Date(session.expiresAt).toISOString(), sms };
  }

  /**
   * Checks the applicant's evidence against the open session. Success moves the request to identity_verified.
   * Every failure is audited and counts against the session; when the last session is used up the request
   * becomes identity_failed (final). Throws IDENTITY_NOT_VERIFIED with `details.reason` and `attemptsLeft`.
   */
  async verifyIdentity(id: string, evidence: unknown, actor = "applicant"): Promise<IssuanceRecord> {
    checkActor(actor);
    const row = this.requireState(id, ["approved"], "verifyIdentity");
    const session = this.store.identitySessions(id).filter((s) => s.closed_at === null).at(-1);
    if (!session) {
      throw new CivilIdError("IDENTITY_NOT_VERIFIED", `No identity verification is open for ${id}; call startIdentityVerification first.`, { details: { reason: "NO_SESSION" } });
    }
    const at = this.now();
    if (at >= session.expires_at) {
      this.failIdentitySession(id, session.id, actor, at, "EXPIRED", 0);
      throw new CivilIdError("IDENTITY_NOT_VERIFIED", `The identity code for ${id} expired; start a new verification.`, { details: { reason: "EXPIRED", attemptsLeft: 0 } });
    }
    const reserved = this.store.transaction(() => this.store.reserveIdentityAttempt(session.id));
    if (!reserved) {
      this.failIdentitySession(id, session.id, actor, at, "NO_ATTEMPTS_LEFT", 0);
      throw new CivilIdError("IDENTITY_NOT_VERIFIED", `No attempts left for this identity code of ${id}; start a new verification.`, { details: { reason: "NO_ATTEMPTS_LEFT", attemptsLeft: 0 } });
    }
    const attemptsLeft = session.max_attempts - session.attempts - 1;
    const result = await this.verifier.check(subjectOf(row), JSON.parse(session.state) as JsonObject, evidence, at);
    if (result.verified) {
      this.transition(id, ["approved"], "identity_verified", "verify-identity", actor, { identity_method: this.verifier.method, identity_verified_at: at },
        { method: this.verifier.method, sessionId: session.id, ...(result.details ? { check: result.details } : {}) },
        () => {
          this.store.closeIdentitySessions(id, at);
          this.store.expireSms(id, "identity-code");
        });
      return this.get(id);
    }
    this.failIdentitySession(id, session.id, actor, at, result.reason, attemptsLeft, result.details);
    throw new CivilIdError(
      "IDENTITY_NOT_VERIFIED",
      `Identity not verified for ${id} (${result.reason}); ${attemptsLeft > 0 ? `${attemptsLeft} attempt(s) left with this code` : "this code has no attempts left"}.`,
      { details: { reason: result.reason, attemptsLeft } },
    );
  }

  /** Records a failed identity check; closes the session when it has no attempts left and fails the request when no session is left. */
  private failIdentitySession(id: string, sessionId: number, actor: string, at: number, reason: string, attemptsLeft: number, check?: JsonObject): void {
    const sessionsUsed = this.store.identitySessions(id).length;
    const lastSession = attemptsLeft <= 0 && sessionsUsed >= this.maxIdentitySessions;
    this.transition(id, ["approved"], lastSession ? "identity_failed" : "approved", lastSession ? "identity-failed" : "identity-check-failed", actor, {},
      { sessionId, reason, attemptsLeft, ...(check ? { check } : {}), ...(lastSession ? { sessionsUsed } : {}) },
      () => {
        if (attemptsLeft <= 0) {
          this.store.closeIdentitySessions(id, at);
          this.store.expireSms(id, "identity-code");
        }
      });
  }

  // ================================================================== 4. invited

  /**
   * Sends (or re-sends, replacing the previous one) the invitation: an SMS with a single-use, expiring
   * activation link and activation code. Only their keyed hashes are stored.
   */
  async invite(id: string, actor = "system"): Promise<{ invitationId: number; expiresAt: string; sms: DeliveryOutcome }> {
    checkActor(actor);
    const row = this.requireState(id, ["identity_verified", "invited"], "invite");
    const at = this.now();
    const token = randomToken();
    const code = randomDigits(this.activationDigits);
    const challenge = "0x" + randomBytes(32).toString("hex");
    const expiresAt = at + this.invitationTtlMs;
    const url = new URL(this.activationUrl.href);
    url.searchParams.set("token", token);
    const redactedUrl = new URL(this.activationUrl.href);
    redactedUrl.searchParams.set("token", "REDACTED");
    const hours = Math.round(this.invitationTtlMs / 3_600_000);
    const text = (link: string, c: string) =>
      `[모바일 공무원증] ${row.organisation_name} 발급 안내: 앱 설치·활성화 ${link} 활성화 코드 ${c} (${hours}시간 유효, 1회용).`;
    let invitationId = 0;
    let outboxId = 0;
    this.transition(id, ["identity_verified", "invited"], "invited", row.state === "invited" ? "re-invite" : "invite", actor, {}, {}, () => {
      this.store.revokeInvitations(id, at);
      this.store.expireSms(id, "invitation");
      invitationId = this.store.insertInvitation({
        request_id: id, token_hash: tokenHash(this.codeKey, token), code_hash: secretHash(this.codeKey, "activation-code", id, code),
        challenge, created_at: at, expires_at: expiresAt, max_attempts: this.invitationAttempts,
      });
      outboxId = this.queueSms(id, "invitation", row.mobile, { body: text(url.href, code), redactedBody: text(redactedUrl.href, "*".repeat(code.length)) }, at, expiresAt);
      return { invitationId, expiresAt: new Date(expiresAt).toISOString(), maxAttempts: this.invitationAttempts };
    });
    return { invitationId, expiresAt: new Date(expiresAt).toISOString(), sms: await this.deliver(outboxId) };
  }

  /** What the device signs to activate: look-up by the link's token (refused when the link is not usable). */
  activationChallenge(token: string, actor = "device"): ActivationChallenge & { readonly expiresAt: string } {
    checkActor(actor);
    const invitation = this.usableInvitation(token, actor);
    return { chainId: this.options.chainId, requestId: invitation.request_id, challenge: invitation.challenge, expiresAt: new Date(invitation.expires_at).toISOString() };
  }

  /** The invitation of a link's token if it can still be used; otherwise INVITATION_INVALID (recorded when the invitation is known). */
  private usableInvitation(token: unknown, actor: string) {
    if (typeof token !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(token)) {
      throw new CivilIdError("INVITATION_INVALID", "The activation link is not valid; use the link from the latest SMS.", { details: { reason: "UNKNOWN" } });
    }
    const invitation = this.store.invitationByToken(tokenHash(this.codeKey, token));
    const refuse = (reason: string, message: string): never => {
      const row = invitation ? this.store.request(invitation.request_id) : undefined;
      if (invitation && row) this.record(row.id, actor, "activation-refused", row.state, { invitationId: invitation.id, reason });
      throw new CivilIdError("INVITATION_INVALID", message, { details: { reason } });
    };
    if (!invitation) return refuse("UNKNOWN", "The activation link is not valid; use the link from the latest SMS.");
    if (invitation.used_at !== null) return refuse("USED", "This activation link was already used; it works once.");
    if (invitation.revoked_at !== null) return refuse("REPLACED", "This activation link was replaced by a newer invitation or cancelled; use the latest SMS.");
    if (this.now() >= invitation.expires_at) return refuse("EXPIRED", "This activation link expired; ask your HR office to invite you again.");
    if (invitation.attempts >= invitation.max_attempts) return refuse("NO_ATTEMPTS_LEFT", "Too many failed activation attempts with this link; ask your HR office to invite you again.");
    return invitation;
  }

  // ================================================================== 5. activated

  /**
   * The device activates: the link's token, the SMS code, its DID and public key, and its signature over the
   * activation message. Single use; a wrong code or signature is audited and counts against the invitation.
   */
  activate(input: ActivationInput, actor = "device"): IssuanceRecord {
    checkActor(actor);
    const { token, code } = checkActivationInput(input?.token, input?.code);
    const invitation = this.usableInvitation(token, actor);
    const id = invitation.request_id;
    this.requireState(id, ["invited"], "activate");
    const at = this.now();
    const reserved = this.store.transaction(() => this.store.reserveInvitationAttempt(invitation.id));
    if (!reserved) throw new CivilIdError("INVITATION_INVALID", "Too many failed activation attempts with this link; ask your HR office to invite you again.", { details: { reason: "NO_ATTEMPTS_LEFT" } });
    const attemptsLeft = invitation.max_attempts - invitation.attempts - 1;

    let failure: string | null = null;
    let proof: ReturnType<typeof checkPossessionProof> | undefined;
    if (!hashEquals(secretHash(this.codeKey, "activation-code", id, code), invitation.code_hash)) failure = "WRONG_CODE";
    else {
      proof = checkPossessionProof({ chainId: this.options.chainId, requestId: id, challenge: invitation.challenge }, input.did, input.publicKey, input.signature);
      if (proof.failure) failure = proof.failure;
      else if (this.store.requestBySubject(input.did)) failure = "DID_ALREADY_USED";
    }
    if (failure !== null || !proof || proof.failure !== null) {
      const reason = failure ?? "BAD_SIGNATURE";
      this.record(id, actor, "activation-refused", "invited", { invitationId: invitation.id, reason, attemptsLeft });
      throw new CivilIdError(
        "ACTIVATION_FAILED",
        `Activation refused (${reason}); ${attemptsLeft > 0 ? `${attemptsLeft} attempt(s) left with this link` : "this link has no attempts left, ask for a new invitation"}.`,
        { details: { reason, attemptsLeft } },
      );
    }
    const devicePublicKey = proof.publicKey;
    this.transition(id, ["invited"], "activated", "activate", actor, { subject_did: input.did, device_public_key: devicePublicKey, activated_at: at },
      { invitationId: invitation.id, subjectDid: input.did }, () => {
        this.store.markInvitationUsed(invitation.id, at);
        // An invitation SMS still waiting for delivery carries a link that no longer works: drop its text, unsent.
        this.store.expireSms(id, "invitation");
      });
    return this.get(id);
  }

  // ================================================================== 5b. activated through OpenID4VCI (services/issuer)

  /**
   * The invitation behind an install link, for an OpenID4VCI credential offer: refused like `activationChallenge`
   * (INVITATION_INVALID with `details.reason`) when the link is unknown, used, replaced, expired or out of attempts.
   */
  invitationOfLink(token: string, actor = "wallet"): { requestId: string; invitationId: number; expiresAt: string } {
    checkActor(actor);
    const invitation = this.usableInvitation(token, actor);
    this.requireState(invitation.request_id, ["invited"], "invitationOfLink");
    return { requestId: invitation.request_id, invitationId: invitation.id, expiresAt: new Date(invitation.expires_at).toISOString() };
  }

  /**
   * The OpenID4VCI token endpoint's check: the invitation's activation code is the pre-authorized code flow's
   * `tx_code`. Counts the attempt against the invitation exactly as `activate` does (the libraries compare
   * `tx_code` but keep no counter); the invitation stays open until `activateProvenDevice`. Throws
   * INVITATION_INVALID (no longer usable, or out of attempts) or ACTIVATION_FAILED `WRONG_CODE` with `attemptsLeft`.
   */
  checkActivationCode(input: { requestId: string; invitationId: number; code: string }, actor = "wallet"): void {
    checkActor(actor);
    const code = typeof input.code === "string" ? input.code.trim() : "";
    const row = this.requireState(input.requestId, ["invited"], "checkActivationCode");
    const invitation = this.openInvitation(row.id, input.invitationId);
    if (invitation.attempts >= invitation.max_attempts) {
      throw new CivilIdError("INVITATION_INVALID", "Too many failed activation attempts with this link; ask your HR office to invite you again.", { details: { reason: "NO_ATTEMPTS_LEFT" } });
    }
    const reserved = this.store.transaction(() => this.store.reserveInvitationAttempt(invitation.id));
    if (!reserved) throw new CivilIdError("INVITATION_INVALID", "Too many failed activation attempts with this link; ask your HR office to invite you again.", { details: { reason: "NO_ATTEMPTS_LEFT" } });
    const attemptsLeft = invitation.max_attempts - invitation.attempts - 1;
    if (!/^[0-9]{4,12}$/.test(code) || !hashEquals(secretHash(this.codeKey, "activation-code", row.id, code), invitation.code_hash)) {
      this.record(row.id, actor, "activation-refused", "invited", { invitationId: invitation.id, reason: "WRONG_CODE", attemptsLeft });
      throw new CivilIdError(
        "ACTIVATION_FAILED",
        `Activation refused (WRONG_CODE); ${attemptsLeft > 0 ? `${attemptsLeft} attempt(s) left with this link` : "this link has no attempts left, ask for a new invitation"}.`,
        { details: { reason: "WRONG_CODE", attemptsLeft } },
      );
    }
    this.record(row.id, actor, "activation-code-accepted", "invited", { invitationId: invitation.id });
  }

  /**
   * The holder verifies their identity again in the app before the credential offer is released (OpenID4VCI
   * leaves this out of the pre-authorized flow): a new identity session on the invited request, its one-time code
   * texted through the outbox to the HR-registered phone. Sessions count against `maxIdentitySessions`.
   */
  async startIdentityRecheck(input: { requestId: string; invitationId: number }, actor = "wallet"): Promise<{ sessionId: number; expiresAt: string; sms: DeliveryOutcome | undefined }> {
    checkActor(actor);
    const row = this.requireState(input.requestId, ["invited"], "startIdentityRecheck");
    this.openInvitation(row.id, input.invitationId);
    if (this.store.identitySessions(row.id).length >= this.maxIdentitySessions) {
      throw new CivilIdError("IDENTITY_NOT_VERIFIED", `Request ${row.id} used all ${this.maxIdentitySessions} identity verification sessions; ask your HR office.`, { details: { reason: "NO_SESSIONS_LEFT" } });
    }
    const at = this.now();
    const session = await this.verifier.begin(subjectOf(row), at);
    if (!(session.expiresAt > at) || !Number.isInteger(session.maxAttempts) || session.maxAttempts < 1) {
      throw new CivilIdError("INVALID_INPUT", `Identity verifier ${this.verifier.method} returned an invalid session.`);
    }
    let sessionId = 0;
    let outboxId: number | undefined;
    this.store.transaction(() => {
      this.store.closeIdentitySessions(row.id, at);
      this.store.expireSms(row.id, "identity-code");
      sessionId = this.store.insertIdentitySession({
        request_id: row.id, method: this.verifier.method, state: JSON.stringify(session.state), created_at: at, expires_at: session.expiresAt, max_attempts: session.maxAttempts,
      });
      if (session.sms) outboxId = this.queueSms(row.id, "identity-code", row.mobile, session.sms, at, session.expiresAt);
      this.store.appendAudit({ requestId: row.id, at, actor, action: "identity-recheck-started", from: "invited", to: "invited", details: { invitationId: input.invitationId, sessionId, method: this.verifier.method } });
    }, () => this.options.hooks?.beforeCommit?.({ requestId: row.id, action: "identity-recheck-started", from: "invited", to: "invited" }));
    const sms = outboxId === undefined ? undefined : await this.deliver(outboxId);
    return { sessionId, expiresAt: new Date(session.expiresAt).toISOString(), sms };
  }

  /**
   * Checks the re-check evidence against the open session (attempt counted before the check). Success is audited
   * as `identity-rechecked` for this invitation; failures throw IDENTITY_NOT_VERIFIED with `reason`, `attemptsLeft`.
   */
  async verifyIdentityRecheck(input: { requestId: string; invitationId: number; evidence: unknown }, actor = "wallet"): Promise<void> {
    checkActor(actor);
    const row = this.requireState(input.requestId, ["invited"], "verifyIdentityRecheck");
    this.openInvitation(row.id, input.invitationId);
    const session = this.store.identitySessions(row.id).filter((s) => s.closed_at === null).at(-1);
    const at = this.now();
    const fail = (reason: string, attemptsLeft: number, message: string): never => {
      this.store.transaction(() => {
        if (attemptsLeft <= 0) {
          this.store.closeIdentitySessions(row.id, at);
          this.store.expireSms(row.id, "identity-code");
        }
        this.store.appendAudit({ requestId: row.id, at, actor, action: "identity-recheck-failed", from: "invited", to: "invited", details: { invitationId: input.invitationId, reason, attemptsLeft } });
      });
      throw new CivilIdError("IDENTITY_NOT_VERIFIED", message, { details: { reason, attemptsLeft } });
    };
    if (!session) throw new CivilIdError("IDENTITY_NOT_VERIFIED", "No identity check is open; start one first.", { details: { reason: "NO_SESSION" } });
    if (at >= session.expires_at) return fail("EXPIRED", 0, "The identity code expired; start a new check.");
    if (!this.store.transaction(() => this.store.reserveIdentityAttempt(session.id))) return fail("NO_ATTEMPTS_LEFT", 0, "No attempts left with this identity code; start a new check.");
    const attemptsLeft = session.max_attempts - session.attempts - 1;
    const result = await this.verifier.check(subjectOf(row), JSON.parse(session.state) as JsonObject, input.evidence, at);
    if (!result.verified) return fail(result.reason, attemptsLeft, `Identity not verified (${result.reason}); ${attemptsLeft > 0 ? `${attemptsLeft} attempt(s) left with this code` : "this code has no attempts left"}.`);
    this.store.transaction(() => {
      this.store.closeIdentitySessions(row.id, at);
      this.store.expireSms(row.id, "identity-code");
      this.store.appendAudit({ requestId: row.id, at, actor, action: "identity-rechecked", from: "invited", to: "invited", details: { invitationId: input.invitationId, sessionId: session.id, method: this.verifier.method } });
    });
  }

  /** Whether the holder re-checked their identity for this invitation (`verifyIdentityRecheck` succeeded). */
  identityRechecked(requestId: string, invitationId: number): boolean {
    return this.store.auditOf(requestId).some((a) => a.action === "identity-rechecked" && (JSON.parse(a.details) as JsonObject).invitationId === invitationId);
  }

  /** The request's invitation `invitationId` if it is still open (not used, replaced or expired). */
  private openInvitation(requestId: string, invitationId: number) {
    const invitation = this.store.invitations(requestId).find((i) => i.id === invitationId);
    if (!invitation || invitation.used_at !== null || invitation.revoked_at !== null || this.now() >= invitation.expires_at) {
      throw new CivilIdError("INVITATION_INVALID", "This invitation is no longer usable; ask your HR office to invite you again.", {
        details: { reason: !invitation ? "UNKNOWN" : invitation.used_at !== null ? "USED" : invitation.revoked_at !== null ? "REPLACED" : "EXPIRED" },
      });
    }
    return invitation;
  }

  /**
   * Binds the device key whose possession the caller verified with its protocol's own proof (the OpenID4VCI
   * `jwt` proof over a nonce of the service), for an invitation whose code `checkActivationCode` accepted. Marks
   * the invitation used, as `activate` does. INVITATION_INVALID when the invitation is no longer the usable one.
   */
  activateProvenDevice(input: { requestId: string; invitationId: number; did: string; publicKey: string; proof: string }, actor = "wallet"): IssuanceRecord {
    checkActor(actor);
    const row = this.requireState(input.requestId, ["invited"], "activateProvenDevice");
    const invitation = this.openInvitation(row.id, input.invitationId);
    const at = this.now();
    // The workflow's own rule, whatever the caller: no device is bound without the invitation's code.
    const codeAccepted = this.store.auditOf(row.id).some((a) => a.action === "activation-code-accepted" && (JSON.parse(a.details) as JsonObject).invitationId === invitation.id);
    if (!codeAccepted) throw new CivilIdError("ACTIVATION_FAILED", "The activation code of this invitation was not accepted yet (checkActivationCode).", { details: { reason: "CODE_NOT_CHECKED" } });
    const parsed = parseEthrDid(input.did);
    let address: string;
    try {
      address = computeAddress(input.publicKey);
    } catch (error) {
      throw new CivilIdError("ACTIVATION_FAILED", "The device public key is malformed.", { cause: error, details: { reason: "MALFORMED_PUBLIC_KEY" } });
    }
    if (parsed.chainId !== BigInt(this.options.chainId)) throw new CivilIdError("ACTIVATION_FAILED", `The device DID is not on chain ${this.options.chainId}.`, { details: { reason: "WRONG_CHAIN" } });
    if (getAddress(parsed.address) !== address) throw new CivilIdError("ACTIVATION_FAILED", "The device public key is not the DID's key.", { details: { reason: "KEY_NOT_OF_DID" } });
    if (this.store.requestBySubject(input.did)) {
      this.record(row.id, actor, "activation-refused", "invited", { invitationId: invitation.id, reason: "DID_ALREADY_USED" });
      throw new CivilIdError("ACTIVATION_FAILED", "This device key was already used for another request; create a new key.", { details: { reason: "DID_ALREADY_USED" } });
    }
    const devicePublicKey = SigningKey.computePublicKey(input.publicKey, false);
    this.transition(row.id, ["invited"], "activated", "activate", actor, { subject_did: input.did, device_public_key: devicePublicKey, activated_at: at },
      { invitationId: invitation.id, subjectDid: input.did, proof: input.proof }, () => {
        this.store.markInvitationUsed(invitation.id, at);
        this.store.expireSms(row.id, "invitation");
      });
    return this.get(row.id);
  }

  // ================================================================== 6. issued

  /**
   * Registers the credential's status entry on chain (superseding the holder's earlier credential), then signs
   * and stores the credential. The order — intent, chain, credential id, JWT — makes every interruption
   * recoverable by `reconcile()` without a second registration. On an interrupted request, resumes it.
   */
  async issue(id: string, actor = "system"): Promise<IssuanceRecord> {
    checkActor(actor);
    return this.serial(async () => {
      const row = this.requireState(id, ["activated", "registering", "registered"], "issue");
      if (row.state === "activated") {
        await this.preflight(row, actor);
        await this.recordIntent(row, actor, "registration-intent", "activated");
        await this.step("intent-recorded", id);
        await this.registerOnChain(id, actor);
      } else if (row.state === "registering") {
        const outcome = await this.resolveRegistration(id, actor);
        if (!outcome.registered) throw new CivilIdError("INVALID_WORKFLOW_STATE", `The registration of ${id} is still in flight; run reconcile() later.`, { details: { state: "registering" } });
      }
      await this.sign(id, actor);
      return this.get(id);
    });
  }

  /**
   * Completes everything an interruption left half done: delivers queued SMS, and for each request stuck in
   * `registering` finds its mined registration by the `CredentialRegistered` log (holderRef topic + binding
   * digest) or, when it provably was never mined and nothing is in flight, registers it; then signs what is
   * `registered`. Never registers a request twice.
   */
  async reconcile(actor = "system"): Promise<ReconcileReport> {
    checkActor(actor);
    const sms = await this.deliverOutbox();
    return this.serial(async () => {
      const completed: string[] = [];
      const pending: { id: string; reason: string }[] = [];
      const failed: { id: string; code: string; message: string }[] = [];
      for (const row of this.store.listRequests({ states: ["registering", "registered"], limit: 10_000, offset: 0 })) {
        try {
          if (row.state === "registering") {
            const outcome = await this.resolveRegistration(row.id, actor);
            if (!outcome.registered) {
              pending.push({ id: row.id, reason: outcome.reason });
              continue;
            }
          }
          await this.sign(row.id, actor);
          completed.push(row.id);
        } catch (error) {
          const e = error instanceof CivilIdError ? error : new CivilIdError("CONTRACT_REVERTED", String(error instanceof Error ? error.message : error));
          failed.push({ id: row.id, code: e.code, message: e.message });
        }
      }
      return { completed, pending, failed, sms };
    });
  }

  private async preflight(row: RequestRow, actor: string): Promise<void> {
    const refuse = (code: "ORGANISATION_NOT_PARTICIPATING" | "NOT_AUTHORISED", reason: string): never => {
      this.record(row.id, actor, "issue-refused", row.state, { code, reason });
      throw new CivilIdError(code, `Issuance of ${row.id} refused: ${reason}.`, { details: { reason } });
    };
    const issuers = this.options.ledger.issuerRegistry;
    try {
      const active = await issuers.isOrganisationActive(this.agencyCode);
      if (!active) refuse("ORGANISATION_NOT_PARTICIPATING", `organisation ${this.agencyCode} is not active on chain`);
      const issuerAddress = parseEthrDid(this.options.issuer.did).address;
      const [trusted, agency] = await issuers.isTrustedIssuer(issuerAddress, credentialTypeId(CIVIL_SERVANT_ID_TYPE), BigInt(Math.floor(this.now() / 1000)));
      if (!trusted || Number(agency) !== this.agencyCode) {
        refuse("NOT_AUTHORISED", `the issuer key ${issuerAddress} is not a trusted issuer key of ${this.agencyCode} for ${CIVIL_SERVANT_ID_TYPE} now`);
      }
    } catch (error) {
      throw toCivilIdError(error, issuers.interface, "Issuer check");
    }
  }

  /**
   * Drafts the credential (content and times fixed, so its binding digest is known before the id) and persists
   * the registration intent with it, the registrar's next nonce and the current block (lower bound of the log search).
   */
  private async recordIntent(row: RequestRow, actor: string, action: string, from: WorkflowState): Promise<void> {
    const issuedAt = Math.floor(this.now() / 1000);
    const draft = this.draft(row, { issuer: this.options.issuer.did, issuedAt, validFrom: issuedAt, validUntil: issuedAt + Math.floor(this.validityMs / 1000) });
    const provider = this.registrar.provider!;
    let block: number;
    let nonce: number;
    try {
      const address = await this.registrar.getAddress();
      [block, nonce] = await Promise.all([provider.getBlockNumber(), provider.getTransactionCount(address, "pending")]);
    } catch (error) {
      throw toCivilIdError(error, this.options.ledger.statusRegistry.interface, "Registration preparation");
    }
    this.transition(row.id, [from], "registering", action, actor, {
      intent_block: block, intent_nonce: nonce, issuer_did: draft.issuerDid, issued_at_s: draft.issuedAt, valid_from_s: draft.validFrom,
      valid_until_s: draft.validUntil, binding_digest: draft.digest,
    }, { holderRef: row.holder_ref, subjectDid: row.subject_did, bindingDigest: draft.digest, issuer: draft.issuerDid, fromBlock: block, registrarNonce: nonce });
  }

  /** The credential draft of a request: its content from the HR record and the device, with the given issuer and times. */
  private draft(row: RequestRow, fixed: { issuer: string; issuedAt: number; validFrom: number; validUntil: number }): CredentialDraft {
    if (fixed.issuer !== this.options.issuer.did) {
      throw new CivilIdError(
        "NOT_AUTHORISED",
        `Request ${row.id} was registered for issuer key ${fixed.issuer}, but this workflow signs with ${this.options.issuer.did}: configure that key to finish it (the registered binding names the issuer).`,
      );
    }
    return draftCredential(this.options.issuer, {
      chainId: this.options.chainId,
      statusRegistry: this.statusRegistry,
      holderDid: row.subject_did!,
      deviceKey: deviceKeyJwk(row.device_public_key!),
      claims: {
        name: row.name, agencyCode: row.agency_code, organisation: row.organisation_name, department: row.department,
        position: row.position, employeeRef: row.employee_ref,
      },
      issuedAt: fixed.issuedAt,
      validFrom: fixed.validFrom,
      validUntil: fixed.validUntil,
    });
  }

  private async registerOnChain(id: string, actor: string): Promise<void> {
    const row = this.store.request(id)!;
    let outcome;
    try {
      outcome = await this.status.register(row.holder_ref, row.binding_digest!);
    } catch (error) {
      const refusal = contractRefusal(error, this.options.ledger.statusRegistry.interface);
      if (refusal) {
        // The contract refused: no registration exists, so the request goes back to activated (fixable, retryable).
        this.transition(id, ["registering"], "activated", "registration-refused", actor, {
          intent_block: null, intent_nonce: null, issuer_did: null, issued_at_s: null, valid_from_s: null, valid_until_s: null, binding_digest: null,
        },
          { code: isCivilIdError(error) ? error.code : "CONTRACT_REVERTED", message: error instanceof Error ? error.message : String(error), error: refusal.name });
      }
      throw error;
    }
    await this.step("registered-on-chain", id);
    this.recordRegistration(id, actor, "register", {
      credentialId: outcome.credentialId, supersededId: outcome.supersededId, txHash: outcome.txHash, blockNumber: outcome.blockNumber,
    }, {});
    await this.step("credential-id-recorded", id);
  }

  private recordRegistration(
    id: string,
    actor: string,
    action: string,
    reg: { credentialId: bigint; supersededId: bigint | undefined; txHash: string; blockNumber: number },
    extra: JsonObject,
  ): void {
    if (agencyOfCredential(reg.credentialId) !== this.agencyCode) {
      throw new CivilIdError("CONTRACT_REVERTED", `Registration of ${id} returned credential ${reg.credentialId} of another organisation.`);
    }
    const at = this.now();
    this.transition(id, ["registering"], "registered", action, actor, {
      credential_id: reg.credentialId.toString(), superseded_id: reg.supersededId?.toString() ?? null, tx_hash: reg.txHash, block_number: reg.blockNumber,
    }, { credentialId: reg.credentialId.toString(), supersededId: reg.supersededId?.toString() ?? null, txHash: reg.txHash, blockNumber: reg.blockNumber, ...extra }, () => {
      if (reg.supersededId === undefined) return;
      const old = this.store.requestByCredential(reg.supersededId.toString());
      if (old) {
        this.store.updateRequest(old.id, old.state, { superseded_by: reg.credentialId.toString(), updated_at: at });
        this.store.appendAudit({ requestId: old.id, at, actor, action: "superseded", from: old.state, to: old.state, details: { by: reg.credentialId.toString(), byRequest: id } });
      }
    });
  }

  /**
   * Decides a `registering` request: "registered" when its registration was found (and recorded) or has now been
   * made; otherwise the reason it must wait.
   */
  private async resolveRegistration(id: string, actor: string): Promise<{ registered: true } | { registered: false; reason: string }> {
    const row = this.store.request(id)!;
    const registry = this.options.ledger.statusRegistry;
    const digest = row.binding_digest!;
    const fromBlock = row.intent_block ?? this.options.ledger.deployment.deploymentBlock;
    let logs;
    let latest: number;
    let pending: number;
    try {
      logs = await registry.queryFilter(registry.filters.CredentialRegistered(undefined, row.holder_ref), fromBlock, "latest");
      const address = await this.registrar.getAddress();
      const provider = this.registrar.provider!;
      [latest, pending] = await Promise.all([provider.getTransactionCount(address, "latest"), provider.getTransactionCount(address, "pending")]);
    } catch (error) {
      throw toCivilIdError(error, registry.interface, "Registration look-up");
    }
    const known = this.store.knownCredentialIds();
    const mine = logs.filter(
      (log) => log.args.credentialDigest === digest && agencyOfCredential(log.args.credentialId) === this.agencyCode && !known.has(log.args.credentialId.toString()),
    );
    const found = mine.at(-1);
    if (found) {
      this.recordRegistration(id, actor, "registration-recovered", {
        credentialId: found.args.credentialId,
        supersededId: found.args.supersededId === 0n ? undefined : found.args.supersededId,
        txHash: found.transactionHash,
        blockNumber: found.blockNumber,
      }, { matchingLogs: mine.length, fromBlock });
      await this.step("credential-id-recorded", id);
      return { registered: true };
    }
    // Not mined. Register again only if the intent's transaction can no longer be mined: its nonce was used
    // by another transaction (latest > intent nonce), or nothing of the registrar is pending (never broadcast).
    const intentNonce = row.intent_nonce ?? 0;
    if (latest <= intentNonce && pending > latest) {
      return { registered: false, reason: `IN_FLIGHT: a registrar transaction (nonce ${latest}) is pending; reconcile again once it is mined` };
    }
    await this.recordIntent(row, actor, "registration-retry", "registering");
    await this.step("intent-recorded", id);
    await this.registerOnChain(id, actor);
    return { registered: true };
  }

  private async sign(id: string, actor: string): Promise<void> {
    const row = this.store.request(id)!;
    if (row.state !== "registered") throw this.wrongState(row, "sign", ["registered"]);
    // The same content and times as registered: the JWT's binding digest must be the one on chain.
    const draft = this.draft(row, { issuer: row.issuer_did!, issuedAt: row.issued_at_s!, validFrom: row.valid_from_s!, validUntil: row.valid_until_s! });
    if (draft.digest !== row.binding_digest) {
      throw new CivilIdError("INVALID_WORKFLOW_STATE", `The stored content of ${id} no longer matches its registered binding digest; revoke credential ${row.credential_id} and reissue.`);
    }
    const jwt = await signCredential(this.options.issuer, draft, BigInt(row.credential_id!));
    await this.step("jwt-signed", id);
    this.transition(id, ["registered"], "issued", "issue", actor, { credential_jwt: jwt, issued_at: this.now() },
      { credentialId: row.credential_id, issuer: draft.issuerDid, bindingDigest: draft.digest, validUntil: new Date(draft.validUntil * 1000).toISOString() });
    await this.step("issued", id);
  }

  // ================================================================== 7. collected

  /**
   * What the device that activated a request signs to collect the issued credential (see collection.ts): bound to
   * the request, the device DID and an expiry by a keyed hash, so nothing is stored. REQUEST_NOT_FOUND when no
   * request of this server was activated with `did`; INVALID_WORKFLOW_STATE while the credential is not issued yet.
   */
  collectionChallenge(did: string): CollectionChallenge {
    const row = this.collectableRequest(did);
    const expiresAt = new Date(this.now() + COLLECTION_TTL_MS).toISOString();
    return { chainId: this.options.chainId, requestId: row.id, challenge: this.collectionChallengeValue(row.id, did, expiresAt), expiresAt };
  }

  /**
   * Hands the issued credential to the device that activated the request, once it proves possession of the device
   * key by signing `collectionMessage(challenge, did)`. A refusal is audited and throws NOT_AUTHORISED with
   * `details.reason`: BAD_CHALLENGE (not issued by this server for this request and device), EXPIRED,
   * MALFORMED_DID, WRONG_CHAIN or BAD_SIGNATURE.
   */
  collectCredential(input: { did: string; challenge: CollectionChallenge; signature: string }, actor = "device"): { requestId: string; credentialId: bigint; credentialJwt: string } {
    checkActor(actor);
    const row = this.collectableRequest(input?.did);
    const c = input.challenge;
    const refuse = (reason: string, message: string): never => {
      this.record(row.id, actor, "collection-refused", row.state, { reason });
      throw new CivilIdError("NOT_AUTHORISED", message, { details: { reason } });
    };
    const wellFormed = typeof c === "object" && c !== null && typeof c.challenge === "string" && /^0x[0-9a-f]{64}$/.test(c.challenge) && typeof c.expiresAt === "string";
    if (!wellFormed || c.chainId !== this.options.chainId || c.requestId !== row.id || !hashEquals(c.challenge.slice(2), this.collectionChallengeValue(row.id, input.did, c.expiresAt).slice(2))) {
      return refuse("BAD_CHALLENGE", "The collection challenge was not issued by this server for this device; ask for a new one.");
    }
    if (!(this.now() < Date.parse(c.expiresAt))) return refuse("EXPIRED", "The collection challenge expired; ask for a new one.");
    const failure = checkCollectionSignature(c, input.did, input.signature);
    if (failure !== null) return refuse(failure, `Credential collection refused (${failure}): the device did not prove possession of its key.`);
    this.record(row.id, actor, "credential-collected", row.state, { subjectDid: input.did, credentialId: row.credential_id });
    return { requestId: row.id, credentialId: BigInt(row.credential_id!), credentialJwt: row.credential_jwt! };
  }

  /** The request activated with `did`, which must be issued. */
  private collectableRequest(did: unknown): RequestRow {
    const parsed = parseEthrDid(did);
    if (parsed.chainId !== BigInt(this.options.chainId)) {
      throw new CivilIdError("INVALID_INPUT", `The device DID ${String(did)} is not on chain ${this.options.chainId}.`);
    }
    const row = this.store.requestBySubject(did as string);
    if (!row) throw new CivilIdError("REQUEST_NOT_FOUND", `No request of organisation ${this.agencyCode} was activated with the device DID ${String(did)}.`);
    if (row.state !== "issued") throw this.wrongState(row, "credential collection", ["issued"]);
    return row;
  }

  private collectionChallengeValue(requestId: string, did: string, expiresAt: string): string {
    return "0x" + secretHash(this.codeKey, "collection-challenge", requestId, `${did}\0${expiresAt}`);
  }

  // ================================================================== SMS outbox

  /** Delivers every queued SMS that is still useful; expired ones are dropped (their text erased). */
  async deliverOutbox(): Promise<{ delivered: number; failed: number; expired: number }> {
    let delivered = 0;
    let failed = 0;
    let expired = 0;
    for (const message of this.store.undelivered()) {
      const outcome = await this.deliver(message.id);
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
  undeliveredSms(): { id: number; requestId: string; purpose: SmsPurpose; to: string; body: string; status: "pending" | "failed"; attempts: number; lastError: string | undefined; createdAt: string; expiresAt: string }[] {
    const at = this.now();
    return this.store.undelivered()
      .filter((m) => m.body !== null && at < m.expires_at)
      .map((m) => ({
        id: m.id, requestId: m.request_id, purpose: m.purpose as SmsPurpose, to: m.to_phone, body: m.body!, status: m.status as "pending" | "failed",
        attempts: m.attempts, lastError: opt(m.last_error), createdAt: new Date(m.created_at).toISOString(), expiresAt: new Date(m.expires_at).toISOString(),
      }));
  }

  private queueSms(requestId: string, purpose: SmsPurpose, to: string, sms: { body: string; redactedBody: string }, at: number, expiresAt: number): number {
    return this.store.enqueueSms({ requestId, purpose, to, body: sms.body, redactedBody: sms.redactedBody, at, expiresAt });
  }

  private async deliver(outboxId: number): Promise<DeliveryOutcome> {
    const message = this.store.outboxMessage(outboxId);
    if (!message || message.status === "sent" || message.status === "expired" || message.body === null) {
      return { outboxId, delivered: message?.status === "sent", error: message?.status === "sent" ? undefined : "EXPIRED" };
    }
    const at = this.now();
    if (at >= message.expires_at) {
      this.settle(message.request_id, outboxId, { status: "expired", at }, "sms-expired", { outboxId, purpose: message.purpose });
      return { outboxId, delivered: false, error: "EXPIRED" };
    }
    try {
      await this.options.sms.send({ id: message.id, requestId: message.request_id, purpose: message.purpose as SmsPurpose, to: message.to_phone, body: message.body });
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      this.settle(message.request_id, outboxId, { status: "failed", at, error: why }, "sms-failed", { outboxId, purpose: message.purpose, error: why });
      return { outboxId, delivered: false, error: why };
    }
    this.settle(message.request_id, outboxId, { status: "sent", at }, "sms-sent", { outboxId, purpose: message.purpose });
    return { outboxId, delivered: true, error: undefined };
  }

  private settle(requestId: string, outboxId: number, outcome: { status: "sent" | "failed" | "expired"; at: number; error?: string }, action: string, details: JsonObject): void {
    const row = this.store.request(requestId);
    this.store.transaction(() => {
      this.store.settleSms(outboxId, outcome);
      this.store.appendAudit({ requestId, at: outcome.at, actor: "system", action, from: row?.state ?? null, to: row?.state ?? null, details });
    }, () => this.options.hooks?.beforeCommit?.({ requestId, action, from: row?.state ?? null, to: row?.state ?? null }));
  }

  // ================================================================== reads

  get(id: string): IssuanceRecord {
    const row = this.store.request(id);
    if (!row) throw new CivilIdError("REQUEST_NOT_FOUND", `No issuance request ${JSON.stringify(id)}.`);
    return toRecord(row);
  }

  list(filter: { state?: WorkflowState | readonly WorkflowState[]; source?: HrSource; limit?: number; offset?: number } = {}): IssuanceRecord[] {
    const states = filter.state === undefined ? undefined : typeof filter.state === "string" ? [filter.state] : filter.state;
    return this.store.listRequests({
      ...(states ? { states } : {}),
      ...(filter.source ? { source: filter.source } : {}),
      limit: boundedInt(filter.limit ?? 100, "limit", 1, 10_000),
      offset: boundedInt(filter.offset ?? 0, "offset", 0, Number.MAX_SAFE_INTEGER),
    }).map(toRecord);
  }

  /** The audit trail of a request, oldest first; without an id, the import-level entries. */
  audit(id?: string): AuditEntry[] {
    if (id !== undefined) this.get(id);
    return this.store.auditOf(id ?? null).map(toAuditEntry);
  }

  /** The SMS of a request as stored (delivered ones keep only their redacted text). */
  outbox(id: string): { id: number; purpose: string; to: string; status: string; body: string | null; redactedBody: string; attempts: number }[] {
    this.get(id);
    return this.store.outboxOf(id).map((m) => ({ id: m.id, purpose: m.purpose, to: m.to_phone, status: m.status, body: m.body, redactedBody: m.redacted_body, attempts: m.attempts }));
  }

  // ================================================================== internals

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chainQueue.then(fn, fn);
    this.chainQueue = run.catch(() => undefined); // the caller gets the error through `run`; the queue goes on
    return run;
  }

  private async step(step: IssueStep, id: string): Promise<void> {
    await this.options.hooks?.afterIssueStep?.(step, id);
  }

  private requireState(id: string, allowed: readonly WorkflowState[], action: string): RequestRow {
    const row = this.store.request(id);
    if (!row) throw new CivilIdError("REQUEST_NOT_FOUND", `No issuance request ${JSON.stringify(id)}.`);
    if (!allowed.includes(row.state)) throw this.wrongState(row, action, allowed);
    return row;
  }

  private wrongState(row: RequestRow, action: string, allowed: readonly WorkflowState[]): CivilIdError {
    return new CivilIdError(
      "INVALID_WORKFLOW_STATE",
      `Request ${row.id} is ${row.state}; ${action} needs ${allowed.join(" or ")}. Next step: ${NEXT_STEP[row.state]}.`,
      { details: { state: row.state, allowed: [...allowed], nextStep: NEXT_STEP[row.state] } },
    );
  }

  /**
   * One state transition: checks the current state, updates the row (compare-and-set), runs `extra` and
   * appends the audit row, all in one transaction. `extra` may return audit details to merge.
   */
  private transition(
    id: string,
    allowed: readonly WorkflowState[],
    to: WorkflowState,
    action: string,
    actor: string,
    patch: Partial<RequestRow>,
    details: JsonObject,
    extra?: () => JsonObject | void,
  ): void {
    let from: WorkflowState | null = null;
    const at = this.now();
    this.store.transaction(
      () => {
        const row = this.store.request(id);
        if (!row) throw new CivilIdError("REQUEST_NOT_FOUND", `No issuance request ${JSON.stringify(id)}.`);
        if (!allowed.includes(row.state)) throw this.wrongState(row, action, allowed);
        from = row.state;
        this.store.updateRequest(id, row.state, { ...patch, state: to, updated_at: at });
        const more = extra?.() ?? {};
        this.store.appendAudit({ requestId: id, at, actor, action, from: row.state, to, details: { ...details, ...more } });
      },
      () => this.options.hooks?.beforeCommit?.({ requestId: id, action, from, to }),
    );
  }

  /** An audit row without a state change (refusals that must be recorded). */
  private record(id: string, actor: string, action: string, state: WorkflowState, details: JsonObject): void {
    this.store.transaction(
      () => this.store.appendAudit({ requestId: id, at: this.now(), actor, action, from: state, to: state, details }),
      () => this.options.hooks?.beforeCommit?.({ requestId: id, action, from: state, to: state }),
    );
  }
}

/**
 * Whether an error of a registration call is the contract's definitive refusal (so nothing was registered), and
 * which custom error it was. ethers reports a revert as CALL_EXCEPTION; some nodes (and Hardhat's in-process
 * network) answer with JSON-RPC error 3 "execution reverted" carrying the revert data.
 */
function contractRefusal(error: unknown, iface: Interface): { name: string | null } | undefined {
  const cause = isCivilIdError(error) ? error.cause : error;
  if (isCallException(cause)) {
    const data = cause.data ?? undefined;
    return { name: cause.revert?.name ?? (data ? (iface.parseError(data)?.name ?? null) : null) };
  }
  const rpc = cause as { code?: unknown; data?: unknown } | undefined;
  if (rpc && rpc.code === 3 && typeof rpc.data === "string" && /^0x[0-9a-fA-F]*$/.test(rpc.data)) {
    try {
      return { name: iface.parseError(rpc.data)?.name ?? null };
    } catch {
      return { name: null };
    }
  }
  return undefined;
}

function tokenHash(key: Uint8Array, token: string): string {
  return secretHash(key, "activation-token", "", token);
}

function subjectOf(row: RequestRow): IdentitySubject {
  return {
    requestId: row.id, name: row.name, employeeRef: row.employee_ref, mobile: row.mobile, agencyCode: row.agency_code,
    organisationName: row.organisation_name,
  };
}

function checkActor(actor: unknown): asserts actor is string {
  if (typeof actor !== "string" || actor.length === 0 || actor.length > 128 || hasControlCharacters(actor) || actor.trim() !== actor) {
    throw new CivilIdError("INVALID_INPUT", "The actor must be a non-empty id of at most 128 characters without control characters or outer spaces.");
  }
}

function checkReason(reason: unknown): string {
  const text = typeof reason === "string" ? reason.normalize("NFC").trim() : "";
  if (text.length === 0 || text.length > 500 || hasControlCharacters(text, true)) {
    throw new CivilIdError("INVALID_INPUT", "A reason is required: 1-500 characters of text.");
  }
  return text;
}

function boundedInt(value: number, what: string, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CivilIdError("INVALID_INPUT", `${what} must be an integer in ${min}..${max}.`);
  }
  return value;
}

const iso = (ms: number | null) => (ms === null ? undefined : new Date(ms).toISOString());
const opt = <T>(v: T | null) => (v === null ? undefined : v);

function toRecord(row: RequestRow): IssuanceRecord {
  return {
    id: row.id,
    source: row.source as HrSource,
    hrRequestId: row.hr_request_id,
    state: row.state,
    nextStep: NEXT_STEP[row.state],
    agencyCode: row.agency_code,
    organisationName: row.organisation_name,
    department: row.department,
    position: row.position,
    name: row.name,
    employeeRef: row.employee_ref,
    mobile: row.mobile,
    holderRef: row.holder_ref,
    kind: row.kind as RequestKind,
    reissueReason: opt(row.reissue_reason) as ReissueReason | undefined,
    requestedAt: row.requested_at,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    refusal: row.refusal_code === null ? undefined : { code: row.refusal_code, reason: row.refusal_reason ?? "" },
    approver: opt(row.approver),
    decidedAt: iso(row.decided_at),
    rejectionReason: opt(row.rejection_reason),
    identityMethod: opt(row.identity_method),
    identityVerifiedAt: iso(row.identity_verified_at),
    subjectDid: opt(row.subject_did),
    devicePublicKey: opt(row.device_public_key),
    activatedAt: iso(row.activated_at),
    bindingDigest: opt(row.binding_digest),
    credentialId: row.credential_id === null ? undefined : BigInt(row.credential_id),
    supersededId: row.superseded_id === null ? undefined : BigInt(row.superseded_id),
    supersededBy: row.superseded_by === null ? undefined : BigInt(row.superseded_by),
    txHash: opt(row.tx_hash),
    blockNumber: opt(row.block_number),
    credentialJwt: opt(row.credential_jwt),
    issuedAt: iso(row.issued_at),
  };
}

function toAuditEntry(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    requestId: opt(row.request_id),
    at: new Date(row.at).toISOString(),
    actor: row.actor,
    action: row.action,
    from: opt(row.from_state) as WorkflowState | undefined,
    to: opt(row.to_state) as WorkflowState | undefined,
    details: JSON.parse(row.details) as JsonObject,
  };
}

