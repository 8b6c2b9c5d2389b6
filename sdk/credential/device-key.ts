/**
 * The holder's device key, bound in the credential as a public JWK in `credentialSubject.deviceKey`.
 *
 * Why this field and not RFC 7800 `cnf`: the key is a claim the issuer makes about the subject, so it lives in
 * `credentialSubject` where VC Data Model processors (did-jwt-vc, JSON-LD tooling with our context) keep it; a
 * top-level `cnf` is dropped when a VC-JWT is transformed to the data model. The value is a plain JWK, so a
 * relying party that wants `cnf.jwk` semantics reads the same object.
 *
 * Two curves: secp256k1 (ES256K; the holder DID is the key's did:ethr address) and P-256 (ES256; the holder DID is
 * the key's did:jwk). Phones' secure hardware, WebCrypto and WebAuthn make P-256 only.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { SigningKey, getAddress, getBytes, keccak256 } from "ethers";
import { CivilIdError } from "../errors.js";
import { didForAddress } from "../did/did.js";
import { BASE64URL_32_BYTES, checkP256Jwk, didJwkFor, type P256Jwk } from "../did/jwk.js";
import { parseHolderDid, type ParsedHolderDid } from "../did/holder.js";
import type { JwsAlgorithm } from "./jws.js";

export interface Secp256k1Jwk {
  readonly kty: "EC";
  readonly crv: "secp256k1";
  readonly x: string;
  readonly y: string;
}

export type { P256Jwk };
export type DeviceKeyJwk = Secp256k1Jwk | P256Jwk;

/** Converts a secp256k1 public key (any encoding ethers accepts) to the JWK carried in the credential. */
export function deviceKeyJwk(publicKey: string): Secp256k1Jwk {
  const uncompressed = getBytes(SigningKey.computePublicKey(publicKey, false));
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
  return { kty: "EC", crv: "secp256k1", x: b64(uncompressed.slice(1, 33)), y: b64(uncompressed.slice(33, 65)) };
}

/** The public JWK of a P-256 key (a public or private KeyObject, e.g. from WebCrypto export or generateKeyPair). */
export function p256DeviceKeyJwk(key: KeyObject): P256Jwk {
  const jwk = (key.type === "private" ? createPublicKey(key) : key).export({ format: "jwk" });
  return checkP256Jwk({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });
}

/** The address of a secp256k1 device JWK (to compare with a did:ethr subject). Throws on a malformed key. */
export function addressOfDeviceKey(jwk: Secp256k1Jwk): string {
  return getAddress(lowercaseAddressOf(jwk));
}

/**
 * The lowercase address of a secp256k1 JWK: the last 20 bytes of keccak256(x ‖ y), once OpenSSL accepted the point
 * (on the curve, coordinates below p: the checks the verifier's own key import makes); throws when it is not a
 * valid public key. Remembered per coordinates (bounded): parsing a credential checks its device key and then
 * matches it with the subject DID, and both need this.
 */
function lowercaseAddressOf(jwk: Secp256k1Jwk): string {
  const coordinates = `${jwk.x}.${jwk.y}`;
  const known = CHECKED_KEYS.get(coordinates);
  if (known !== undefined) return known;
  const x = Buffer.from(jwk.x, "base64url");
  const y = Buffer.from(jwk.y, "base64url");
  if (x.length !== 32 || y.length !== 32) throw new CivilIdError("INVALID_INPUT", "deviceKey: x and y must be 32 bytes each.");
  createPublicKey({ key: { kty: "EC", crv: "secp256k1", x: jwk.x, y: jwk.y }, format: "jwk" }); // throws off the curve
  const address = "0x" + keccak256(Buffer.concat([x, y])).slice(26);
  if (CHECKED_KEYS.size >= CHECKED_KEYS_SIZE) CHECKED_KEYS.delete(CHECKED_KEYS.keys().next().value!);
  CHECKED_KEYS.set(coordinates, address);
  return address;
}
const CHECKED_KEYS_SIZE = 1024;
const CHECKED_KEYS = new Map<string, string>();

/** Validates an untrusted device JWK (exact members, right curve, a point on it) and returns a clean copy. */
export function checkDeviceKeyJwk(value: unknown): DeviceKeyJwk {
  const v = value as Record<string, unknown> | null;
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw new CivilIdError("INVALID_INPUT", "deviceKey must be a JWK object.");
  if (v.crv === "P-256") return checkP256Jwk(v);
  const ok =
    Object.keys(v).length === 4 && v.kty === "EC" && v.crv === "secp256k1" &&
    typeof v.x === "string" && typeof v.y === "string" && BASE64URL_32_BYTES.test(v.x) && BASE64URL_32_BYTES.test(v.y);
  if (!ok) throw new CivilIdError("INVALID_INPUT", 'deviceKey must be an EC JWK with exactly kty, crv ("secp256k1" or "P-256"), x and y.');
  const jwk: Secp256k1Jwk = { kty: "EC", crv: "secp256k1", x: v.x as string, y: v.y as string };
  try {
    lowercaseAddressOf(jwk); // decodes the point: throws when it is not on secp256k1
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", "deviceKey is not a point on secp256k1.", { cause: error });
  }
  return jwk;
}

/** The JWS algorithm a device key signs with. */
export function deviceAlgorithm(jwk: DeviceKeyJwk): JwsAlgorithm {
  return jwk.crv === "P-256" ? "ES256" : "ES256K";
}

/** The holder DID of a device key: did:ethr of its address (secp256k1) or its did:jwk (P-256). */
export function holderDidForDeviceKey(chainId: number | bigint, jwk: DeviceKeyJwk): string {
  return jwk.crv === "P-256" ? didJwkFor(jwk) : didForAddress(chainId, addressOfDeviceKey(jwk));
}

/**
 * Whether `jwk` is the key of holder `did` (a DID string, or one already parsed by parseHolderDid): a secp256k1 key whose address is the did:ethr's, or a P-256 key equal
 * to the did:jwk's. A secp256k1 key under a did:jwk (or the reverse) never matches: one key type, one DID method.
 */
export function deviceKeyMatchesHolder(jwk: DeviceKeyJwk, did: unknown): boolean {
  const holder = isParsedHolder(did) ? did : parseHolderDid(did);
  if (holder === undefined) return false;
  if (holder.method === "jwk") return jwk.crv === "P-256" && holder.jwk.x === jwk.x && holder.jwk.y === jwk.y;
  if (jwk.crv !== "secp256k1") return false;
  try {
    return lowercaseAddressOf(jwk) === holder.address.toLowerCase();
  } catch {
    return false;
  }
}

function isParsedHolder(value: unknown): value is ParsedHolderDid {
  return typeof value === "object" && value !== null && typeof (value as { method?: unknown }).method === "string";
}
