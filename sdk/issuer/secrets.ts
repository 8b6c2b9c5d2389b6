/**
 * One-time secrets of the issuance workflow (identity codes, activation links and codes). Only keyed hashes are
 * stored: HMAC-SHA256 under a key the database does not hold, so a copy of the database does not reveal a live
 * code, and a 6-digit code cannot be found by hashing all million candidates without the key.
 */
import { createHmac, hkdfSync, randomBytes, randomInt, timingSafeEqual } from "node:crypto";
import { CivilIdError } from "../errors.js";

export const MIN_KEY_BYTES = 32;

/** Derives the workflow's code-hash key from the consortium holder secret (HKDF-SHA256, per organisation). */
export function deriveCodeKey(holderSecret: Uint8Array, agencyCode: number): Uint8Array {
  checkKey(holderSecret, "holder secret");
  return new Uint8Array(hkdfSync("sha256", holderSecret, "mcid-issuance-workflow", `code-hash/v1/${agencyCode}`, 32));
}

export function checkKey(key: Uint8Array, what: string): void {
  if (!(key instanceof Uint8Array) || key.length < MIN_KEY_BYTES) {
    throw new CivilIdError("INVALID_INPUT", `The ${what} must be at least ${MIN_KEY_BYTES} bytes.`);
  }
}

/** Keyed hash of a secret, domain-separated by `purpose` and bound to `context` (e.g. the request id). */
export function secretHash(key: Uint8Array, purpose: string, context: string, secret: string): string {
  return createHmac("sha256", key).update(`${purpose}\0${context}\0`).update(secret, "utf8").digest("hex");
}

/** Constant-time comparison of two hex hashes. */
export function hashEquals(a: string, b: string): boolean {
  const x = Buffer.from(a, "hex");
  const y = Buffer.from(b, "hex");
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** A uniformly random decimal code of `digits` digits (leading zeros kept). */
export function randomDigits(digits: number): string {
  let out = "";
  for (let i = 0; i < digits; i++) out += String(randomInt(10));
  return out;
}

/** A 256-bit random token, base64url. */
export function randomToken(): string {
  return randomBytes(32).toString("base64url");
}
