/**
 * Possession proofs for P-256 device keys (did:jwk holders: Secure Enclave, StrongBox, WebCrypto, WebAuthn), the
 * counterpart of the EIP-191 proofs secp256k1 devices give at activation and collection (activation.ts,
 * collection.ts). The device signs the SAME message text (activationMessage / collectionMessage) as the payload of a
 * compact JWS, `{ alg: "ES256", typ: "mcid-possession+jws" }`, with its P-256 key; the server verifies it with
 * OpenSSL against the key the did:jwk names. Low-s only, like every signature of the system.
 */
import { decodeJws, signJws, type JwsSigner } from "../credential/jws.js";
import { importPublicJwk, verifyJwsSignature } from "../credential/jws-verify.js";
import { tryParseDidJwk, type P256Jwk } from "../did/jwk.js";

export const POSSESSION_PROOF_TYP = "mcid-possession+jws";
const MAX_PROOF_LENGTH = 4 * 1024;

export type DeviceProofFailure = "MALFORMED_DID" | "MALFORMED_PROOF" | "BAD_SIGNATURE" | "WRONG_MESSAGE";

/** Signs `message` (an activation or collection message) with a P-256 device key. */
export function signPossessionProof(message: string, signer: JwsSigner): Promise<string> {
  if (signer.alg !== "ES256") throw new TypeError("Possession proofs as JWS are for P-256 (ES256) device keys; secp256k1 devices sign EIP-191 messages.");
  return signJws({ typ: POSSESSION_PROOF_TYP }, { msg: message }, signer);
}

/**
 * Checks a P-256 possession proof: `did` is a canonical did:jwk, `proof` a low-s ES256 JWS by that key over exactly
 * `message`. Returns the failure, or null and the device's public JWK (the key to attest in the credential).
 */
export function checkPossessionProofJws(message: string, did: unknown, proof: unknown): { failure: DeviceProofFailure } | { failure: null; jwk: P256Jwk } {
  const jwk = tryParseDidJwk(did);
  if (jwk === undefined) return { failure: "MALFORMED_DID" };
  const decoded = decodeJws(proof, MAX_PROOF_LENGTH);
  if (!decoded.ok || decoded.jws.header.typ !== POSSESSION_PROOF_TYP) return { failure: "MALFORMED_PROOF" };
  if (!verifyJwsSignature(decoded.jws, importPublicJwk(jwk), "ES256")) return { failure: "BAD_SIGNATURE" };
  if (decoded.jws.payload.msg !== message) return { failure: "WRONG_MESSAGE" };
  return { failure: null, jwk };
}
