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
// Asserted bounds: issue #13's goal where it is met (revoke, batches); where it is not (lock, register superseding),
// today's measurement plus a small margin, so a regression fails. docs/PERFORMANCE.md (gas section) gives the
// measured reason for the two that miss: solc's linear selector dispatch and the storage/event floor.
const TARGET = {
  lock: 31_250n,
  revoke: 31_000n,
  registerSuperseding: 42_450n,
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

  it(`single lock <= ${TARGET.lock}`, async function () {
    const { gasUsed } = await mined(reg().connect(fx.f.actors.helpDesk).lock(central(517), ReasonCode.LOST_DEVICE));
    measured["lock (help desk, LOST_DEVICE)"] = vsGoal(gasUsed, GOAL.lock);
    expect(gasUsed).to.be.at.most(TARGET.lock);
  });

  it(`single revoke from Active in an already-used status word <= ${TARGET.revoke}`, async function () {
    const r = reg().connect(fx.f.actors.registrar);
    await mined(r.lock(central(516), ReasonCode.LOST_DEVICE)); // the word has seen a status change already
    const { gasUsed } = await mined(r.revoke(central(517), ReasonCode.LEFT_SERVICE));
    measured["revoke (Active, LEFT_SERVICE)"] = vsGoal(gasUsed, GOAL.revoke);
    expect(gasUsed).to.be.at.most(TARGET.revoke);
  });

  it(`register superseding the holder's previous credential (steady state) <= ${TARGET.registerSuperseding}`, async function () {
    const r = reg().connect(fx.f.actors.registrar);
    // Sequence 1000 shares the status word primed by sequence 992; the superseded credential's word is primed too.
    expect(await reg().nextSequence(CENTRAL_AGENCY)).to.equal(BigInt(REGISTERED));
    const tx = r.register(holderRef("g-10"), jwtDigest("g-10-reissue"));
    await expect(tx).to.emit(reg(), "CredentialRegistered").withArgs(central(REGISTERED), holderRef("g-10"), jwtDigest("g-10-reissue"), central(10));
    const { gasUsed } = await mined(tx);
    measured["register superseding"] = vsGoal(gasUsed, GOAL.registerSuperseding);
    expect(gasUsed).to.be.at.most(TARGET.registerSuperseding);
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
