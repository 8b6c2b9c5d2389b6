/**
 * The strict compact-JWS codec every party uses for credentials, presentations and document signatures, and the
 * signature rules: ES256K (secp256k1) and ES256 (P-256), 64-byte r‖s (RFC 7515 §A.3 / RFC 7518 §3.4), low-s only.
 * No JWT library decodes leniently on our behalf.
 *
 * Browser-safe: building a JWS needs no platform crypto of its own. The private key stays behind a
 * {@link JwsSigner} (ethers or OpenSSL in Node, a non-extractable WebCrypto key in the web wallet), so Node and
 * the pages build the same tokens with this one module. Verification is OpenSSL's, in jws-verify.ts (Node only).
 */
import { getBytes, toBeHex } from "ethers";
import { encodeJsonPart, fromBase64url, isCanonicalBase64url, toBase64url, toHex } from "../util/base64url.js";

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

export type JwsDecodeFailure = "NOT_A_STRING" | "TOO_LARGE" | "NOT_COMPACT_JWS" | "NOT_JSON" | "UNSUPPORTED_CRITICAL_HEADER";

/**
 * Splits and decodes a compact JWS without trusting it: canonical base64url, strict UTF-8 (invalid byte sequences
 * are refused, not replaced), JSON objects without repeated member names. Answers the failure instead of throwing.
 */
export function decodeJws(token: unknown, maxLength: number): { ok: true; jws: CompactJws } | { ok: false; failure: JwsDecodeFailure } {
  if (typeof token !== "string" || token.length === 0) return { ok: false, failure: "NOT_A_STRING" };
  if (token.length > maxLength) return { ok: false, failure: "TOO_LARGE" };
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every(isCanonicalBase64url)) return { ok: false, failure: "NOT_COMPACT_JWS" };
  const header = jsonObjectOf(parts[0]!);
  const payload = jsonObjectOf(parts[1]!);
  if (!header || !payload) return { ok: false, failure: "NOT_JSON" };
  // RFC 7515 §4.1.11: a recipient must refuse a JWS whose `crit` names an extension it does not implement; this
  // codec implements none (e.g. RFC 7797 `b64: false` would change what the signature covers).
  if (header.crit !== undefined) return { ok: false, failure: "UNSUPPORTED_CRITICAL_HEADER" };
  // The signing input is the token up to the second dot: a slice of it, not a concatenated copy to flatten again.
  const signingInput = token.slice(0, parts[0]!.length + 1 + parts[1]!.length);
  return { ok: true, jws: { header, payload, signingInput, signature: fromBase64url(parts[2]!) } };
}

/** {@link decodeJws} answering undefined on any failure. */
export function decodeCompactJws(token: unknown, maxLength: number): CompactJws | undefined {
  const decoded = decodeJws(token, maxLength);
  return decoded.ok ? decoded.jws : undefined;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
/** The signing input is base64url text: ASCII, so its UTF-8 bytes are its ASCII bytes. */
const ASCII = new TextEncoder();

/**
 * Decodes one JWS part that must be a JSON object: canonical base64url, strict UTF-8, JSON, no repeated member
 * name. Undefined on any failure. The status lists' and snapshots' segments are read with it too.
 */
export function decodeJsonPart(part: string): Record<string, unknown> | undefined {
  return isCanonicalBase64url(part) ? jsonObjectOf(part) : undefined;
}

/** The JSON object a (checked) base64url part encodes. */
function jsonObjectOf(part: string): Record<string, unknown> | undefined {
  let value: unknown;
  let text: string;
  try {
    text = utf8.decode(fromBase64url(part));
    value = JSON.parse(text);
  } catch {
    return undefined; // invalid UTF-8 or not JSON: the caller refuses it as malformed
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  // RFC 7515 §5.2: a member name twice is refused; parsers differ in which one they keep (JSON.parse: the last).
  return hasDuplicateMemberName(text) ? undefined : (value as Record<string, unknown>);
}

/**
 * Whether a JSON text (already parsed successfully, so well-formed) repeats a member name in one object. Names are
 * compared decoded ("a\u0075d" is "aud"). Iterative: nesting depth costs heap, never the call stack.
 */
function hasDuplicateMemberName(text: string): boolean {
  const objects: (Set<string> | undefined)[] = []; // one entry per open container; undefined for an array
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "{") {
      objects.push(new Set());
      expectName = true;
    } else if (c === "[") {
      objects.push(undefined);
      expectName = false;
    } else if (c === "}" || c === "]") {
      objects.pop();
      expectName = false;
    } else if (c === ",") {
      expectName = objects[objects.length - 1] !== undefined;
    } else if (c === ":") {
      expectName = false;
    } else if (c === '"') {
      // The closing quote is the next one not escaped (preceded by an even number of backslashes); indexOf keeps
      // long string values (an embedded credential) off the per-character loop.
      let end = text.indexOf('"', i + 1);
      while (isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (expectName) {
        const names = objects[objects.length - 1]!;
        const raw = text.slice(i + 1, end);
        const name = raw.includes("\\") ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (names.has(name)) return true;
        names.add(name);
        expectName = false;
      }
      i = end;
    }
  }
  return false;
}

/** Whether the quote at `at` is escaped: an odd number of backslashes right before it. */
function isEscaped(text: string, at: number): boolean {
  let backslashes = 0;
  for (let k = at - 1; text[k] === "\\"; k--) backslashes++;
  return backslashes % 2 === 1;
}

export function isJwsAlgorithm(alg: unknown): alg is JwsAlgorithm {
  return alg === "ES256K" || alg === "ES256";
}

/** A big-endian 32-byte word of `value`. */
const word = (value: bigint): Uint8Array => getBytes(toBeHex(value, 32));

/** n and ⌊n/2⌋ as big-endian words: the low-s check compares bytes (a tap made two BigInts from hex before). */
const ORDER_WORDS: Record<JwsAlgorithm, { readonly n: Uint8Array; readonly half: Uint8Array }> = {
  ES256K: { n: word(CURVE_ORDER.ES256K), half: word(CURVE_ORDER.ES256K / 2n) },
  ES256: { n: word(CURVE_ORDER.ES256), half: word(CURVE_ORDER.ES256 / 2n) },
};

/** Compares the 32-byte big-endian word at `bytes[offset..]` with `limit`: negative, zero or positive. */
function compareWord(bytes: Uint8Array, offset: number, limit: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const d = bytes[offset + i]! - limit[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function isZeroWord(bytes: Uint8Array, offset: number): boolean {
  for (let i = 0; i < 32; i++) if (bytes[offset + i] !== 0) return false;
  return true;
}

/** A 64-byte r‖s signature with 0 < r < n and 0 < s ≤ n/2 (the low-s form). */
export function isCanonicalSignature(signature: Uint8Array, alg: JwsAlgorithm): boolean {
  if (signature.length !== 64) return false;
  const order = ORDER_WORDS[alg];
  if (order === undefined) return false;
  return !isZeroWord(signature, 0) && compareWord(signature, 0, order.n) < 0 && !isZeroWord(signature, 32) && compareWord(signature, 32, order.half) <= 0;
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
