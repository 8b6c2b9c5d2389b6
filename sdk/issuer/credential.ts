/**
 * The mobile civil-servant ID credential: a W3C Verifiable Credential (VC Data Model 1.1) encoded as a JWT
 * (did-jwt-vc), signed ES256K by an accredited organisation's issuer DID. Claims live only in the credential
 * the holder carries; the chain holds its status entry (see `credentialStatus`).
 */
import { createVerifiableCredentialJwt, type Issuer } from "did-jwt-vc";
import { decodeJWT, ES256KSigner, type JWTHeader, type JWTPayload } from "did-jwt";
import { AbiCoder, SigningKey, computeAddress, getAddress, getBytes, isAddress, keccak256 } from "ethers";
import { CivilIdError } from "../errors.js";
import { CIVIL_SERVANT_ID_TYPE, agencyOfCredential, isValidAgencyCode, parseCredentialId } from "../chain/codes.js";
import { didForAddress, parseEthrDid } from "../did/did.js";

export const VC_CONTEXT_V1 = "https://www.w3.org/2018/credentials/v1";
export const CIVIL_ID_CONTEXT = "https://w3id.org/mobile-civil-id/v1";
export const STATUS_TYPE = "CivilIdStatusRegistry2026";
/** JWTs longer than this are refused before any parsing (a credential is about 1.5 KB). */
export const MAX_JWT_LENGTH = 16 * 1024;

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

/** The holder's device public key as a JWK (secp256k1); its address is the subject DID's address. */
export interface DeviceKeyJwk {
  readonly kty: "EC";
  readonly crv: "secp256k1";
  readonly x: string;
  readonly y: string;
}

export interface CredentialStatusRef {
  readonly id: string;
  readonly type: typeof STATUS_TYPE;
  readonly chainId: number;
  readonly statusRegistry: string;
  /** Decimal string (uint64 does not fit a JSON number safely). */
  readonly credentialId: string;
}

/** A credential after structural validation (its signature is checked by the verifier, not here). */
export interface ParsedCredential {
  readonly jwt: string;
  readonly header: JWTHeader;
  readonly issuerDid: string;
  readonly issuerAddress: string;
  readonly subjectDid: string;
  readonly subjectAddress: string;
  readonly chainId: bigint;
  readonly types: readonly string[];
  readonly claims: CivilServantClaims;
  readonly deviceKey: DeviceKeyJwk;
  readonly status: CredentialStatusRef;
  readonly credentialId: bigint;
  readonly issuedAt: number;
  readonly validFrom: number;
  readonly validUntil: number;
  /** The digest its status entry must carry (see bindingDigest). */
  readonly bindingDigest: string;
}

export interface CredentialDraftInput {
  readonly chainId: number;
  readonly statusRegistry: string;
  readonly holderDid: string;
  readonly deviceKey: DeviceKeyJwk;
  readonly claims: CivilServantClaims;
  /** Issuance time, unix seconds; default now. Verifiers check the issuer key was valid at this time. */
  readonly issuedAt?: number;
  /** Unix seconds; default the issuance time. */
  readonly validFrom?: number;
  /** Unix seconds; must be after validFrom. */
  readonly validUntil: number;
}

export interface IssueCredentialInput extends CredentialDraftInput {
  readonly credentialId: bigint;
}

/** A validated credential content with fixed times, ready to register (by its binding digest) and then sign. */
export interface CredentialDraft extends CredentialBinding {
  readonly chainId: number;
  readonly statusRegistry: string;
  readonly digest: string;
}

/** Converts a secp256k1 public key (any encoding ethers accepts) to the JWK carried in the credential. */
export function deviceKeyJwk(publicKey: string): DeviceKeyJwk {
  const uncompressed = getBytes(SigningKey.computePublicKey(publicKey, false));
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
  return { kty: "EC", crv: "secp256k1", x: b64(uncompressed.slice(1, 33)), y: b64(uncompressed.slice(33, 65)) };
}

/** The address of a device JWK (to compare with the subject DID). Throws on a malformed key. */
export function addressOfDeviceKey(jwk: DeviceKeyJwk): string {
  const x = Buffer.from(jwk.x, "base64url");
  const y = Buffer.from(jwk.y, "base64url");
  if (x.length !== 32 || y.length !== 32) throw new CivilIdError("MALFORMED_JWT", "deviceKey: x and y must be 32 bytes each.");
  return computeAddress("0x04" + x.toString("hex") + y.toString("hex"));
}

/** The fields of a credential that its on-chain status entry binds (everything but the id and the signature). */
export interface CredentialBinding {
  readonly issuerDid: string;
  readonly subjectDid: string;
  readonly credentialType: string;
  readonly claims: CivilServantClaims;
  readonly deviceKey: DeviceKeyJwk;
  readonly issuedAt: number;
  readonly validFrom: number;
  readonly validUntil: number;
}

const BINDING_TYPES = [
  "string", "string", "string", "string", "string", "uint32", "string", "string", "string", "string", "string", "string", "uint64", "uint64", "uint64",
];

/**
 * The digest registered on chain with a credential: keccak256 of the ABI encoding of its binding fields, in a fixed
 * order (no JSON canonicalisation needed). It is known before the contract assigns the id, and a verifier recomputes
 * it from the presented JWT: a JWT naming a registered id with any other content — other claims, another device,
 * another issuer key, other dates — is refused, even if signed by a key of the same organisation.
 */
export function bindingDigest(b: CredentialBinding): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(BINDING_TYPES, [
      "mcid-credential-binding/v1", b.issuerDid, b.subjectDid, b.credentialType, b.claims.name, b.claims.agencyCode,
      b.claims.organisation, b.claims.department, b.claims.position, b.claims.employeeRef, b.deviceKey.x, b.deviceKey.y,
      b.issuedAt, b.validFrom, b.validUntil,
    ]),
  );
}

export function statusRef(chainId: number, statusRegistry: string, credentialId: bigint): CredentialStatusRef {
  const registry = getAddress(statusRegistry);
  return {
    id: `eip155:${chainId}:${registry}#${credentialId}`,
    type: STATUS_TYPE,
    chainId,
    statusRegistry: registry,
    credentialId: credentialId.toString(),
  };
}

/** An ES256K did-jwt issuer for an issuer key held as a hex private key. */
export function issuerFromPrivateKey(chainId: number, privateKey: string): Issuer {
  const key = new SigningKey(privateKey);
  return {
    did: didForAddress(chainId, computeAddress(key.publicKey)),
    signer: ES256KSigner(getBytes(key.privateKey)),
    alg: "ES256K",
  };
}

/** Validates a credential's content and fixes its times: step 1 of issuance (then register, then sign). */
export function draftCredential(issuer: Issuer, input: CredentialDraftInput): CredentialDraft {
  validateClaims(input.claims);
  const subject = parseEthrDid(input.holderDid);
  const issuerDid = parseEthrDid(issuer.did);
  if (issuerDid.chainId !== subject.chainId || subject.chainId !== BigInt(input.chainId)) {
    throw new CivilIdError("INVALID_INPUT", "The issuer DID, the holder DID and chainId must name the same chain.");
  }
  if (addressOfDeviceKey(input.deviceKey) !== subject.address) {
    throw new CivilIdError("INVALID_INPUT", "The device key does not belong to the holder DID.");
  }
  const issuedAt = input.issuedAt ?? Math.floor(Date.now() / 1000);
  const validFrom = input.validFrom ?? issuedAt;
  if (!(input.validUntil > validFrom)) throw new CivilIdError("INVALID_INPUT", "validUntil must be after validFrom.");
  const binding: CredentialBinding = {
    issuerDid: issuer.did,
    subjectDid: input.holderDid,
    credentialType: CIVIL_SERVANT_ID_TYPE,
    claims: { ...input.claims },
    deviceKey: { ...input.deviceKey },
    issuedAt,
    validFrom,
    validUntil: input.validUntil,
  };
  return { ...binding, chainId: input.chainId, statusRegistry: getAddress(input.statusRegistry), digest: bindingDigest(binding) };
}

/** Signs a drafted credential once the status registry assigned its id: step 3 of issuance. */
export async function signCredential(issuer: Issuer, draft: CredentialDraft, credentialId: bigint): Promise<string> {
  if (issuer.did !== draft.issuerDid) throw new CivilIdError("INVALID_INPUT", "The draft was made for another issuer key.");
  if (agencyOfCredential(credentialId) !== draft.claims.agencyCode) {
    throw new CivilIdError("INVALID_INPUT", "The credential id belongs to another organisation than the claims name.");
  }
  return createVerifiableCredentialJwt(
    {
      sub: draft.subjectDid,
      iat: draft.issuedAt,
      nbf: draft.validFrom,
      exp: draft.validUntil,
      jti: `urn:mcid:credential:${draft.chainId}:${credentialId}`,
      vc: {
        "@context": [VC_CONTEXT_V1, CIVIL_ID_CONTEXT],
        type: ["VerifiableCredential", draft.credentialType],
        credentialSubject: { ...draft.claims, deviceKey: draft.deviceKey },
        credentialStatus: statusRef(draft.chainId, draft.statusRegistry, credentialId),
      },
    },
    issuer,
  );
}

/** Drafts and signs in one step, for a credential id already known (e.g. re-signing after a crash). */
export async function issueCredentialJwt(issuer: Issuer, input: IssueCredentialInput): Promise<string> {
  return signCredential(issuer, draftCredential(issuer, input), input.credentialId);
}

const TEXT_CLAIMS = ["name", "organisation", "department", "position", "employeeRef"] as const;

function validateClaims(claims: unknown): asserts claims is CivilServantClaims {
  if (typeof claims !== "object" || claims === null) throw malformed("credentialSubject must be an object");
  const c = claims as Record<string, unknown>;
  for (const key of TEXT_CLAIMS) {
    const v = c[key];
    if (typeof v !== "string" || v.trim().length === 0 || v.length > 200) {
      throw malformed(`credentialSubject.${key} must be a non-empty string of at most 200 characters`);
    }
  }
  if (typeof c.agencyCode !== "number" || !isValidAgencyCode(c.agencyCode)) {
    throw malformed("credentialSubject.agencyCode must be a 7-digit agency code");
  }
}

function malformed(why: string): CivilIdError {
  return new CivilIdError("MALFORMED_JWT", `Credential refused: ${why}.`);
}

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

/**
 * Decodes and structurally validates an untrusted credential JWT. Refuses (MALFORMED_JWT) anything that is not
 * exactly our credential format: size, JWT shape, header, every field's type. Does NOT check the signature.
 */
export function parseCredentialJwt(jwt: unknown): ParsedCredential {
  if (typeof jwt !== "string" || jwt.length === 0) throw malformed("not a string");
  if (jwt.length > MAX_JWT_LENGTH) throw malformed(`longer than ${MAX_JWT_LENGTH} characters`);
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(jwt)) throw malformed("not a compact JWS");
  let header: JWTHeader;
  let payload: JWTPayload & Record<string, unknown>;
  try {
    ({ header, payload } = decodeJWT(jwt, false) as { header: JWTHeader; payload: JWTPayload & Record<string, unknown> });
  } catch (error) {
    throw new CivilIdError("MALFORMED_JWT", "Credential refused: the JWT does not decode.", { cause: error });
  }
  if (header.alg !== "ES256K" || (header.typ !== undefined && header.typ !== "JWT")) {
    throw malformed(`algorithm ${JSON.stringify(header.alg)} is not allowed (only ES256K)`);
  }
  const issuer = parseEthrDidOrRefuse(payload.iss, "iss");
  const subject = parseEthrDidOrRefuse(payload.sub, "sub");
  if (issuer.chainId !== subject.chainId) throw malformed("issuer and subject are on different chains");
  if (!isInt(payload.nbf) || !isInt(payload.exp) || !isInt(payload.iat)) throw malformed("iat, nbf and exp are required integers");
  if (payload.exp <= payload.nbf) throw malformed("exp must be after nbf");
  const vc = payload.vc as Record<string, unknown> | undefined;
  if (typeof vc !== "object" || vc === null) throw malformed("vc is missing");
  const context = vc["@context"];
  if (!Array.isArray(context) || context[0] !== VC_CONTEXT_V1 || !context.includes(CIVIL_ID_CONTEXT)) {
    throw malformed("@context must start with the VC v1 context and include the civil-id context");
  }
  const types = vc.type;
  if (!Array.isArray(types) || !types.every((t) => typeof t === "string") || types[0] !== "VerifiableCredential" || types.length !== 2) {
    throw malformed('type must be ["VerifiableCredential", <credential type>]');
  }
  const subjectClaims = vc.credentialSubject as Record<string, unknown> | undefined;
  validateClaims(subjectClaims);
  if (subjectClaims.id !== undefined && subjectClaims.id !== payload.sub) throw malformed("credentialSubject.id differs from sub");
  const deviceKey = subjectClaims.deviceKey as DeviceKeyJwk | undefined;
  if (
    typeof deviceKey !== "object" || deviceKey === null || deviceKey.kty !== "EC" || deviceKey.crv !== "secp256k1" ||
    typeof deviceKey.x !== "string" || typeof deviceKey.y !== "string"
  ) {
    throw malformed("credentialSubject.deviceKey must be a secp256k1 JWK");
  }
  let deviceAddress: string;
  try {
    deviceAddress = addressOfDeviceKey(deviceKey);
  } catch (error) {
    throw new CivilIdError("MALFORMED_JWT", "Credential refused: deviceKey is not a secp256k1 point.", { cause: error });
  }
  if (deviceAddress !== subject.address) throw malformed("deviceKey does not belong to the subject DID");
  const status = vc.credentialStatus as Record<string, unknown> | undefined;
  if (typeof status !== "object" || status === null || status.type !== STATUS_TYPE) {
    throw malformed(`credentialStatus must be of type ${STATUS_TYPE}`);
  }
  if (!isInt(status.chainId) || BigInt(status.chainId) !== subject.chainId) throw malformed("credentialStatus.chainId differs from the DIDs' chain");
  if (typeof status.statusRegistry !== "string" || !isAddress(status.statusRegistry)) throw malformed("credentialStatus.statusRegistry must be an address");
  let credentialId: bigint;
  try {
    credentialId = parseCredentialId(status.credentialId);
  } catch (error) {
    throw new CivilIdError("MALFORMED_JWT", "Credential refused: credentialStatus.credentialId is not a credential id.", { cause: error });
  }
  if (agencyOfCredential(credentialId) !== subjectClaims.agencyCode) {
    throw malformed("credentialStatus.credentialId belongs to another organisation than credentialSubject.agencyCode");
  }
  const ref = statusRef(status.chainId, status.statusRegistry, credentialId);
  if (status.id !== ref.id) throw malformed("credentialStatus.id does not match its fields");
  const claims: CivilServantClaims = {
    name: subjectClaims.name,
    agencyCode: subjectClaims.agencyCode,
    organisation: subjectClaims.organisation,
    department: subjectClaims.department,
    position: subjectClaims.position,
    employeeRef: subjectClaims.employeeRef,
  };
  const key: DeviceKeyJwk = { kty: "EC", crv: "secp256k1", x: deviceKey.x, y: deviceKey.y };
  return {
    jwt,
    header,
    issuerDid: payload.iss as string,
    issuerAddress: issuer.address,
    subjectDid: payload.sub as string,
    subjectAddress: subject.address,
    chainId: subject.chainId,
    types,
    claims,
    deviceKey: key,
    status: ref,
    credentialId,
    issuedAt: payload.iat,
    validFrom: payload.nbf,
    validUntil: payload.exp,
    bindingDigest: bindingDigest({
      issuerDid: payload.iss as string,
      subjectDid: payload.sub as string,
      credentialType: types[1] as string,
      claims,
      deviceKey: key,
      issuedAt: payload.iat,
      validFrom: payload.nbf,
      validUntil: payload.exp,
    }),
  };
}

function parseEthrDidOrRefuse(value: unknown, field: string) {
  try {
    return parseEthrDid(value);
  } catch (error) {
    throw new CivilIdError("MALFORMED_JWT", `Credential refused: ${field} is not a did:ethr DID.`, { cause: error });
  }
}
