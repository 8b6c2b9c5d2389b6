/**
 * The verifier's signing identity in presentation requests: a secp256k1 key whose address the consortium lists
 * (RelyingPartyRegistry). In OpenID4VP terms the verifier is `decentralized_identifier:<did:ethr of the address>`
 * and signs its request objects (JAR) ES256K with `kid` = `<did>#controller`, so a wallet that resolves did:ethr
 * with an unmodified resolver gets the same key; ours checks the signature by recovering the address, which is
 * what the listing names. Browser-safe (no node: modules, no Buffer): the holder web wallet runs this check too.
 */
import { decodeBase64, encodeToBase64Url } from "@openid4vc/utils";
import { SigningKey, Signature, computeAddress, getBytes, hexlify, sha256, toUtf8Bytes } from "ethers";
import { didForAddress, parseEthrDid } from "../did/did.js";

/** OpenID4VP client identifier prefix of listed verifiers. */
export const CLIENT_ID_PREFIX = "decentralized_identifier";
const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

export interface VerifierIdentity {
  readonly address: string;
  readonly did: string;
  /** `decentralized_identifier:<did>`: the request's `client_id` and every presentation's audience. */
  readonly clientId: string;
  /** JWS `kid` of its request objects. */
  readonly kid: string;
}

export function verifierIdentity(chainId: number | bigint, address: string): VerifierIdentity {
  const did = didForAddress(chainId, address);
  return { address: parseEthrDid(did).address, did, clientId: `${CLIENT_ID_PREFIX}:${did}`, kid: `${did}#controller` };
}

/** The listed address behind a `client_id`, or undefined when it is not a did:ethr verifier of `chainId`. */
export function verifierAddressOfClientId(clientId: unknown, chainId: number | bigint): string | undefined {
  if (typeof clientId !== "string" || !clientId.startsWith(`${CLIENT_ID_PREFIX}:`)) return undefined;
  try {
    const parsed = parseEthrDid(clientId.slice(CLIENT_ID_PREFIX.length + 1));
    return parsed.chainId === BigInt(chainId) ? parsed.address : undefined;
  } catch {
    return undefined; // not our DID form: the caller refuses the verifier
  }
}

/** The public JWK of a secp256k1 public key (any encoding ethers accepts). */
export function secp256k1Jwk(publicKey: string): { kty: "EC"; crv: "secp256k1"; x: string; y: string } {
  const raw = getBytes(SigningKey.computePublicKey(publicKey, false));
  return { kty: "EC", crv: "secp256k1", x: encodeToBase64Url(raw.slice(1, 33)), y: encodeToBase64Url(raw.slice(33)) };
}

/**
 * Verifies an ES256K compact JWS against an address: the 64-byte r‖s signature (low s only) must recover, for one
 * of the two recovery ids, to a public key whose address is `address`. Returns that public key, or undefined.
 */
export function recoverEs256kSigner(compact: string, address: string): string | undefined {
  const parts = compact.split(".");
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return undefined;
  const signature = decodeBase64(parts[2]!);
  if (signature.length !== 64) return undefined;
  const r = hexlify(signature.subarray(0, 32));
  const s = hexlify(signature.subarray(32));
  if (BigInt(s) === 0n || BigInt(s) > SECP256K1_HALF_N || BigInt(r) === 0n) return undefined;
  const digest = sha256(toUtf8Bytes(`${parts[0]}.${parts[1]}`));
  for (const v of [27, 28]) {
    try {
      const publicKey = SigningKey.recoverPublicKey(digest, Signature.from({ r, s, v }));
      if (computeAddress(publicKey) === address) return publicKey;
    } catch {
      // r is not an x coordinate on the curve for this recovery id: try the other one
    }
  }
  return undefined;
}
