/**
 * JWS signature verification with Node's OpenSSL (node:crypto), for the strict codec of jws.ts: the header's
 * algorithm must be the trusted key's curve and the signature 64-byte low-s. Node only; building a JWS
 * (jws.ts) is browser-safe and needs none of this.
 */
import { createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { isCanonicalSignature, type CompactJws, type JwsAlgorithm } from "./jws.js";

/** The curve of a KeyObject as a JWS algorithm, or undefined when it is neither secp256k1 nor P-256. */
export function algorithmOfKey(key: KeyObject): JwsAlgorithm | undefined {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  return curve === "secp256k1" ? "ES256K" : curve === "prime256v1" ? "ES256" : undefined;
}

/**
 * Verifies a JWS signature with OpenSSL: the header's algorithm must be the key's curve, the signature low-s.
 * `alg` is what the caller expects (from the key it trusts), never taken from the token alone.
 */
export function verifyJwsSignature(jws: CompactJws, key: KeyObject, alg: JwsAlgorithm): boolean {
  if (jws.header.alg !== alg || algorithmOfKey(key) !== alg) return false;
  if (!isCanonicalSignature(jws.signature, alg)) return false;
  return cryptoVerify("sha256", Buffer.from(jws.signingInput, "ascii"), { key, dsaEncoding: "ieee-p1363" }, jws.signature);
}

/** ES256K form of {@link verifyJwsSignature} (kept for callers of the former verifier/jws.ts). */
export function verifyEs256k(jws: CompactJws, key: KeyObject): boolean {
  return verifyJwsSignature(jws, key, "ES256K");
}

/** Imports an EC public JWK (secp256k1 or P-256) for OpenSSL; throws when it is not a point on its curve. */
export function importPublicJwk(jwk: { readonly kty: string; readonly crv: string; readonly x: string; readonly y: string }): KeyObject {
  return createPublicKey({ key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }, format: "jwk" });
}
