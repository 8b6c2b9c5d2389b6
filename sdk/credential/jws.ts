/**
 * The strict compact-JWS codec every party uses for credentials, presentations and document signatures, and the
 * signature rules: ES256K (secp256k1) and ES256 (P-256), 64-byte r‖s (RFC 7515 §A.3 / RFC 7518 §3.4), low-s only.
 * No JWT library decodes leniently on our behalf.
 *
 * Browser-safe: building a JWS needs no platform crypto of its own. The private key stays behind a
 * {@link JwsSigner} (ethers or OpenSSL in Node, a non-extractable WebCrypto key in the web wallet), so Node and
 * the pages build the same tokens with this one module. Verification is OpenSSL's, in jws-verify.ts (Node only).
 */
import { getBytes } from "ethers";
import { encodeJsonPart, fromBase64url, toBase64url, toHex } from "../util/base64url.js";

export type JwsAlgorithm = "ES256K" | "ES256";
export const JWS_ALGORITHMS: readonly JwsAlgorithm[] = ["ES256K", "ES256"];

/** Group orders: a signature with s > n/2 is the malleable twin of a valid one and is refused. */
const CURVE_ORDER: Record<JwsAlgorithm, bigint> = {
  ES256K: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
};

export interface CompactJws {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
  readonly signingInput: string;
  readonly signature: Uint8Array;
}

export type JwsDecodeFailure = "NOT_A_STRING" | "TOO_LARGE" | "NOT_COMPACT_JWS" | "NOT_JSON";

/**
 * Splits and decodes a compact JWS without trusting it: strict base64url, strict UTF-8 (invalid byte sequences
 * are refused, not replaced), JSON objects only. Answers the failure instead of throwing.
 */
export function decodeJws(token: unknown, maxLength: number): { ok: true; jws: CompactJws } | { ok: false; failure: JwsDecodeFailure } {
  if (typeof token !== "string" || token.length === 0) return { ok: false, failure: "NOT_A_STRING" };
  if (token.length > maxLength) return { ok: false, failure: "TOO_LARGE" };
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return { ok: false, failure: "NOT_COMPACT_JWS" };
  const header = decodeJsonPart(parts[0]!);
  const payload = decodeJsonPart(parts[1]!);
  if (!header || !payload) return { ok: false, failure: "NOT_JSON" };
  return { ok: true, jws: { header, payload, signingInput: `${parts[0]}.${parts[1]}`, signature: fromBase64url(parts[2]!) } };
}

/** {@link decodeJws} answering undefined on any failure. */
export function decodeCompactJws(token: unknown, maxLength: number): CompactJws | undefined {
  const decoded = decodeJws(token, maxLength);
  return decoded.ok ? decoded.jws : undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** The signing input is base64url text: ASCII, so its UTF-8 bytes are its ASCII bytes. */
const ASCII = new TextEncoder();

function decodeJsonPart(part: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(fromBase64url(part)));
  } catch {
    return undefined; // invalid UTF-8 or not JSON: the caller refuses it as malformed
  }
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

export function isJwsAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return alg === "ES256K" || alg === "ES256";
}

/** A 64-byte r‖s signature with 0 < r and 0 < s ≤ n/2 (the low-s form). */
export function isCanonicalSignature(signature: Uint8Array, alg: JwsAlgorithm): boolean {
  if (signature.length !== 64) return false;
  const hex = toHex(signature);
  const r = BigInt("0x" + hex.slice(0, 64));
  const s = BigInt("0x" + hex.slice(64));
  const n = CURVE_ORDER[alg];
  return r !== 0n && r < n && s !== 0n && s <= n / 2n;
}

/** ES256K form of {@link isCanonicalSignature} (kept for callers of the former verifier/jws.ts). */
export function isCanonicalEs256kSignature(signature: Uint8Array): boolean {
  return isCanonicalSignature(signature, "ES256K");
}

/** Turns a valid r‖s into its low-s form (n − s when s > n/2): the same signature, in the one accepted spelling. */
export function normaliseLowS(signature: Uint8Array, alg: JwsAlgorithm): Uint8Array {
  if (signature.length !== 64) throw new RangeError("An ECDSA JWS signature is 64 bytes (r‖s).");
  const n = CURVE_ORDER[alg];
  const s = BigInt("0x" + toHex(signature.subarray(32)));
  if (s <= n / 2n) return signature;
  const out = new Uint8Array(64);
  out.set(signature.subarray(0, 32));
  out.set(getBytes("0x" + (n - s).toString(16).padStart(64, "0")), 32);
  return out;
}

/** Signs the JWS signing input; answers the 64-byte r‖s signature (any s: {@link signJws} normalises it). */
export interface JwsSigner {
  readonly alg: JwsAlgorithm;
  sign(signingInput: Uint8Array): Promise<Uint8Array>;
}

/** Builds a compact JWS (header gets `alg` from the signer), with a low-s signature. */
export async function signJws(header: Record<string, unknown>, payload: Record<string, unknown>, signer: JwsSigner): Promise<string> {
  const signingInput = `${encodeJsonPart({ ...header, alg: signer.alg })}.${encodeJsonPart(payload)}`;
  const raw = await signer.sign(ASCII.encode(signingInput));
  return `${signingInput}.${toBase64url(normaliseLowS(raw, signer.alg))}`;
}
