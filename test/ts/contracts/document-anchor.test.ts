import { expect } from "chai";
import { ZeroHash, keccak256, toUtf8Bytes } from "ethers";
import { useFixture, mined } from "../helpers/ledger-test.js";
import { anchor, anchoredAt, buildAnchorTree, leafOf, processProof } from "../../../sdk/anchor/index.js";
import { parseDeployment } from "../../../sdk/chain/deployment.js";
import type { DocumentAnchor } from "../../../sdk/chain/contracts.js";

const digest = (label: string | number) => keccak256(toUtf8Bytes(`document-signature|${label}`));
const digests = (n: number, tag = "d") => Array.from({ length: n }, (_, i) => digest(`${tag}-${i}`));

describe("DocumentAnchor and sdk/anchor", function () {
  const fx = useFixture({ accredit: false });
  const contract = (): DocumentAnchor => {
    const c = fx.f.ledger.documentAnchor;
    if (!c) throw new Error("the deployment has no DocumentAnchor");
    return c;
  };

  it("is deployed with the consortium and recorded in the deployment file", async function () {
    const address = fx.f.ledger.deployment.documentAnchor!;
    expect(await fx.f.ethers.provider.getCode(address)).to.not.equal("0x");
    expect(parseDeployment(JSON.parse(JSON.stringify(fx.f.ledger.deployment))).documentAnchor).to.equal(address);
    const { documentAnchor: _omitted, ...older } = fx.f.ledger.deployment;
    expect(parseDeployment(JSON.parse(JSON.stringify(older))).documentAnchor).to.equal(undefined);
    expect(() => parseDeployment({ ...fx.f.ledger.deployment, documentAnchor: "0x12" })).to.throw(/documentAnchor/);
  });

  it("the JS tree's leaves and proofs verify with MerkleProof.sol for every batch size 1..17", async function () {
    for (let n = 1; n <= 17; n++) {
      const batch = digests(n, `size${n}`);
      const tree = buildAnchorTree(batch);
      await mined(contract().anchor(tree.root, n));
      const block = await fx.f.ethers.provider.getBlockNumber();
      for (const d of batch) {
        expect(await contract().leafOf(d)).to.equal(leafOf(d));
        const proof = tree.proof(d);
        expect(processProof(leafOf(d), proof)).to.equal(tree.root);
        expect(Number((await contract().anchoredAt(d, proof))[0]), `size ${n}`).to.equal(block);
      }
    }
  });

  it("anchors a batch in one transaction and reports each signature's anchoring block; a tampered proof is not anchored", async function () {
    const batch = digests(1000);
    const anchored = await anchor(contract(), batch);
    console.log(`      anchor(1,000 signatures): ${anchored.gasUsed} gas, ${Number(anchored.gasUsed) / 1000} per signature`);
    expect(anchored.gasUsed < 60_000n).to.equal(true);
    const block = await fx.f.ethers.provider.getBlock(anchored.blockNumber);
    for (const d of [batch[0]!, batch[499]!, batch[999]!]) {
      const at = await anchoredAt(contract(), d, anchored.proofs.get(d)!);
      expect(at).to.deep.equal({ blockNumber: block!.number, blockHash: block!.hash, timestamp: block!.timestamp, root: anchored.root });
    }
    const proof = [...anchored.proofs.get(batch[1]!)!];
    expect(await anchoredAt(contract(), digest("forged"), proof)).to.equal(undefined);
    proof[0] = digest("tampered");
    expect(await anchoredAt(contract(), batch[1]!, proof)).to.equal(undefined);
    await expect(contract().anchor(anchored.root, 1000)).to.be.revertedWithCustomError(contract(), "AlreadyAnchored").withArgs(anchored.root, anchored.blockNumber);
    const [, , submitter] = await contract().anchorOf(anchored.root);
    expect(submitter).to.equal(fx.f.actors.deployer.address);
  });

  it("anyone may anchor (it only timestamps); the event names root, submitter and size; empty anchors are refused", async function () {
    const tree = buildAnchorTree(digests(3, "e"));
    await expect(contract().connect(fx.f.actors.outsider).anchor(tree.root, 3))
      .to.emit(contract(), "RootAnchored").withArgs(tree.root, fx.f.actors.outsider.address, 3);
    await expect(contract().anchor(ZeroHash, 1)).to.be.revertedWithCustomError(contract(), "InvalidAnchor").withArgs(ZeroHash, 1);
    await expect(contract().anchor(digest("x"), 0)).to.be.revertedWithCustomError(contract(), "InvalidAnchor").withArgs(digest("x"), 0);
  });

  it("refuses malformed input before sending anything", function () {
    expect(() => buildAnchorTree([])).to.throw(/1\.\./);
    expect(() => buildAnchorTree([digest(1), digest(1)])).to.throw(/repeat/);
    expect(() => buildAnchorTree(["0x1234"])).to.throw(/32-byte/);
    expect(() => buildAnchorTree([digest(1)]).proof(digest(2))).to.throw(/not in this anchor batch/);
    expect(() => processProof(leafOf(digest(1)), ["nope"])).to.throw(/proof element/);
  });
});
