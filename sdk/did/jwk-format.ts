/**
 * The spelling of `did:jwk` for P-256 device keys and the shape of their public JWK, browser-safe: the holder web
 * wallet names its WebCrypto key with this, the SDK with jwk.ts, which adds OpenSSL's point-on-curve check. One
 * spelling: the JSON has exactly the members `crv`, `kty`, `x`, `y` in that (RFC 7638) order and no whitespace.
 */
import { toBase64url } from "../util/base64url.js";

export interface P256Jwk {
  readonly kty: "EC";
  readonly crv: "P-256";
  readonly x: string;
  readonly y: string;
}

/**
 * 32 bytes in unpadded base64url, in its one spelling: the 43rd character carries 2 unused bits, which must be 0
 * (the decoder ignores them, so "…A" and "…B" would be the same coordinate and two did:jwk strings one key).
 */
export const BASE64URL_32_BYTES = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;

/** A clean copy of a P-256 public JWK (exact members, 32-byte coordinates), or undefined; the point is not checked here. */
export function p256JwkShape(value: unknown): P256Jwk | undefined {
  const v = value as Record<string, unknown> | null;
  const ok =
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 4 && v.kty === "EC" && v.crv === "P-256" &&
    typeof v.x === "string" && typeof v.y === "string" && BASE64URL_32_BYTES.test(v.x) && BASE64URL_32_BYTES.test(v.y);
  return ok ? { kty: "EC", crv: "P-256", x: v.x as string, y: v.y as string } : undefined;
}

/** The canonical did:jwk of a P-256 public JWK of the right shape (see {@link p256JwkShape}). */
export function formatDidJwk(jwk: P256Jwk): string {
  return `did:jwk:${toBase64url(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }))}`;
}
