import type { CivilServantClaims } from "../credential/model.js";

/** Machine-readable reasons for a refusal. */
export type RefusalCode =
  | "MALFORMED_PRESENTATION"
  | "ALGORITHM_NOT_ALLOWED"
  | "MALFORMED_CREDENTIAL"
  | "BAD_PRESENTATION_SIGNATURE"
  | "BAD_CREDENTIAL_SIGNATURE"
  | "HOLDER_MISMATCH"
  | "CHALLENGE_MISSING"
  | "CHALLENGE_MISMATCH"
  | "CHALLENGE_UNKNOWN"
  | "CHALLENGE_REPLAYED"
  | "CHALLENGE_EXPIRED"
  | "AUDIENCE_MISSING"
  | "AUDIENCE_MISMATCH"
  | "PRESENTATION_EXPIRED"
  | "PRESENTATION_NOT_YET_VALID"
  | "PRESENTATION_ISSUED_IN_FUTURE"
  | "PRESENTATION_LIFETIME_TOO_LONG"
  | "CREDENTIAL_EXPIRED"
  | "CREDENTIAL_NOT_YET_VALID"
  | "CREDENTIAL_ISSUED_IN_FUTURE"
  | "WRONG_CHAIN"
  | "WRONG_STATUS_REGISTRY"
  | "CREDENTIAL_TYPE_NOT_ACCEPTED"
  | "ISSUER_NOT_ACCREDITED"
  | "ISSUER_KEY_COMPROMISED"
  | "ISSUER_KEY_NOT_VALID_AT_ISSUANCE"
  | "ORGANISATION_SUSPENDED"
  | "ORGANISATION_REMOVED"
  | "ORGANISATION_NOT_ALLOWED"
  /** The credential's organisation name is not the IssuerRegistry's official name for its agency code. */
  | "ORGANISATION_NAME_MISMATCH"
  /** The organisation has no official name in the registry (refused only with requireRegisteredOrganisationNames). */
  | "ORGANISATION_NAME_UNREGISTERED"
  | "CREDENTIAL_TYPE_NOT_ALLOWED_FOR_ISSUER"
  | "CREDENTIAL_NOT_REGISTERED"
  | "CREDENTIAL_BINDING_MISMATCH"
  | "CREDENTIAL_LOCKED"
  | "CREDENTIAL_REVOKED"
  | "CREDENTIAL_SUPERSEDED"
  | "BAD_DOCUMENT_SIGNATURE"
  /** The document signature has no on-chain anchor (nothing proves when it was made) and the policy requires one. */
  | "SIGNATURE_UNANCHORED"
  /** The signature's anchor is malformed or names another anchor contract than the deployment's. */
  | "SIGNATURE_ANCHOR_INVALID"
  | "DOCUMENT_ALTERED"
  | "LEDGER_UNAVAILABLE"
  | "LEDGER_DISAGREEMENT"
  | "INDEX_STALE"
  | "INTERNAL_ERROR";

/**
 * What a verification tells the relying system. Disclosure is the policy's: `claims`, `organisation`, `holder`
 * and `credentialId` carry only what the use policy names (stable identifiers let verifiers correlate a person
 * across uses). The audit hook (VerifierOptions.audit) receives the identifiers regardless, for the gate's log.
 */
export interface VerificationResult {
  readonly ok: boolean;
  readonly policy: string;
  /** Empty iff ok. */
  readonly reasons: readonly RefusalCode[];
  /** Human-readable detail per reason (for logs and operators; not for branching). */
  readonly details: readonly string[];
  /** The holder DID, only if the policy discloses "holder". */
  readonly holder?: string;
  /** The credential id, only if the policy discloses "credentialId". */
  readonly credentialId?: string;
  /** The organisation's fields the policy discloses ("agencyCode", "organisation" as name). */
  readonly organisation?: { readonly agencyCode?: number; readonly name?: string };
  /** Only the claims the policy discloses. */
  readonly claims?: Partial<CivilServantClaims>;
  /** Status reason code name when locked or revoked. */
  readonly statusReason?: string;
  /** Which ledger view answered ("primary" or "fallback"). */
  readonly ledgerSource?: "primary" | "fallback";
}

export interface DocumentVerificationResult extends VerificationResult {
  /** When the signature was made, from the chain: the anchoring block's time (ISO 8601); absent if unanchored. */
  readonly signedAt?: string;
  /**
   * Where the signing time comes from: the anchoring block (`anchored: true`), or nothing (`anchored: false`: the
   * policy accepted an unanchored signature, judged as if made now). `claimed` is the signer's own `iat`, for
   * display only: it is never the signing time.
   */
  readonly signingTime?:
    | { readonly anchored: true; readonly at: string; readonly blockNumber: number; readonly blockHash: string; readonly root: string; readonly claimed: string }
    | { readonly anchored: false; readonly claimed: string };
  /** The sha-256 of the signed document, if the signature verified. */
  readonly documentDigest?: string;
  /** What the signer said the signature means (결재 approval, 열람 확인 read receipt, …), as signed. */
  readonly purpose?: string;
}

/** Everything a verification learnt, for the relying system's audit log (never returned to the caller). */
export interface VerificationAuditRecord {
  readonly kind: "presentation" | "document";
  /** Unix milliseconds. */
  readonly at: number;
  readonly policy: string;
  readonly ok: boolean;
  readonly reasons: readonly RefusalCode[];
  readonly holder?: string;
  readonly credentialId?: string;
  readonly agencyCode?: number;
  readonly issuer?: string;
}
