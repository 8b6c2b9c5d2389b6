/**
 * The Token Status List's bit array (draft-ietf-oauth-status-list §4.1): `bits` per entry, entry i in byte
 * ⌊i·bits/8⌋ starting from the least significant bit, the byte array DEFLATE-compressed in the ZLIB format and
 * base64url-encoded as `lst`. Packed here with typed arrays (the @sd-jwt/jwt-status-list encoder builds a string
 * per entry, ~100× slower at 1.2 M entries); the tests decode our lists with that library as an independent check.
 */
import { deflateSync, inflateSync } from "node:zlib";
import { CredentialState } from "../chain/codes.js";

/** The status values the draft registers, and the one meaning each of our states maps to. */
export const TokenStatus = {
  /** 0x00 VALID: the credential is Active. */
  VALID: 0,
  /** 0x01 INVALID: Revoked (final), or no credential registered at this index at the list's block. */
  INVALID: 1,
  /** 0x02 SUSPENDED: Locked (reversible: a lost phone that may be found). */
  SUSPENDED: 2,
} as const;
export type TokenStatusValue = (typeof TokenStatus)[keyof typeof TokenStatus];

/** Our on-chain state → the list's status value. */
export function tokenStatusOf(state: CredentialState): TokenStatusValue {
  switch (state) {
    case CredentialState.Active:
      return TokenStatus.VALID;
    case CredentialState.Locked:
      return TokenStatus.SUSPENDED;
    case CredentialState.Revoked:
      return TokenStatus.INVALID;
  }
}

export const STATUS_BITS = 2;

/** Packs one status value (0..3) per entry into the list's byte array (2 bits per entry). */
export function packStatuses(values: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(values.length / 4));
  for (let i = 0; i < values.length; i++) out[i >> 2]! |= (values[i]! & 3) << ((i & 3) * 2);
  return out;
}

/** The `lst` value: zlib (level 9) of the packed bytes, base64url. */
export function compressStatuses(values: Uint8Array): string {
  return deflateSync(packStatuses(values), { level: 9 }).toString("base64url");
}

/**
 * Decompresses an `lst` of 2-bit entries into one byte per entry. `maxEntries` bounds the output, so a small
 * hostile `lst` cannot inflate into gigabytes. Throws on anything that is not a zlib stream of acceptable size.
 */
export function decompressStatuses(lst: string, maxEntries: number): Uint8Array {
  if (!/^[A-Za-z0-9_-]+$/.test(lst)) throw new Error("lst is not base64url");
  const packed = inflateSync(Buffer.from(lst, "base64url"), { maxOutputLength: Math.max(1, Math.ceil(maxEntries / 4)) });
  const values = new Uint8Array(packed.length * 4);
  for (let i = 0; i < values.length; i++) values[i] = (packed[i >> 2]! >> ((i & 3) * 2)) & 3;
  return values;
}
