/**
 * base64url (RFC 4648 §5, unpadded) and the JSON parts of a compact JWS, for code that runs in Node and in the web
 * pages alike (the holder web wallet bundles the SDK's JWS builder). In Node the work is Node's Buffer (native, the
 * bytes the SDK always produced); in a browser it is the Web's btoa/atob. Both decode leniently only in the same
 * way (trailing bits ignored), so what comes from outside is checked with {@link isCanonicalBase64url} first, as the
 * JWS decoder does.
 */

/**
 * Unpadded base64url in its one spelling: the decoder ignores the unused low bits of the last character, so "QQ"
 * and "QR" are the same byte. A second spelling of a signature is a twin token (like a high-s signature): refused.
 */
export function isCanonicalBase64url(part: string): boolean {
  if (!/^[A-Za-z0-9_-]+$/.test(part)) return false;
  // Only the last character can carry unused bits: 4 of them after 2 characters of a group, 2 after 3; a group of
  // 1 character is no byte at all. (Checked arithmetically: re-encoding every part cost a tap ~5 µs.)
  const rest = part.length % 4;
  if (rest === 0) return true;
  if (rest === 1) return false;
  const value = BASE64URL_ALPHABET.indexOf(part[part.length - 1]!);
  return (value & (rest === 2 ? 0x0f : 0x03)) === 0;
}

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Node's Buffer, when this runs in Node: the pages' `buffer` polyfill (no base64url) is never used here. */
interface NodeBuffer {
  from(text: string, encoding: "base64url" | "utf8"): Uint8Array & { toString(encoding: "base64url" | "hex"): string };
  from(bytes: Uint8Array): Uint8Array & { toString(encoding: "base64url" | "hex"): string };
}
const scope = globalThis as { Buffer?: NodeBuffer; process?: { versions?: { node?: string } } };
const NODE_BUFFER: NodeBuffer | undefined = scope.process?.versions?.node === undefined ? undefined : scope.Buffer;

const utf8Encoder = new TextEncoder();

/** base64url without padding of the bytes (a string is taken as its UTF-8 bytes). */
export function toBase64url(data: Uint8Array | string): string {
  if (NODE_BUFFER !== undefined) return (typeof data === "string" ? NODE_BUFFER.from(data, "utf8") : NODE_BUFFER.from(data)).toString("base64url");
  const bytes = typeof data === "string" ? utf8Encoder.encode(data) : data;
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The bytes of base64url text. Text outside the alphabet is the caller's to refuse; a dangling last character
 * (length ≡ 1 mod 4) carries no whole byte and is dropped, as Node does.
 */
export function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  // Node's Buffer is a Uint8Array over a plain ArrayBuffer (never shared memory).
  if (NODE_BUFFER !== undefined) return NODE_BUFFER.from(text, "base64url") as Uint8Array<ArrayBuffer>;
  const whole = text.length % 4 === 1 ? text.slice(0, -1) : text;
  const binary = atob(whole.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (whole.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

/** A JWS header or payload part: base64url of the value's JSON text in UTF-8. */
export function encodeJsonPart(value: unknown): string {
  return toBase64url(JSON.stringify(value));
}

/** Lowercase hex of the bytes, without 0x. */
export function toHex(bytes: Uint8Array): string {
  if (NODE_BUFFER !== undefined) return NODE_BUFFER.from(bytes).toString("hex");
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
