/**
 * THE parser of a credential JWT, used by the issuer (before handing a credential out), the wallet (before storing
 * one) and the verifier (at every tap): a credential one accepts, the others accept; one any refuses, all refuse.
 * It decodes the JWS once, strictly, and refuses (MALFORMED_JWT) anything that is not exactly our format, with a
 * typed `details.reason` ({@link CredentialRefusalReason}) for callers to branch on. It does NOT check the issuer's
 * signature (that needs the issuer's accredited key: the verifier's job) nor times against a clock.
 */
import { CivilIdError } from "../errors.js";
import { agencyOfCredential, isValidAgencyCode, parseCredentialId, sequenceOfCredential } from "../chain/codes.js";
import { checksumAddress, tryParseEthrDid } from "../did/did.js";
import { parseHolderDid } from "../did/holder.js";
import { bindingDigest, statusRef } from "./binding.js";
import { checkDeviceKeyJwk, deviceAlgorithm, deviceKeyMatchesHolder, type DeviceKeyJwk } from "./device-key.js";
import { decodeJws, isCanonicalSignature } from "./jws.js";
import {
  CIVIL_ID_CONTEXT, ISSUER_ALGORITHM, MAX_CLAIM_LENGTH, MAX_CREDENTIAL_JWT_LENGTH, STATUS_TYPE, TEXT_CLAIMS, VC_CONTEXT_V1,
  type CivilServantClaims, type ParsedCredential, type StatusListRef,
} from "./model.js";

/** Why a credential was refused; in `CivilIdError.details.reason`. */
export type CredentialRefusalReason =
  | "NOT_A_STRING"
  | "TOO_LARGE"
  | "NOT_COMPACT_JWS"
  | "NOT_JSON"
  | "UNSUPPORTED_CRITICAL_HEADER"
  | "ALGORITHM_NOT_ALLOWED"
  | "BAD_TYP"
  | "NON_CANONICAL_SIGNATURE"
  | "BAD_ISSUER"
  | "BAD_SUBJECT"
  | "CHAIN_MISMATCH"
  | "BAD_TIMES"
  | "BAD_CONTEXT"
  | "BAD_TYPE"
  | "BAD_CLAIMS"
  | "BAD_DEVICE_KEY"
  | "DEVICE_KEY_NOT_OF_SUBJECT"
  | "BAD_STATUS"
  | "BAD_STATUS_LIST"
  | "BAD_JTI";

export function credentialRefusal(reason: CredentialRefusalReason, why: string, cause?: unknown): CivilIdError {
  return new CivilIdError("MALFORMED_JWT", `Credential refused: ${why}.`, { details: { reason }, ...(cause === undefined ? {} : { cause }) });
}

/** The refusal reason of an error thrown by {@link parseCredentialJwt} (undefined for any other error). */
export function credentialRefusalReason(error: unknown): CredentialRefusalReason | undefined {
  if (!(error instanceof CivilIdError) || error.code !== "MALFORMED_JWT") return undefined;
  return error.details?.reason as CredentialRefusalReason | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Validates the claims (types, 1..200 characters, no control characters, a 7-digit agency code). */
export function validateClaims(claims: unknown): CivilServantClaims {
  if (!isObject(claims)) throw credentialRefusal("BAD_CLAIMS", "credentialSubject must be an object");
  for (const key of TEXT_CLAIMS) {
    const v = claims[key];
    if (typeof v !== "string" || v.trim().length === 0 || v.length > MAX_CLAIM_LENGTH || /\p{Cc}/u.test(v)) {
      throw credentialRefusal("BAD_CLAIMS", `credentialSubject.${key} must be non-empty printable text of at most ${MAX_CLAIM_LENGTH} characters`);
    }
  }
  if (typeof claims.agencyCode !== "number" || !isValidAgencyCode(claims.agencyCode)) {
    throw credentialRefusal("BAD_CLAIMS", "credentialSubject.agencyCode must be a 7-digit agency code");
  }
  return {
    name: claims.name as string,
    agencyCode: claims.agencyCode,
    organisation: claims.organisation as string,
    department: claims.department as string,
    position: claims.position as string,
    employeeRef: claims.employeeRef as string,
  };
}

/** The `jti` of a credential: `urn:mcid:credential:<chainId>:<credentialId>`. */
export function credentialJti(chainId: number | bigint, credentialId: bigint): string {
  return `urn:mcid:credential:${chainId}:${credentialId}`;
}

/** Validates the optional Token Status List reference: idx must be the credential id's sequence. */
export function parseStatusListRef(value: unknown, credentialId: bigint): StatusListRef | undefined {
  if (value === undefined) return undefined;
  const list = isObject(value) ? value.status_list : undefined;
  if (!isObject(value) || Object.keys(value).length !== 1 || !isObject(list) || Object.keys(list).length !== 2) {
    throw credentialRefusal("BAD_STATUS_LIST", "status must be { status_list: { idx, uri } }");
  }
  const { idx, uri } = list;
  if (typeof idx !== "number" || !Number.isSafeInteger(idx) || BigInt(idx) !== sequenceOfCredential(credentialId)) {
    throw credentialRefusal("BAD_STATUS_LIST", "status.status_list.idx must be the credential's sequence within its organisation");
  }
  const suffix = `/status-lists/${agencyOfCredential(credentialId)}`;
  let url: URL | undefined;
  try {
    url = typeof uri === "string" && uri.length <= 2048 ? new URL(uri) : undefined;
  } catch {
    url = undefined;
  }
  if (url === undefined || !(url.protocol === "https:" || url.protocol === "http:") || !(uri as string).endsWith(suffix)) {
    throw credentialRefusal("BAD_STATUS_LIST", `status.status_list.uri must be an http(s) URL ending in ${suffix}`);
  }
  return { status_list: { idx, uri: uri as string } };
}

/**
 * Decodes and structurally validates an untrusted credential JWT: size, strict JWS, header (ES256K, typ JWT or
 * absent), low-s signature encoding, canonical DIDs, times, contexts, type, claims, the attested device key and
 * that it is the subject's, the status reference and its organisation. Throws MALFORMED_JWT with details.reason.
 */
export function parseCredentialJwt(jwt: unknown): ParsedCredential {
  const decoded = decodeJws(jwt, MAX_CREDENTIAL_JWT_LENGTH);
  if (!decoded.ok) {
    const why = { NOT_A_STRING: "not a non-empty string", TOO_LARGE: `longer than ${MAX_CREDENTIAL_JWT_LENGTH} characters`, NOT_COMPACT_JWS: "not a compact JWS", NOT_JSON: "header or payload is not strict UTF-8 JSON (one object, no repeated member names)", UNSUPPORTED_CRITICAL_HEADER: "the header names critical extensions (crit), which no party implements" }[decoded.failure];
    throw credentialRefusal(decoded.failure, why);
  }
  const { header, payload, signature, signingInput } = decoded.jws;
  if (header.alg !== ISSUER_ALGORITHM) throw credentialRefusal("ALGORITHM_NOT_ALLOWED", `algorithm ${JSON.stringify(header.alg)} is not allowed (only ES256K)`);
  if (header.typ !== undefined && header.typ !== "JWT") throw credentialRefusal("BAD_TYP", `typ ${JSON.stringify(header.typ)} is not a credential's`);
  // did-jwt normalises s before verifying, so a high-s twin would verify elsewhere; one signature, one spelling.
  if (!isCanonicalSignature(signature, ISSUER_ALGORITHM)) throw credentialRefusal("NON_CANONICAL_SIGNATURE", "the signature is not a 64-byte low-s ES256K signature");
  const issuer = tryParseEthrDid(payload.iss);
  if (issuer === undefined || issuer.did !== payload.iss) throw credentialRefusal("BAD_ISSUER", "iss is not a did:ethr DID in canonical form");
  const subject = parseHolderDid(payload.sub);
  if (subject === undefined || subject.did !== payload.sub) throw credentialRefusal("BAD_SUBJECT", "sub is not a holder DID (did:ethr or did:jwk) in canonical form");
  if (subject.method === "ethr" && subject.chainId !== issuer.chainId) throw credentialRefusal("CHAIN_MISMATCH", "issuer and subject are on different chains");
  const { iat, nbf, exp } = payload;
  if (!isTime(nbf) || !isTime(exp) || !isTime(iat)) throw credentialRefusal("BAD_TIMES", "iat, nbf and exp are required integers");
  if (exp <= nbf) throw credentialRefusal("BAD_TIMES", "exp must be after nbf");
  const vc = payload.vc;
  if (!isObject(vc)) throw credentialRefusal("BAD_CONTEXT", "vc is missing");
  const context = vc["@context"];
  if (!Array.isArray(context) || context.length !== 2 || context[0] !== VC_CONTEXT_V1 || context[1] !== CIVIL_ID_CONTEXT) {
    throw credentialRefusal("BAD_CONTEXT", "@context must be [the VC 1.1 context, the civil-id context]");
  }
  const types = vc.type;
  if (!Array.isArray(types) || types.length !== 2 || types[0] !== "VerifiableCredential" || typeof types[1] !== "string" || !/^[A-Za-z][A-Za-z0-9]{0,63}$/.test(types[1])) {
    throw credentialRefusal("BAD_TYPE", 'type must be ["VerifiableCredential", <credential type>]');
  }
  const subjectClaims = vc.credentialSubject;
  const claims = validateClaims(subjectClaims);
  const { id: subjectId, deviceKey: rawKey, ...rest } = subjectClaims as Record<string, unknown>;
  if (subjectId !== undefined && subjectId !== payload.sub) throw credentialRefusal("BAD_SUBJECT", "credentialSubject.id differs from sub");
  const unknown = Object.keys(rest).filter((k) => !(TEXT_CLAIMS as readonly string[]).includes(k) && k !== "agencyCode");
  if (unknown.length > 0) throw credentialRefusal("BAD_CLAIMS", `credentialSubject has unknown claims ${unknown.join(", ")}`);
  let deviceKey: DeviceKeyJwk;
  try {
    deviceKey = checkDeviceKeyJwk(rawKey);
  } catch (error) {
    throw credentialRefusal("BAD_DEVICE_KEY", "credentialSubject.deviceKey is not a secp256k1 or P-256 public JWK", error);
  }
  if (!deviceKeyMatchesHolder(deviceKey, subject)) throw credentialRefusal("DEVICE_KEY_NOT_OF_SUBJECT", "deviceKey does not belong to the subject DID");
  const status = vc.credentialStatus;
  if (!isObject(status) || status.type !== STATUS_TYPE) throw credentialRefusal("BAD_STATUS", `credentialStatus must be of type ${STATUS_TYPE}`);
  if (!isTime(status.chainId) || BigInt(status.chainId) !== issuer.chainId) throw credentialRefusal("BAD_STATUS", "credentialStatus.chainId differs from the issuer's chain");
  if (typeof status.statusRegistry !== "string" || checksumAddress(status.statusRegistry) === undefined) throw credentialRefusal("BAD_STATUS", "credentialStatus.statusRegistry must be an address");
  let credentialId: bigint;
  try {
    credentialId = parseCredentialId(status.credentialId);
  } catch (error) {
    throw credentialRefusal("BAD_STATUS", "credentialStatus.credentialId is not a credential id", error);
  }
  // One spelling: " 123", "0123" name the same id to this parser but another string to a peer that keys on it.
  if (status.credentialId !== credentialId.toString()) throw credentialRefusal("BAD_STATUS", "credentialStatus.credentialId must be the id as a decimal string, without leading zeros or spaces");
  if (agencyOfCredential(credentialId) !== claims.agencyCode) {
    throw credentialRefusal("BAD_STATUS", "credentialStatus.credentialId belongs to another organisation than credentialSubject.agencyCode");
  }
  const ref = statusRef(status.chainId, status.statusRegistry, credentialId);
  if (status.id !== ref.id || Object.keys(status).length !== 5) throw credentialRefusal("BAD_STATUS", "credentialStatus.id does not match its fields");
  if (payload.jti !== undefined && payload.jti !== credentialJti(issuer.chainId, credentialId)) throw credentialRefusal("BAD_JTI", "jti does not name this credential");
  const statusList = parseStatusListRef(payload.status, credentialId);
  const issuerDid = issuer.did;
  const subjectDid = subject.did;
  return {
    jwt: jwt as string,
    header,
    payload,
    signingInput,
    signature,
    issuerDid,
    issuerAddress: issuer.address,
    subjectDid,
    subjectAddress: subject.method === "ethr" ? subject.address : undefined,
    chainId: issuer.chainId,
    types: types as string[],
    claims,
    deviceKey,
    deviceAlgorithm: deviceAlgorithm(deviceKey),
    status: ref,
    statusList,
    credentialId,
    issuedAt: iat,
    validFrom: nbf,
    validUntil: exp,
    bindingDigest: bindingDigest({
      issuerDid, subjectDid, credentialType: types[1], claims, deviceKey, issuedAt: iat, validFrom: nbf, validUntil: exp,
    }),
  };
}
