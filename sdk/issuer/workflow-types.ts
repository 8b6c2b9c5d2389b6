/** The public types of the issuance workflow (options, records, reports), shared by the facade and its phases. */
import type { Issuer } from "did-jwt-vc";
import type { LedgerContracts } from "../chain/contracts.js";
import type { StoreLocation } from "../util/sql.js";
import type { HrSource } from "./hr-import.js";
import type { IdentityVerifier, JsonObject } from "./identity.js";
import type { SmsGateway, SmsPurpose } from "./sms.js";
import type { WorkflowState } from "./transitions.js";
import type { RequestContent, RequestProgress } from "./store-schema.js";

/** Durable points inside `issue()`, in order; `afterIssueStep` runs after each (for fault injection and metrics). */
export type IssueStep = "intent-recorded" | "registered-on-chain" | "credential-id-recorded" | "jwt-signed" | "issued";

export interface WorkflowHooks {
  /** Runs inside every transaction after its writes, before COMMIT: throwing rolls the whole transaction back. */
  beforeCommit?(event: { readonly requestId: string | null; readonly action: string; readonly from: WorkflowState | null; readonly to: WorkflowState | null }): void | Promise<void>;
  /** Runs after each durable step of an issuance; throwing there stops the issuance as a crash would. */
  afterIssueStep?(step: IssueStep, requestId: string): void | Promise<void>;
}

export interface IssuanceWorkflowOptions {
  /** SQLite file (created with its directory by an HR import when missing, see `create`). One database per organisation. */
  readonly dbPath: string;
  /**
   * Where the database lives instead of `dbPath`: PostgreSQL for several issuer instances sharing it (one schema per
   * organisation). Default: the SQLite file `dbPath`.
   */
  readonly store?: StoreLocation;
  /**
   * Whether a missing database may be created (default true). It is created only by an import that succeeds, so a
   * refused first import (a mistyped agency, an invalid file) leaves no file behind. false: a missing database is refused.
   */
  readonly create?: boolean;
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
  /**
   * Base URL of the status service that publishes the organisation's IETF Token Status List (no trailing slash).
   * When set, every credential carries the standard `status.status_list {idx, uri}` claim beside its on-chain
   * reference (`<base>/status-lists/<agency>`, idx = its sequence), so stock verifiers with a status-list plugin
   * refuse it once locked or revoked.
   */
  readonly statusListBaseUrl?: string;
  /** Largest block range of one eth_getLogs call (the node's cap; Besu's default 1,000). */
  readonly maxLogRange?: number;
  /** Unix milliseconds; default Date.now. */
  readonly clock?: () => number;
  readonly hooks?: WorkflowHooks;
}

/** The public view of a request: ISO times, the next step in words (see phases/records.ts). */
export interface IssuanceRecord extends RequestContent, RequestProgress {
  /** What has to happen next, in words. */
  readonly nextStep: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly refusal: { readonly code: string; readonly reason: string } | undefined;
  readonly decidedAt: string | undefined;
  readonly identityVerifiedAt: string | undefined;
  readonly activatedAt: string | undefined;
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
  /** How many rows had each outcome. */
  readonly counts: { readonly created: number; readonly duplicates: number; readonly refused: number; readonly conflicts: number };
  /** true when every row was created or a duplicate; false when any was refused or conflicted (a CLI exits non-zero). */
  readonly complete: boolean;
}

export interface DeliveryOutcome {
  readonly outboxId: number;
  readonly delivered: boolean;
  readonly error: string | undefined;
}

export interface UndeliveredSms {
  readonly id: number;
  readonly requestId: string;
  readonly purpose: SmsPurpose;
  readonly to: string;
  readonly body: string;
  readonly status: "pending" | "failed";
  readonly attempts: number;
  readonly lastError: string | undefined;
  readonly createdAt: string;
  readonly expiresAt: string;
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
