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
 *
 * This module (the format, the digests, signing) is browser-safe: the holder web wallet signs with it. Verification,
 * which needs OpenSSL and the credential parser, is document-signature-verify.ts.
 */
import { getAddress, isAddress, sha256, toUtf8Bytes } from "ethers";
import { CivilIdError } from "../errors.js";
import { signJws, type JwsSigner } from "../credential/jws.js";

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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const HEX64 = /^[0-9a-f]{64}$/;

/** The `docsig` claims of an untrusted signature, as a clean copy; undefined when they are not of this format. */
export function parseDocumentSignatureClaims(value: unknown): DocumentSignatureClaims | undefined {
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
