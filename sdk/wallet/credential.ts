/**
 * The one credential a wallet holds. The wallet checks it with THE credential parser the verifier uses
 * (sdk/credential/parse.ts): a credential every gate would refuse for its form is refused here, at collection,
 * not at the turnstile. What only a verifier can check — the issuer's signature against the accredited key, the
 * accreditation and the on-chain status — is checked at every presentation (the phone may be offline now).
 */
import { CivilIdError } from "../errors.js";
import { credentialRefusalReason, parseCredentialJwt } from "../credential/parse.js";
import type { ParsedCredential } from "../credential/model.js";
import { sameHolderDid } from "../did/holder.js";
import { credentialDigest } from "../protocol/document-signature.js";

export interface HeldCredentialInfo {
  /** sha-256 of the JWT's ASCII text, lowercase hex without 0x: how signatures refer to the credential. */
  digest: string;
  /** `vc.credentialStatus.id`. */
  statusId: string | undefined;
  /** `jti` (the credential id), when present. */
  id: string | undefined;
  subject: string;
  issuer: string;
  /** Seconds since the epoch. */
  expiresAt: number | undefined;
}

/**
 * Checks a credential before the wallet stores it: the shared parser (MALFORMED_JWT with the same
 * `details.reason` a verifier reports), issued to `holderDid` (CREDENTIAL_SUBJECT_MISMATCH), not expired
 * (INVALID_INPUT).
 */
export function inspectCredential(jwt: unknown, holderDid: string, nowSeconds: number): HeldCredentialInfo {
  let parsed: ParsedCredential;
  try {
    parsed = parseCredentialJwt(jwt);
  } catch (error) {
    const reason = credentialRefusalReason(error);
    if (reason === undefined) throw error;
    throw new CivilIdError("MALFORMED_JWT", `Every verifier would refuse this credential: ${(error as Error).message}`, { cause: error, details: { reason } });
  }
  if (!sameHolderDid(parsed.subjectDid, holderDid)) {
    throw new CivilIdError("CREDENTIAL_SUBJECT_MISMATCH", `The credential was not issued to this wallet's DID ${holderDid}.`, {
      details: { holder: holderDid, subject: parsed.subjectDid },
    });
  }
  if (parsed.validUntil <= nowSeconds) {
    throw new CivilIdError("INVALID_INPUT", "The credential has expired; ask the issuer for a new one.", { details: { expiresAt: parsed.validUntil } });
  }
  return {
    digest: credentialDigest(parsed.jwt),
    statusId: parsed.status.id,
    id: typeof parsed.payload.jti === "string" ? parsed.payload.jti : undefined,
    subject: parsed.subjectDid,
    issuer: parsed.issuerDid,
    expiresAt: parsed.validUntil,
  };
}

/**
 * What the wallet shows about a held credential without judging it (an expired one is still described).
 * Never throws; fields are undefined when the JWT does not parse (stored credentials were checked on the way in).
 */
export function describeCredential(jwt: string): { digest: string; statusId: string | undefined; expiresAt: number | undefined } {
  let parsed: ParsedCredential | undefined;
  try {
    parsed = parseCredentialJwt(jwt);
  } catch {
    parsed = undefined; // a damaged stored credential is described by its digest alone
  }
  return { digest: credentialDigest(jwt), statusId: parsed?.status.id, expiresAt: parsed?.validUntil };
}

export { credentialDigest };
