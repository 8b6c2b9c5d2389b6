/**
 * Verifying a detached document signature (format and signing: document-signature.ts) against the credential it
 * binds, with ONE rule, as for presentations: the signature must verify with the device key the issuer attested in
 * that credential, low-s only. Node only (OpenSSL, the credential parser).
 */
import type { KeyObject } from "node:crypto";
import { CivilIdError } from "../errors.js";
import { decodeJws, isCanonicalSignature } from "../credential/jws.js";
import { importPublicJwk, verifyJwsSignature } from "../credential/jws-verify.js";
import { credentialRefusalReason, parseCredentialJwt } from "../credential/parse.js";
import type { ParsedCredential } from "../credential/model.js";
import { DOCUMENT_SIGNATURE_TYP, MAX_DOCUMENT_SIGNATURE_LENGTH, credentialDigest, documentDigest, parseDocumentSignatureClaims, type DocumentSignatureClaims } from "./document-signature.js";

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
  const claims = parseDocumentSignatureClaims(payload.docsig);
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
