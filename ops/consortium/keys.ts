/**
 * Node keys: a validator is named by its secp256k1 public key (the enode id); its address is derived from it.
 * Private keys are read only to derive the public key and are never written anywhere.
 */
import { SigningKey } from "ethers";
import { HEX_KEY } from "./config.js";

/** The 64-byte public key (128 hex digits, no prefix) of a compressed or uncompressed secp256k1 key; undefined if it is none. */
export function normalisePublicKey(v: unknown): string | undefined {
  if (typeof v !== "string") return undefined;
  let hex = v.trim().toLowerCase();
  if (hex.startsWith("0x")) hex = hex.slice(2);
  if (/^[0-9a-f]{128}$/.test(hex)) hex = `04${hex}`;
  if (!/^(04[0-9a-f]{128}|0[23][0-9a-f]{64})$/.test(hex)) return undefined;
  try {
    return SigningKey.computePublicKey(`0x${hex}`, false).slice(4).toLowerCase();
  } catch {
    return undefined; // not a point on secp256k1
  }
}

/** The public key (128 hex digits) of a Besu node key file's text (0x + 64 hex digits); undefined if it holds none. */
export function publicKeyOfNodeKey(text: string): { publicKey?: string; problem?: "format" | "invalid" } {
  const hex = text.trim();
  if (!HEX_KEY.test(hex)) return { problem: "format" };
  try {
    return { publicKey: new SigningKey(hex.startsWith("0x") ? hex : `0x${hex}`).publicKey.slice(4).toLowerCase() };
  } catch {
    return { problem: "invalid" };
  }
}
