/**
 * Issuer public keys for OpenSSL verification, one per accredited issuer address. The IssuerRegistry accredits
 * *addresses*; a credential's signature is accepted only if it was made by the key of its issuer DID's address —
 * never by another key that DID's document lists (a DIDRegistry `veriKey` delegate of an accredited key can
 * sign JWTs that did-jwt accepts against the DID document, but it is not the key the organisation accredited).
 *
 * The public key is recovered once from a signature (both recovery ids are tried; the one whose address is the
 * issuer's is kept) and cached per address: from then on every credential of that issuer is verified with
 * node:crypto against the cached key, with no recovery on the hot path. Caching by address is safe without any
 * trust decision — a key that hashes to the address IS that address's key; whether the address is accredited,
 * compromised or rotated out is asked of the ledger at every verification.
 */
import { createHash, type KeyObject } from "node:crypto";
import { Signature, SigningKey, computeAddress, hexlify } from "ethers";
import type { CompactJws } from "../credential/jws.js";
import { importPublicJwk, verifyJwsSignature } from "../credential/jws-verify.js";
import { deviceKeyJwk } from "../credential/device-key.js";

export class IssuerKeyCache {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly maxKeys = 10_000) {}

  /** Whether `jws` (ES256K, low-s) was signed by the key of `address`. */
  verify(jws: CompactJws, address: string): boolean {
    const known = this.keys.get(address);
    if (known) return verifyJwsSignature(jws, known, "ES256K");
    const key = recoverKeyOf(jws, address);
    if (key === undefined || !verifyJwsSignature(jws, key, "ES256K")) return false;
    if (this.keys.size >= this.maxKeys) {
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    this.keys.set(address, key);
    return true;
  }

  /** Seeds the key of an address (e.g. from a DID document's publicKeyHex); refused if it is not that address's. */
  learn(address: string, publicKey: string): boolean {
    if (computeAddress(publicKey) !== address) return false;
    this.keys.set(address, importPublicJwk(deviceKeyJwk(publicKey)));
    return true;
  }

  get size(): number {
    return this.keys.size;
  }
}

function recoverKeyOf(jws: CompactJws, address: string): KeyObject | undefined {
  if (jws.signature.length !== 64) return undefined;
  const digest = hexlify(createHash("sha256").update(jws.signingInput, "ascii").digest());
  const r = hexlify(jws.signature.subarray(0, 32));
  const s = hexlify(jws.signature.subarray(32));
  for (const v of [27, 28]) {
    let publicKey: string;
    try {
      publicKey = SigningKey.recoverPublicKey(digest, Signature.from({ r, s, v }));
    } catch {
      continue; // not a valid signature for this recovery id: try the other
    }
    if (computeAddress(publicKey) === address) return importPublicJwk(deviceKeyJwk(publicKey));
  }
  return undefined;
}
