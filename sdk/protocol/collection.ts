/**
 * Collection of the issued credential by the device that activated the request. Issuance (registration on chain,
 * signing) happens after activation, on the issuing server's schedule, so the device comes back for its credential.
 * It proves possession of the device key again: it signs, with that key, an EIP-191 personal message naming the
 * chain, the request, its DID, a challenge of the server and the challenge's expiry. The challenge is a keyed hash
 * of the request, the DID and the expiry (see `IssuanceWorkflow.collectionChallenge`): nothing is stored, it cannot
 * be made without the server's key and it expires. It is not single-use — collecting is idempotent, it hands the
 * device its own credential again.
 */
import { verifyMessage } from "ethers";
import { isCanonicalEthrDid, parseEthrDid } from "../did/did.js";

export const COLLECTION_PREFIX = "mobile-civil-id credential collection v1";
/** How long a collection challenge may be answered. */
export const COLLECTION_TTL_MS = 5 * 60_000;

export interface CollectionChallenge {
  readonly chainId: number;
  readonly requestId: string;
  /** 0x-prefixed 32-byte hex. */
  readonly challenge: string;
  /** ISO 8601 (UTC); part of what the challenge is bound to. */
  readonly expiresAt: string;
}

/** The exact text the device signs to collect its credential (with ethers `Wallet.signMessage` or any EIP-191 signer). */
export function collectionMessage(challenge: CollectionChallenge, subjectDid: string): string {
  return [
    COLLECTION_PREFIX,
    `chain: ${challenge.chainId}`,
    `request: ${challenge.requestId}`,
    `subject: ${subjectDid}`,
    `challenge: ${challenge.challenge}`,
    `expires: ${challenge.expiresAt}`,
  ].join("\n");
}

export type CollectionProofFailure = "MALFORMED_DID" | "WRONG_CHAIN" | "BAD_SIGNATURE";

/** Checks that `signature` over the collection message was made by the key of `did` on the challenge's chain (null when it was). */
export function checkCollectionSignature(challenge: CollectionChallenge, did: unknown, signature: unknown): CollectionProofFailure | null {
  if (!isCanonicalEthrDid(did)) return "MALFORMED_DID"; // one device, one DID spelling (see activation.ts)
  const { address, chainId } = parseEthrDid(did);
  if (chainId !== BigInt(challenge.chainId)) return "WRONG_CHAIN";
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) return "BAD_SIGNATURE";
  try {
    return verifyMessage(collectionMessage(challenge, did), signature) === address ? null : "BAD_SIGNATURE";
  } catch {
    return "BAD_SIGNATURE";
  }
}

/** Whether a collection challenge from the server is well formed (what a wallet checks before signing it). */
export function isCollectionChallenge(c: unknown): c is CollectionChallenge {
  const v = c as Record<string, unknown> | null;
  return (
    typeof v === "object" && v !== null && typeof v.chainId === "number" && Number.isSafeInteger(v.chainId) && v.chainId > 0 &&
    typeof v.requestId === "string" && v.requestId.length > 0 && v.requestId.length <= 128 && !/\p{Cc}/u.test(v.requestId) &&
    typeof v.challenge === "string" && /^0x[0-9a-fA-F]{64}$/.test(v.challenge) &&
    typeof v.expiresAt === "string" && !Number.isNaN(Date.parse(v.expiresAt))
  );
}
