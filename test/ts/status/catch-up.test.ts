/**
 * Catch-up from state (issue #13): a new index reads every organisation's packed status words at one block, follows
 * events from there and backfills binding digests from logs in the background; a tap before the backfill reaches its
 * id costs one look-up and never a wrong answer; the index state is persisted atomically and a restarted gate resumes
 * once its nodes confirm the snapshot's block; the index follows issuer DID owner changes and deactivations; the
 * online view's digest cache does not survive a reorg; a node that drops logs but serves honest state is caught by
 * the state cross-check.
 */
import { expect } from "chai";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Wallet, keccak256, toUtf8Bytes, type Log, type Provider } from "ethers";
import { deployFixture, CENTRAL_AGENCY, LOCAL_GOV } from "../helpers/fixture.js";
import { providerWith } from "../helpers/faulty-provider.js";
import { LedgerIndex } from "../../../sdk/status/ledger-index.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import { IndexedDidResolver } from "../../../sdk/status/indexed-did-resolver.js";
import { CachingDidResolver } from "../../../sdk/did/resolver.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { isCivilIdError } from "../../../sdk/errors.js";
import { CredentialState, makeCredentialId } from "../../../sdk/chain/codes.js";
import { REGISTERED_TOPIC } from "../../../sdk/status/registration-log.js";

type Fixture = Awaited<ReturnType<typeof deployFixture>>;
type Snapshot = Awaited<ReturnType<Fixture["networkHelpers"]["takeSnapshot"]>>;

const SECRET = new Uint8Array(32).fill(5);
const ref = (p: number) => holderReference(SECRET, `person-${p}`);
const digest = (n: number) => keccak256(toUtf8Bytes(`catch-up-${n}`));

describe("LedgerIndex catch-up from state, backfill, persistence and DID following", function () {
  let f: Fixture;
  let provider: Provider;
  let snapshot: Snapshot;
  let dir: string;

  async function send(tx: Promise<{ wait(): Promise<unknown> }>) {
    await (await tx).wait();
  }

  before(async () => {
    f = await deployFixture();
    provider = f.ethers.provider;
    const central = f.ledger.statusRegistry.connect(f.actors.registrar);
    const local = f.ledger.statusRegistry.connect(f.actors.localRegistrar);
    // 70 central credentials (three status words), 5 local; locks, revokes, a batch, a supersede.
    await send(central.registerBatch(Array.from({ length: 70 }, (_, i) => ref(i)), Array.from({ length: 70 }, (_, i) => digest(i))));
    await send(local.registerBatch([100, 101, 102, 103, 104].map(ref), [100, 101, 102, 103, 104].map(digest)));
    await send(central.lockBatch([3, 33, 65].map((s) => makeCredentialId(CENTRAL_AGENCY, BigInt(s))), 1));
    await send(central.revoke(makeCredentialId(CENTRAL_AGENCY, 40n), 6));
    await send(local.lock(makeCredentialId(LOCAL_GOV, 2n), 2));
    await send(central.register(ref(5), digest(1005))); // supersedes central #5
    snapshot = await f.networkHelpers.takeSnapshot();
    dir = await mkdtemp(path.join(os.tmpdir(), "mcid-index-"));
  });
  afterEach(async () => {
    await snapshot.restore();
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const allIds = () => [
    ...Array.from({ length: 73 }, (_, i) => makeCredentialId(CENTRAL_AGENCY, BigInt(i))),
    ...Array.from({ length: 7 }, (_, i) => makeCredentialId(LOCAL_GOV, BigInt(i))),
  ];

  /** Records every getLogs filter; `holdBackfill` stalls the background digest backfill until released. */
  function spy(options: { holdBackfill?: Promise<void> } = {}) {
    const queries: { topics: unknown[] | undefined; fromBlock: number; toBlock: number }[] = [];
    const calls: string[] = [];
    const wrapped = providerWith(provider, {
      getLogs: (async (filter: { topics?: unknown[]; fromBlock: number; toBlock: number }) => {
        queries.push({ topics: filter.topics, fromBlock: filter.fromBlock, toBlock: filter.toBlock });
        const backfill = filter.topics?.length === 1 && filter.topics[0] === REGISTERED_TOPIC;
        if (backfill && options.holdBackfill) await options.holdBackfill;
        return provider.getLogs(filter as never);
      }) as never,
      call: ((tx: { data?: string }) => {
        calls.push(tx.data?.slice(0, 10) ?? "");
        return provider.call(tx as never);
      }) as never,
    });
    return { wrapped, queries, calls };
  }

  it("a snapshot catch-up equals an event replay and the contract, digests included, once backfilled", async () => {
    const fromState = new LedgerIndex({ provider, deployment: f.ledger.deployment });
    const fromEvents = new LedgerIndex({ provider, deployment: f.ledger.deployment, catchUp: "events" });
    await Promise.all([fromState.sync(), fromEvents.sync()]);
    await fromState.whenBackfilled();
    expect(fromState.backfilled).to.equal(true);
    const [registered, states, reasons] = await f.ledger.statusRegistry.statusesOf(allIds());
    allIds().forEach((id, i) => {
      const a = fromState.statusNow(id);
      expect(a, `${id}`).to.deep.equal(fromEvents.statusNow(id));
      expect([a.registered, a.registered ? a.state : 0, a.registered ? a.reason : 0]).to.deep.equal([registered[i], registered[i] ? Number(states[i]) : 0, registered[i] ? Number(reasons[i]) : 0]);
    });
    expect(fromState.statusNow(makeCredentialId(CENTRAL_AGENCY, 5n)).state).to.equal(CredentialState.Revoked);
    expect(fromState.statusNow(makeCredentialId(CENTRAL_AGENCY, 70n)).credentialDigest).to.equal(digest(1005));
    expect(await fromState.verifyAgainstState()).to.equal(76);
  });

  it("serves status right after the snapshot; a tap before the backfill reaches its id costs one look-up, never a wrong answer", async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const { wrapped, queries } = spy({ holdBackfill: held });
    const idx = new LedgerIndex({ provider: wrapped, deployment: f.ledger.deployment });
    await idx.sync();
    expect(idx.backfilled).to.equal(false);
    const locked = makeCredentialId(CENTRAL_AGENCY, 33n);
    expect(() => idx.statusNow(locked)).to.throw(/not backfilled/);
    const before = queries.length;
    const entry = await idx.credentialStatus(locked);
    expect(entry).to.deep.include({ registered: true, state: CredentialState.Locked, reason: 1, credentialDigest: digest(33) });
    const lookups = queries.slice(before).filter((q) => q.topics?.length === 2);
    expect(lookups.length).to.be.greaterThan(0);
    const after = queries.length;
    expect(await idx.credentialStatus(locked)).to.deep.equal(entry); // remembered: no second look-up
    expect(queries.length).to.equal(after);
    expect((await idx.credentialStatus(makeCredentialId(CENTRAL_AGENCY, 90n))).registered).to.equal(false); // no look-up for unregistered ids
    expect(queries.length).to.equal(after);
    release();
    await idx.whenBackfilled();
    expect(idx.statusNow(makeCredentialId(CENTRAL_AGENCY, 0n)).credentialDigest).to.equal(digest(0));
  });

  it("follows events after the snapshot (a lock, a registration) and rebuilds after a reorg", async () => {
    const idx = new LedgerIndex({ provider, deployment: f.ledger.deployment });
    await idx.sync();
    const before = await f.networkHelpers.takeSnapshot();
    await send(f.ledger.statusRegistry.connect(f.actors.helpDesk).lock(makeCredentialId(CENTRAL_AGENCY, 0n), 1));
    await send(f.ledger.statusRegistry.connect(f.actors.registrar).register(ref(500), digest(500)));
    await idx.sync();
    await idx.whenBackfilled();
    expect(idx.statusNow(makeCredentialId(CENTRAL_AGENCY, 0n)).state).to.equal(CredentialState.Locked);
    expect(idx.statusNow(makeCredentialId(CENTRAL_AGENCY, 71n)).credentialDigest).to.equal(digest(500));
    await before.restore();
    await f.networkHelpers.mine(3);
    await idx.sync();
    await idx.whenBackfilled();
    expect(idx.reorgs).to.equal(1);
    expect(idx.statusNow(makeCredentialId(CENTRAL_AGENCY, 0n)).state).to.equal(CredentialState.Active);
    expect(idx.statusNow(makeCredentialId(CENTRAL_AGENCY, 71n)).registered).to.equal(false);
  });

  it("persists atomically and resumes after a restart without a new snapshot; refuses a file its nodes do not confirm", async () => {
    const file = path.join(dir, "resume.bin");
    const first = new LedgerIndex({ provider, deployment: f.ledger.deployment, stateFile: file });
    await first.sync();
    await first.whenBackfilled();
    await first.persist();
    await send(f.ledger.statusRegistry.connect(f.actors.helpDesk).lock(makeCredentialId(CENTRAL_AGENCY, 1n), 1));

    const { wrapped, calls } = spy();
    const restarted = new LedgerIndex({ provider: wrapped, deployment: f.ledger.deployment, stateFile: file });
    await restarted.sync();
    await restarted.whenBackfilled();
    const statusWords = f.ledger.statusRegistry.interface.getFunction("statusWords").selector;
    expect(calls.filter((c) => c === statusWords)).to.deep.equal([]); // resumed: no state snapshot read
    expect(restarted.backfilled).to.equal(true);
    for (const id of allIds()) expect(restarted.statusNow(id), `${id}`).to.deep.equal((await syncedFresh()).statusNow(id));
    expect(restarted.statusNow(makeCredentialId(CENTRAL_AGENCY, 1n)).state).to.equal(CredentialState.Locked);

    // A state file whose block the nodes no longer have under that hash (a reorg, another chain): rebuilt, reported.
    const bytes = await readFile(file);
    const tampered = Buffer.from(bytes.toString("latin1").replace(/"syncedHash":"0x[0-9a-f]{4}/, '"syncedHash":"0x0000'), "latin1");
    await writeFile(file, tampered);
    const reported: unknown[] = [];
    const rebuilt = new LedgerIndex({ provider: wrapped, deployment: f.ledger.deployment, stateFile: file, onBackgroundError: (e) => reported.push(e) });
    calls.length = 0;
    await rebuilt.sync();
    expect(String(reported[0])).to.match(/no longer/);
    expect(calls.filter((c) => c === statusWords).length).to.be.greaterThan(0);
    // A truncated file: rebuilt too (after the rebuilt index's own writes, which are serialised behind persist()).
    await rebuilt.whenBackfilled();
    await rebuilt.persist();
    await writeFile(file, bytes.subarray(0, bytes.length - 7));
    const again = new LedgerIndex({ provider, deployment: f.ledger.deployment, stateFile: file, onBackgroundError: (e) => reported.push(e) });
    await again.sync();
    await again.whenBackfilled();
    expect(reported.map(String).some((r) => /truncated/.test(r)), reported.map(String).join(" | ")).to.equal(true);
    expect(again.statusNow(makeCredentialId(CENTRAL_AGENCY, 1n)).state).to.equal(CredentialState.Locked);
  });

  async function syncedFresh(): Promise<LedgerIndex> {
    const idx = new LedgerIndex({ provider, deployment: f.ledger.deployment, catchUp: "events" });
    await idx.sync();
    return idx;
  }

  it("follows the issuer DID's owner change and deactivation, and resolves issuer DIDs from the index without a request", async () => {
    const idx = new LedgerIndex({ provider, deployment: f.ledger.deployment });
    await idx.sync();
    const issuer = f.actors.issuerKey.address;
    const did = didForAddress(f.ledger.deployment.chainId, issuer);
    const ours = new IndexedDidResolver(idx);
    const reference = new CachingDidResolver({ provider, chainId: f.ledger.deployment.chainId, registry: f.ledger.deployment.didRegistry, cacheTtlMs: 0 });
    const controllerOf = (doc: Awaited<ReturnType<IndexedDidResolver["resolve"]>>) =>
      doc.didDocument?.verificationMethod?.find((m) => m.id.endsWith("#controller"))?.blockchainAccountId;
    // Same controller as the unmodified ethr-did-resolver renders it.
    expect(controllerOf(await ours.resolve(did))).to.equal(controllerOf(await reference.resolve(did)));

    const rotated = Wallet.createRandom();
    await send(f.ledger.didRegistry.connect(f.actors.issuerKey).changeOwner(issuer, rotated.address));
    await idx.sync();
    expect(idx.didOwnerNow(issuer)).to.equal(rotated.address);
    expect(controllerOf(await ours.resolve(did))).to.equal(controllerOf(await reference.resolve(did)));
    expect(controllerOf(await ours.resolve(did))).to.equal(`eip155:${f.ledger.deployment.chainId}:${rotated.address}`);

    await send(f.actors.outsider.sendTransaction({ to: rotated.address, value: 10n ** 18n }));
    await send(f.ledger.didRegistry.connect(rotated.connect(provider)).changeOwner(issuer, "0x0000000000000000000000000000000000000000"));
    await idx.sync();
    expect(idx.didOwnerNow(issuer)).to.equal(null);
    const deactivated = await ours.resolve(did);
    expect(deactivated.didDocumentMetadata.deactivated).to.equal(true);
    expect(deactivated.didDocument?.verificationMethod).to.deep.equal([]);

    // Not an issuer key: not this resolver's to answer.
    expect((await ours.resolve(didForAddress(f.ledger.deployment.chainId, Wallet.createRandom().address))).didResolutionMetadata.error).to.equal("notFound");
  });

  it("an events catch-up decodes the packed batch ids and refuses a batch log off the contract's layout", async () => {
    const batchTopic = f.ledger.statusRegistry.interface.getEvent("CredentialsStatusChanged").topicHash;
    const batched = [3, 33, 65].map((s) => makeCredentialId(CENTRAL_AGENCY, BigInt(s)));
    const honest = new LedgerIndex({ provider, deployment: f.ledger.deployment, catchUp: "events" });
    await honest.sync();
    for (const id of batched) expect(honest.statusNow(id).state).to.equal(CredentialState.Locked);
    // data: offset, state, reason, byte length (24), then one word: 3 ids of 8 bytes and 8 bytes of zero padding.
    const word = (n: number) => 2 + n * 64;
    for (const [what, tamper] of [
      ["a length that is not whole ids", (d: string) => d.slice(0, word(3)) + (23).toString(16).padStart(64, "0") + d.slice(word(4))],
      ["non-zero padding", (d: string) => d.slice(0, -2) + "01"],
      ["a missing word", (d: string) => d.slice(0, -64)],
    ] as const) {
      const lying = providerWith(provider, {
        getLogs: (async (filter: never) => (await provider.getLogs(filter)).map((l: Log) => (l.topics[0] === batchTopic ? { ...l, data: tamper(l.data) } : l))) as never,
      });
      const idx = new LedgerIndex({ provider: lying, deployment: f.ledger.deployment, catchUp: "events" });
      await idx.sync().then(
        () => expect.fail(`${what}: the sync should refuse the log`),
        (error: unknown) => expect(isCivilIdError(error, "CHAIN_UNREACHABLE"), `${what}: ${String(error)}`).to.equal(true),
      );
    }
  });

  it("the state cross-check catches a node that drops a log but serves honest state", async () => {
    const locked = makeCredentialId(CENTRAL_AGENCY, 33n);
    const lockTx = (await f.ledger.statusRegistry.queryFilter(f.ledger.statusRegistry.filters.CredentialsStatusChanged(), 0))[0]!.transactionHash;
    const dropping = providerWith(provider, {
      getLogs: (async (filter: never) => (await provider.getLogs(filter)).filter((l: Log) => l.transactionHash !== lockTx)) as never,
    });
    const idx = new LedgerIndex({ provider: dropping, deployment: f.ledger.deployment, catchUp: "events" });
    await idx.sync();
    expect(idx.statusNow(locked).state).to.equal(CredentialState.Active); // fooled by events alone …
    await idx.verifyAgainstState().then(
      () => expect.fail("the cross-check should fail"),
      (error: unknown) => expect(isCivilIdError(error, "LEDGER_DISAGREEMENT"), String(error)).to.equal(true),
    ); // … caught against state
  });

  it("a following index fooled by a dropped log finds out from the periodic state check and rebuilds from state", async () => {
    let dropping = false;
    const changed = f.ledger.statusRegistry.interface.getEvent("CredentialLocked").topicHash;
    const liar = providerWith(provider, {
      getLogs: (async (filter: never) => (await provider.getLogs(filter)).filter((l: Log) => !(dropping && l.topics[0] === changed))) as never,
    });
    const errors: unknown[] = [];
    const idx = new LedgerIndex({ provider: liar, deployment: f.ledger.deployment, stateCheckEveryMs: 1, onBackgroundError: (e) => errors.push(e) });
    await idx.sync();
    await idx.whenBackfilled();
    dropping = true;
    const target = makeCredentialId(CENTRAL_AGENCY, 0n);
    await send(f.ledger.statusRegistry.connect(f.actors.helpDesk).lock(target, 1));
    idx.follow(10, (e) => errors.push(e));
    try {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !errors.some((e) => isCivilIdError(e, "LEDGER_DISAGREEMENT"))) await new Promise((r) => setTimeout(r, 10));
      expect(errors.some((e) => isCivilIdError(e, "LEDGER_DISAGREEMENT")), String(errors)).to.equal(true);
      let state: CredentialState | undefined;
      while (Date.now() < deadline && state !== CredentialState.Locked) {
        state = (await idx.credentialStatus(target).catch(() => undefined))?.state;
        if (state !== CredentialState.Locked) await new Promise((r) => setTimeout(r, 10));
      }
      expect(state).to.equal(CredentialState.Locked);
    } finally {
      idx.stop();
      await idx.whenBackfilled();
    }
  });

  it("the online view's digest cache does not survive a reorg (an id re-used on the new branch)", async () => {
    const view = new OnlineLedgerView(f.ledger, provider);
    const fork = await f.networkHelpers.takeSnapshot();
    const id = makeCredentialId(CENTRAL_AGENCY, 71n);
    await send(f.ledger.statusRegistry.connect(f.actors.registrar).register(ref(600), digest(600)));
    expect((await view.credentialStatus(id)).credentialDigest).to.equal(digest(600));
    await fork.restore();
    await f.networkHelpers.mine(2);
    await send(f.ledger.statusRegistry.connect(f.actors.registrar).register(ref(601), digest(601)));
    expect((await view.credentialStatus(id)).credentialDigest).to.equal(digest(601));
  });
});
