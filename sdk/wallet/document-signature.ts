/**
 * Detached document e-signatures made with the holder's device key.
 *
 * The signature is a JWT (did-jwt, ES256K, header `typ: "civil-id-docsig+jwt"` so it cannot be mistaken for a
 * presentation or a credential) with the claims
 *
 * ```json
 * { "iss": "<holder DID>", "iat": 1735689600,
 *   "docsig": { "v": 1,
 *               "document":   { "alg": "sha-256", "digest": "<hex>", "size": 12345 },
 *               "credential": { "alg": "sha-256", "digest": "<hex of the VC JWT text>", "statusId": "<vc.credentialStatus.id>" },
 *               "purpose": "결재" } }
 * ```
 *
 * SHA-256 is used for both digests: it is what document-signature tooling (PAdES/XAdES, `sha256sum`) speaks, so a
 * digest can be checked without this library. Anyone can verify later with a DID resolver: the signature against
 * the signer's DID document (`assertionMethod`), the document against the digest. The credential itself travels
 * beside the JWT in the {@link DocumentSignature} object; the verifier checks its issuer and on-chain status.
 */
import { createJWT, decodeJWT, verifyJWT, type Signer } from "did-jwt";
import type { Resolvable } from "did-resolver";
import { sha256 } from "ethers";
import { CivilIdError } from "../errors.js";
import { credentialDigest, credentialSubjects } from "./credential.js";
import { sameHolderDid } from "./did.js";

export const DOCUMENT_SIGNATURE_FORMAT = "mobile-civil-id/document-signature";
export const DOCUMENT_SIGNATURE_TYP = "civil-id-docsig+jwt";
export const MAX_PURPOSE_LENGTH = 256;

export interface DocumentSignatureClaims {
  v: 1;
  document: { alg: "sha-256"; digest: string; size: number };
  credential: { alg: "sha-256"; digest: string; statusId?: string };
  purpose?: string;
}

/** The detached signature handed out with a signed document. */
export interface DocumentSignature {
  format: typeof DOCUMENT_SIGNATURE_FORMAT;
  version: 1;
  /** The signature JWT: the only part that is trusted, everything is re-derived from it. */
  jwt: string;
  /** The credential the signer held when signing (bound by digest in the JWT). */
  credential: string;
}

/** sha-256 of the document bytes, lowercase hex without 0x (the same text `sha256sum` prints). */
export function documentDigest(document: Uint8Array): string {
  return sha256(document).slice(2);
}

function checkDocument(document: unknown): asserts document is Uint8Array {
  if (!(document instanceof Uint8Array)) throw new CivilIdError("INVALID_INPUT", "The document must be given as bytes (Uint8Array).");
}

function checkPurpose(purpose: unknown): asserts purpose is string | undefined {
  if (purpose === undefined) return;
  if (typeof purpose !== "string" || purpose.trim().length === 0 || purpose.length > MAX_PURPOSE_LENGTH || /\p{Cc}/u.test(purpose)) {
    throw new CivilIdError("INVALID_INPUT", `The purpose must be non-empty printable text of at most ${MAX_PURPOSE_LENGTH} characters.`);
  }
}

export interface DocumentSigningInput {
  signerDid: string;
  signer: Signer;
  /** The held credential JWT. */
  credential: string;
  credentialStatusId: string | undefined;
  document: Uint8Array;
  purpose?: string;
  /** Seconds since the epoch. */
  now: number;
}

/** Validates the document and purpose (INVALID_INPUT) before anything is signed. */
export function checkDocumentSigningRequest(document: unknown, purpose: unknown): void {
  checkDocument(document);
  checkPurpose(purpose);
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
  const jwt = await createJWT(
    { iat: input.now, docsig: claims },
    { issuer: input.signerDid, signer: input.signer, alg: "ES256K" },
    // did-jwt types `typ` as "JWT" only; an explicit type (RFC 8725 section 3.11) keeps this JWT from being
    // accepted where a presentation or credential is expected, and did-jwt passes the header through as given.
    { typ: DOCUMENT_SIGNATURE_TYP as "JWT", alg: "ES256K" },
  );
  return { format: DOCUMENT_SIGNATURE_FORMAT, version: 1, jwt, credential: input.credential };
}

export type DocumentSignatureFailure =
  /** Not a document-signature JWT of this format. */
  | "MALFORMED"
  /** The signer's DID could not be resolved (network, unknown DID): retry, this says nothing about forgery. */
  | "UNRESOLVABLE_SIGNER"
  /** The signature does not verify against the signer's DID document (forged, or the key was rotated away). */
  | "INVALID_SIGNATURE"
  /** Signed time in the future (beyond clock skew) or other invalid JWT claims. */
  | "INVALID_CLAIMS"
  /** A genuine signature, but over a different document. */
  | "DOCUMENT_MISMATCH"
  /** The credential given to check is not the one the signature binds, or was not issued to the signer. */
  | "CREDENTIAL_MISMATCH";

export type DocumentSignatureVerification =
  | {
      valid: true;
      signer: string;
      signedAt: Date;
      document: DocumentSignatureClaims["document"];
      credential: { digest: string; statusId: string | undefined };
      purpose: string | undefined;
    }
  | { valid: false; failure: DocumentSignatureFailure; message: string; signer?: string };

export interface VerifyDocumentSignatureOptions {
  /** The credential presented with the signature: checked to be the one bound by digest and issued to the signer. */
  credential?: string;
  /** Seconds since the epoch (default: now). */
  now?: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const HEX64 = /^[0-9a-f]{64}$/;

function parseClaims(value: unknown): DocumentSignatureClaims | undefined {
  if (!isObject(value) || value["v"] !== 1) return undefined;
  const { document, credential, purpose } = value;
  if (!isObject(document) || document["alg"] !== "sha-256" || typeof document["digest"] !== "string" || !HEX64.test(document["digest"])) {
    return undefined;
  }
  const size = document["size"];
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (!isObject(credential) || credential["alg"] !== "sha-256" || typeof credential["digest"] !== "string" || !HEX64.test(credential["digest"])) {
    return undefined;
  }
  const statusId = credential["statusId"];
  if (statusId !== undefined && typeof statusId !== "string") return undefined;
  if (purpose !== undefined && typeof purpose !== "string") return undefined;
  return {
    v: 1,
    document: { alg: "sha-256", digest: document["digest"], size },
    credential: { alg: "sha-256", digest: credential["digest"], ...(statusId === undefined ? {} : { statusId }) },
    ...(purpose === undefined ? {} : { purpose }),
  };
}

/**
 * Verifies a detached document signature. Pure apart from DID resolution: never throws for a bad signature,
 * returns `{ valid: false, failure }` instead (throws INVALID_INPUT only when `document` is not bytes).
 * It does not check the credential's issuer or status: that is the verifier's next step, with `credential.statusId`.
 */
export async function verifyDocumentSignature(
  signatureJwt: string,
  document: Uint8Array,
  resolver: Resolvable,
  options: VerifyDocumentSignatureOptions = {},
): Promise<DocumentSignatureVerification> {
  checkDocument(document);
  const fail = (failure: DocumentSignatureFailure, message: string, signer?: string): DocumentSignatureVerification => ({
    valid: false,
    failure,
    message,
    ...(signer === undefined ? {} : { signer }),
  });

  if (typeof signatureJwt !== "string" || signatureJwt.length === 0) return fail("MALFORMED", "The signature is not a JWT.");
  let decoded: ReturnType<typeof decodeJWT>;
  try {
    decoded = decodeJWT(signatureJwt, false);
  } catch {
    return fail("MALFORMED", "The signature is not a well-formed JWT.");
  }
  const { header, payload } = decoded;
  const claims = parseClaims(payload["docsig"]);
  if ((header.typ as string) !== DOCUMENT_SIGNATURE_TYP || header.alg !== "ES256K" || claims === undefined) {
    return fail("MALFORMED", `The JWT is not a ${DOCUMENT_SIGNATURE_TYP} document signature.`);
  }
  if (typeof payload.iss !== "string" || !payload.iss.startsWith("did:") || typeof payload.iat !== "number") {
    return fail("MALFORMED", "The signature names no signer DID or signing time.");
  }
  const signer = payload.iss;

  try {
    await verifyJWT(signatureJwt, {
      resolver,
      proofPurpose: "assertionMethod",
      ...(options.now === undefined ? {} : { policies: { now: options.now } }),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (message.startsWith("resolver_error")) return fail("UNRESOLVABLE_SIGNER", `Could not resolve the signer's DID ${signer}.`, signer);
    if (message.startsWith("invalid_jwt")) return fail("INVALID_CLAIMS", message, signer);
    return fail("INVALID_SIGNATURE", `The signature does not verify against the DID document of ${signer}.`, signer);
  }

  if (claims.document.digest !== documentDigest(document) || claims.document.size !== document.length) {
    return fail("DOCUMENT_MISMATCH", "The document differs from the one that was signed.", signer);
  }

  if (options.credential !== undefined) {
    if (typeof options.credential !== "string" || credentialDigest(options.credential) !== claims.credential.digest) {
      return fail("CREDENTIAL_MISMATCH", "The credential given is not the one the signature binds.", signer);
    }
    let subjects: unknown[];
    try {
      subjects = credentialSubjects(decodeJWT(options.credential, false).payload);
    } catch {
      return fail("CREDENTIAL_MISMATCH", "The credential given is not a JWT.", signer);
    }
    const isSigner = (s: unknown) => typeof s === "string" && (s === signer || sameHolderDid(s, signer));
    if (subjects.length === 0 || !subjects.every(isSigner)) {
      return fail("CREDENTIAL_MISMATCH", "The bound credential was not issued to the signer.", signer);
    }
  }

  return {
    valid: true,
    signer,
    signedAt: new Date(payload.iat * 1000),
    document: claims.document,
    credential: { digest: claims.credential.digest, statusId: claims.credential.statusId },
    purpose: claims.purpose,
  };
}
