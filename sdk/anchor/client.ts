/**
 * Anchoring document e-signatures on chain (DocumentAnchor): a signing service anchors the Merkle root of a batch of
 * signature digests in one transaction; a verifier takes the signing time from the anchoring block.
 *
 * For the document verifier (sdk/verifier, sdk/wallet): call `anchoredAt(anchor, digest, proof)` with the
 * signature's digest and the proof stored beside the signature. `undefined` means "not anchored" (report the
 * signature as unanchored and let the policy decide); otherwise the signature existed no later than the returned
 * block's timestamp, which is the signing time to check against the credential's validity and status.
 */
import { getAddress, type ContractTransactionResponse } from "ethers";
import { signatureAnchorDigest, type DocumentSignature } from "../protocol/document-signature.js";
import { CivilIdError } from "../errors.js";
import type { DocumentAnchor } from "../chain/contracts.js";
import { toCivilIdError } from "../chain/errors.js";
import { buildAnchorTree, leafOf, processProof } from "./merkle.js";

/** Where and when an anchored digest's root was first anchored. */
export interface AnchorTime {
  readonly blockNumber: number;
  readonly blockHash: string;
  /** Unix seconds of the anchoring block. */
  readonly timestamp: number;
  /** The Merkle root the proof leads to. */
  readonly root: string;
}

/** The outcome of anchoring a batch: the transaction, and each digest's proof to keep beside its signature. */
export interface AnchoredBatch {
  readonly root: string;
  readonly txHash: string;
  readonly blockNumber: number;
  readonly gasUsed: bigint;
  readonly proofs: ReadonlyMap<string, readonly string[]>;
}

/** Anchors the Merkle root of `digests` (distinct 32-byte document-signature digests) in one transaction. */
export async function anchor(contract: DocumentAnchor, digests: readonly string[]): Promise<AnchoredBatch> {
  const tree = buildAnchorTree(digests);
  const receipt = await send(contract, () => contract.anchor(tree.root, tree.size));
  const proofs = new Map<string, readonly string[]>(digests.map((d) => [d.toLowerCase(), tree.proof(d)]));
  return { root: tree.root, txHash: receipt.hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed, proofs };
}

/**
 * When `digest` was anchored, read from the chain: the root its proof leads to, that root's anchoring block (number,
 * hash, timestamp). `undefined` if the root was never anchored. The block is re-read and must agree with the
 * contract's record (a node answering inconsistently is refused with CHAIN_UNREACHABLE rather than trusted).
 */
export async function anchoredAt(contract: DocumentAnchor, digest: string, proof: readonly string[]): Promise<AnchorTime | undefined> {
  const root = processProof(leafOf(digest), proof);
  let record: { blockNumber: bigint; timestamp: bigint };
  try {
    const [blockNumber, timestamp] = await contract.anchorOf(root);
    record = { blockNumber, timestamp };
  } catch (error) {
    throw toCivilIdError(error, contract.interface, "Anchor query");
  }
  if (record.blockNumber === 0n) return undefined;
  const provider = contract.runner?.provider;
  if (!provider) throw new CivilIdError("INVALID_INPUT", "The DocumentAnchor handle has no provider.");
  const block = await provider.getBlock(Number(record.blockNumber));
  if (!block || !block.hash || BigInt(block.timestamp) !== record.timestamp) {
    throw new CivilIdError("CHAIN_UNREACHABLE", `The node's block ${record.blockNumber} does not match the anchor record; try another node.`);
  }
  return { blockNumber: block.number, blockHash: block.hash, timestamp: block.timestamp, root };
}

/**
 * Anchors document signatures (one, or a batch in one transaction) and returns each with its `anchor` (the contract
 * and the proof to keep beside the signature). The anchoring block's time becomes their signing time.
 */
export async function anchorSignatures(contract: DocumentAnchor, signatures: readonly DocumentSignature[]): Promise<{ batch: AnchoredBatch; signatures: DocumentSignature[] }> {
  const digests = signatures.map((s) => signatureAnchorDigest(s.jwt).toLowerCase());
  if (new Set(digests).size !== digests.length) throw new CivilIdError("INVALID_INPUT", "The same signature is given twice: anchor each signature once.");
  const address = getAddress(await contract.getAddress());
  const batch = await anchor(contract, digests);
  return {
    batch,
    signatures: signatures.map((s, i) => ({ ...s, anchor: { contract: address, proof: [...batch.proofs.get(digests[i]!)!] } })),
  };
}

async function send(contract: DocumentAnchor, call: () => Promise<ContractTransactionResponse>) {
  try {
    const receipt = await (await call()).wait();
    if (!receipt || receipt.status !== 1) throw new CivilIdError("CONTRACT_REVERTED", "The anchor transaction failed.");
    return receipt;
  } catch (error) {
    throw toCivilIdError(error, contract.interface, "Anchoring");
  }
}
