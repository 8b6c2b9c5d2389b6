/**
 * Proof of possession of the device key at activation. The device signs, with its secp256k1 device key, an
 * EIP-191 personal message (ethers `signMessage`) that names the chain, the request, its subject DID and the
 * server's random challenge; the server recovers the signer with `verifyMessage`. Binding the DID and the
 * challenge into the text means a signature cannot be replayed for another request, device or invitation.
 */
import { SigningKey, computeAddress, verifyMessage } from "ethers";
import { CivilIdError } from "../errors.js";
import { isCanonicalEthrDid, parseEthrDid } from "../did/did.js";

export const ACTIVATION_PREFIX = "mobile-civil-id activation v1";

export interface ActivationChallenge {
  readonly chainId: number;
  readonly requestId: string;
  /** 0x-prefixed 32-byte hex, fresh per invitation. */
  readonly challenge: string;
}

/** The exact text the device signs (with ethers `Wallet.signMessage` or any EIP-191 signer). */
export function activationMessage(challenge: ActivationChallenge, subjectDid: string): string {
  return [
    ACTIVATION_PREFIX,
    `chain: ${challenge.chainId}`,
    `request: ${challenge.requestId}`,
    `subject: ${subjectDid}`,
    `challenge: ${challenge.challenge}`,
  ].join("\n");
}

/**
 * Why a possession proof was refused (null when it holds). MALFORMED_DID includes a DID not in its canonical
 * spelling (e.g. a lower-case address): one device, one DID string, so a bound device can never open a second
 * request under another spelling of its DID.
 */
export type ProofFailure = "MALFORMED_DID" | "WRONG_CHAIN" | "MALFORMED_PUBLIC_KEY" | "KEY_NOT_OF_DID" | "BAD_SIGNATURE";

/**
 * Checks that `publicKey` is the key of `did` on `challenge.chainId` and that `signature` over the activation
 * message was made by it. Returns the failure reason, or null and the normalised (uncompressed) public key.
 */
export function checkPossessionProof(
  challenge: ActivationChallenge,
  did: unknown,
  publicKey: unknown,
  signature: unknown,
): { failure: ProofFailure } | { failure: null; publicKey: string; address: string } {
  if (!isCanonicalEthrDid(did)) return { failure: "MALFORMED_DID" };
  const { address, chainId } = parseEthrDid(did);
  if (chainId !== BigInt(challenge.chainId)) return { failure: "WRONG_CHAIN" };
  let uncompressed: string;
  try {
    if (typeof publicKey !== "string") throw new Error("not a string");
    uncompressed = SigningKey.computePublicKey(publicKey, false);
  } catch {
    return { failure: "MALFORMED_PUBLIC_KEY" };
  }
  if (computeAddress(uncompressed) !== address) return { failure: "KEY_NOT_OF_DID" };
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) return { failure: "BAD_SIGNATURE" };
  let signer: string;
  try {
    signer = verifyMessage(activationMessage(challenge, did), signature);
  } catch {
    return { failure: "BAD_SIGNATURE" };
  }
  if (signer !== address) return { failure: "BAD_SIGNATURE" };
  return { failure: null, publicKey: uncompressed, address };
}

/** Validates the shape of an activation code / token before any lookup (cheap refusal of garbage). */
export function checkActivationInput(token: unknown, code: unknown): { token: string; code: string } {
  if (typeof token !== "string" || !/^[A-Za-z0-9_-]{43}$/.test(token)) {
    throw new CivilIdError("INVITATION_INVALID", "The activation link is not valid; use the link from the latest SMS.");
  }
  if (typeof code !== "string" || !/^[0-9]{4,12}$/.test(code.trim())) {
    throw new CivilIdError("ACTIVATION_FAILED", "The activation code must be the digits from the SMS.");
  }
  return { token, code: code.trim() };
}

/** Whether an activation challenge from the server is well formed (what a wallet checks before signing it). */
export function isActivationChallenge(c: unknown): c is ActivationChallenge {
  const v = c as Record<string, unknown> | null;
  return (
    typeof v === "object" && v !== null && typeof v.chainId === "number" && Number.isSafeInteger(v.chainId) && v.chainId > 0 &&
    typeof v.requestId === "string" && v.requestId.length > 0 && v.requestId.length <= 128 && !/\p{Cc}/u.test(v.requestId) &&
    typeof v.challenge === "string" && /^0x[0-9a-fA-F]{64}$/.test(v.challenge)
  );
}
