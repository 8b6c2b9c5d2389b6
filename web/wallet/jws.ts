/**
 * The device key's signatures in the browser: a non-extractable WebCrypto P-256 key (ES256), its public JWK and
 * did:jwk, and compact JWS signed with it. WebCrypto signs ECDSA as raw r‖s (the JWS form); the low-s spelling the
 * verifiers require (sdk/credential/jws.ts `isCanonicalSignature`) is produced by @noble/curves, never by hand.
 */
import { p256 } from "@noble/curves/p256";

export interface P256PublicJwk {
  readonly kty: "EC";
  readonly crv: "P-256";
  readonly x: string;
  readonly y: string;
}

const utf8 = new TextEncoder();

export function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export function hex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256(data: Uint8Array | string): Promise<Uint8Array> {
  const bytes = typeof data === "string" ? utf8.encode(data) : new Uint8Array(data);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** A fresh device key: the private half can sign but can never be exported (not even by this page). */
export async function generateDeviceKey(): Promise<{ privateKey: CryptoKey; publicJwk: P256PublicJwk }> {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
  if (pair.privateKey.extractable) throw new Error("the browser created an extractable device key");
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  if (jwk.kty !== "EC" || jwk.crv !== "P-256" || typeof jwk.x !== "string" || typeof jwk.y !== "string") throw new Error("unexpected public key");
  return { privateKey: pair.privateKey, publicJwk: { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y } };
}

/** The canonical did:jwk of the key (members in lexicographic order, as sdk/did/jwk.ts `didJwkFor`). */
export function didJwkOf(jwk: P256PublicJwk): string {
  return `did:jwk:${base64url(utf8.encode(JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y })))}`;
}

/** A compact JWS (`alg: ES256` added to the header) with a low-s signature by the device key. */
export async function signJws(key: CryptoKey, header: Record<string, unknown>, payload: Record<string, unknown>): Promise<string> {
  const part = (value: unknown) => base64url(utf8.encode(JSON.stringify(value)));
  const signingInput = `${part({ ...header, alg: "ES256" })}.${part(payload)}`;
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key, utf8.encode(signingInput)));
  const lowS = p256.Signature.fromCompact(raw).normalizeS().toCompactRawBytes();
  return `${signingInput}.${base64url(lowS)}`;
}

/** The payload of a compact JWS, parsed (no signature check: for showing what the wallet itself holds). */
export function jwtPayload(jwt: string): Record<string, unknown> {
  const part = jwt.split(".")[1];
  if (part === undefined) throw new Error("not a compact JWS");
  const value: unknown = JSON.parse(new TextDecoder().decode(fromBase64url(part)));
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("the JWS payload is not an object");
  return value as Record<string, unknown>;
}
