/**
 * How a verifier learns when a document signature was anchored, without trusting one node: the root the signature's
 * proof leads to is looked up in DocumentAnchor at a block that `quorum` nodes agree on (sdk/status/quorum.ts), so a
 * single lying node can neither invent an anchor (a backdated signature) nor hide one.
 */
import { getAddress } from "ethers";
import { CivilIdError } from "../errors.js";
import { DocumentAnchor__factory, type DocumentAnchor } from "../chain/contracts.js";
import type { NodeQuorum } from "../status/quorum.js";
import type { AnchorTime } from "./client.js";
import { anchoredAt } from "./client.js";
import { leafOf, processProof } from "./merkle.js";

/** Answers "when was this signature digest anchored?" for one DocumentAnchor contract. */
export interface DocumentAnchorReader {
  /** The DocumentAnchor contract (checksummed) this reader asks; a signature anchored elsewhere is not its to date. */
  readonly contract: string;
  /** The anchoring block of the root `proof` leads to from `digest`'s leaf, or undefined if that root was never anchored. */
  anchoredAt(digest: string, proof: readonly string[]): Promise<AnchorTime | undefined>;
}

const anchorIface = DocumentAnchor__factory.createInterface();

/** Reads anchors through a quorum of nodes (the same quorum as the verifier's OnlineLedgerView: `view.quorum`). */
export class QuorumAnchorReader implements DocumentAnchorReader {
  readonly contract: string;

  constructor(private readonly quorum: NodeQuorum, contract?: string) {
    const address = contract ?? quorum.deployment.documentAnchor;
    if (address === undefined) throw new CivilIdError("INVALID_DEPLOYMENT", "The deployment has no DocumentAnchor: document signatures cannot be dated. Redeploy, or add its address to the deployment file.");
    this.contract = getAddress(address);
  }

  async anchoredAt(digest: string, proof: readonly string[]): Promise<AnchorTime | undefined> {
    const root = processProof(leafOf(digest), proof);
    const height = await this.quorum.head();
    const data = anchorIface.encodeFunctionData("anchorOf", [root]);
    const { value } = await this.quorum.agree(`the anchor of ${root}`, height, (node) => node.call(this.contract, data, height), (v) => v);
    let blockNumber: bigint;
    let timestamp: bigint;
    try {
      [blockNumber, timestamp] = anchorIface.decodeFunctionResult("anchorOf", value) as unknown as [bigint, bigint, string];
    } catch (error) {
      throw new CivilIdError("CHAIN_UNREACHABLE", `The nodes' answer for the anchor of ${root} is not an anchorOf result.`, { cause: error });
    }
    if (blockNumber === 0n) return undefined;
    // The anchoring block's hash, agreed by the quorum at the same height (a signature's record names its block).
    const anchorBlock = Number(blockNumber);
    if (anchorBlock > height) throw new CivilIdError("LEDGER_DISAGREEMENT", `The agreed anchor of ${root} names block ${anchorBlock}, after the agreed head ${height}.`);
    const { value: blockHash } = await this.quorum.agree(`the hash of block ${anchorBlock}`, height, async (node) => (await node.blockHash(anchorBlock)) ?? "", (v) => v);
    if (blockHash === "") throw new CivilIdError("CHAIN_UNREACHABLE", `The nodes do not have block ${anchorBlock}.`);
    return { blockNumber: anchorBlock, blockHash, timestamp: Number(timestamp), root };
  }
}

/** A reader over one ethers handle (single node; the embedded network, tests, scripts). */
export function contractAnchorReader(contract: DocumentAnchor, address: string): DocumentAnchorReader {
  return { contract: getAddress(address), anchoredAt: (digest, proof) => anchoredAt(contract, digest, proof) };
}
