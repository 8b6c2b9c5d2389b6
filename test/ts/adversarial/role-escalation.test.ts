/**
 * Role escalation and governance bypass, tried by each insider the threat model names: the deployer after
 * deployment, a single consortium member acting alone, an organisation's admin reaching into another organisation,
 * an admin poaching another organisation's operator, and a help desk acting as an admin. Every attempt reverts with
 * its exact custom error; the ledger is unchanged.
 */
import { expect } from "chai";
import { ZeroHash } from "ethers";
import { CENTRAL_AGENCY, CIVIL_ID_TYPE, LOCAL_GOV, deployFixture } from "../helpers/fixture.js";
import { OperatorRole, OrgKind } from "../../../sdk/chain/codes.js";
import { connectRelyingPartyRegistry } from "../../../sdk/relying-party/registry.js";

describe("adversarial: role escalation and governance bypass on the contracts", function () {
  let f: Awaited<ReturnType<typeof deployFixture>>;
  before(async function () {
    f = await deployFixture({ accredit: true });
  });

  it("the deployer keeps no role: only the governor administers the issuer and relying-party registries", async function () {
    const issuers = f.ledger.issuerRegistry;
    const rps = connectRelyingPartyRegistry(f.ledger.deployment, f.actors.deployer);
    const governor = await f.ledger.governor.getAddress();
    for (const registry of [issuers, rps]) {
      for (const role of [ZeroHash, await registry.GOVERNANCE_ROLE()]) {
        expect(await registry.hasRole(role, f.actors.deployer.address)).to.equal(false);
        expect(await registry.hasRole(role, governor)).to.equal(true);
        for (const member of f.actors.members) expect(await registry.hasRole(role, member.address)).to.equal(false);
      }
      await expect(registry.connect(f.actors.deployer).grantRole(await registry.GOVERNANCE_ROLE(), f.actors.deployer.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount").withArgs(f.actors.deployer.address, ZeroHash);
    }
  });

  it("one consortium member alone can neither grant itself governance nor call a governance function", async function () {
    const issuers = f.ledger.issuerRegistry;
    const member = f.actors.members[0]!;
    const role = await issuers.GOVERNANCE_ROLE();
    await expect(issuers.connect(member).grantRole(role, member.address))
      .to.be.revertedWithCustomError(issuers, "AccessControlUnauthorizedAccount").withArgs(member.address, ZeroHash);
    await expect(issuers.connect(member).accredit(7_000_000, OrgKind.CentralAgency, member.address, [CIVIL_ID_TYPE]))
      .to.be.revertedWithCustomError(issuers, "AccessControlUnauthorizedAccount").withArgs(member.address, role);
    // Nor through the governor without the threshold: a proposal executed on one approval reverts.
    const governor = f.ledger.governor;
    await (await governor.connect(member).propose(await issuers.getAddress(), issuers.interface.encodeFunctionData("accredit", [7_000_000, OrgKind.CentralAgency, member.address, [CIVIL_ID_TYPE]]), 3600, "alone")).wait();
    await expect(governor.connect(member).execute(await governor.proposalCount())).to.be.revertedWithCustomError(governor, "ThresholdNotReached");
    expect((await issuers.organisation(7_000_000)).admin).to.equal("0x0000000000000000000000000000000000000000");
  });

  it("an organisation's admin cannot add keys to, or appoint operators for, another organisation (NotOrgAdmin)", async function () {
    const { issuerRegistry: issuers, statusRegistry: status } = f.ledger;
    const { orgAdmin, outsider } = f.actors;
    const now = (await f.ethers.provider.getBlock("latest"))!.timestamp;
    await expect(issuers.connect(orgAdmin).addIssuerKey(LOCAL_GOV, outsider.address, 0, now + 86_400))
      .to.be.revertedWithCustomError(issuers, "NotOrgAdmin").withArgs(LOCAL_GOV, orgAdmin.address);
    await expect(status.connect(orgAdmin).setOperator(outsider.address, LOCAL_GOV, OperatorRole.Registrar))
      .to.be.revertedWithCustomError(status, "NotOrgAdmin").withArgs(LOCAL_GOV, orgAdmin.address);
  });

  it("an admin cannot poach another organisation's operator, nor demote it (OperatorOfOtherOrganisation)", async function () {
    const status = f.ledger.statusRegistry;
    const { localAdmin, registrar } = f.actors;
    for (const role of [OperatorRole.Registrar, OperatorRole.LockOnly, OperatorRole.None]) {
      await expect(status.connect(localAdmin).setOperator(registrar.address, LOCAL_GOV, role))
        .to.be.revertedWithCustomError(status, "OperatorOfOtherOrganisation").withArgs(registrar.address, CENTRAL_AGENCY);
    }
  });

  it("a help desk (LockOnly) or a registrar cannot act as their organisation's admin (NotOrgAdmin)", async function () {
    const { issuerRegistry: issuers, statusRegistry: status } = f.ledger;
    const { helpDesk, registrar, outsider } = f.actors;
    for (const who of [helpDesk, registrar]) {
      await expect(status.connect(who).setOperator(outsider.address, CENTRAL_AGENCY, OperatorRole.Registrar))
        .to.be.revertedWithCustomError(status, "NotOrgAdmin").withArgs(CENTRAL_AGENCY, who.address);
      await expect(issuers.connect(who).retireIssuerKey(CENTRAL_AGENCY, f.actors.issuerKey.address, true))
        .to.be.revertedWithCustomError(issuers, "NotOrgAdmin").withArgs(CENTRAL_AGENCY, who.address);
    }
  });
});
