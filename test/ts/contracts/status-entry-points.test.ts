/**
 * The low-selector entry points `lock_kvt72` and `register_8wReb` (what the SDK sends; solc's dispatcher compares them
 * first) are the same functions as `lock` and `register`: every scenario below runs against both names and must give
 * the same events, states and refusals.
 */
import { expect } from "chai";
import { ZeroHash } from "ethers";
import { CENTRAL_AGENCY, LOCAL_GOV } from "../helpers/fixture.js";
import { useFixture, holderRef, jwtDigest, mined } from "../helpers/ledger-test.js";
import { CredentialState, OperatorRole, ReasonCode, makeCredentialId } from "../../../sdk/chain/codes.js";

const central = (sequence: number) => makeCredentialId(CENTRAL_AGENCY, BigInt(sequence));
const local = (sequence: number) => makeCredentialId(LOCAL_GOV, BigInt(sequence));

describe("CredentialStatusRegistry low-selector entry points", function () {
  const fx = useFixture({}, async (f) => {
    await mined(f.ledger.statusRegistry.connect(f.actors.registrar).registerBatch([holderRef("e-0"), holderRef("e-1")], [jwtDigest("e-0"), jwtDigest("e-1")]));
    await mined(f.ledger.statusRegistry.connect(f.actors.localRegistrar).register(holderRef("e-local"), jwtDigest("e-local")));
  });
  const reg = () => fx.f.ledger.statusRegistry;
  const a = () => fx.f.actors;

  it("have the mined selectors, below every other selector of the registry (compared first)", function () {
    const iface = reg().interface;
    expect(iface.getFunction("register_8wReb")!.selector).to.equal("0x00000032");
    expect(iface.getFunction("lock_kvt72")!.selector).to.equal("0x0000003d");
    const selectors: string[] = [];
    iface.forEachFunction((fn) => selectors.push(fn.selector));
    expect(selectors.sort().slice(0, 2)).to.deep.equal(["0x00000032", "0x0000003d"]);
    // Same parameters and result as the plain functions.
    expect(iface.getFunction("lock_kvt72")!.inputs.map((p) => p.type)).to.deep.equal(iface.getFunction("lock")!.inputs.map((p) => p.type));
    expect(iface.getFunction("register_8wReb")!.outputs.map((p) => p.type)).to.deep.equal(iface.getFunction("register")!.outputs.map((p) => p.type));
  });

  for (const name of ["lock", "lock_kvt72"] as const) {
    describe(name, function () {
      const lock = (signer: "helpDesk" | "registrar" | "outsider" | "localRegistrar", id: bigint, reason: number) =>
        reg().connect(a()[signer])[name](id, reason);

      it("locks an Active credential of the caller's organisation and emits CredentialLocked", async function () {
        await expect(lock("helpDesk", central(1), ReasonCode.LOST_DEVICE))
          .to.emit(reg(), "CredentialLocked").withArgs(central(1), ReasonCode.LOST_DEVICE, a().helpDesk.address);
        const s = await reg().statusOf(central(1));
        expect([s.registered, Number(s.state), Number(s.reason)]).to.deep.equal([true, CredentialState.Locked, ReasonCode.LOST_DEVICE]);
      });

      it("refuses the same callers, ids, reasons and transitions", async function () {
        await expect(lock("outsider", central(0), ReasonCode.LOST_DEVICE))
          .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().outsider.address, OperatorRole.None);
        await expect(lock("helpDesk", local(0), ReasonCode.LOST_DEVICE))
          .to.be.revertedWithCustomError(reg(), "WrongOrganisation").withArgs(local(0), CENTRAL_AGENCY);
        await expect(lock("helpDesk", central(0), ReasonCode.SUPERSEDED_BY_REISSUE))
          .to.be.revertedWithCustomError(reg(), "InvalidReason").withArgs(ReasonCode.SUPERSEDED_BY_REISSUE);
        await expect(lock("helpDesk", central(2), ReasonCode.LOST_DEVICE))
          .to.be.revertedWithCustomError(reg(), "UnknownCredential").withArgs(central(2));
        await mined(lock("helpDesk", central(0), ReasonCode.LOST_DEVICE));
        await expect(lock("helpDesk", central(0), ReasonCode.LOST_DEVICE))
          .to.be.revertedWithCustomError(reg(), "InvalidTransition").withArgs(central(0), CredentialState.Locked, CredentialState.Locked);
      });
    });
  }

  for (const name of ["register", "register_8wReb"] as const) {
    describe(name, function () {
      const register = (signer: "helpDesk" | "registrar" | "localRegistrar", ref: string, digest: string) =>
        reg().connect(a()[signer])[name](ref, digest);

      it("registers the next id and supersedes the holder's live credential of the same organisation", async function () {
        await expect(register("registrar", holderRef("e-new"), jwtDigest("e-new")))
          .to.emit(reg(), "CredentialRegistered").withArgs(central(2), holderRef("e-new"), jwtDigest("e-new"), 0);
        await expect(register("registrar", holderRef("e-0"), jwtDigest("e-0-reissue")))
          .to.emit(reg(), "CredentialRegistered").withArgs(central(3), holderRef("e-0"), jwtDigest("e-0-reissue"), central(0));
        const old = await reg().statusOf(central(0));
        expect([Number(old.state), Number(old.reason)]).to.deep.equal([CredentialState.Revoked, ReasonCode.SUPERSEDED_BY_REISSUE]);
        expect(await reg().latestCredentialOf(holderRef("e-0"))).to.equal(central(3));
        expect(await reg().nextSequence(CENTRAL_AGENCY)).to.equal(4n);
        // The returned id is the new one.
        expect(await reg().connect(a().registrar)[name].staticCall(holderRef("e-next"), jwtDigest("e-next"))).to.equal(central(4));
      });

      it("refuses the same callers and holders, writing nothing", async function () {
        await expect(register("helpDesk", holderRef("e-x"), jwtDigest("e-x")))
          .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().helpDesk.address, OperatorRole.LockOnly);
        await expect(register("registrar", ZeroHash, jwtDigest("e-x"))).to.be.revertedWithCustomError(reg(), "InvalidHolderRef");
        await expect(register("localRegistrar", holderRef("e-1"), jwtDigest("e-x")))
          .to.be.revertedWithCustomError(reg(), "HolderActiveElsewhere").withArgs(holderRef("e-1"), central(1));
        // The caller's refusal comes first, whatever the holder (one refusal test covers both in the contract).
        await expect(register("helpDesk", ZeroHash, jwtDigest("e-x")))
          .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().helpDesk.address, OperatorRole.LockOnly);
        await expect(register("helpDesk", holderRef("e-local"), jwtDigest("e-x")))
          .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().helpDesk.address, OperatorRole.LockOnly);
        expect(await reg().nextSequence(CENTRAL_AGENCY)).to.equal(2n);
        expect(await reg().nextSequence(LOCAL_GOV)).to.equal(1n);
        const s = await reg().statusOf(central(1));
        expect(Number(s.state)).to.equal(CredentialState.Active);
      });
    });
  }
});
