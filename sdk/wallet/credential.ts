/**
 * The one credential a wallet holds: a W3C VC in JWT encoding (did-jwt-vc) issued to the wallet's DID. The wallet
 * checks shape and subject only; the issuer's signature, accreditation and on-chain status are the verifier's job
 * (the phone may be offline when the credential arrives, and the verifier checks them at every presentation).
 */
import { decodeJWT } from "did-jwt";
import { sha256, toUtf8Bytes } from "ethers";
import { CivilIdError } from "../errors.js";
import { sameHolderDid } from "./did.js";

/** Largest credential JWT the wallet stores (the civil-servant credential is a few kilobytes). */
export const MAX_CREDENTIAL_JWT_LENGTH = 64 * 1024;

export interface HeldCredentialInfo {
  /** sha-256 of the JWT's ASCII text, lowercase hex without 0x: how signatures refer to the credential. */
  digest: string;
  /** `vc.credentialStatus.id`, when the credential has one. */
  statusId: string | undefined;
  /** `jti` (the credential id), when present. */
  id: string | undefined;
  subject: string;
  issuer: string;
  /** Seconds since the epoch. */
  expiresAt: number | undefined;
}

/** sha-256 of a JWT's compact serialisation, lowercase hex without 0x. */
export function credentialDigest(jwt: string): string {
  return sha256(toUtf8Bytes(jwt)).slice(2);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The subject DIDs a VC JWT names: `sub` and `vc.credentialSubject.id` (either may be absent; in the JWT encoding
 * `sub` normally replaces the other). Non-string values are returned as they are, for the caller to refuse.
 */
export function credentialSubjects(payload: Record<string, unknown>): unknown[] {
  const vc = payload["vc"];
  const subject = isObject(vc) && isObject(vc["credentialSubject"]) ? vc["credentialSubject"]["id"] : undefined;
  return [payload["sub"], subject].filter((s) => s !== undefined);
}

/**
 * Decodes a credential JWT and checks that it is a signed VC JWT (alg not `none`, a `vc` claim with a
 * credentialSubject, an issuer) issued to `holderDid` (`sub`, and `vc.credentialSubject.id` if present).
 * Throws MALFORMED_JWT, CREDENTIAL_SUBJECT_MISMATCH or INVALID_INPUT (expired).
 */
export function inspectCredential(jwt: unknown, holderDid: string, nowSeconds: number): HeldCredentialInfo {
  if (typeof jwt !== "string" || jwt.length === 0 || jwt.length > MAX_CREDENTIAL_JWT_LENGTH) {
    throw new CivilIdError("MALFORMED_JWT", `A credential is a JWT string of at most ${MAX_CREDENTIAL_JWT_LENGTH} characters.`);
  }
  let decoded: ReturnType<typeof decodeJWT>;
  try {
    decoded = decodeJWT(jwt, false);
  } catch {
    throw new CivilIdError("MALFORMED_JWT", "The credential is not a well-formed JWT (header.payload.signature).");
  }
  const { header, payload, signature } = decoded;
  if (typeof header.alg !== "string" || header.alg.toLowerCase() === "none" || signature.length === 0) {
    throw new CivilIdError("MALFORMED_JWT", "The credential JWT is not signed.");
  }
  const vc: unknown = payload["vc"];
  if (!isObject(vc) || !isObject(vc["credentialSubject"])) {
    throw new CivilIdError("MALFORMED_JWT", "The JWT carries no verifiable credential (`vc.credentialSubject` is missing).");
  }
  if (typeof payload.iss !== "string" || payload.iss.length === 0) {
    throw new CivilIdError("MALFORMED_JWT", "The credential JWT names no issuer (`iss`).");
  }
  const subjects = credentialSubjects(payload);
  const subject = subjects[0];
  if (typeof subject !== "string" || !subjects.every((s) => typeof s === "string" && sameHolderDid(s, holderDid))) {
    throw new CivilIdError("CREDENTIAL_SUBJECT_MISMATCH", `The credential was not issued to this wallet's DID ${holderDid}.`, {
      details: { holder: holderDid, subject: subjects.find((s) => typeof s === "string") },
    });
  }
  const expiresAt = typeof payload.exp === "number" ? payload.exp : undefined;
  if (expiresAt !== undefined && expiresAt <= nowSeconds) {
    throw new CivilIdError("INVALID_INPUT", "The credential has expired; ask the issuer for a new one.", {
      details: { expiresAt },
    });
  }
  const status = vc["credentialStatus"];
  const statusId = isObject(status) && typeof status["id"] === "string" ? status["id"] : undefined;
  return {
    digest: credentialDigest(jwt),
    statusId,
    id: typeof payload.jti === "string" ? payload.jti : undefined,
    subject,
    issuer: payload.iss,
    expiresAt,
  };
}

/**
 * What the wallet shows about a held credential without judging it (an expired one is still described).
 * Never throws; fields are undefined when the JWT does not carry them.
 */
export function describeCredential(jwt: string): { digest: string; statusId: string | undefined; expiresAt: number | undefined } {
  let payload: Record<string, unknown> = {};
  try {
    payload = decodeJWT(jwt, false).payload;
  } catch {
    // stored credentials were checked on the way in; a damaged one is simply described by its digest
  }
  const vc = payload["vc"];
  const status = isObject(vc) ? vc["credentialStatus"] : undefined;
  return {
    digest: credentialDigest(jwt),
    statusId: isObject(status) && typeof status["id"] === "string" ? status["id"] : undefined,
    expiresAt: typeof payload["exp"] === "number" ? payload["exp"] : undefined,
  };
}
