export { anchor, anchorSignatures, anchoredAt, type AnchorTime, type AnchoredBatch } from "./client.js";
export { MAX_ANCHOR_BATCH, buildAnchorTree, hashPair, leafOf, processProof, type AnchorTree } from "./merkle.js";
export { QuorumAnchorReader, contractAnchorReader, type DocumentAnchorReader } from "./reader.js";
