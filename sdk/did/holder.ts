/**
 * Holder identifiers: `did:ethr` for secp256k1 device keys (the address of the key), `did:jwk` for P-256 device
 * keys (the key itself). One parser and one equality for every party: holder equality is decided here only.
 */
import { tryParseEthrDid, type ParsedEthrDid } from "./did.js";
import { tryParseDidJwk, type P256Jwk } from "./jwk.js";

export type ParsedHolderDid =
  | ({ readonly method: "ethr" } & ParsedEthrDid)
  | { readonly method: "jwk"; readonly jwk: P256Jwk; readonly did: string };

/** Parses a holder DID (did:ethr in canonical hex form, or a canonical did:jwk of a P-256 key); undefined otherwise. */
export function parseHolderDid(did: unknown): ParsedHolderDid | undefined {
  const ethr = tryParseEthrDid(did);
  if (ethr !== undefined) return { method: "ethr", ...ethr };
  const jwk = tryParseDidJwk(did);
  return jwk === undefined ? undefined : { method: "jwk", jwk, did: did as string };
}

/** True when both strings name the same holder (address case does not matter for did:ethr). */
export function sameHolderDid(a: unknown, b: unknown): boolean {
  const pa = parseHolderDid(a);
  const pb = parseHolderDid(b);
  return pa !== undefined && pb !== undefined && pa.did === pb.did;
}
