/**
 * The mobile civil-servant ID credential: a W3C Verifiable Credential (VC Data Model 1.1) encoded as a JWT
 * (did-jwt-vc), signed ES256K by an accredited organisation's issuer DID. Claims live only in the credential
 * the holder carries; the chain holds its status entry (see `credentialStatus`).
 */
import { createVerifiableCredentialJwt, type Issuer } from "did-jwt-vc";
import { decodeJWT, ES256KSigner, type JWTHeader, type JWTPayload } from "did-jwt";
import { SigningKey, computeAddress, getAddress, getBytes, isAddress, keccak256, toUtf8Bytes } from "ethers";
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
}

export interface IssueCredentialInput {
  readonly chainId: number;
  readonly statusRegistry: string;
  readonly credentialId: bigint;
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

/** keccak256 of the subject DID: the value the status registry binds each entry to. */
export function subjectDigest(subjectDid: string): string {
  return keccak256(toUtf8Bytes(subjectDid));
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

/** Signs a civil-servant ID credential. Validates every claim first. */
export async function issueCredentialJwt(issuer: Issuer, input: IssueCredentialInput): Promise<string> {
  validateClaims(input.claims);
  const subject = parseEthrDid(input.holderDid);
  if (addressOfDeviceKey(input.deviceKey) !== subject.address) {
    throw new CivilIdError("INVALID_INPUT", "The device key does not belong to the holder DID.");
  }
  if (agencyOfCredential(input.credentialId) !== input.claims.agencyCode) {
    throw new CivilIdError("INVALID_INPUT", "The credential id belongs to another organisation than the claims name.");
  }
  const issuedAt = input.issuedAt ?? Math.floor(Date.now() / 1000);
  const validFrom = input.validFrom ?? issuedAt;
  if (!(input.validUntil > validFrom)) throw new CivilIdError("INVALID_INPUT", "validUntil must be after validFrom.");
  return createVerifiableCredentialJwt(
    {
      sub: input.holderDid,
      iat: issuedAt,
      nbf: validFrom,
      exp: input.validUntil,
      jti: `urn:mcid:credential:${input.chainId}:${input.credentialId}`,
      vc: {
        "@context": [VC_CONTEXT_V1, CIVIL_ID_CONTEXT],
        type: ["VerifiableCredential", CIVIL_SERVANT_ID_TYPE],
        credentialSubject: { ...input.claims, deviceKey: input.deviceKey },
        credentialStatus: statusRef(input.chainId, input.statusRegistry, input.credentialId),
      },
    },
    issuer,
  );
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
  return {
    jwt,
    header,
    issuerDid: payload.iss as string,
    issuerAddress: issuer.address,
    subjectDid: payload.sub as string,
    subjectAddress: subject.address,
    chainId: subject.chainId,
    types,
    claims: {
      name: subjectClaims.name,
      agencyCode: subjectClaims.agencyCode,
      organisation: subjectClaims.organisation,
      department: subjectClaims.department,
      position: subjectClaims.position,
      employeeRef: subjectClaims.employeeRef,
    },
    deviceKey: { kty: "EC", crv: "secp256k1", x: deviceKey.x, y: deviceKey.y },
    status: ref,
    credentialId,
    issuedAt: payload.iat,
    validFrom: payload.nbf,
    validUntil: payload.exp,
  };
}

function parseEthrDidOrRefuse(value: unknown, field: string) {
  try {
    return parseEthrDid(value);
  } catch (error) {
    throw new CivilIdError("MALFORMED_JWT", `Credential refused: ${field} is not a did:ethr DID.`, { cause: error });
  }
}
