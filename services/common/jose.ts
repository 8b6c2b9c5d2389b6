import { createHash, createPublicKey, randomBytes, sign as cryptoSign, verify as cryptoVerify, type JsonWebKey, type KeyObject } from "node:crypto";
import type { CallbackContext, Jwk, JwtSigner, SignJwtCallback, VerifyJwtCallback } from "@openid4vc/oauth2";
import { clientAuthenticationAnonymous } from "@openid4vc/oauth2";

/**
 * JWS for the OpenID4VC libraries, on node:crypto (no hand-rolled crypto): ES256K (secp256k1, our did:ethr
 * device and issuer keys) and ES256 (P-256, the hardware-backed keys of phones and WebCrypto). One table of
 * algorithms, so adding one is one row. Signatures are JOSE's raw r‖s (IEEE P1363).
 */
export const JWS_ALGORITHMS = {
  ES256K: { crv: "secp256k1", hash: "sha256" },
  ES256: { crv: "P-256", hash: "sha256" },
} as const;
export type JwsAlgorithm = keyof typeof JWS_ALGORITHMS;

export function isJwsAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return typeof alg === "string" && Object.prototype.hasOwnProperty.call(JWS_ALGORITHMS, alg);
}

/** An EC public key from a JWK, checked against the algorithm's curve; undefined when it is not one. */
export function publicKeyFromJwk(jwk: unknown, alg: JwsAlgorithm): KeyObject | undefined {
  if (typeof jwk !== "object" || jwk === null) return undefined;
  const { kty, crv, x, y, d } = jwk as Record<string, unknown>;
  if (kty !== "EC" || crv !== JWS_ALGORITHMS[alg].crv || typeof x !== "string" || typeof y !== "string" || d !== undefined) return undefined;
  try {
    return createPublicKey({ key: { kty, crv, x, y } as JsonWebKey, format: "jwk" });
  } catch {
    return undefined; // not a point on the curve: the caller refuses
  }
}

/** Verifies a compact JWS with the given public JWK. */
export function verifyCompactJws(compact: string, jwk: unknown, alg: JwsAlgorithm): boolean {
  const parts = compact.split(".");
  if (parts.length !== 3) return false;
  const key = publicKeyFromJwk(jwk, alg);
  if (key === undefined) return false;
  const signature = Buffer.from(parts[2]!, "base64url");
  if (signature.length !== 64) return false;
  return cryptoVerify(JWS_ALGORITHMS[alg].hash, Buffer.from(`${parts[0]}.${parts[1]}`), { key, dsaEncoding: "ieee-p1363" }, signature);
}

/** A private signing key of the service (e.g. access tokens or request objects), with its public JWK. */
export interface JwsKey {
  readonly alg: JwsAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicJwk: Jwk;
}

export function signCompactJws(key: JwsKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${encode({ ...header, alg: key.alg })}.${encode(payload)}`;
  const signature = cryptoSign(JWS_ALGORITHMS[key.alg].hash, Buffer.from(input), { key: key.privateKey, dsaEncoding: "ieee-p1363" });
  return `${input}.${signature.toString("base64url")}`;
}

/**
 * The callbacks the @openid4vc libraries need. `verifyJwt` accepts `jwk` signers (the key is in the header) for
 * the algorithms above and refuses everything else — in particular `did` signers, which a service must resolve
 * itself before it trusts a key. `signJwt` signs with `signingKey` when given.
 */
export function openid4vcCallbacks(signingKey?: JwsKey): Omit<CallbackContext, "decryptJwe" | "encryptJwe"> {
  const verifyJwt: VerifyJwtCallback = (signer: JwtSigner, jwt) => {
    if (signer.method !== "jwk" || !isJwsAlgorithm(signer.alg) || jwt.header.alg !== signer.alg) return { verified: false };
    return verifyCompactJws(jwt.compact, signer.publicJwk, signer.alg) ? { verified: true, signerJwk: signer.publicJwk } : { verified: false };
  };
  const signJwt: SignJwtCallback = (signer, jwt) => {
    if (signingKey === undefined || signer.alg !== signingKey.alg) throw new Error(`no signing key for ${signer.alg}`);
    return { jwt: signCompactJws(signingKey, jwt.header, jwt.payload), signerJwk: signingKey.publicJwk };
  };
  return {
    hash: (data, alg) => new Uint8Array(createHash(alg.replace("-", "").toLowerCase()).update(data).digest()),
    generateRandom: (length) => new Uint8Array(randomBytes(length)),
    clientAuthentication: clientAuthenticationAnonymous(),
    signJwt,
    verifyJwt,
  };
}
