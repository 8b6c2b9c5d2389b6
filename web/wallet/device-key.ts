/**
 * The device key in the browser: a non-extractable WebCrypto P-256 key (ES256), its public JWK and did:jwk, and a
 * JWS signer over it. The tokens themselves (presentations, document signatures, OpenID4VCI proofs) are built by the
 * SDK's own browser-safe code (sdk/credential/jws.ts `signJws`, sdk/protocol/), the same code the phone library
 * uses: this page only supplies the signature. WebCrypto signs ECDSA as raw r‖s (the JWS form); `signJws` turns it
 * into the one low-s spelling verifiers accept.
 */
import type { JwsSigner } from "../../sdk/credential/jws.js";
import { formatDidJwk, p256JwkShape, type P256Jwk } from "../../sdk/did/jwk-format.js";

/** A fresh device key: the private half can sign but can never be exported (not even by this page). */
export async function generateDeviceKey(): Promise<{ privateKey: CryptoKey; publicJwk: P256Jwk; did: string }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  if (pair.privateKey.extractable) throw new Error("the browser created an extractable device key");
  const exported = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const publicJwk = p256JwkShape({ kty: exported.kty, crv: exported.crv, x: exported.x, y: exported.y });
  if (publicJwk === undefined) throw new Error("the browser exported an unexpected public key");
  return { privateKey: pair.privateKey, publicJwk, did: formatDidJwk(publicJwk) };
}

/** The ES256 signer of a WebCrypto P-256 private key, for the SDK's JWS builders. */
export function webCryptoSigner(privateKey: CryptoKey): JwsSigner {
  return {
    alg: "ES256",
    sign: async (signingInput) => new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, signingInput as Uint8Array<ArrayBuffer>)),
  };
}
