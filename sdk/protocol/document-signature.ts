/**
 * Detached document e-signatures made with the holder's device key.
 *
 * The signature is a compact JWS (header `{ alg: "ES256K" | "ES256", typ: "civil-id-docsig+jwt" }` — an explicit
 * type (RFC 8725 §3.11) so it is never mistaken for a presentation or a credential) with the claims
 *
 * ```json
 * { "iss": "<holder DID>", "iat": 1735689600,
 *   "docsig": { "v": 1,
 *               "document":   { "alg": "sha-256", "digest": "<hex>", "size": 12345 },
 *               "credential": { "alg": "sha-256", "digest": "<hex of the VC JWT text>", "statusId": "<vc.credentialStatus.id>" },
 *               "purpose": "결재" } }
 * ```
 *
 * SHA-256 is used for both digests: it is what document-signature tooling (PAdES/XAdES, `sha256sum`) speaks.
 * Verification uses ONE rule, the same as for presentations: the signature must verify with the device key the
 * issuer attested in the bound credential — never with keys the holder's DID document lists (a `veriKey` delegate
 * of the device key must not sign as the holder). The signature must be low-s (its high-s twin is refused), and
 * the signed purpose (결재 approval, 열람 확인 read receipt, …) is part of the result.
 *
 * The signing time is never the signer's `iat` (any holder can backdate it): it is the time of the block that anchored
 * the signature on chain (DocumentAnchor, sdk/anchor/). The anchored value is {@link signatureAnchorDigest} of the JWT;
 * the signature file carries the anchor contract and the Merkle proof from that digest to the anchored batch root
 * ({@link DocumentSignatureAnchor}). Nothing in the anchor is trusted: the verifier recomputes the root and asks the
 * chain when (and whether) it was anchored.
 */
import type { KeyObject } from "node:crypto";
import { getAddress, isAddress, sha256, toUtf8Bytes } from "ethers";
import { CivilIdError } from "../errors.js";
import { decodeJws, importPublicJwk, isCanonicalSignature, signJws, verifyJwsSignature, type JwsSigner } from "../credential/jws.js";
import { credentialRefusalReason, parseCredentialJwt } from "../credential/parse.js";
import type { ParsedCredential } from "../credential/model.js";

export const DOCUMENT_SIGNATURE_FORMAT = "mobile-civil-id/document-signature";
export const DOCUMENT_SIGNATURE_TYP = "civil-id-docsig+jwt";
export const MAX_PURPOSE_LENGTH = 256;
/** A document signature carries digests only: anything longer is refused before parsing. */
export const MAX_DOCUMENT_SIGNATURE_LENGTH = 4 * 1024;

export interface DocumentSignatureClaims {
  v: 1;
  document: { alg: "sha-256"; digest: string; size: number };
  credential: { alg: "sha-256"; digest: string; statusId?: string };
  purpose?: string;
}

/** Where a signature was anchored: the DocumentAnchor contract and the proof from its digest to the batch root. */
export interface DocumentSignatureAnchor {
  /** The DocumentAnchor contract (checksummed); the verifier accepts only its deployment's. */
  contract: string;
  /** Sibling hashes from the leaf of `signatureAnchorDigest(jwt)` up to the anchored root ([] for a batch of one). */
  proof: string[];
}

/** The most proof elements an anchor may carry (MAX_ANCHOR_BATCH = 2^17 leaves: depth ≤ 18). */
export const MAX_ANCHOR_PROOF_LENGTH = 32;

/** The detached signature handed out with a signed document. */
export interface DocumentSignature {
  format: typeof DOCUMENT_SIGNATURE_FORMAT;
  version: 1;
  /** The signature JWT: the only part that is trusted, everything is re-derived from it. */
  jwt: string;
  /** The credential the signer held when signing (bound by digest in the JWT). */
  credential: string;
  /** Where the signature is anchored on chain (its signing time); absent until anchored (`mcid anchor`, sdk/anchor). */
  anchor?: DocumentSignatureAnchor;
}

/** The 32-byte value anchored for a signature: sha-256 of the signature JWT's text, 0x-prefixed. */
export function signatureAnchorDigest(jwt: string): string {
  return sha256(toUtf8Bytes(jwt));
}

/** Validates an untrusted `anchor` field of a signature file: undefined if absent, throws INVALID_INPUT if malformed. */
export function parseSignatureAnchor(value: unknown): DocumentSignatureAnchor | undefined {
  if (value === undefined) return undefined;
  const fail = (why: string): never => {
    throw new CivilIdError("INVALID_INPUT", `The signature's anchor is malformed: ${why}.`);
  };
  if (!isObject(value)) return fail("not an object with contract and proof");
  const { contract, proof, ...rest } = value;
  if (Object.keys(rest).length > 0) fail(`unknown key(s) ${Object.keys(rest).join(", ")}`);
  if (typeof contract !== "string" || !isAddress(contract)) fail("contract must be an address");
  if (!Array.isArray(proof) || proof.length > MAX_ANCHOR_PROOF_LENGTH) fail(`proof must be an array of at most ${MAX_ANCHOR_PROOF_LENGTH} hashes`);
  const hashes = (proof as unknown[]).map((p) => (typeof p === "string" && /^0x[0-9a-fA-F]{64}$/.test(p) ? p.toLowerCase() : fail("each proof element must be a 32-byte hex string")));
  return { contract: getAddress(contract as string), proof: hashes };
}

/** sha-256 of the document bytes, lowercase hex without 0x (the same text `sha256sum` prints). */
export function documentDigest(document: Uint8Array): string {
  return sha256(document).slice(2);
}

/** sha-256 of a credential JWT's compact serialisation, lowercase hex without 0x: how signatures refer to it. */
export function credentialDigest(jwt: string): string {
  return sha256(toUtf8Bytes(jwt)).slice(2);
}

/** The purpose rule: absent, or non-empty printable text of at most MAX_PURPOSE_LENGTH characters. */
export function isValidPurpose(purpose: unknown): purpose is string | undefined {
  return purpose === undefined || (typeof purpose === "string" && purpose.trim().length > 0 && purpose.length <= MAX_PURPOSE_LENGTH && !/\p{Cc}/u.test(purpose));
}

/** Validates the document and purpose (INVALID_INPUT) before anything is signed. */
export function checkDocumentSigningRequest(document: unknown, purpose: unknown): void {
  if (!(document instanceof Uint8Array)) throw new CivilIdError("INVALID_INPUT", "The document must be given as bytes (Uint8Array).");
  if (!isValidPurpose(purpose)) {
    throw new CivilIdError("INVALID_INPUT", `The purpose must be non-empty printable text of at most ${MAX_PURPOSE_LENGTH} characters.`);
  }
}

export interface DocumentSigningInput {
  signerDid: string;
  signer: JwsSigner;
  /** The held credential JWT. */
  credential: string;
  credentialStatusId: string | undefined;
  document: Uint8Array;
  purpose?: string;
  /** Seconds since the epoch. */
  now: number;
}

export async function signDocumentJwt(input: DocumentSigningInput): Promise<DocumentSignature> {
  checkDocumentSigningRequest(input.document, input.purpose);
  const claims: DocumentSignatureClaims = {
    v: 1,
    document: { alg: "sha-256", digest: documentDigest(input.document), size: input.document.length },
    credential: {
      alg: "sha-256",
      digest: credentialDigest(input.credential),
      ...(input.credentialStatusId === undefined ? {} : { statusId: input.credentialStatusId }),
    },
    ...(input.purpose === undefined ? {} : { purpose: input.purpose }),
  };
  const jwt = await signJws({ typ: DOCUMENT_SIGNATURE_TYP }, { iss: input.signerDid, iat: input.now, docsig: claims }, input.signer);
  return { format: DOCUMENT_SIGNATURE_FORMAT, version: 1, jwt, credential: input.credential };
}

export type DocumentSignatureFailure =
  /** Not a document-signature JWT of this format (or its signature is not in the one low-s encoding). */
  | "MALFORMED"
  /** The signature does not verify with the device key attested in the credential. */
  | "INVALID_SIGNATURE"
  /** Signed time in the future (beyond clock skew). */
  | "INVALID_CLAIMS"
  /** A genuine signature, but over a different document. */
  | "DOCUMENT_MISMATCH"
  /** The credential given is not the one the signature binds, not a credential, or not issued to the signer. */
  | "CREDENTIAL_MISMATCH";

export type DocumentSignatureVerification =
  | {
      valid: true;
      signer: string;
      /** What the signer claims (`iat`): never the signing time, which only an on-chain anchor gives. */
      claimedSignedAt: Date;
      document: DocumentSignatureClaims["document"];
      credential: { digest: string; statusId: string | undefined };
      /** What the signer said the signature means (결재, 열람 확인, …), as signed. */
      purpose: string | undefined;
    }
  | { valid: false; failure: DocumentSignatureFailure; message: string; signer?: string };

export interface VerifyDocumentSignatureOptions {
  /** Seconds since the epoch (default: now). */
  now?: number;
  /** Allowed clock difference for a signing time in the future (s). Default 30. */
  clockSkewSeconds?: number;
  /** The attested device key already imported (the verifier caches it with the credential). */
  deviceKey?: KeyObject;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const HEX64 = /^[0-9a-f]{64}$/;

function parseClaims(value: unknown): DocumentSignatureClaims | undefined {
  if (!isObject(value) || value.v !== 1) return undefined;
  const { document, credential, purpose } = value;
  if (!isObject(document) || document.alg !== "sha-256" || typeof document.digest !== "string" || !HEX64.test(document.digest)) return undefined;
  const size = document.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (!isObject(credential) || credential.alg !== "sha-256" || typeof credential.digest !== "string" || !HEX64.test(credential.digest)) return undefined;
  const statusId = credential.statusId;
  if (statusId !== undefined && typeof statusId !== "string") return undefined;
  if (!isValidPurpose(purpose)) return undefined;
  return {
    v: 1,
    document: { alg: "sha-256", digest: document.digest, size },
    credential: { alg: "sha-256", digest: credential.digest, ...(statusId === undefined ? {} : { statusId }) },
    ...(purpose === undefined ? {} : { purpose }),
  };
}

/**
 * Verifies a detached document signature against the credential it binds: the signature with the credential's
 * attested device key (OpenSSL, low-s only), the signer is the credential's subject, the credential is the one
 * bound by digest, the document is the one signed. Never throws for a bad signature; `{ valid: false, failure }`.
 * It checks the credential's structure only — its issuer, accreditation and status are the verifier's next step.
 */
export function verifyDocumentSignature(
  signatureJwt: unknown,
  document: Uint8Array,
  credential: string | ParsedCredential,
  options: VerifyDocumentSignatureOptions = {},
): DocumentSignatureVerification {
  if (!(document instanceof Uint8Array)) throw new CivilIdError("INVALID_INPUT", "The document must be given as bytes (Uint8Array).");
  const fail = (failure: DocumentSignatureFailure, message: string, signer?: string): DocumentSignatureVerification => ({
    valid: false, failure, message, ...(signer === undefined ? {} : { signer }),
  });
  const decoded = decodeJws(signatureJwt, MAX_DOCUMENT_SIGNATURE_LENGTH);
  if (!decoded.ok) return fail("MALFORMED", `The signature is not a compact JWS of at most ${MAX_DOCUMENT_SIGNATURE_LENGTH} characters.`);
  const { header, payload } = decoded.jws;
  const claims = parseClaims(payload.docsig);
  if (header.typ !== DOCUMENT_SIGNATURE_TYP || claims === undefined) return fail("MALFORMED", `The JWT is not a ${DOCUMENT_SIGNATURE_TYP} document signature.`);
  if (typeof payload.iss !== "string" || typeof payload.iat !== "number" || !Number.isSafeInteger(payload.iat) || payload.iat < 0) {
    return fail("MALFORMED", "The signature names no signer DID or signing time.");
  }
  const signer = payload.iss;
  let parsed: ParsedCredential;
  if (typeof credential === "string") {
    try {
      parsed = parseCredentialJwt(credential);
    } catch (error) {
      return fail("CREDENTIAL_MISMATCH", `The credential given is not a credential (${credentialRefusalReason(error) ?? "malformed"}).`, signer);
    }
  } else parsed = credential;
  if (credentialDigest(parsed.jwt) !== claims.credential.digest) return fail("CREDENTIAL_MISMATCH", "The credential given is not the one the signature binds.", signer);
  if (signer !== parsed.subjectDid) return fail("CREDENTIAL_MISMATCH", "The bound credential was not issued to the signer.", signer);
  if (header.alg !== parsed.deviceAlgorithm) return fail("MALFORMED", `The signature's algorithm is not the attested device key's (${parsed.deviceAlgorithm}).`, signer);
  if (!isCanonicalSignature(decoded.jws.signature, parsed.deviceAlgorithm)) return fail("MALFORMED", "The signature is not a 64-byte low-s signature (a high-s twin is refused).", signer);
  const key = options.deviceKey ?? importPublicJwk(parsed.deviceKey);
  if (!verifyJwsSignature(decoded.jws, key, parsed.deviceAlgorithm)) {
    return fail("INVALID_SIGNATURE", "The signature does not verify with the device key the issuer attested in the credential.", signer);
  }
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (payload.iat > now + (options.clockSkewSeconds ?? 30)) return fail("INVALID_CLAIMS", "The signing time is in the future.", signer);
  if (claims.document.digest !== documentDigest(document) || claims.document.size !== document.length) {
    return fail("DOCUMENT_MISMATCH", "The document differs from the one that was signed.", signer);
  }
  return {
    valid: true,
    signer,
    claimedSignedAt: new Date(payload.iat * 1000),
    document: claims.document,
    credential: { digest: claims.credential.digest, statusId: claims.credential.statusId },
    purpose: claims.purpose,
  };
}
