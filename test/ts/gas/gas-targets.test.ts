/**
 * Design gas targets of the credential status registry, asserted as upper bounds on `receipt.gasUsed`. Gas is
 * deterministic for a given state and input (not a timing measurement), so these bounds are stable; a change
 * that breaks one changed the storage layout or the hot path and must be looked at.
 */
import { expect } from "chai";
import { CENTRAL_AGENCY } from "../helpers/fixture.js";
import { holderRef, jwtDigest, mined, registerMany, useFixture } from "../helpers/ledger-test.js";
import { ReasonCode, makeCredentialId } from "../../../sdk/chain/codes.js";
import { packCredentialIds } from "../../../sdk/chain/batches.js";

const REGISTERED = 1000;
// Asserted bounds: issue #13's goals (lock and register superseding through the SDK's entry points, revoke,
// batches). The SDK sends the single lock and register under second names whose selectors solc's linear dispatcher
// compares first (`lock_kvt72`, `register_8wReb`); the plain `lock` and `register` stay for every other caller and
// are bounded at today's measurement plus a small margin, so a regression fails. docs/PERFORMANCE.md (gas section)
// gives the measured reasons.
const TARGET = {
  lock: 31_000n,
  lockPlainSelector: 31_200n,
  revoke: 31_000n,
  registerSuperseding: 42_000n,
  registerSupersedingPlainSelector: 42_200n,
  batchMarginalPerCredential: 650n,
};
// Issue #13's goals, printed beside the measurement (met or not).
const GOAL = { lock: 31_000n, revoke: 31_000n, registerSuperseding: 42_000n, batchMarginalPerCredential: 650n };
const vsGoal = (measured: bigint, goal: bigint) => `${measured}  (goal ${goal}: ${measured <= goal ? "met" : "not met"})`;

const central = (sequence: number) => makeCredentialId(CENTRAL_AGENCY, BigInt(sequence));
const range = (n: number) => Array.from({ length: n }, (_, i) => central(i));

describe("@gas-target: targets (upper bounds on receipt.gasUsed; excluded from the coverage run, whose instrumentation adds gas)", function () {
  const measured: Record<string, string> = {};
  // 1,000 registered credentials of one organisation (status words 0..31 primed), holders "g-0".."g-999".
  const fx = useFixture({}, async (f) => {
    await registerMany(f.ledger.statusRegistry.connect(f.actors.registrar), REGISTERED, "g");
  });
  const reg = () => fx.f.ledger.statusRegistry;

  after(function () {
    console.log("      measured gas:");
    for (const [name, value] of Object.entries(measured)) console.log(`        ${name.padEnd(44)} ${value}`);
  });

  it(`single lock through the SDK's entry point lock_kvt72 <= ${TARGET.lock}, through the plain lock selector <= ${TARGET.lockPlainSelector}`, async function () {
    const helpDesk = reg().connect(fx.f.actors.helpDesk);
    const tx = helpDesk.lock_kvt72(central(517), ReasonCode.LOST_DEVICE);
    await expect(tx).to.emit(reg(), "CredentialLocked").withArgs(central(517), ReasonCode.LOST_DEVICE, fx.f.actors.helpDesk.address);
    const { gasUsed } = await mined(tx);
    measured["lock (help desk, LOST_DEVICE; lock_kvt72)"] = vsGoal(gasUsed, GOAL.lock);
    const plain = await mined(helpDesk.lock(central(518), ReasonCode.LOST_DEVICE));
    measured["lock, plain lock selector"] = vsGoal(plain.gasUsed, GOAL.lock);
    expect(gasUsed).to.be.at.most(TARGET.lock);
    expect(plain.gasUsed).to.be.at.most(TARGET.lockPlainSelector);
  });

  it(`single revoke from Active in an already-used status word <= ${TARGET.revoke}`, async function () {
    const r = reg().connect(fx.f.actors.registrar);
    await mined(r.lock(central(516), ReasonCode.LOST_DEVICE)); // the word has seen a status change already
    const { gasUsed } = await mined(r.revoke(central(517), ReasonCode.LEFT_SERVICE));
    measured["revoke (Active, LEFT_SERVICE)"] = vsGoal(gasUsed, GOAL.revoke);
    expect(gasUsed).to.be.at.most(TARGET.revoke);
  });

  it(`register superseding the holder's previous credential (steady state) through register_8wReb <= ${TARGET.registerSuperseding}, through the plain register selector <= ${TARGET.registerSupersedingPlainSelector}`, async function () {
    const r = reg().connect(fx.f.actors.registrar);
    // Sequence 1000 shares the status word primed by sequence 992; the superseded credential's word is primed too.
    expect(await reg().nextSequence(CENTRAL_AGENCY)).to.equal(BigInt(REGISTERED));
    const tx = r.register_8wReb(holderRef("g-10"), jwtDigest("g-10-reissue"));
    await expect(tx).to.emit(reg(), "CredentialRegistered").withArgs(central(REGISTERED), holderRef("g-10"), jwtDigest("g-10-reissue"), central(10));
    const { gasUsed } = await mined(tx);
    measured["register superseding (register_8wReb)"] = vsGoal(gasUsed, GOAL.registerSuperseding);
    const plainTx = r.register(holderRef("g-11"), jwtDigest("g-11-reissue"));
    await expect(plainTx).to.emit(reg(), "CredentialRegistered").withArgs(central(REGISTERED + 1), holderRef("g-11"), jwtDigest("g-11-reissue"), central(11));
    const plain = await mined(plainTx);
    measured["register superseding, plain register selector"] = vsGoal(plain.gasUsed, GOAL.registerSuperseding);
    expect(gasUsed).to.be.at.most(TARGET.registerSuperseding);
    expect(plain.gasUsed).to.be.at.most(TARGET.registerSupersedingPlainSelector);
  });

  for (const [fn, operator] of [["lockBatchPacked", "helpDesk"], ["revokeBatchPacked", "registrar"]] as const) {
    it(`${fn} of 100 and 1,000 consecutive credentials <= ${TARGET.batchMarginalPerCredential} gas marginal per credential`, async function () {
      const snapshot = await fx.f.networkHelpers.takeSnapshot();
      const gasFor = async (n: number): Promise<bigint> => {
        const { gasUsed } = await mined(reg().connect(fx.f.actors[operator])[fn](packCredentialIds(range(n)), ReasonCode.ADMINISTRATIVE));
        await snapshot.restore();
        return gasUsed;
      };
      const g1 = await gasFor(1);
      const marginals: Record<string, bigint> = {};
      for (const n of [100, 1000]) {
        const gn = await gasFor(n);
        marginals[`${fn}(${n})`] = (gn - g1) / BigInt(n - 1);
        measured[`${fn}(${n})  [gas(1) = ${g1}]`] = `${gn}  -> ${vsGoal(marginals[`${fn}(${n})`]!, GOAL.batchMarginalPerCredential)} per credential`;
      }
      // Both sizes are measured (and printed) before either is judged.
      for (const [name, marginal] of Object.entries(marginals)) {
        expect(marginal, name).to.be.at.most(TARGET.batchMarginalPerCredential);
      }
    });
  }
});
