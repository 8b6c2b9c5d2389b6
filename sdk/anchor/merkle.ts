/**
 * The Merkle tree of a batch of document-signature digests, laid out exactly like OpenZeppelin's
 * `StandardMerkleTree.of(digests.map((d) => [d]), ["bytes32"])` (@openzeppelin/merkle-tree, not a dependency here):
 * leaves are `keccak256(keccak256(abi.encode(digest)))` (double-hashed, so a leaf can never be mistaken for an inner
 * node), sorted, stored as a complete binary tree in one array, inner nodes `keccak256` of the sorted pair. Proofs
 * verify with OpenZeppelin's `MerkleProof` on chain (`DocumentAnchor.anchoredAt`) and with `processProof` here.
 */
import { AbiCoder, concat, getBytes, hexlify, isHexString, keccak256 } from "ethers";
import { CivilIdError } from "../errors.js";

/** Most digests one anchored batch may cover (proof length ≤ 17; the batch is built in memory). */
export const MAX_ANCHOR_BATCH = 1 << 17;

const coder = AbiCoder.defaultAbiCoder();

/** The leaf of one digest: `keccak256(bytes.concat(keccak256(abi.encode(digest))))` (DocumentAnchor.leafOf). */
export function leafOf(digest: string): string {
  return keccak256(keccak256(coder.encode(["bytes32"], [checkDigest(digest)])));
}

/** Commutative pair hash of MerkleProof.sol: keccak256 of the two nodes, smaller first. */
export function hashPair(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]));
}

/** The root a proof leads to from `leaf` (MerkleProof.processProof). */
export function processProof(leaf: string, proof: readonly string[]): string {
  let node = leaf;
  for (const sibling of proof) node = hashPair(node, hexlify(checkDigest(sibling, "proof element")));
  return node;
}

/** A built tree: its root and the inclusion proof of every digest. */
export interface AnchorTree {
  readonly root: string;
  readonly size: number;
  /** The proof of `digest` (sibling hashes from the leaf up); throws if the digest is not in the tree. */
  proof(digest: string): string[];
}

/** Builds the tree over distinct 32-byte digests (1..MAX_ANCHOR_BATCH). */
export function buildAnchorTree(digests: readonly string[]): AnchorTree {
  const count = (digests as readonly unknown[] | undefined)?.length ?? 0;
  if (count < 1 || count > MAX_ANCHOR_BATCH) {
    throw new CivilIdError("INVALID_INPUT", `An anchor batch needs 1..${MAX_ANCHOR_BATCH} digests (got ${count}).`);
  }
  const leaves = digests.map((d) => ({ digest: hexlify(checkDigest(d)), leaf: leafOf(d) }));
  const seen = new Set(leaves.map((l) => l.digest));
  if (seen.size !== leaves.length) throw new CivilIdError("INVALID_INPUT", "An anchor batch must not repeat a digest.");
  leaves.sort((x, y) => (BigInt(x.leaf) < BigInt(y.leaf) ? -1 : BigInt(x.leaf) > BigInt(y.leaf) ? 1 : 0));
  const n = leaves.length;
  const tree: string[] = new Array<string>(2 * n - 1);
  const position = new Map<string, number>();
  leaves.forEach((l, i) => {
    tree[tree.length - 1 - i] = l.leaf;
    position.set(l.digest, tree.length - 1 - i);
  });
  for (let i = tree.length - 1 - n; i >= 0; i--) tree[i] = hashPair(tree[2 * i + 1]!, tree[2 * i + 2]!);
  return {
    root: tree[0]!,
    size: n,
    proof(digest: string): string[] {
      let index = position.get(hexlify(checkDigest(digest)));
      if (index === undefined) throw new CivilIdError("INVALID_INPUT", `The digest ${digest} is not in this anchor batch.`);
      const proof: string[] = [];
      while (index > 0) {
        proof.push(tree[index % 2 === 1 ? index + 1 : index - 1]!);
        index = Math.floor((index - 1) / 2);
      }
      return proof;
    },
  };
}

function checkDigest(value: unknown, what = "digest"): Uint8Array {
  if (typeof value !== "string" || !isHexString(value, 32)) {
    throw new CivilIdError("INVALID_INPUT", `The ${what} must be a 32-byte hex string (0x + 64 hex digits).`);
  }
  return getBytes(value);
}
