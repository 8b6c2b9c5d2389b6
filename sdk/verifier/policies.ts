import { CIVIL_SERVANT_ID_TYPE } from "../chain/codes.js";
import type { CivilServantClaims } from "../credential/model.js";

export type ClaimName = keyof CivilServantClaims;
/**
 * What a result may carry: claims, and the stable identifiers `holder` (the device DID) and `credentialId`, which
 * let verifiers correlate a person across uses and are therefore disclosed only to uses that name them.
 */
export type DisclosableField = ClaimName | "holder" | "credentialId";

/**
 * What one use of the ID needs. A verifier states its policy; the result discloses only the claims the policy
 * names (a library learns a name and an organisation, not an employee number).
 */
export interface UsePolicy {
  readonly id: string;
  readonly description: string;
  /** Credential type the use accepts. */
  readonly credentialType: string;
  /** Claims and identifiers returned to the relying system (nothing else is). */
  readonly disclose: readonly DisclosableField[];
  /** Longest presentation lifetime (exp − iat) accepted, seconds. */
  readonly maxPresentationLifetimeSeconds: number;
  /** If set, only credentials of these organisations are accepted (e.g. a ministry's own business system). */
  readonly allowedAgencyCodes?: readonly number[];
  /**
   * Document signatures only: accept a signature that is not anchored on chain, judged as if signed at verification
   * time (its credential must be valid and Active now). Default false: SIGNATURE_UNANCHORED.
   */
  readonly acceptUnanchoredSignatures?: boolean;
}

const ALL_CLAIMS: readonly ClaimName[] = ["name", "agencyCode", "organisation", "department", "position", "employeeRef"];

export const POLICIES = {
  /** Government building gate (청사 출입): a tap at the turnstile. */
  buildingGate: {
    id: "building-gate",
    description: "Government building access",
    credentialType: CIVIL_SERVANT_ID_TYPE,
    disclose: ["name", "agencyCode", "organisation"],
    maxPresentationLifetimeSeconds: 60,
  },
  /** Unified government mail login (정부원격근무·메일). */
  mailLogin: {
    id: "mail-login",
    description: "Government mail login",
    credentialType: CIVIL_SERVANT_ID_TYPE,
    disclose: ["name", "agencyCode", "organisation", "department", "employeeRef"],
    maxPresentationLifetimeSeconds: 300,
  },
  /** A ministry's business system (업무시스템): only its own organisations. */
  businessSystemLogin: {
    id: "business-system-login",
    description: "Business system login",
    credentialType: CIVIL_SERVANT_ID_TYPE,
    disclose: ["name", "agencyCode", "organisation", "department", "position", "employeeRef"],
    maxPresentationLifetimeSeconds: 300,
  },
  /** Sejong government complex library card (세종청사 도서관). */
  libraryCard: {
    id: "library-card",
    description: "Sejong government complex library card",
    credentialType: CIVIL_SERVANT_ID_TYPE,
    disclose: ["name", "organisation"],
    maxPresentationLifetimeSeconds: 120,
  },
  /** Proof of identity on duty (현장 신분 확인): everything on the card. */
  onDutyIdentity: {
    id: "on-duty-identity",
    description: "Proof of identity on duty",
    credentialType: CIVIL_SERVANT_ID_TYPE,
    disclose: ALL_CLAIMS,
    maxPresentationLifetimeSeconds: 120,
  },
  /** Checking who e-signed a document (전자서명 검증): the signer's identity as of the signature. */
  documentSignature: {
    id: "document-signature",
    description: "Document e-signature verification",
    credentialType: CIVIL_SERVANT_ID_TYPE,
    // The credential id names which credential signed (the record a signature check produces).
    disclose: ["name", "agencyCode", "organisation", "department", "position", "credentialId"],
    maxPresentationLifetimeSeconds: 300,
  },
} as const satisfies Record<string, UsePolicy>;

export type PolicyName = keyof typeof POLICIES;

/** A document-signature policy that also accepts unanchored signatures (judged as if made now). */
export function acceptingUnanchoredSignatures(policy: UsePolicy): UsePolicy {
  return { ...policy, acceptUnanchoredSignatures: true };
}

/** A policy restricted to some organisations (e.g. a business system of one ministry). */
export function restrictToOrganisations(policy: UsePolicy, agencyCodes: readonly number[]): UsePolicy {
  return { ...policy, allowedAgencyCodes: [...agencyCodes] };
}
