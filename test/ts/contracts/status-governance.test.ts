/**
 * Issue #10 §4 on the status registry: what a suspended or removed organisation may still do, governance's
 * retirement of a removed organisation's credentials, the 40-bit sequence bound, the issuer-registry binding and
 * mirror, packed batches, and registerBatch sized for a 30 M gas block (with the SDK splitting larger lists).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { AbiCoder, ZeroHash, keccak256, toBeHex, zeroPadValue } from "ethers";
import { CENTRAL_AGENCY, LOCAL_GOV, CIVIL_ID_TYPE, governed } from "../helpers/fixture.js";
import { useFixture, holderRef, jwtDigest, mined, registerMany } from "../helpers/ledger-test.js";
import { CredentialState, OperatorRole, OrgKind, OrgStatus, ReasonCode, makeCredentialId } from "../../../sdk/chain/codes.js";
import { CredentialStatusRegistry__factory, IssuerRegistry__factory } from "../../../sdk/chain/contracts.js";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import { MAX_REGISTER_BATCH, batchCapacity, packCredentialIds, REGISTER_BATCH_GAS, splitIntoBatches, unpackCredentialIds } from "../../../sdk/chain/batches.js";
import { GovernanceActions } from "../../../sdk/governance/client.js";
import { StatusClient } from "../../../sdk/status/client.js";

const central = (sequence: number | bigint) => makeCredentialId(CENTRAL_AGENCY, BigInt(sequence));
const ORGS_SLOT = 1n; // CredentialStatusRegistry: operators 0, _orgs 1, latestCredentialOf 2, _statusWords 3

describe("CredentialStatusRegistry: organisation status, retirement, bounds, packed batches", function () {
  const fx = useFixture({}, async (f) => {
    await registerMany(f.ledger.statusRegistry.connect(f.actors.registrar), 40, "s"); // central(0..39)
  });
  const reg = () => fx.f.ledger.statusRegistry;
  const issuers = () => fx.f.ledger.issuerRegistry;
  const a = () => fx.f.actors;
  const govern = async (fn: string, args: unknown[]) => {
    const iface = issuers().interface as unknown as { encodeFunctionData(fn: string, args: unknown[]): string };
    return mined(governed(fx.f.ledger, a().members, await issuers().getAddress(), iface.encodeFunctionData(fn, args)));
  };

  describe("what each organisation status permits (docs/ARCHITECTURE.md, organisation status table)", function () {
    for (const status of ["suspend", "remove"] as const) {
      it(`${status}: lock and revoke still work, unlock, register and appointing operators are refused, clearing works`, async function () {
        await mined(reg().connect(a().helpDesk).lock(central(1), ReasonCode.LOST_DEVICE));
        await govern(status, [CENTRAL_AGENCY]);
        const expected = status === "suspend" ? OrgStatus.Suspended : OrgStatus.Removed;
        expect(await reg().statusOfOrganisation(CENTRAL_AGENCY)).to.equal(BigInt(expected));
        // A lost phone can always be locked, and revoking only removes trust.
        await expect(reg().connect(a().helpDesk).lock(central(2), ReasonCode.LOST_DEVICE)).to.emit(reg(), "CredentialLocked");
        await expect(reg().connect(a().helpDesk).lockBatchPacked(packCredentialIds([central(3), central(4)]), ReasonCode.LOST_DEVICE))
          .to.emit(reg(), "CredentialsStatusChanged");
        await expect(reg().connect(a().registrar).revoke(central(5), ReasonCode.LEFT_SERVICE)).to.emit(reg(), "CredentialRevoked");
        // Unlocking, registering and appointing need an active organisation.
        for (const call of [
          () => reg().connect(a().registrar).unlock(central(1), ReasonCode.FOUND_DEVICE),
          () => reg().connect(a().registrar).unlockBatch([central(1)], ReasonCode.FOUND_DEVICE),
          () => reg().connect(a().registrar).unlockBatchPacked(packCredentialIds([central(1)]), ReasonCode.FOUND_DEVICE),
          () => reg().connect(a().registrar).register(holderRef("new"), jwtDigest("new")),
          () => reg().connect(a().registrar).registerBatch([holderRef("new")], [jwtDigest("new")]),
          () => reg().connect(a().orgAdmin).setOperator(a().outsider.address, CENTRAL_AGENCY, OperatorRole.LockOnly),
        ]) {
          await expect(call()).to.be.revertedWithCustomError(reg(), "InvalidOrgStatus").withArgs(CENTRAL_AGENCY, expected);
        }
        await expect(reg().connect(a().orgAdmin).setOperator(a().registrar.address, CENTRAL_AGENCY, OperatorRole.None))
          .to.emit(reg(), "OperatorSet").withArgs(a().registrar.address, CENTRAL_AGENCY, OperatorRole.None);
        if (status === "suspend") {
          await govern("reinstate", [CENTRAL_AGENCY]);
          expect(await reg().statusOfOrganisation(CENTRAL_AGENCY)).to.equal(BigInt(OrgStatus.Active));
          await expect(reg().connect(a().orgAdmin).setOperator(a().registrar.address, CENTRAL_AGENCY, OperatorRole.Registrar)).to.emit(reg(), "OperatorSet");
          await expect(reg().connect(a().registrar).unlock(central(1), ReasonCode.FOUND_DEVICE)).to.emit(reg(), "CredentialUnlocked");
        }
      });
    }
  });

  describe("retiring a removed organisation's credentials (governance)", function () {
    it("frees the holder blocked by HolderActiveElsewhere, with events an indexer follows", async function () {
      const ref = holderRef("s-7"); // central(7), live
      await expect(reg().connect(a().localRegistrar).register(ref, jwtDigest("local-7")))
        .to.be.revertedWithCustomError(reg(), "HolderActiveElsewhere").withArgs(ref, central(7));
      await mined(reg().connect(a().registrar).revoke(central(3), ReasonCode.LEFT_SERVICE)); // already revoked: skipped
      await govern("remove", [CENTRAL_AGENCY]);
      const receipt = await govern("retireCredentials", [CENTRAL_AGENCY, 0n, 40n]);
      const logs = receipt.logs.map((l) => { try { return reg().interface.parseLog(l) ?? issuers().interface.parseLog(l); } catch { return issuers().interface.parseLog(l); } });
      const batch = logs.find((l) => l?.name === "CredentialsStatusChanged")!;
      const ids = Array.from({ length: 40 }, (_, i) => central(i)).filter((id) => id !== central(3));
      expect(unpackCredentialIds(batch.args.packedIds as string)).to.deep.equal(ids);
      expect([Number(batch.args.state), Number(batch.args.reason), batch.args.operator]).to.deep.equal([CredentialState.Revoked, ReasonCode.ORGANISATION_RETIRED, await issuers().getAddress()]);
      const audit = logs.find((l) => l?.name === "OrganisationCredentialsRetired")!;
      expect(audit.args.toArray()).to.deep.equal([BigInt(CENTRAL_AGENCY), 0n, 40n, 39n]);
      const s = await reg().statusOf(central(7));
      expect([Number(s.state), Number(s.reason)]).to.deep.equal([CredentialState.Revoked, ReasonCode.ORGANISATION_RETIRED]);
      expect(Number((await reg().statusOf(central(3))).reason)).to.equal(ReasonCode.LEFT_SERVICE);
      await expect(reg().connect(a().localRegistrar).register(ref, jwtDigest("local-7"))).to.emit(reg(), "CredentialRegistered");
    });

    it("is refused for an organisation that is not removed, outside the registered range, and to anyone but governance", async function () {
      await expect(issuers().retireCredentials(CENTRAL_AGENCY, 0n, 1n)).to.be.revertedWithCustomError(issuers(), "AccessControlUnauthorizedAccount");
      await expect(reg().retireOrganisationCredentials(CENTRAL_AGENCY, 0n, 1n)).to.be.revertedWithCustomError(reg(), "OnlyIssuerRegistry");
      await expect(reg().syncOrganisationStatus(CENTRAL_AGENCY, OrgStatus.Active)).to.be.revertedWithCustomError(reg(), "OnlyIssuerRegistry");
      const iface = issuers().interface;
      const failing = async (args: unknown[], error: string) => {
        const tx = governed(fx.f.ledger, a().members, await issuers().getAddress(), iface.encodeFunctionData("retireCredentials", args as [number, bigint, bigint]));
        await expect(tx).to.be.revertedWithCustomError(fx.f.ledger.governor, "ProposalCallFailed").withArgs(anyId, error);
      };
      const anyId = (await fx.f.ledger.governor.proposalCount()) + 1n;
      await failing([CENTRAL_AGENCY, 0n, 1n], iface.encodeErrorResult("InvalidOrgStatus", [CENTRAL_AGENCY, OrgStatus.Active]));
    });

    it("refuses empty, too large and unregistered ranges", async function () {
      await govern("remove", [CENTRAL_AGENCY]);
      const max = await reg().MAX_RETIREMENT_RANGE();
      const status = reg().interface;
      for (const [from, count] of [[0n, 0n], [0n, max + 1n], [0n, 41n], [40n, 1n]] as const) {
        const id = (await fx.f.ledger.governor.proposalCount()) + 1n;
        const tx = governed(fx.f.ledger, a().members, await issuers().getAddress(), issuers().interface.encodeFunctionData("retireCredentials", [CENTRAL_AGENCY, from, count]));
        await expect(tx).to.be.revertedWithCustomError(fx.f.ledger.governor, "ProposalCallFailed").withArgs(id, status.encodeErrorResult("InvalidBatch", [count]));
      }
    });

    it("GovernanceActions builds the proposal and checks its range", async function () {
      const actions = new GovernanceActions(fx.f.ledger.governor, issuers());
      const action = await actions.retireCredentials(CENTRAL_AGENCY, 0n, 40);
      expect(action.target).to.equal(await issuers().getAddress());
      expect(issuers().interface.decodeFunctionData("retireCredentials", action.data).toArray()).to.deep.equal([BigInt(CENTRAL_AGENCY), 0n, 40n]);
      const refusal = async (p: Promise<unknown>) => p.then(() => "no refusal", (e: unknown) => (e as Error).message);
      expect(await refusal(actions.retireCredentials(CENTRAL_AGENCY, 0n, 0))).to.match(/1\.\.8192/);
      expect(await refusal(actions.retireCredentials(CENTRAL_AGENCY, -1n, 1))).to.match(/first sequence/);
    });
  });

  describe("the binding between issuer and status registry", function () {
    it("is made once, by the deployer, to a status registry that reads this issuer registry; it mirrors earlier accreditations", async function () {
      await expect(issuers().connect(a().deployer).bindStatusRegistry(await reg().getAddress()))
        .to.be.revertedWithCustomError(issuers(), "StatusRegistryBinding");
      const deployer = a().deployer;
      const fresh = await new IssuerRegistry__factory(deployer).deploy(deployer.address); // deployer governs, for the test
      await mined(fresh.accredit(CENTRAL_AGENCY, OrgKind.CentralAgency, a().orgAdmin.address, [CIVIL_ID_TYPE]));
      const other = await new CredentialStatusRegistry__factory(deployer).deploy(await issuers().getAddress());
      await expect(fresh.bindStatusRegistry(await other.getAddress()))
        .to.be.revertedWithCustomError(fresh, "StatusRegistryMismatch").withArgs(await other.getAddress(), await issuers().getAddress());
      await expect(fresh.connect(a().outsider).bindStatusRegistry(await other.getAddress())).to.be.revertedWithCustomError(fresh, "StatusRegistryBinding");
      const mine = await new CredentialStatusRegistry__factory(deployer).deploy(await fresh.getAddress());
      expect(await mine.statusOfOrganisation(CENTRAL_AGENCY)).to.equal(BigInt(OrgStatus.None));
      await expect(fresh.bindStatusRegistry(await mine.getAddress())).to.emit(fresh, "StatusRegistryBound").withArgs(await mine.getAddress())
        .and.to.emit(mine, "OrganisationStatusSynced").withArgs(CENTRAL_AGENCY, OrgStatus.Active);
      expect(await fresh.statusRegistry()).to.equal(await mine.getAddress());
      await expect(fresh.bindStatusRegistry(await mine.getAddress())).to.be.revertedWithCustomError(fresh, "StatusRegistryBinding");
      await expect(fresh.suspend(CENTRAL_AGENCY)).to.emit(mine, "OrganisationStatusSynced").withArgs(CENTRAL_AGENCY, OrgStatus.Suspended);
    });

    it("an unbound status registry refuses registration (no mirrored status: fails closed)", async function () {
      const deployer = a().deployer;
      const fresh = await new IssuerRegistry__factory(deployer).deploy(deployer.address);
      await mined(fresh.accredit(CENTRAL_AGENCY, OrgKind.CentralAgency, a().orgAdmin.address, [CIVIL_ID_TYPE]));
      const unbound = await new CredentialStatusRegistry__factory(deployer).deploy(await fresh.getAddress());
      await mined(unbound.connect(a().orgAdmin).setOperator(a().registrar.address, CENTRAL_AGENCY, OperatorRole.Registrar));
      await expect(unbound.connect(a().registrar).register(holderRef(1), jwtDigest(1)))
        .to.be.revertedWithCustomError(unbound, "InvalidOrgStatus").withArgs(CENTRAL_AGENCY, OrgStatus.None);
      await expect(fresh.retireCredentials(CENTRAL_AGENCY, 0, 1)).to.be.revertedWithCustomError(fresh, "InvalidOrgStatus");
      await mined(fresh.remove(CENTRAL_AGENCY));
      await expect(fresh.retireCredentials(CENTRAL_AGENCY, 0, 1)).to.be.revertedWithCustomError(fresh, "StatusRegistryBinding");
    });
  });

  describe("the 40-bit sequence space", function () {
    it("registers the last sequence 2^40 - 1 and refuses the next one (it would spill into the next agency's ids)", async function () {
      const slot = keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "uint256"], [CENTRAL_AGENCY, ORGS_SLOT]));
      const last = (1n << 40n) - 1n;
      const record = (BigInt(OrgStatus.Active) << 48n) | last; // counter 2^40 - 1, status Active
      await fx.f.networkHelpers.setStorageAt(await reg().getAddress(), slot, zeroPadValue(toBeHex(record), 32));
      expect(await reg().nextSequence(CENTRAL_AGENCY)).to.equal(last);
      const r = reg().connect(a().registrar);
      await expect(r.registerBatch([holderRef("x"), holderRef("y")], [jwtDigest("x"), jwtDigest("y")]))
        .to.be.revertedWithCustomError(reg(), "SequenceExhausted").withArgs(CENTRAL_AGENCY, last, 2);
      await expect(r.register(holderRef("x"), jwtDigest("x"))).to.emit(reg(), "CredentialRegistered").withArgs(central(last), holderRef("x"), jwtDigest("x"), 0);
      expect(await reg().nextSequence(CENTRAL_AGENCY)).to.equal(1n << 40n);
      await expect(r.register(holderRef("y"), jwtDigest("y")))
        .to.be.revertedWithCustomError(reg(), "SequenceExhausted").withArgs(CENTRAL_AGENCY, 1n << 40n, 1);
      // The SDK's entry point, too, and before anything about the holder (new, a zero reference, one to supersede).
      for (const ref of [holderRef("y"), ZeroHash, holderRef("x")]) {
        await expect(r.register_8wReb(ref, jwtDigest("y")))
          .to.be.revertedWithCustomError(reg(), "SequenceExhausted").withArgs(CENTRAL_AGENCY, 1n << 40n, 1);
      }
      // The next agency's first credential is untouched.
      const next = makeCredentialId(CENTRAL_AGENCY + 1, 0n);
      expect((await reg().statusOf(next)).registered).to.equal(false);
      expect(await reg().statusOfOrganisation(CENTRAL_AGENCY)).to.equal(BigInt(OrgStatus.Active));
    });
  });

  describe("packed batches", function () {
    it("apply the same checks and emit the same event as the ABI-array batches", async function () {
      const h = reg().connect(a().helpDesk);
      const ids = [central(8), central(9), central(33)];
      await expect(h.lockBatchPacked(packCredentialIds(ids), ReasonCode.LOST_DEVICE))
        .to.emit(reg(), "CredentialsStatusChanged").withArgs(packCredentialIds(ids), CredentialState.Locked, ReasonCode.LOST_DEVICE, a().helpDesk.address);
      const bad: [string, string, unknown[]][] = [
        [packCredentialIds([central(10), makeCredentialId(LOCAL_GOV, 0n)]), "WrongOrganisation", [makeCredentialId(LOCAL_GOV, 0n), CENTRAL_AGENCY]],
        [packCredentialIds([central(10), central(40)]), "UnknownCredential", [central(40)]],
        [packCredentialIds([central(10), central(10)]), "InvalidTransition", [central(10), CredentialState.Locked, CredentialState.Locked]],
        [packCredentialIds([central(8)]), "InvalidTransition", [central(8), CredentialState.Locked, CredentialState.Locked]],
        ["0x" + "00".repeat(7), "InvalidBatch", [7]],
        ["0x", "InvalidBatch", [0]],
      ];
      for (const [data, error, args] of bad) {
        await expect(h.lockBatchPacked(data, ReasonCode.LOST_DEVICE), error).to.be.revertedWithCustomError(reg(), error).withArgs(...args);
      }
      await expect(h.lockBatchPacked(packCredentialIds([central(10)]), 10)).to.be.revertedWithCustomError(reg(), "InvalidReason").withArgs(10);
      await expect(h.revokeBatchPacked(packCredentialIds([central(10)]), ReasonCode.LEFT_SERVICE)).to.be.revertedWithCustomError(reg(), "NotAuthorised");
      const r = reg().connect(a().registrar);
      await expect(r.unlockBatchPacked(packCredentialIds(ids), ReasonCode.FOUND_DEVICE)).to.emit(reg(), "CredentialsStatusChanged");
      await expect(r.revokeBatchPacked(packCredentialIds(ids), ReasonCode.LEFT_SERVICE)).to.emit(reg(), "CredentialsStatusChanged");
      const max = Number(await reg().MAX_BATCH());
      await expect(r.revokeBatchPacked(packCredentialIds(Array.from({ length: max + 1 }, () => central(1))), ReasonCode.LEFT_SERVICE))
        .to.be.revertedWithCustomError(reg(), "InvalidBatch").withArgs(max + 1);
      // The ABI-array form refuses an element that is not a uint64 (raw calldata, as a hostile caller sends it).
      const raw = reg().interface.encodeFunctionData("lockBatch", [[central(11)], ReasonCode.LOST_DEVICE]).replace(
        toBeHex(central(11), 32).slice(2), "01" + toBeHex(central(11), 31).slice(2));
      await expect(a().helpDesk.sendTransaction({ to: await reg().getAddress(), data: raw })).to.be.revertedWithCustomError(reg(), "UnknownCredential");
    });
  });
});

describe("registerBatch fits a 30 M gas block; the SDK splits larger lists", function () {
  it("@gas-target MAX_REGISTER_BATCH new holders fit a 30 M block (gas measured without coverage instrumentation); the SDK splits 1,500 entries into 600 + 600 + 300", async function () {
    this.timeout(240_000);
    const conn = await network.create({ override: { blockGasLimit: 30_000_000n } as never });
    const s = await conn.ethers.getSigners();
    const ledger = await deployConsortium(s[0]!, { members: [s[1]!.address], threshold: 1 });
    const iface = ledger.issuerRegistry.interface;
    const g = ledger.governor.connect(s[1]!);
    await mined(g.propose(await ledger.issuerRegistry.getAddress(), iface.encodeFunctionData("accredit", [CENTRAL_AGENCY, OrgKind.CentralAgency, s[2]!.address, [CIVIL_ID_TYPE]]), 3600, "accredit"));
    await mined(g.execute(await g.proposalCount()));
    await mined(ledger.statusRegistry.connect(s[2]!).setOperator(s[3]!.address, CENTRAL_AGENCY, OperatorRole.Registrar));
    const registry = ledger.statusRegistry.connect(s[3]!);
    expect(await registry.MAX_REGISTER_BATCH()).to.equal(BigInt(MAX_REGISTER_BATCH));
    const entries = (n: number, tag: string) => Array.from({ length: n }, (_, i) => ({ holderRef: holderRef(`${tag}-${i}`), credentialDigest: jwtDigest(`${tag}-${i}`) }));
    // The worst case: every holder is new (first latestCredentialOf write), and the batch opens words.
    const worst = entries(MAX_REGISTER_BATCH, "w");
    const receipt = await mined(registry.registerBatch(worst.map((e) => e.holderRef), worst.map((e) => e.credentialDigest)));
    expect(receipt.gasUsed < 30_000_000n).to.equal(true);
    expect(receipt.gasUsed <= REGISTER_BATCH_GAS.base + REGISTER_BATCH_GAS.perItem * BigInt(MAX_REGISTER_BATCH)).to.equal(true);
    const over = entries(MAX_REGISTER_BATCH + 1, "o");
    await expect(registry.registerBatch(over.map((e) => e.holderRef), over.map((e) => e.credentialDigest)))
      .to.be.revertedWithCustomError(registry, "InvalidBatch").withArgs(MAX_REGISTER_BATCH + 1);

    const outcomes = await new StatusClient(registry).registerBatch(entries(1500, "sdk"));
    expect(outcomes).to.have.length(1500);
    expect(new Set(outcomes.map((o) => o.txHash)).size).to.equal(3);
    expect(outcomes.map((o) => o.credentialId)).to.deep.equal(Array.from({ length: 1500 }, (_, i) => central(MAX_REGISTER_BATCH + i)));
    await conn.close?.();
  });

  it("the capacity follows the block gas limit, and splitting keeps order", function () {
    expect(batchCapacity(MAX_REGISTER_BATCH, 30_000_000n, REGISTER_BATCH_GAS)).to.equal(MAX_REGISTER_BATCH);
    expect(batchCapacity(MAX_REGISTER_BATCH, 10_000_000n, REGISTER_BATCH_GAS)).to.equal(367);
    expect(batchCapacity(5000, 60_000_000n, REGISTER_BATCH_GAS)).to.equal(618); // the 2^24 per-transaction cap
    expect(batchCapacity(5000, 8_000_000n, { base: 0n, perItem: 1000n })).to.equal(5000);
    expect(() => batchCapacity(MAX_REGISTER_BATCH, 100_000n, REGISTER_BATCH_GAS)).to.throw(/cannot hold/);
    expect(splitIntoBatches([1, 2, 3, 4, 5], 2)).to.deep.equal([[1, 2], [3, 4], [5]]);
    expect(() => splitIntoBatches([1], 0)).to.throw(/positive/);
    expect(packCredentialIds([1n, (1n << 64n) - 1n])).to.equal("0x0000000000000001ffffffffffffffff");
    expect(() => packCredentialIds([1n << 64n])).to.throw(/uint64/);
  });
});
