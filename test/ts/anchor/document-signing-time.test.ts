/**
 * Document e-signatures take their signing time from the chain (issue #10 §2): the block that anchored the signature
 * in DocumentAnchor, never the signer's `iat`. Validity (expiry, status) is judged at that block, so a holder cannot
 * backdate a signature into a credential's old validity, nor sign with a credential after it was locked; a signature
 * without an anchor is SIGNATURE_UNANCHORED unless the policy accepts it. Every case here was accepted before (the
 * verifier judged the signature at the signer's claimed time).
 */
import { expect } from "chai";
import { Wallet, type HDNodeWallet } from "ethers";
import { anchorSignatures, buildAnchorTree } from "../../../sdk/anchor/index.js";
import { QuorumAnchorReader } from "../../../sdk/anchor/reader.js";
import type { DocumentAnchor } from "../../../sdk/chain/contracts.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { es256kSigner } from "../../../sdk/protocol/signers.js";
import { signDocumentJwt, signatureAnchorDigest, type DocumentSignature } from "../../../sdk/protocol/document-signature.js";
import { ledgerNodeFromProvider, type LedgerNode } from "../../../sdk/status/ledger-node.js";
import { LedgerIndex } from "../../../sdk/status/ledger-index.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import { ChallengeRegistry } from "../../../sdk/verifier/challenges.js";
import { POLICIES, acceptingUnanchoredSignatures, type UsePolicy } from "../../../sdk/verifier/policies.js";
import { PresentationVerifier, type DocumentVerificationResult, type VerifierOptions } from "../../../sdk/verifier/verifier.js";
import { civilIdWorld } from "../helpers/world.js";

type World = Awaited<ReturnType<typeof civilIdWorld>>;
const DAY = 86_400;
const DOCUMENT = new TextEncoder().encode("출장 신청서: 2026-12-01 세종 → 서울");

describe("document signatures: the signing time comes from the chain (DocumentAnchor)", function () {
  let w: World;
  let snapshot: Awaited<ReturnType<World["networkHelpers"]["takeSnapshot"]>>;
  let holder: HDNodeWallet | Wallet;
  let chainNow: number;
  const anchorContract = (): DocumentAnchor => w.ledger.documentAnchor!;
  const latest = async () => (await w.provider.getBlock("latest"))!.timestamp;

  before(async () => {
    w = await civilIdWorld();
    holder = Wallet.createRandom();
    snapshot = await w.networkHelpers.takeSnapshot();
  });
  beforeEach(async () => {
    chainNow = await latest();
  });
  afterEach(async () => {
    await snapshot.restore();
  });

  /** A verifier whose clock is the chain's (read before each verification) and that dates signatures through its quorum. */
  function verifier(options: Partial<VerifierOptions> = {}): PresentationVerifier {
    const ledger = new OnlineLedgerView(w.ledger, w.provider);
    return new PresentationVerifier({ ledger, challenges: new ChallengeRegistry(), anchors: new QuorumAnchorReader(ledger.quorum), now: () => chainNow * 1000, ...options });
  }
  async function verify(signature: DocumentSignature, v = verifier(), policy: UsePolicy = POLICIES.documentSignature): Promise<DocumentVerificationResult> {
    chainNow = await latest();
    return v.verifySignedDocument({ signature: signature.jwt, document: DOCUMENT, credential: signature.credential, anchor: signature.anchor, policy });
  }
  /** A signature by `holder` claiming signing time `iat` (the signer's clock: anything it likes). */
  async function sign(credential: string, iat: number, purpose = "출장 신청서 결재"): Promise<DocumentSignature> {
    return signDocumentJwt({ signerDid: didForAddress(w.chainId, holder.address), signer: es256kSigner(holder.privateKey), credential, credentialStatusId: undefined, document: DOCUMENT, purpose, now: iat });
  }
  const anchorOne = async (s: DocumentSignature, contract = anchorContract()) => (await anchorSignatures(contract, [s])).signatures[0]!;
  const accepted = (r: DocumentVerificationResult) => expect([r.ok, r.reasons, r.details]).to.deep.equal([true, [], []]);
  const refused = (r: DocumentVerificationResult, reasons: string[]) => expect(r.reasons, r.details.join(" | ")).to.deep.equal(reasons);

  it("an anchored signature is dated by its anchoring block, not by the signer's claim", async () => {
    const { jwt } = await w.issueTo(holder, "person-1");
    const claimed = chainNow - 3 * DAY; // the signer's clock says three days ago
    const signature = await anchorOne(await sign(jwt, claimed));
    const block = (await w.provider.getBlock("latest"))!;
    const r = await verify(signature);
    accepted(r);
    expect(r.signedAt).to.equal(new Date(block.timestamp * 1000).toISOString());
    expect(r.signingTime).to.deep.equal({
      anchored: true, at: r.signedAt, blockNumber: block.number, blockHash: block.hash, root: signatureAnchorDigestLeaf(signature),
      claimed: new Date(claimed * 1000).toISOString(),
    });
    expect(r.purpose).to.equal("출장 신청서 결재");
  });

  it("backdating: a credential that expired (not revoked) cannot sign a document dated inside its old validity", async () => {
    const issuedAt = await latest();
    const { jwt } = await w.issueTo(holder, "person-1", undefined, 2 * DAY);
    await w.networkHelpers.time.increase(3 * DAY);
    const backdated = await sign(jwt, issuedAt + DAY); // inside the old validity, by the signer's claim
    refused(await verify(await anchorOne(backdated)), ["CREDENTIAL_EXPIRED"]);
    // Unanchored and accepted by policy, it is judged as if made now: still expired.
    refused(await verify(backdated, verifier(), acceptingUnanchoredSignatures(POLICIES.documentSignature)), ["CREDENTIAL_EXPIRED"]);
  });

  it("a signature anchored while the credential was valid stays valid after it expires", async () => {
    const { jwt } = await w.issueTo(holder, "person-1", undefined, 2 * DAY);
    const signature = await anchorOne(await sign(jwt, chainNow));
    const anchoredAt = await latest();
    await w.networkHelpers.time.increase(3 * DAY);
    const r = await verify(signature);
    accepted(r);
    expect(r.signedAt).to.equal(new Date(anchoredAt * 1000).toISOString());
  });

  it("anchored after the lock (lost phone): refused CREDENTIAL_LOCKED even when the signer claims a time before it", async () => {
    const { jwt, credentialId } = await w.issueTo(holder, "person-1");
    const claimedBeforeLock = await sign(jwt, chainNow);
    await w.registrar.lock(credentialId, "LOST_DEVICE");
    const r = await verify(await anchorOne(claimedBeforeLock));
    refused(r, ["CREDENTIAL_LOCKED"]);
    expect(r.statusReason).to.equal("LOST_DEVICE");
  });

  it("anchored before the lock: the signature was made while the credential was active and stays valid", async () => {
    const { jwt, credentialId } = await w.issueTo(holder, "person-1");
    const signature = await anchorOne(await sign(jwt, chainNow));
    await w.registrar.lock(credentialId, "LOST_DEVICE");
    accepted(await verify(signature));
  });

  it("unanchored: SIGNATURE_UNANCHORED by default; a policy that accepts it judges it now and says it is unanchored", async () => {
    const { jwt, credentialId } = await w.issueTo(holder, "person-1");
    const claimed = chainNow - DAY;
    const signature = await sign(jwt, claimed);
    refused(await verify(signature), ["SIGNATURE_UNANCHORED"]);
    const lenient = acceptingUnanchoredSignatures(POLICIES.documentSignature);
    const r = await verify(signature, verifier(), lenient);
    accepted(r);
    expect(r.signedAt).to.equal(undefined);
    expect(r.signingTime).to.deep.equal({ anchored: false, claimed: new Date(claimed * 1000).toISOString() });
    // A verifier without an anchor reader cannot date anything: every signature is unanchored to it.
    refused(await verify(await anchorOne(signature), new PresentationVerifier({ ledger: new OnlineLedgerView(w.ledger, w.provider), challenges: new ChallengeRegistry(), now: () => chainNow * 1000 })), ["SIGNATURE_UNANCHORED"]);
    await w.registrar.lock(credentialId, "LOST_DEVICE");
    refused(await verify(signature, verifier(), lenient), ["CREDENTIAL_LOCKED"]);
  });

  it("a proof for another root (another signature's, or a batch never anchored) is not an anchor", async () => {
    const { jwt } = await w.issueTo(holder, "person-1");
    const [one, two, three] = await Promise.all([sign(jwt, chainNow, "결재"), sign(jwt, chainNow, "열람 확인"), sign(jwt, chainNow, "협조")]);
    const { signatures: [anchoredOne] } = await anchorSignatures(anchorContract(), [one, await sign(jwt, chainNow, "합의")]);
    accepted(await verify(anchoredOne!));
    // Two's digest with one's proof leads to a root nobody anchored.
    refused(await verify({ ...two, anchor: anchoredOne!.anchor! }), ["SIGNATURE_UNANCHORED"]);
    // A genuine proof of a batch that was built but never anchored.
    const tree = buildAnchorTree([signatureAnchorDigest(three.jwt), signatureAnchorDigest(two.jwt)]);
    refused(await verify({ ...three, anchor: { contract: anchoredOne!.anchor!.contract, proof: tree.proof(signatureAnchorDigest(three.jwt)) } }), ["SIGNATURE_UNANCHORED"]);
    // Anchored in another DocumentAnchor (anyone can deploy one, with any times it likes to claim): refused.
    refused(await verify({ ...one, anchor: { contract: w.ledger.deployment.statusRegistry, proof: [] } }), ["SIGNATURE_ANCHOR_INVALID"]);
  });

  it("anyone may anchor (an accredited submitter is not needed): an anchor only proves the signature existed at its block", async () => {
    const { jwt } = await w.issueTo(holder, "person-1", undefined, 2 * DAY);
    const signature = await sign(jwt, chainNow);
    const byOutsider = await anchorOne(signature, anchorContract().connect(w.actors.outsider));
    const [, , submitter] = await anchorContract().anchorOf(buildAnchorTree([signatureAnchorDigest(signature.jwt)]).root);
    expect(submitter).to.equal(w.actors.outsider.address);
    accepted(await verify(byOutsider));
    // What an outsider cannot do is give a time earlier than its own block: anchoring later only dates it later.
    await w.networkHelpers.time.increase(3 * DAY);
    const late = await sign(jwt, chainNow);
    refused(await verify(await anchorOne(late, anchorContract().connect(w.actors.outsider))), ["CREDENTIAL_EXPIRED"]);
  });

  it("a batch of signatures is anchored in one transaction; each verifies with its own proof", async () => {
    const { jwt } = await w.issueTo(holder, "person-1");
    const batch = await Promise.all(Array.from({ length: 9 }, (_, i) => sign(jwt, chainNow, `결재 ${i}`)));
    const { batch: receipt, signatures } = await anchorSignatures(anchorContract(), batch);
    for (const s of signatures) {
      const r = await verify(s);
      accepted(r);
      expect(r.signingTime).to.include({ anchored: true, blockNumber: receipt.blockNumber, root: receipt.root });
    }
    await expectRejectsDuplicate(anchorSignatures(anchorContract(), [batch[0]!, batch[0]!]));
  });

  it("one lying node cannot invent an anchor: the anchor is read through the quorum (2 of 2 → LEDGER_DISAGREEMENT)", async () => {
    const { jwt } = await w.issueTo(holder, "person-1", undefined, 2 * DAY);
    await w.networkHelpers.time.increase(3 * DAY);
    const backdated = await sign(jwt, chainNow - 2 * DAY);
    const digest = signatureAnchorDigest(backdated.jwt);
    const anchorOf = anchorContract().interface.getFunction("anchorOf").selector;
    const honest = ledgerNodeFromProvider(w.provider, { name: "ministry-a" });
    const b = ledgerNodeFromProvider(w.provider, { name: "ministry-b" });
    const early = (await w.provider.getBlock(w.ledger.deployment.deploymentBlock + 1))!;
    // Answers every anchorOf with "anchored at an early block" (inside the credential's validity).
    const liar: LedgerNode = {
      name: b.name, chainId: () => b.chainId(), blockNumber: () => b.blockNumber(), blockHash: (h) => b.blockHash(h), getLogs: (q) => b.getLogs(q),
      call: (to, data, height) => (data.startsWith(anchorOf)
        ? Promise.resolve("0x" + [early.number, early.timestamp, 0].map((n) => n.toString(16).padStart(64, "0")).join(""))
        : b.call(to, data, height)),
    };
    const alone = new OnlineLedgerView({ deployment: w.ledger.deployment, nodes: [liar], quorum: 1 });
    expect(await new QuorumAnchorReader(alone.quorum).anchoredAt(digest, [])).to.include({ blockNumber: early.number }); // one node, believed
    const pair = new OnlineLedgerView({ deployment: w.ledger.deployment, nodes: [honest, liar], quorum: 2 });
    const v = new PresentationVerifier({ ledger: pair, challenges: new ChallengeRegistry(), anchors: new QuorumAnchorReader(pair.quorum), now: () => chainNow * 1000 });
    refused(await verify({ ...backdated, anchor: { contract: anchorContract().target as string, proof: [] } }, v), ["LEDGER_DISAGREEMENT"]);
  });

  it("a ledger view that keeps only the current status (the local index) refuses to judge an anchored signature", async () => {
    const { jwt } = await w.issueTo(holder, "person-1");
    const signature = await anchorOne(await sign(jwt, chainNow));
    const index = new LedgerIndex({ provider: w.provider, deployment: w.ledger.deployment });
    await index.sync();
    const online = new OnlineLedgerView(w.ledger, w.provider);
    const r = await verify(signature, verifier({ ledger: index, anchors: new QuorumAnchorReader(online.quorum) }));
    refused(r, ["LEDGER_UNAVAILABLE"]);
    expect(r.details[0]).to.match(/keeps only the current status/);
  });
});

function signatureAnchorDigestLeaf(signature: DocumentSignature): string {
  return buildAnchorTree([signatureAnchorDigest(signature.jwt)]).root;
}

async function expectRejectsDuplicate(promise: Promise<unknown>): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(String(error)).to.match(/same signature is given twice/);
    return;
  }
  expect.fail("a batch repeating a signature must be refused");
}
