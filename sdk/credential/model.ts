/**
 * The mobile civil-servant ID credential as data: a W3C Verifiable Credential, VC Data Model 1.1, in the JWT
 * encoding (VC-JWT: `vc` claim, `iss`/`sub`/`nbf`/`exp`/`jti` carry issuer, subject and validity), signed ES256K by
 * an accredited organisation's issuer key. Why 1.1 and not 2.0: the issuance and verification libraries the
 * consortium's integrators run unmodified (did-jwt-vc 4, Veramo, ethr-did-resolver stacks) implement the 1.1 JWT
 * encoding; VC 2.0 secures credentials with VC-JOSE-COSE (`application/vc+jwt`, no `vc` claim) which they do not
 * read. Moving to 2.0 changes the envelope, not this model.
 *
 * Claims live only in the credential the holder carries; the chain holds its status entry (see `credentialStatus`).
 */
import { CIVIL_SERVANT_ID_TYPE } from "../chain/codes.js";
import type { DeviceKeyJwk } from "./device-key.js";
import type { JwsAlgorithm } from "./jws.js";

export { CIVIL_SERVANT_ID_TYPE };
export const VC_CONTEXT_V1 = "https://www.w3.org/2018/credentials/v1";
export const CIVIL_ID_CONTEXT = "https://w3id.org/mobile-civil-id/v1";
export const STATUS_TYPE = "CivilIdStatusRegistry2026";
export const CREDENTIAL_JWT_TYP = "JWT";

/**
 * THE size limit of a credential JWT, for every party: the issuer never signs a longer one, the wallet never
 * stores one, the verifier refuses one before parsing (a credential is about 1.5 KB).
 */
export const MAX_CREDENTIAL_JWT_LENGTH = 16 * 1024;
/** Former name of {@link MAX_CREDENTIAL_JWT_LENGTH}. */
export const MAX_JWT_LENGTH = MAX_CREDENTIAL_JWT_LENGTH;
/** Longest text claim (name, organisation, department, position, employee reference), in UTF-16 code units. */
export const MAX_CLAIM_LENGTH = 200;
/** Issuer keys are secp256k1 (their address is what the IssuerRegistry accredits). */
export const ISSUER_ALGORITHM: JwsAlgorithm = "ES256K";

/** What the uses need to know about the holder. Personal data: never written on chain. */
export interface CivilServantClaims {
  /** Full name (성명). */
  readonly name: string;
  /** Issuing organisation's 7-digit agency code (기관코드). */
  readonly agencyCode: number;
  /** Organisation name (기관명). */
  readonly organisation: string;
  /** Department (부서). */
  readonly department: string;
  /** Position / grade (직위·직급). */
  readonly position: string;
  /** Opaque HR employee reference (공무원 번호) as the HR system knows it. */
  readonly employeeRef: string;
}

export const TEXT_CLAIMS = ["name", "organisation", "department", "position", "employeeRef"] as const;

/** The credential's on-chain status entry (`vc.credentialStatus`). */
export interface CredentialStatusRef {
  readonly id: string;
  readonly type: typeof STATUS_TYPE;
  readonly chainId: number;
  readonly statusRegistry: string;
  /** Decimal string (uint64 does not fit a JSON number safely). */
  readonly credentialId: string;
}

/**
 * Optional IETF Token Status List reference (draft-ietf-oauth-status-list, "referenced token"): top-level JWT claim
 * `status: { status_list: { idx, uri } }`. `idx` is the credential's sequence within its agency; `uri` is
 * `<base>/status-lists/<agencyCode>`. Verifiers of this SDK ignore it (the chain is authoritative); it serves
 * relying parties that speak status lists.
 */
export interface StatusListRef {
  readonly status_list: { readonly idx: number; readonly uri: string };
}

/** A credential after structural validation (its issuer signature is checked by the verifier, not here). */
export interface ParsedCredential {
  readonly jwt: string;
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  /** The JWS signing input and signature, decoded once (the verifier checks the signature without re-decoding). */
  readonly signingInput: string;
  readonly signature: Uint8Array;
  readonly issuerDid: string;
  readonly issuerAddress: string;
  readonly subjectDid: string;
  /** The subject's address for a did:ethr holder; undefined for a did:jwk (P-256) holder. */
  readonly subjectAddress: string | undefined;
  readonly chainId: bigint;
  readonly types: readonly string[];
  readonly claims: CivilServantClaims;
  /** The device key the issuer attested: presentations and document signatures must verify with it. */
  readonly deviceKey: DeviceKeyJwk;
  /** ES256K for a secp256k1 device key, ES256 for a P-256 one. */
  readonly deviceAlgorithm: JwsAlgorithm;
  readonly status: CredentialStatusRef;
  readonly statusList: StatusListRef | undefined;
  readonly credentialId: bigint;
  readonly issuedAt: number;
  readonly validFrom: number;
  readonly validUntil: number;
  /** The digest its status entry must carry (see bindingDigest). */
  readonly bindingDigest: string;
}
