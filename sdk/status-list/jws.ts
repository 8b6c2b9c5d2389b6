/**
 * ES256K JWS for status lists and ledger snapshots: compact JWTs signed by one key, and detached co-signatures
 * (RFC 7515 §7.2.1 general JSON serialization without the payload, Appendix F) by further keys over the *same*
 * payload segment. Keys are identified by their Ethereum address (the issuer DID's address, a consortium member's
 * account): a signature is checked by recovering the signer's address from it and comparing it with the trusted
 * address — the same question did-jwt asks of an `EcdsaSecp256k1RecoveryMethod2020` key — and high-s signatures
 * (the malleable twin of a valid one) are refused. Signing uses ethers' SigningKey (RFC 6979, low-s).
 */
import { createHash } from "node:crypto";
import { Signature, SigningKey, computeAddress, getAddress, recoverAddress } from "ethers";
import { decodeCompactJws, decodeJsonPart, isCanonicalEs256kSignature, type CompactJws } from "../credential/jws.js";
import { toHex } from "../util/base64url.js";

export { decodeCompactJws, type CompactJws };

const b64url = (value: string | Uint8Array) => Buffer.from(value).toString("base64url");

export function encodeJsonPart(value: unknown): string {
  return b64url(JSON.stringify(value));
}

function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "ascii").digest();
}

/** The 64-byte r‖s ES256K signature of a JWS signing input. */
export function signEs256k(signingInput: string, key: SigningKey): string {
  const sig = key.sign(sha256(signingInput));
  return b64url(Buffer.concat([Buffer.from(sig.r.slice(2), "hex"), Buffer.from(sig.s.slice(2), "hex")]));
}

/** Signs a compact JWS (header and payload as JSON objects). */
export function signCompactJws(header: Record<string, unknown>, payload: Record<string, unknown>, key: SigningKey): string {
  const signingInput = `${encodeJsonPart(header)}.${encodeJsonPart(payload)}`;
  return `${signingInput}.${signEs256k(signingInput, key)}`;
}

/**
 * The candidate addresses that made `signature` over `signingInput` (none when the signature is not a canonical
 * 64-byte low-s ES256K signature). Both recovery ids are tried: a JWS carries no `v`.
 */
export function es256kSigners(signingInput: string, signature: Uint8Array): string[] {
  if (!isCanonicalEs256kSignature(signature)) return [];
  const digest = sha256(signingInput);
  const r = "0x" + toHex(signature.subarray(0, 32));
  const s = "0x" + toHex(signature.subarray(32));
  const out: string[] = [];
  for (const v of [27, 28] as const) {
    try {
      out.push(recoverAddress(digest, Signature.from({ r, s, v })));
    } catch {
      // no point on the curve for this recovery id: that candidate does not exist
      continue;
    }
  }
  return out;
}

/** Whether `signature` over `signingInput` was made by `address`. */
export function signedBy(signingInput: string, signature: Uint8Array, address: string): boolean {
  const expected = getAddress(address);
  return es256kSigners(signingInput, signature).includes(expected);
}

export function addressOf(key: SigningKey): string {
  return computeAddress(key.publicKey);
}

/** One detached co-signature: a protected header (alg, kid = the signer's address) and the signature. */
export interface DetachedSignature {
  readonly protected: string;
  readonly signature: string;
}

/** Co-signs the payload segment of a compact JWS (or any base64url payload) with `key`. */
export function coSign(payloadSegment: string, key: SigningKey, extraHeader: Record<string, unknown> = {}): DetachedSignature {
  const protectedHeader = encodeJsonPart({ ...extraHeader, alg: "ES256K", kid: addressOf(key) });
  return { protected: protectedHeader, signature: signEs256k(`${protectedHeader}.${payloadSegment}`, key) };
}

/**
 * The distinct trusted addresses that validly co-signed `payloadSegment`. A signature whose header is not strict
 * JSON, names another algorithm (or another `typ` than asked), or does not recover to its `kid` counts for nobody (it is ignored, not an error:
 * one bad co-signature must not veto the others; the caller compares the count with its threshold).
 */
export function validCoSigners(payloadSegment: string, signatures: readonly DetachedSignature[], trusted: readonly string[], typ?: string): string[] {
  const allowed = new Set(trusted.map((a) => getAddress(a)));
  const found = new Set<string>();
  for (const entry of signatures) {
    if (typeof entry?.protected !== "string" || typeof entry.signature !== "string") continue;
    if (!/^[A-Za-z0-9_-]+$/.test(entry.protected) || !/^[A-Za-z0-9_-]+$/.test(entry.signature)) continue;
    const header = decodeJsonSegment(entry.protected);
    const kid = header?.kid;
    if (!header || header.alg !== "ES256K" || typeof kid !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(kid)) continue;
    if (typ !== undefined && header.typ !== typ) continue; // a signature made for another kind of document
    const address = getAddress(kid);
    if (!allowed.has(address)) continue;
    if (signedBy(`${entry.protected}.${payloadSegment}`, Buffer.from(entry.signature, "base64url"), address)) found.add(address);
  }
  return [...found];
}

/** Decodes one base64url JSON-object segment strictly (the JWS codec's rule: sdk/credential/jws.ts `decodeJsonPart`). */
export function decodeJsonSegment(segment: string): Record<string, unknown> | undefined {
  return decodeJsonPart(segment);
}
