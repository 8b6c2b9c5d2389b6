/**
 * Offline gate mode: a gate verifies taps from the latest signed ledger snapshot (no node), shows its age, refuses
 * once it is older than the bound, takes a newer snapshot from any source because it is signed by k trusted
 * members, and refuses tampered, wrongly signed, rolled-back and forked snapshots.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Wallet, type HDNodeWallet } from "ethers";
import { civilIdWorld } from "../helpers/world.js";
import { LedgerIndex } from "../../../sdk/status/ledger-index.js";
import { ChallengeRegistry, POLICIES, PresentationVerifier } from "../../../sdk/verifier/index.js";
import {
  OfflineLedgerView,
  buildSnapshot,
  isStatusListError,
  readLedgerState,
  signSnapshot,
  type LedgerSnapshotDocument,
  type LedgerState,
  type StatusListRefusal,
} from "../../../sdk/status-list/index.js";
import { decodeJsonSegment, encodeJsonPart } from "../../../sdk/status-list/jws.js";

const AUD = "gate:sejong-complex-1";

async function refused(promise: Promise<unknown>, reason: StatusListRefusal): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect(isStatusListError(error), String(error)).to.equal(true);
    expect((error as { reason: string; code: string }).reason, String(error)).to.equal(reason);
    expect((error as { code: string }).code).to.equal("SNAPSHOT_REFUSED");
    return;
  }
  expect.fail(`expected a ${reason} refusal`);
}

describe("Offline gate (OfflineLedgerView from signed ledger snapshots)", function () {
  let w: Awaited<ReturnType<typeof civilIdWorld>>;
  let dir: string;
  const members = Array.from({ length: 4 }, () => Wallet.createRandom());
  const trusted = members.map((m) => m.address);
  let holders: HDNodeWallet[];
  let creds: { jwt: string; credentialId: bigint; draft: { digest: string } }[];
  let first: LedgerState;
  /** Time that passed for the gate's snapshot only (presentations stay fresh). */
  let gateAge = 0;

  const sign = (state: LedgerState, by: readonly HDNodeWallet[] = members.slice(0, 3)) =>
    by.reduce<LedgerSnapshotDocument>((doc, m) => signSnapshot(doc, m.signingKey, state.blockTimestamp), buildSnapshot(state));
  const gate = (file?: string) =>
    new OfflineLedgerView({
      chainId: w.chainId,
      statusRegistry: w.ledger.deployment.statusRegistry,
      trustedSigners: trusted,
      threshold: 3,
      maxStalenessMs: 3_600_000,
      // The gate's clock and the holder's phone follow the chain (never Date.now(): see ChainClock).
      now: () => w.clock.now() + gateAge,
      ...(file ? { file } : {}),
    });
  const verifierOn = (view: OfflineLedgerView) =>
    new PresentationVerifier({ ledger: view, challenges: new ChallengeRegistry(), now: w.clock.now });
  async function tap(verifier: PresentationVerifier, i: number) {
    const challenge = verifier.issueChallenge();
    const vp = await w.present(holders[i]!, creds[i]!.jwt, challenge, AUD, 60, await w.clock.sync());
    return verifier.verify(vp, { challenge, audience: AUD, policy: POLICIES.buildingGate });
  }

  before(async function () {
    w = await civilIdWorld();
    dir = await mkdtemp(path.join(tmpdir(), "mcid-offline-"));
    holders = Array.from({ length: 3 }, () => Wallet.createRandom());
    creds = [];
    for (let i = 0; i < 3; i++) creds.push(await w.issueTo(holders[i]!, `person-${i}`));
    await w.registrar.lock(creds[1]!.credentialId, "LOST_DEVICE");
    await w.registrar.revoke(creds[2]!.credentialId, "LEFT_SERVICE");
    const index = new LedgerIndex({ provider: w.provider, deployment: w.ledger.deployment });
    await index.sync();
    first = await readLedgerState({ ledger: w.ledger, provider: w.provider, digests: index });
    await w.clock.sync();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("digests from the index and from the logs give the same snapshot", async () => {
    const fromLogs = await readLedgerState({ ledger: w.ledger, provider: w.provider, blockNumber: first.blockNumber, digests: "logs" });
    expect(buildSnapshot(fromLogs)).to.deep.equal(buildSnapshot(first));
  });

  it("verifies taps with no node: active accepted, locked and revoked refused; shows the snapshot's age", async () => {
    const view = gate();
    await refused(view.install(sign(first, members.slice(0, 2))), "INSUFFICIENT_SIGNATURES");
    const info = await view.install(sign(first));
    expect(info).to.include({ blockNumber: first.blockNumber, blockHash: first.blockHash });
    expect(info.signers).to.have.members(trusted.slice(0, 3));
    expect(view.ageMs).to.be.within(0, 60_000);
    const verifier = verifierOn(view);
    const ok = await tap(verifier, 0);
    expect(ok.ok, ok.details.join("; ")).to.equal(true);
    expect((await tap(verifier, 1)).reasons).to.deep.equal(["CREDENTIAL_LOCKED"]);
    expect((await tap(verifier, 2)).reasons).to.deep.equal(["CREDENTIAL_REVOKED"]);
    // the credential's binding is checked offline too: the snapshot carries every binding digest
    const entry = await view.credentialStatus(creds[0]!.credentialId);
    expect(entry.credentialDigest).to.equal(creds[0]!.draft.digest);
    expect((await view.resolver().resolve(`did:ethr:0x7a69:${Wallet.createRandom().address}`)).didResolutionMetadata.error).to.equal("notFound");
  });

  it("refuses every tap without a snapshot and once it is older than the bound (fail closed)", async () => {
    const view = gate();
    const verifier = verifierOn(view);
    const none = await tap(verifier, 0);
    expect(none.ok).to.equal(false);
    expect(none.reasons, "no snapshot yet: every look-up refuses").to.deep.equal(["INDEX_STALE"]);
    await view.install(sign(first));
    try {
      gateAge = 3_700_000;
      expect(view.ageMs).to.be.greaterThan(3_600_000);
      const r = await tap(verifier, 0);
      expect(r.reasons).to.deep.equal(["INDEX_STALE"]);
      expect(r.details.join(" ")).to.match(/load a newer signed snapshot/);
    } finally {
      gateAge = 0;
    }
    expect((await tap(verifier, 0)).ok, "fresh again").to.equal(true);
  });

  it("takes a newer snapshot from another gate's file (USB) and refuses the rollback to the older one", async () => {
    const gateA = gate(path.join(dir, "gate-a.json"));
    await gateA.install(sign(first));
    await w.registrar.lock(creds[0]!.credentialId, "LOST_DEVICE");
    const second = await readLedgerState({ ledger: w.ledger, provider: w.provider, digests: "logs" });
    const usb = path.join(dir, "usb-snapshot.json");
    await writeFile(usb, JSON.stringify(sign(second, members.slice(1, 4))));
    const info = await gateA.installFile(usb);
    expect(info.blockNumber).to.equal(second.blockNumber);
    expect((await tap(verifierOn(gateA), 0)).reasons).to.deep.equal(["CREDENTIAL_LOCKED"]);
    // rollback: the older (validly signed) snapshot is refused and the newer one stays
    await refused(gateA.install(sign(first)), "ROLLBACK");
    expect(gateA.snapshot!.blockNumber).to.equal(second.blockNumber);
    // the same snapshot again is a no-op
    expect((await gateA.installFile(usb)).blockNumber).to.equal(second.blockNumber);
    // a restarted gate resumes from its own file; another gate takes gate A's file as it is
    const restarted = gate(path.join(dir, "gate-a.json"));
    expect((await restarted.installFile()).blockNumber).to.equal(second.blockNumber);
    const gateB = gate();
    expect((await gateB.install(await readFile(path.join(dir, "gate-a.json"), "utf8"))).blockNumber).to.equal(second.blockNumber);
    await w.registrar.unlock(creds[0]!.credentialId, "FOUND_DEVICE");
  });

  it("refuses tampered snapshots: a changed section, a changed manifest, foreign or too few signers, another chain, a fork", async () => {
    const view = gate();
    const doc = sign(first);
    const agency = Object.keys(doc.sections)[0]!;
    const other = Object.keys(doc.sections)[1]!;
    // a section of another organisation swapped in, or garbage
    await refused(view.install({ ...doc, sections: { ...doc.sections, [agency]: doc.sections[other]! } }), "TAMPERED");
    await refused(view.install({ ...doc, sections: { ...doc.sections, [agency]: "AAAA" } }), "TAMPERED");
    // the manifest edited (a key's compromise flag cleared, say) without re-signing
    const manifest = decodeJsonSegment(doc.payload)!;
    const edited = { ...manifest, block_timestamp: (manifest.block_timestamp as number) + 10_000 };
    await refused(view.install({ ...doc, payload: encodeJsonPart(edited) }), "WRONG_KEY");
    // re-signed by keys the gate does not trust
    const strangers = Array.from({ length: 3 }, () => Wallet.createRandom());
    await refused(view.install(sign(first, strangers)), "WRONG_KEY");
    await refused(view.install(sign(first, [members[0]!, members[0]!, members[0]!])), "INSUFFICIENT_SIGNATURES");
    await refused(view.install({ ...doc, signatures: [] }), "INSUFFICIENT_SIGNATURES");
    // another chain's snapshot, validly signed
    await refused(view.install(sign({ ...first, chainId: first.chainId + 1 })), "WRONG_CHAIN");
    await refused(view.install(sign({ ...first, blockHash: first.blockHash.toUpperCase().replace("0X", "0x") })), "BAD_BLOCK_HASH");
    await refused(view.install("{not json"), "MALFORMED");
    expect(view.snapshot, "nothing installed").to.equal(undefined);
    // a fork: the same block with another hash, even signed by trusted members
    await view.install(doc);
    await refused(view.install(sign({ ...first, blockHash: "0x" + "ab".repeat(32) })), "FORK");
    // a snapshot from the future (a gate clock that is far behind, or a forged timestamp)
    await refused(gate().install(sign({ ...first, blockNumber: first.blockNumber + 1, blockTimestamp: first.blockTimestamp + 86_400 })), "NOT_YET_VALID");
  });

  it("answers issuer trust from the snapshot: a compromised key, a suspended organisation, a type not allowed are refused offline", async () => {
    const taps = async (state: LedgerState, blockOffset: number) => {
      const view = gate();
      await view.install(sign({ ...state, blockNumber: state.blockNumber + blockOffset }));
      return tap(verifierOn(view), 0);
    };
    const compromised = { ...first, keys: first.keys.map((k) => ({ ...k, compromised: true })) };
    expect((await taps(compromised, 1)).reasons).to.include("ISSUER_KEY_COMPROMISED");
    const suspended = { ...first, organisations: first.organisations.map((o) => ({ ...o, status: 2 })) };
    expect((await taps(suspended, 1)).reasons).to.include("ORGANISATION_SUSPENDED");
    const noTypes = { ...first, organisations: first.organisations.map((o) => ({ ...o, credentialTypes: [] })) };
    expect((await taps(noTypes, 1)).reasons).to.include("CREDENTIAL_TYPE_NOT_ALLOWED_FOR_ISSUER");
    // an id past its organisation's count, an unknown organisation, an unknown issuer key
    const view = gate();
    await view.install(sign(first));
    expect((await view.credentialStatus(creds[2]!.credentialId + 1n)).registered).to.equal(false);
    expect((await view.credentialStatus((7_000_000n << 40n) | 1n)).registered).to.equal(false);
    expect((await view.issuerTrust(Wallet.createRandom().address, "0x" + "00".repeat(32), 0)).keyKnown).to.equal(false);
    expect(view.issuerKeys.map((k) => k.issuer)).to.include(w.issuerWallet.address);
    await refused(view.installFile(path.join(dir, "no-such-file.json")), "UNAVAILABLE");
    await refused(view.installFromUrl("http://127.0.0.1:9/ledger-snapshot", { timeoutMs: 2_000 }), "UNAVAILABLE");
  });

  it("refuses a misconfigured gate (threshold above the trusted signers, no staleness bound)", () => {
    const base = { chainId: w.chainId, statusRegistry: w.ledger.deployment.statusRegistry, trustedSigners: trusted, maxStalenessMs: 1000 };
    expect(() => new OfflineLedgerView({ ...base, threshold: 5 })).to.throw(/threshold/);
    expect(() => new OfflineLedgerView({ ...base, threshold: 0 })).to.throw(/threshold/);
    expect(() => new OfflineLedgerView({ ...base, threshold: 1, maxStalenessMs: 0 })).to.throw(/maxStalenessMs/);
  });
});
