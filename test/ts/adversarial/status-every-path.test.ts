/**
 * A locked and a superseded credential presented on every verifier path — online chain reads, the local index, a
 * signed offline snapshot, and the online view falling back to the index while the node is down — must be refused
 * for the same reason everywhere, and an unlock must be honoured everywhere too (no path keeps a stale "locked" or,
 * worse, a stale "active"). The phone's clock and the verifiers' follow the chain.
 */
import { expect } from "chai";
import { Wallet, type HDNodeWallet } from "ethers";
import { civilIdWorld } from "../helpers/world.js";
import { LedgerIndex } from "../../../sdk/status/ledger-index.js";
import { OnlineLedgerView, type LedgerView } from "../../../sdk/status/ledger-view.js";
import { ChallengeRegistry, POLICIES, PresentationVerifier, type RefusalCode } from "../../../sdk/verifier/index.js";
import { OfflineLedgerView, buildSnapshot, readLedgerState, signSnapshot, type LedgerSnapshotDocument } from "../../../sdk/status-list/index.js";
import { ReasonCode } from "../../../sdk/chain/codes.js";

const AUD = "gate:sejong-complex-1";

describe("adversarial: a locked or superseded credential under every verifier path", function () {
  let w: Awaited<ReturnType<typeof civilIdWorld>>;
  const members = Array.from({ length: 3 }, () => Wallet.createRandom());
  let holders: HDNodeWallet[];
  let creds: Awaited<ReturnType<typeof w.issueTo>>[];
  let index: LedgerIndex;

  before(async function () {
    w = await civilIdWorld();
    holders = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
    creds = [];
    creds.push(await w.issueTo(holders[0]!, "person-active"));
    creds.push(await w.issueTo(holders[1]!, "person-locked"));
    creds.push(await w.issueTo(holders[2]!, "person-reissued")); // superseded below by a reissue to a new phone
    await w.registrar.lock(creds[1]!.credentialId, "LOST_DEVICE");
    const reissued = await w.issueTo(Wallet.createRandom(), "person-reissued");
    expect(reissued.supersededId).to.equal(creds[2]!.credentialId);
    index = new LedgerIndex({ provider: w.provider, deployment: w.ledger.deployment });
  });

  async function offlineView(): Promise<OfflineLedgerView> {
    await index.sync();
    const state = await readLedgerState({ ledger: w.ledger, provider: w.provider, digests: index });
    const view = new OfflineLedgerView({
      chainId: w.chainId, statusRegistry: w.ledger.deployment.statusRegistry, trustedSigners: members.map((m) => m.address), threshold: 2,
      maxStalenessMs: 3_600_000, now: () => w.clock.now(),
    });
    await view.install(members.slice(0, 2).reduce<LedgerSnapshotDocument>((doc, m) => signSnapshot(doc, m.signingKey, state.blockTimestamp), buildSnapshot(state)));
    return view;
  }

  /** The online view with a node that is down, falling back to the (synced) index. */
  function downOnline(): OnlineLedgerView {
    const down = new OnlineLedgerView(w.ledger, w.provider);
    const fail = () => Promise.reject(new Error("connect ECONNREFUSED (test: the node is down)"));
    return Object.assign(Object.create(down) as OnlineLedgerView, { issuerTrust: fail, credentialStatus: fail });
  }

  async function paths(): Promise<[string, LedgerView, LedgerView | undefined][]> {
    await w.clock.sync();
    await index.sync();
    return [
      ["online", new OnlineLedgerView(w.ledger, w.provider), undefined],
      ["index", index, undefined],
      ["offline snapshot", await offlineView(), undefined],
      ["online down → index", downOnline(), index],
    ];
  }

  async function tap(ledger: LedgerView, fallback: LedgerView | undefined, i: number) {
    const verifier = new PresentationVerifier({ ledger, ...(fallback ? { fallback } : {}), challenges: new ChallengeRegistry(), now: w.clock.now });
    const challenge = verifier.issueChallenge();
    const vp = await w.present(holders[i]!, creds[i]!.jwt, challenge, AUD, 60, await w.clock.sync());
    return verifier.verify(vp, { challenge, audience: AUD, policy: POLICIES.buildingGate });
  }

  it("refuses the locked one CREDENTIAL_LOCKED and the superseded one CREDENTIAL_SUPERSEDED on every path; the active one passes", async () => {
    for (const [name, ledger, fallback] of await paths()) {
      const expected: (readonly RefusalCode[])[] = [[], ["CREDENTIAL_LOCKED"], ["CREDENTIAL_SUPERSEDED"]];
      for (const [i, reasons] of expected.entries()) {
        const result = await tap(ledger, fallback, i);
        expect(result.reasons, `${name}, credential ${i}: ${result.details.join("; ")}`).to.deep.equal(reasons);
        expect(result.ok, name).to.equal(reasons.length === 0);
        if (i === 1) expect(result.statusReason, name).to.equal("LOST_DEVICE");
        if (i === 2) expect(result.statusReason, name).to.equal("SUPERSEDED_BY_REISSUE");
        if (fallback !== undefined) expect(result.ledgerSource, name).to.equal("fallback");
      }
    }
  });

  it("after an unlock every path accepts it from the next snapshot or sync on; a superseded credential stays refused", async () => {
    await w.registrar.unlock(creds[1]!.credentialId, ReasonCode.FOUND_DEVICE);
    for (const [name, ledger, fallback] of await paths()) {
      expect((await tap(ledger, fallback, 1)).reasons, name).to.deep.equal([]);
      expect((await tap(ledger, fallback, 2)).reasons, name).to.deep.equal(["CREDENTIAL_SUPERSEDED"]);
    }
  });
});
