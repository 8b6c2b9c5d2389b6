/**
 * The event-sourced LedgerIndex against the contracts it mirrors: after random mixes of status operations, after
 * accreditation changes, across catch-up ranges, confirmations, staleness, reorgs and lying nodes, the index must
 * answer exactly what the contracts' own views answer.
 */
import { expect } from "chai";
import fc from "fast-check";
import { Wallet, keccak256, toUtf8Bytes, type Log, type Provider } from "ethers";
import { deployFixture, governed, CENTRAL_AGENCY, LOCAL_GOV, CIVIL_ID_TYPE } from "../helpers/fixture.js";
import { providerWith } from "../helpers/faulty-provider.js";
import { LedgerIndex } from "../../../sdk/status/ledger-index.js";
import type { IssuerTrust, StatusEntry } from "../../../sdk/status/ledger-view.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { CredentialState, OrgKind, OrgStatus, agencyOfCredential, credentialTypeId, makeCredentialId } from "../../../sdk/chain/codes.js";
import { rejectsWithCode } from "../helpers/rejections.js";

type Fixture = Awaited<ReturnType<typeof deployFixture>>;
type Snapshot = Awaited<ReturnType<Fixture["networkHelpers"]["takeSnapshot"]>>;

const SECRET = new Uint8Array(32).fill(3);
const ORGS = [CENTRAL_AGENCY, LOCAL_GOV] as const;
const LOCK_REASONS = [1, 2, 3, 4, 6, 7, 8];
const UNLOCK_REASONS = [8, 9];
const OTHER_TYPE = credentialTypeId("LibraryCardCredential");
const ref = (person: number) => holderReference(SECRET, `person-${person}`);

describe("LedgerIndex", function () {
  let f: Fixture;
  let provider: Provider;
  let snapshot: Snapshot;
  let subjects = 0;

  before(async () => {
    f = await deployFixture();
    provider = f.ethers.provider;
    snapshot = await f.networkHelpers.takeSnapshot();
  });
  afterEach(async () => {
    await snapshot.restore();
  });

  const status = () => f.ledger.statusRegistry;
  const registrarOf = (org: number) => (org === CENTRAL_AGENCY ? f.actors.registrar : f.actors.localRegistrar);
  const index = (options: Partial<ConstructorParameters<typeof LedgerIndex>[0]> = {}) =>
    new LedgerIndex({ provider, deployment: f.ledger.deployment, ...options });
  const nextDigest = () => keccak256(toUtf8Bytes(`subject-${++subjects}`));

  async function send(tx: Promise<{ wait(): Promise<unknown> }>) {
    await (await tx).wait();
  }

  async function governance(fn: string, args: readonly unknown[]) {
    const reg = f.ledger.issuerRegistry;
    await send(governed(f.ledger, f.actors.members, await reg.getAddress(), reg.interface.encodeFunctionData(fn as never, args as never)));
  }

  /** Revokes the person's live credential at another organisation first (a transfer), as an HR system would. */
  async function releaseElsewhere(person: number, org: number) {
    const latest = await status().latestCredentialOf(ref(person));
    if (latest === 0n || agencyOfCredential(latest) === org) return;
    const [, state] = await status().statusOf(latest);
    if (Number(state) === CredentialState.Revoked) return;
    const other = agencyOfCredential(latest);
    await send(status().connect(registrarOf(other)).revoke(latest, 6));
  }

  async function register(org: number, persons: readonly number[]) {
    for (const p of persons) await releaseElsewhere(p, org);
    const registry = status().connect(registrarOf(org));
    if (persons.length === 1) await send(registry.register(ref(persons[0]!), nextDigest()));
    else await send(registry.registerBatch(persons.map(ref), persons.map(() => nextDigest())));
  }

  async function idsOf(org: number): Promise<bigint[]> {
    const n = Number(await status().nextSequence(org));
    return Array.from({ length: n }, (_, i) => makeCredentialId(org, BigInt(i)));
  }

  /** Changes the state of up to `count` credentials of `org` in the needed state, from the `pick`-th on. */
  async function change(kind: "lock" | "unlock" | "revoke", org: number, pick: number, count: number, reasonPick: number) {
    const ids = await idsOf(org);
    if (ids.length === 0) return;
    const [, states] = await status().statusesOf(ids);
    const from = kind === "lock" ? [CredentialState.Active] : kind === "unlock" ? [CredentialState.Locked] : [CredentialState.Active, CredentialState.Locked];
    const candidates = ids.filter((_, i) => from.includes(Number(states[i]) as CredentialState));
    if (candidates.length === 0) return;
    const start = pick % candidates.length;
    const chosen = candidates.slice(start, start + count);
    const reasons = kind === "unlock" ? UNLOCK_REASONS : LOCK_REASONS;
    const reason = reasons[reasonPick % reasons.length]!;
    // The help desk (LockOnly) locks for the central agency; registrars do everything else.
    const operator = kind === "lock" && org === CENTRAL_AGENCY && reasonPick % 2 === 0 ? f.actors.helpDesk : registrarOf(org);
    const registry = status().connect(operator);
    if (chosen.length === 1) await send(registry[kind](chosen[0]!, reason));
    else await send(registry[`${kind}Batch`](chosen, reason));
  }

  /** Every registered credential (plus two never registered per organisation) as the contract sees it. */
  async function chainStatuses(): Promise<Map<bigint, StatusEntry>> {
    const registry = status();
    const digests = new Map<bigint, string>();
    for (const log of await registry.queryFilter(registry.filters.CredentialRegistered(), f.ledger.deployment.deploymentBlock)) {
      digests.set(log.args.credentialId, log.args.credentialDigest);
    }
    const out = new Map<bigint, StatusEntry>();
    for (const org of ORGS) {
      const ids = await idsOf(org);
      ids.push(makeCredentialId(org, BigInt(ids.length)), makeCredentialId(org, BigInt(ids.length + 40)));
      const [registered, states, reasons] = await registry.statusesOf(ids);
      ids.forEach((id, i) => {
        out.set(id, registered[i]
          ? { registered: true, state: Number(states[i]) as CredentialState, reason: Number(reasons[i]), credentialDigest: digests.get(id) }
          : { registered: false, state: CredentialState.Active, reason: 0, credentialDigest: undefined });
      });
    }
    return out;
  }

  async function expectStatusesMatch(idx: LedgerIndex, label: string): Promise<number> {
    const expected = await chainStatuses();
    const actual = new Map<bigint, StatusEntry>();
    for (const id of expected.keys()) actual.set(id, await idx.credentialStatus(id));
    expect([...actual], label).to.deep.equal([...expected]);
    return [...expected.values()].filter((e) => e.registered).length;
  }

  describe("credential status", () => {
    it("equals the contract's statusOf for every credential after random operation mixes (fast-check, 2 organisations, > 32 ids each)", async function () {
      this.timeout(300_000);
      const org = fc.constantFrom(...ORGS);
      const op = fc.oneof(
        { weight: 3, arbitrary: fc.record({ kind: fc.constant("register" as const), org, persons: fc.uniqueArray(fc.nat(79), { minLength: 1, maxLength: 1 }) }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant("register" as const), org, persons: fc.uniqueArray(fc.nat(79), { minLength: 2, maxLength: 12 }) }) },
        { weight: 6, arbitrary: fc.record({ kind: fc.constantFrom("lock" as const, "unlock" as const, "revoke" as const), org, pick: fc.nat(), count: fc.integer({ min: 1, max: 8 }), reason: fc.nat() }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant("sync" as const) }) },
      );
      let runs = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 20, maxLength: 35 }), fc.integer({ min: 1, max: 9 }), async (ops, blocksPerQuery) => {
          await snapshot.restore();
          runs += 1;
          const incremental = index();
          await incremental.sync();
          // Seed both organisations past a 32-credential storage word.
          await register(CENTRAL_AGENCY, Array.from({ length: 34 }, (_, i) => i));
          await register(LOCAL_GOV, Array.from({ length: 34 }, (_, i) => 34 + i));
          for (const o of ops) {
            if (o.kind === "register") await register(o.org, o.persons);
            else if (o.kind === "sync") await incremental.sync();
            else await change(o.kind, o.org, o.pick, o.count, o.reason);
          }
          await incremental.sync();
          const registered = await expectStatusesMatch(incremental, "incremental index");
          expect(registered).to.be.greaterThan(68);
          await expectStatusesMatch(await syncedIndex({ blocksPerQuery }), `fresh index, blocksPerQuery ${blocksPerQuery}`);
          expect(incremental.credentialCount()).to.equal(registered);
        }),
        { numRuns: 6, seed: 0x5eed_2026, endOnFailure: true },
      );
      expect(runs).to.equal(6);
    });

    async function syncedIndex(options: Partial<ConstructorParameters<typeof LedgerIndex>[0]> = {}) {
      const idx = index(options);
      await idx.sync();
      return idx;
    }

    it("halves its getLogs range when the node refuses a range as too large, and still catches up completely", async () => {
      await register(CENTRAL_AGENCY, Array.from({ length: 40 }, (_, i) => i));
      await change("lock", CENTRAL_AGENCY, 3, 5, 1);
      await register(LOCAL_GOV, [3, 50, 51]);
      const asked: [number, number][] = [];
      const capped = providerWith(provider, {
        getLogs: (filter: never) => {
          const { fromBlock, toBlock } = filter as { fromBlock: number; toBlock: number };
          asked.push([fromBlock, toBlock]);
          // A node that serves at most 4 blocks per query, refusing like geth does.
          if (toBlock - fromBlock >= 4) return Promise.reject(new Error("query returned more than 10000 results"));
          return provider.getLogs(filter);
        },
      });
      const adaptive = new LedgerIndex({ provider: capped, deployment: f.ledger.deployment, blocksPerQuery: 64 });
      expect(await adaptive.sync()).to.equal(await provider.getBlockNumber());
      expect(asked.some(([a, b]) => b - a >= 4)).to.equal(true); // it did try large ranges
      await expectStatusesMatch(adaptive, "adaptive ranges");
      // Other errors are not taken for a size limit: the sync fails and the index stays stale.
      const broken = new LedgerIndex({
        provider: providerWith(provider, { getLogs: () => Promise.reject(new Error("connect ECONNREFUSED")) }),
        deployment: f.ledger.deployment,
      });
      await broken.sync().then(() => expect.fail("sync should fail"), (error: Error) => expect(error.message).to.contain("ECONNREFUSED"));
    });

    it("catches up in many small block ranges to the same state as in one range, asking each block exactly once", async () => {
      await register(CENTRAL_AGENCY, Array.from({ length: 40 }, (_, i) => i));
      await change("lock", CENTRAL_AGENCY, 3, 5, 1);
      await change("revoke", CENTRAL_AGENCY, 30, 4, 6);
      await register(LOCAL_GOV, [3, 50, 51]);
      await change("unlock", CENTRAL_AGENCY, 0, 2, 9);
      const ranges: [number, number][] = [];
      const spying = providerWith(provider, {
        getLogs: (filter: never) => {
          const { fromBlock, toBlock } = filter as { fromBlock: number; toBlock: number };
          ranges.push([fromBlock, toBlock]);
          return provider.getLogs(filter);
        },
      });
      const small = new LedgerIndex({ provider: spying, deployment: f.ledger.deployment, blocksPerQuery: 3, catchUp: "events" });
      const head = await small.sync();
      expect(head).to.equal(await provider.getBlockNumber());
      expect(ranges.length).to.be.greaterThan(3);
      let expectedFrom = f.ledger.deployment.deploymentBlock;
      for (const [from, to] of ranges) {
        expect(from).to.equal(expectedFrom);
        expect(to - from).to.be.lessThan(3);
        expectedFrom = to + 1;
      }
      expect(expectedFrom).to.equal(head + 1);
      const oneShot = index();
      await oneShot.sync();
      const expected = await chainStatuses();
      for (const id of expected.keys()) expect(await small.credentialStatus(id)).to.deep.equal(await oneShot.credentialStatus(id));
      await expectStatusesMatch(small, "small ranges");
    });
  });

  describe("issuer accreditation", () => {
    it("matches isTrustedIssuer (and the registry's views) through suspend, reinstate, remove, key add/rotate/retire/compromise and type toggles", async function () {
      this.timeout(120_000);
      const reg = f.ledger.issuerRegistry;
      const idx = index();
      const keys = [f.actors.issuerKey.address];
      const times = new Map<string, Set<number>>(); // per key: instants around its windows, past and present
      const now = async () => (await provider.getBlock("latest"))!.timestamp;
      const types = [CIVIL_ID_TYPE, OTHER_TYPE, credentialTypeId("Unknown")];
      const THIRD = 3_000_000;
      let checks = 0;

      async function expectTrustMatches(step: string) {
        await idx.sync();
        const t = await now();
        for (const key of keys) {
          const record = await reg.issuerKey(key);
          const at = times.get(key) ?? new Set<number>([0, 2 ** 32]);
          times.set(key, at);
          for (const b of [Number(record.validFrom), Number(record.validUntil), t]) for (const d of [-1, 0, 1]) if (b + d >= 0) at.add(b + d);
          for (const type of types) {
            for (const instant of at) {
              const [trusted, agencyCode] = await reg.isTrustedIssuer(key, type, instant);
              const trust: IssuerTrust = await idx.issuerTrust(key, type, instant);
              const indexTrusted = trust.keyKnown && !trust.compromised && trust.inWindowAtIssuance && trust.orgStatus === OrgStatus.Active && trust.typeAllowed;
              expect([indexTrusted, trust.agencyCode], `${step}: ${key} ${type.slice(0, 10)} at ${instant}`).to.deep.equal([trusted, Number(agencyCode)]);
              checks += 1;
            }
            const trust = await idx.issuerTrust(key, type, t);
            expect(trust.keyKnown, step).to.equal(record.agencyCode !== 0n);
            if (trust.keyKnown) {
              expect(trust.compromised, step).to.equal(record.compromised);
              expect(trust.orgStatus, step).to.equal(Number((await reg.organisation(record.agencyCode)).status));
              expect(trust.typeAllowed, step).to.equal(await reg.isCredentialTypeAllowed(record.agencyCode, type));
            }
          }
        }
      }

      await expectTrustMatches("initial");
      const [k2, k3, k4, k5] = [Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom(), Wallet.createRandom()];
      keys.push(k2.address, k3.address, k4.address, k5.address, Wallet.createRandom().address);
      let t = await now();
      // Keys are never backdated: k2's window opens at its block, k3's in the future.
      await send(reg.connect(f.actors.localAdmin).addIssuerKey(LOCAL_GOV, k2.address, 0, t + 10_000));
      await send(reg.connect(f.actors.orgAdmin).addIssuerKey(CENTRAL_AGENCY, k3.address, t + 500, t + 20_000));
      await f.networkHelpers.time.increase(100); // k2's window opened in the past, k3's is still ahead
      await expectTrustMatches("keys added");
      await governance("setCredentialType", [CENTRAL_AGENCY, OTHER_TYPE, true]);
      await governance("setCredentialType", [LOCAL_GOV, CIVIL_ID_TYPE, false]);
      await expectTrustMatches("types toggled");
      await governance("setCredentialType", [LOCAL_GOV, CIVIL_ID_TYPE, true]);
      t = await now();
      await send(reg.connect(f.actors.orgAdmin).rotateIssuerKey(CENTRAL_AGENCY, f.actors.issuerKey.address, k4.address, t + 30_000));
      await expectTrustMatches("rotated");
      await send(reg.connect(f.actors.localAdmin).retireIssuerKey(LOCAL_GOV, k2.address, false));
      await send(reg.connect(f.actors.orgAdmin).retireIssuerKey(CENTRAL_AGENCY, k4.address, true));
      await expectTrustMatches("retired and compromised");
      await governance("markIssuerKeyCompromised", [k3.address]);
      await governance("markIssuerKeyCompromised", [k2.address]); // already retired: compromise only
      await expectTrustMatches("compromised by governance");
      await governance("suspend", [LOCAL_GOV]);
      await expectTrustMatches("suspended");
      await governance("reinstate", [LOCAL_GOV]);
      await expectTrustMatches("reinstated");
      await governance("remove", [CENTRAL_AGENCY]);
      await governance("accredit", [THIRD, OrgKind.LocalGovernment, f.actors.outsider.address, [OTHER_TYPE]]);
      t = await now();
      await send(reg.connect(f.actors.outsider).addIssuerKey(THIRD, k5.address, 0, t + 5_000));
      await expectTrustMatches("removed, third organisation accredited");
      // The same state rebuilt from scratch.
      const fresh = index({ blocksPerQuery: 4 });
      await fresh.sync();
      for (const key of keys) for (const type of types) for (const at of times.get(key)!) {
        expect(await fresh.issuerTrust(key, type, at)).to.deep.equal(await idx.issuerTrust(key, type, at));
      }
      expect(checks).to.be.greaterThan(500);
    });
  });

  describe("following the chain", () => {
    it("follow() picks up new blocks until stopped", async () => {
      await register(CENTRAL_AGENCY, [1]);
      const id = makeCredentialId(CENTRAL_AGENCY, 0n);
      const idx = index();
      const errors: unknown[] = [];
      idx.follow(20, (e) => errors.push(e));
      try {
        await waitFor(async () => (await safeStatus(idx, id))?.registered === true);
        await send(status().connect(f.actors.helpDesk).lock(id, 1));
        await waitFor(async () => (await safeStatus(idx, id))?.state === CredentialState.Locked);
        expect((await idx.credentialStatus(id)).reason).to.equal(1);
      } finally {
        idx.stop();
      }
      const stoppedAt = idx.blockNumber;
      await send(status().connect(f.actors.registrar).unlock(id, 9));
      await new Promise((r) => setTimeout(r, 100));
      expect(idx.blockNumber).to.equal(stoppedAt);
      expect((await idx.credentialStatus(id)).state).to.equal(CredentialState.Locked);
      expect(errors).to.deep.equal([]);
    });

    it("holds back the most recent blocks when asked for confirmations", async () => {
      const idx = index({ confirmations: 3 });
      await register(CENTRAL_AGENCY, [1]);
      const id = makeCredentialId(CENTRAL_AGENCY, 0n);
      const registeredAt = await provider.getBlockNumber();
      expect(await idx.sync()).to.equal(registeredAt - 3);
      expect((await idx.credentialStatus(id)).registered).to.equal(false);
      await f.networkHelpers.mine(2);
      expect(await idx.sync()).to.equal(registeredAt - 1);
      expect((await idx.credentialStatus(id)).registered).to.equal(false);
      await f.networkHelpers.mine(1);
      expect(await idx.sync()).to.equal(registeredAt);
      expect((await idx.credentialStatus(id)).registered).to.equal(true);
    });

    it("refuses lookups (INDEX_STALE) before its first sync and once its last sync is older than the bound", async () => {
      let clock = 1_000_000;
      const idx = index({ maxStalenessMs: 5_000, now: () => clock });
      const id = makeCredentialId(CENTRAL_AGENCY, 0n);
      await rejectsWithCode(idx.credentialStatus(id), "INDEX_STALE");
      await rejectsWithCode(idx.issuerTrust(f.actors.issuerKey.address, CIVIL_ID_TYPE, 0), "INDEX_STALE");
      await idx.sync();
      clock += 5_000;
      expect((await idx.credentialStatus(id)).registered).to.equal(false);
      clock += 1;
      await rejectsWithCode(idx.credentialStatus(id), "INDEX_STALE");
      await rejectsWithCode(idx.issuerTrust(f.actors.issuerKey.address, CIVIL_ID_TYPE, 0), "INDEX_STALE");
      await idx.sync();
      expect((await idx.issuerTrust(f.actors.issuerKey.address, CIVIL_ID_TYPE, 1)).keyKnown).to.equal(true);
    });

    it("ages into INDEX_STALE while its node is unreachable (failed syncs do not refresh it)", async () => {
      let clock = 0;
      let down = false;
      const flaky = providerWith(provider, {
        getBlockNumber: () => (down ? Promise.reject(new Error("connect ECONNREFUSED")) : provider.getBlockNumber()),
      });
      const idx = new LedgerIndex({ provider: flaky, deployment: f.ledger.deployment, maxStalenessMs: 1_000, now: () => clock });
      await idx.sync();
      down = true;
      clock = 900;
      await idx.sync().then(() => expect.fail("sync should fail"), () => undefined);
      expect(idx.ageMs).to.equal(900);
      clock = 1_001;
      await rejectsWithCode(idx.credentialStatus(makeCredentialId(CENTRAL_AGENCY, 0n)), "INDEX_STALE");
    });
  });

  describe("reorgs and lying nodes", () => {
    async function reorgScenario(extraBlocksOnCanonical: number) {
      await register(CENTRAL_AGENCY, Array.from({ length: 5 }, (_, i) => i));
      const fork = await f.networkHelpers.takeSnapshot();
      const idx = index();
      // The branch that will be abandoned: a lock, a revoke, a registration.
      await change("lock", CENTRAL_AGENCY, 0, 2, 1);
      await change("revoke", CENTRAL_AGENCY, 3, 1, 6);
      await register(CENTRAL_AGENCY, [10]);
      const orphanHeight = await idx.sync();
      expect((await idx.credentialStatus(makeCredentialId(CENTRAL_AGENCY, 0n))).state).to.equal(CredentialState.Locked);
      expect(idx.reorgs).to.equal(0);
      // The canonical branch: different changes in different blocks at the same heights.
      await fork.restore();
      await change("revoke", CENTRAL_AGENCY, 1, 1, 8);
      await register(LOCAL_GOV, [20, 21]);
      if (extraBlocksOnCanonical > 0) await f.networkHelpers.mine(extraBlocksOnCanonical);
      const head = await provider.getBlockNumber();
      expect(head - orphanHeight, "canonical head relative to the orphaned one").to.equal(extraBlocksOnCanonical - 1);
      expect(await idx.sync()).to.equal(head);
      expect(idx.reorgs).to.equal(1);
      await expectStatusesMatch(idx, "after reorg");
      expect((await idx.credentialStatus(makeCredentialId(CENTRAL_AGENCY, 0n))).state).to.equal(CredentialState.Active);
      expect((await idx.credentialStatus(makeCredentialId(CENTRAL_AGENCY, 5n))).registered).to.equal(false);
      expect(idx.credentialCount()).to.equal(7);
    }

    it("rebuilds after a reorg to a shorter canonical chain (the synced block no longer exists)", async () => {
      await reorgScenario(0);
    });

    it("rebuilds after a reorg to a longer canonical chain (another block at the synced height)", async () => {
      await reorgScenario(3);
    });

    it("detects a reorg that happens between reading a range's logs and its block hash", async () => {
      await register(CENTRAL_AGENCY, [1, 2, 3]);
      const fork = await f.networkHelpers.takeSnapshot();
      let armed = false;
      const racy = providerWith(provider, {
        getLogs: (async (filter: never) => {
          const logs = await provider.getLogs(filter);
          if (armed) {
            armed = false; // the chain reorganises right after answering (the new branch is as long and longer)
            await fork.restore();
            await change("revoke", CENTRAL_AGENCY, 1, 1, 8);
            await f.networkHelpers.mine(5);
          }
          return logs;
        }) as never,
      });
      await change("lock", CENTRAL_AGENCY, 0, 2, 1); // the branch about to be abandoned
      const idx = new LedgerIndex({ provider: racy, deployment: f.ledger.deployment });
      armed = true;
      await idx.sync();
      expect(armed).to.equal(false);
      await idx.sync();
      expect(idx.reorgs).to.equal(1);
      await expectStatusesMatch(idx, "after a reorg during a sync");
      expect((await idx.credentialStatus(makeCredentialId(CENTRAL_AGENCY, 0n))).state).to.equal(CredentialState.Active);
    });

    it("resumes after a sync that failed half-way through catch-up, keeping its progress and without a spurious rebuild", async () => {
      await register(CENTRAL_AGENCY, [1, 2, 3]);
      let calls = 0;
      let failAt = -1;
      const flaky = providerWith(provider, {
        getLogs: ((filter: never) => (++calls === failAt ? Promise.reject(new Error("socket hang up")) : provider.getLogs(filter))) as never,
      });
      const idx = new LedgerIndex({ provider: flaky, deployment: f.ledger.deployment, blocksPerQuery: 2, catchUp: "events" });
      const first = await idx.sync();
      await change("lock", CENTRAL_AGENCY, 0, 2, 1);
      await register(LOCAL_GOV, [40, 41]);
      await f.networkHelpers.mine(6);
      calls = 0;
      failAt = 3;
      await idx.sync().then(() => expect.fail("sync should fail"), () => undefined);
      expect(idx.blockNumber).to.equal(first + 4); // two ranges of two blocks applied before the failure
      expect(await idx.sync()).to.equal(await provider.getBlockNumber());
      expect(idx.reorgs).to.equal(0);
      await expectStatusesMatch(idx, "after resuming");
    });

    it("refuses a node returning logs outside the requested range, out of order or removed, and keeps its state", async () => {
      await register(CENTRAL_AGENCY, [1, 2]);
      const id = makeCredentialId(CENTRAL_AGENCY, 0n);
      let lie: ((logs: Log[], from: number, to: number) => Log[]) | undefined;
      const liar = providerWith(provider, {
        getLogs: (async (filter: { fromBlock: number; toBlock: number }) => {
          const logs = await provider.getLogs(filter);
          return lie ? lie(logs, filter.fromBlock, filter.toBlock) : logs;
        }) as never,
      });
      let clock = 0;
      const idx = new LedgerIndex({ provider: liar, deployment: f.ledger.deployment, now: () => clock, maxStalenessMs: 1_000 });
      const synced = await idx.sync();
      await send(status().connect(f.actors.helpDesk).lock(id, 1));
      await register(CENTRAL_AGENCY, [3]);
      const lies: [string, (logs: Log[], from: number, to: number) => Log[]][] = [
        ["a log after the range", (logs, _from, to) => [...logs, { ...logs[0]!, blockNumber: to + 5 } as Log]],
        ["a log before the range", (logs, from) => [{ ...logs[0]!, blockNumber: from - 1 } as Log, ...logs]],
        ["logs out of order", (logs) => [...logs].reverse()],
        ["a removed log", (logs) => [...logs, { ...logs[logs.length - 1]!, removed: true } as Log]],
      ];
      for (const [what, fn] of lies) {
        lie = fn;
        await rejectsWithCode(idx.sync(), "CHAIN_UNREACHABLE");
        expect(idx.blockNumber, what).to.equal(synced);
        // Nothing of the refused answer was applied.
        expect((await idx.credentialStatus(id)).state, what).to.equal(CredentialState.Active);
        expect((await idx.credentialStatus(makeCredentialId(CENTRAL_AGENCY, 2n))).registered, what).to.equal(false);
      }
      clock = 1_001;
      await rejectsWithCode(idx.credentialStatus(id), "INDEX_STALE");
      lie = undefined;
      await idx.sync();
      await expectStatusesMatch(idx, "after an honest answer");
    });
  });
});

async function safeStatus(idx: LedgerIndex, id: bigint): Promise<StatusEntry | undefined> {
  try {
    return await idx.credentialStatus(id);
  } catch {
    return undefined;
  }
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) expect.fail("condition not reached in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}
