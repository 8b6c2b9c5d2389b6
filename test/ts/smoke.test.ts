import { expect } from "chai";
import { ethers as E } from "ethers";
import { deployFixture, CENTRAL_AGENCY } from "./helpers/fixture.js";
import { CredentialState, ReasonCode, makeCredentialId } from "../../sdk/chain/codes.js";

describe("smoke: deploy, register, lock", () => {
  it("registers a credential, supersedes on reissue and locks", async () => {
    const { ledger, actors } = await deployFixture();
    const status = ledger.statusRegistry.connect(actors.registrar);
    const holder = E.keccak256(E.toUtf8Bytes("salt|holder-1"));
    await (await status.register(holder, E.ZeroHash)).wait();
    await (await status.register(holder, E.ZeroHash)).wait();
    const id0 = makeCredentialId(CENTRAL_AGENCY, 0n);
    const id1 = makeCredentialId(CENTRAL_AGENCY, 1n);
    expect((await ledger.statusRegistry.statusOf(id0)).state).to.equal(BigInt(CredentialState.Revoked));
    await (await ledger.statusRegistry.connect(actors.helpDesk).lock(id1, ReasonCode.LOST_DEVICE)).wait();
    expect((await ledger.statusRegistry.statusOf(id1)).state).to.equal(BigInt(CredentialState.Locked));
  });
});
