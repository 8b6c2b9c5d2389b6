import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { ZeroAddress, ZeroHash, id as keccakUtf8 } from "ethers";
import { IssuerRegistry__factory, type IssuerRegistry } from "../../../sdk/chain/contracts.js";
import { OrgKind, OrgStatus, credentialTypeId } from "../../../sdk/chain/codes.js";
import { CENTRAL_AGENCY, CIVIL_ID_TYPE, governed } from "../helpers/fixture.js";
import { mined, useFixture } from "../helpers/ledger-test.js";

const ORG_A = 1_741_000; // central agency
const ORG_B = 6_110_000; // local government
const NEW_ORG = 1_310_000;
const OTHER_TYPE = credentialTypeId("RetiredCivilServantCredential");
const YEAR = 365n * 86_400n;
const GOVERNANCE_ROLE = keccakUtf8("GOVERNANCE_ROLE");

describe("IssuerRegistry", function () {
  // A standalone registry governed by an externally owned account, so every governance path is one direct call;
  // the consortium's own registry (governed by the M-of-N governor) is covered at the end.
  let registry: IssuerRegistry;
  let gov: HardhatEthersSigner, adminA: HardhatEthersSigner, adminB: HardhatEthersSigner, outsider: HardhatEthersSigner;
  let keyA: HardhatEthersSigner, keyA2: HardhatEthersSigner, keyB: HardhatEthersSigner;
  const fx = useFixture({}, async (f) => {
    const s = await f.ethers.getSigners();
    [gov, adminA, adminB, outsider, keyA, keyA2, keyB] = [s[12]!, s[13]!, s[14]!, s[15]!, s[16]!, s[17]!, s[18]!];
    registry = await new IssuerRegistry__factory(f.actors.deployer).deploy(gov.address);
    await registry.waitForDeployment();
    await mined(registry.connect(gov).accredit(ORG_A, OrgKind.CentralAgency, adminA.address, [CIVIL_ID_TYPE]));
    await mined(registry.connect(gov).accredit(ORG_B, OrgKind.LocalGovernment, adminB.address, [CIVIL_ID_TYPE]));
  });
  const time = () => fx.f.networkHelpers.time;
  /** Pins the next block's timestamp so that time-dependent arguments are exact. */
  const nextTs = async (): Promise<bigint> => {
    const ts = (await time().latest()) + 10;
    await time().setNextBlockTimestamp(ts);
    return BigInt(ts);
  };
  const latest = async () => BigInt(await time().latest());
  const byGov = () => registry.connect(gov);
  const trusted = async (issuer: string, at: bigint, type = CIVIL_ID_TYPE) => (await registry.isTrustedIssuer(issuer, type, at)).trusted;

  describe("deployment", function () {
    it("grants governance (and its admin role) to the given account only", async function () {
      expect(await registry.GOVERNANCE_ROLE()).to.equal(GOVERNANCE_ROLE);
      expect(await registry.hasRole(GOVERNANCE_ROLE, gov.address)).to.equal(true);
      expect(await registry.hasRole(ZeroHash, gov.address)).to.equal(true);
      expect(await registry.hasRole(GOVERNANCE_ROLE, fx.f.actors.deployer.address)).to.equal(false);
      expect(await registry.hasRole(ZeroHash, fx.f.actors.deployer.address)).to.equal(false);
    });

    it("refuses a zero governance account", async function () {
      const factory = new IssuerRegistry__factory(fx.f.actors.deployer);
      await expect(factory.deploy(ZeroAddress)).to.be.revertedWithCustomError(factory, "ZeroAddress");
    });

    it("only the governance account administers roles", async function () {
      await expect(registry.connect(outsider).grantRole(GOVERNANCE_ROLE, outsider.address))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount").withArgs(outsider.address, ZeroHash);
      await expect(byGov().grantRole(GOVERNANCE_ROLE, outsider.address))
        .to.emit(registry, "RoleGranted").withArgs(GOVERNANCE_ROLE, outsider.address, gov.address);
      await expect(registry.connect(outsider).suspend(ORG_A)).to.emit(registry, "OrganisationStatusChanged");
    });
  });

  describe("organisation names (issue #10: the name verifiers show comes from the registry)", function () {
    const hashOf = (name: string) => keccakUtf8(name);

    it("governance sets and renames an organisation's official name; each change is an event with the hash and the text", async function () {
      expect(await registry.organisationNameHash(ORG_A)).to.equal(ZeroHash);
      await expect(byGov().setOrganisationName(ORG_A, "행정안전부"))
        .to.emit(registry, "OrganisationNameSet").withArgs(ORG_A, hashOf("행정안전부"), "행정안전부");
      expect(await registry.organisationNameHash(ORG_A)).to.equal(hashOf("행정안전부"));
      await expect(byGov().setOrganisationName(ORG_A, "행정자치부"))
        .to.emit(registry, "OrganisationNameSet").withArgs(ORG_A, hashOf("행정자치부"), "행정자치부");
      expect(await registry.organisationNameHash(ORG_A)).to.equal(hashOf("행정자치부"));
      expect(await registry.organisationNameHash(ORG_B)).to.equal(ZeroHash);
      // A suspended or removed organisation keeps (and may get) its name: credentials it issued still name it.
      await mined(byGov().suspend(ORG_B));
      await expect(byGov().setOrganisationName(ORG_B, "서울특별시")).to.emit(registry, "OrganisationNameSet");
    });

    it("only governance sets names; an unknown organisation, an empty or over-long name is refused", async function () {
      await expect(registry.connect(adminA).setOrganisationName(ORG_A, "국가정보원"))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount").withArgs(adminA.address, GOVERNANCE_ROLE);
      await expect(byGov().setOrganisationName(NEW_ORG, "인사혁신처")).to.be.revertedWithCustomError(registry, "UnknownOrganisation").withArgs(NEW_ORG);
      await expect(byGov().setOrganisationName(ORG_A, "")).to.be.revertedWithCustomError(registry, "InvalidOrganisationName").withArgs(ORG_A, 0);
      const max = Number(await registry.MAX_ORGANISATION_NAME_BYTES());
      await expect(byGov().setOrganisationName(ORG_A, "가".repeat(max / 3 + 1))).to.be.revertedWithCustomError(registry, "InvalidOrganisationName");
      await expect(byGov().setOrganisationName(ORG_A, "a".repeat(max))).to.emit(registry, "OrganisationNameSet");
    });

    it("the packed organisation record and the status registry's reads are unchanged by a name", async function () {
      const before = await registry.organisation(ORG_A);
      const active = await registry.isOrganisationActive.estimateGas(ORG_A);
      await mined(byGov().setOrganisationName(ORG_A, "행정안전부"));
      expect(await registry.organisation(ORG_A)).to.deep.equal(before);
      expect(await registry.isOrganisationActive.estimateGas(ORG_A)).to.equal(active);
    });
  });

  describe("accredit", function () {
    it("accredits an organisation with its credential types", async function () {
      const ts = await nextTs();
      const tx = byGov().accredit(NEW_ORG, OrgKind.CentralAgency, outsider.address, [CIVIL_ID_TYPE, OTHER_TYPE]);
      await expect(tx).to.emit(registry, "OrganisationAccredited").withArgs(NEW_ORG, OrgKind.CentralAgency, outsider.address);
      await expect(tx).to.emit(registry, "OrganisationStatusChanged").withArgs(NEW_ORG, OrgStatus.None, OrgStatus.Active);
      await expect(tx).to.emit(registry, "CredentialTypeSet").withArgs(NEW_ORG, CIVIL_ID_TYPE, true);
      await expect(tx).to.emit(registry, "CredentialTypeSet").withArgs(NEW_ORG, OTHER_TYPE, true);
      const org = await registry.organisation(NEW_ORG);
      expect([org.kind, org.status, org.accreditedAt, org.statusChangedAt, org.admin])
        .to.deep.equal([BigInt(OrgKind.CentralAgency), BigInt(OrgStatus.Active), ts, ts, outsider.address]);
      expect(await registry.isOrganisationActive(NEW_ORG)).to.equal(true);
      expect(await registry.organisationAdmin(NEW_ORG)).to.equal(outsider.address);
      expect(await registry.isCredentialTypeAllowed(NEW_ORG, OTHER_TYPE)).to.equal(true);
      expect(await registry.isCredentialTypeAllowed(ORG_A, OTHER_TYPE)).to.equal(false);
      expect(await registry.agencyCodes()).to.deep.equal([BigInt(ORG_A), BigInt(ORG_B), BigInt(NEW_ORG)]);
    });

    it("accepts an empty list of credential types", async function () {
      await expect(byGov().accredit(NEW_ORG, OrgKind.LocalGovernment, outsider.address, []))
        .to.emit(registry, "OrganisationAccredited")
        .and.not.to.emit(registry, "CredentialTypeSet");
    });

    it("accepts exactly the 7-digit agency codes", async function () {
      for (const code of [0, 999_999, 10_000_000, 4_294_967_295]) {
        await expect(byGov().accredit(code, OrgKind.CentralAgency, outsider.address, []))
          .to.be.revertedWithCustomError(registry, "InvalidAgencyCode").withArgs(code);
      }
      for (const code of [1_000_000, 9_999_999]) {
        await expect(byGov().accredit(code, OrgKind.CentralAgency, outsider.address, [])).to.emit(registry, "OrganisationAccredited");
      }
    });

    it("refuses kind None, an out-of-range kind and a zero admin", async function () {
      await expect(byGov().accredit(NEW_ORG, OrgKind.None, outsider.address, []))
        .to.be.revertedWithCustomError(registry, "InvalidOrgKind").withArgs(OrgKind.None);
      // Not an OrgKind at all: the ABI decoder refuses it before any code runs.
      await expect(byGov().accredit(NEW_ORG, 3, outsider.address, [])).to.be.revertedWithoutReason(fx.f.ethers);
      await expect(byGov().accredit(NEW_ORG, OrgKind.CentralAgency, ZeroAddress, [])).to.be.revertedWithCustomError(registry, "ZeroAddress");
    });

    it("refuses an existing or removed organisation (removal is final)", async function () {
      await expect(byGov().accredit(ORG_A, OrgKind.CentralAgency, outsider.address, []))
        .to.be.revertedWithCustomError(registry, "OrganisationExists").withArgs(ORG_A);
      await mined(byGov().remove(ORG_B));
      await expect(byGov().accredit(ORG_B, OrgKind.LocalGovernment, adminB.address, []))
        .to.be.revertedWithCustomError(registry, "OrganisationExists").withArgs(ORG_B);
    });
  });

  describe("governance-only functions", function () {
    const calls: [string, (r: IssuerRegistry) => Promise<unknown>][] = [
      ["accredit", (r) => r.accredit(NEW_ORG, OrgKind.CentralAgency, outsider.address, [])],
      ["suspend", (r) => r.suspend(ORG_A)],
      ["reinstate", (r) => r.reinstate(ORG_A)],
      ["remove", (r) => r.remove(ORG_A)],
      ["setCredentialType", (r) => r.setCredentialType(ORG_A, OTHER_TYPE, true)],
      ["setOrganisationAdmin", (r) => r.setOrganisationAdmin(ORG_A, outsider.address)],
      ["markIssuerKeyCompromised", (r) => r.markIssuerKeyCompromised(outsider.address)],
    ];
    for (const [name, call] of calls) {
      it(`${name} refuses the organisation admin and outsiders`, async function () {
        for (const caller of [adminA, outsider, fx.f.actors.deployer]) {
          await expect(call(registry.connect(caller)))
            .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount").withArgs(caller.address, GOVERNANCE_ROLE);
        }
      });
    }
  });

  describe("organisation lifecycle", function () {
    it("Active -> Suspended -> Active -> Removed, with events and timestamps", async function () {
      const accreditedAt = (await registry.organisation(ORG_A)).accreditedAt;
      let ts = await nextTs();
      await expect(byGov().suspend(ORG_A)).to.emit(registry, "OrganisationStatusChanged").withArgs(ORG_A, OrgStatus.Active, OrgStatus.Suspended);
      expect(await registry.isOrganisationActive(ORG_A)).to.equal(false);
      expect((await registry.organisation(ORG_A)).statusChangedAt).to.equal(ts);
      ts = await nextTs();
      await expect(byGov().reinstate(ORG_A)).to.emit(registry, "OrganisationStatusChanged").withArgs(ORG_A, OrgStatus.Suspended, OrgStatus.Active);
      expect(await registry.isOrganisationActive(ORG_A)).to.equal(true);
      expect((await registry.organisation(ORG_A)).statusChangedAt).to.equal(ts);
      ts = await nextTs();
      await expect(byGov().remove(ORG_A)).to.emit(registry, "OrganisationStatusChanged").withArgs(ORG_A, OrgStatus.Active, OrgStatus.Removed);
      const org = await registry.organisation(ORG_A);
      expect([org.status, org.statusChangedAt, org.accreditedAt]).to.deep.equal([BigInt(OrgStatus.Removed), ts, accreditedAt]);
    });

    it("removes a suspended organisation", async function () {
      await mined(byGov().suspend(ORG_B));
      await expect(byGov().remove(ORG_B)).to.emit(registry, "OrganisationStatusChanged").withArgs(ORG_B, OrgStatus.Suspended, OrgStatus.Removed);
    });

    it("refuses transitions from the wrong status", async function () {
      await expect(byGov().reinstate(ORG_A)).to.be.revertedWithCustomError(registry, "InvalidOrgStatus").withArgs(ORG_A, OrgStatus.Active);
      await mined(byGov().suspend(ORG_A));
      await expect(byGov().suspend(ORG_A)).to.be.revertedWithCustomError(registry, "InvalidOrgStatus").withArgs(ORG_A, OrgStatus.Suspended);
      await mined(byGov().remove(ORG_A));
      for (const fn of ["suspend", "reinstate", "remove"] as const) {
        await expect(byGov()[fn](ORG_A)).to.be.revertedWithCustomError(registry, "InvalidOrgStatus").withArgs(ORG_A, OrgStatus.Removed);
        await expect(byGov()[fn](NEW_ORG)).to.be.revertedWithCustomError(registry, "UnknownOrganisation").withArgs(NEW_ORG);
      }
    });

    it("setCredentialType allows and disallows a type", async function () {
      await expect(byGov().setCredentialType(ORG_A, OTHER_TYPE, true)).to.emit(registry, "CredentialTypeSet").withArgs(ORG_A, OTHER_TYPE, true);
      expect(await registry.isCredentialTypeAllowed(ORG_A, OTHER_TYPE)).to.equal(true);
      await expect(byGov().setCredentialType(ORG_A, CIVIL_ID_TYPE, false)).to.emit(registry, "CredentialTypeSet").withArgs(ORG_A, CIVIL_ID_TYPE, false);
      expect(await registry.isCredentialTypeAllowed(ORG_A, CIVIL_ID_TYPE)).to.equal(false);
      await expect(byGov().setCredentialType(NEW_ORG, OTHER_TYPE, true)).to.be.revertedWithCustomError(registry, "UnknownOrganisation").withArgs(NEW_ORG);
    });

    it("setOrganisationAdmin replaces a lost admin", async function () {
      await expect(byGov().setOrganisationAdmin(ORG_A, outsider.address))
        .to.emit(registry, "OrganisationAdminChanged").withArgs(ORG_A, adminA.address, outsider.address);
      expect(await registry.organisationAdmin(ORG_A)).to.equal(outsider.address);
      const until = (await latest()) + YEAR;
      await expect(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until))
        .to.be.revertedWithCustomError(registry, "NotOrgAdmin").withArgs(ORG_A, adminA.address);
      await expect(registry.connect(outsider).addIssuerKey(ORG_A, keyA.address, 0, until)).to.emit(registry, "IssuerKeyAdded");
      await expect(byGov().setOrganisationAdmin(ORG_A, ZeroAddress)).to.be.revertedWithCustomError(registry, "ZeroAddress");
      await expect(byGov().setOrganisationAdmin(NEW_ORG, outsider.address))
        .to.be.revertedWithCustomError(registry, "UnknownOrganisation").withArgs(NEW_ORG);
    });
  });

  describe("organisation admin", function () {
    it("transferOrganisationAdmin hands the role over", async function () {
      await expect(registry.connect(adminA).transferOrganisationAdmin(ORG_A, outsider.address))
        .to.emit(registry, "OrganisationAdminChanged").withArgs(ORG_A, adminA.address, outsider.address);
      await expect(registry.connect(adminA).transferOrganisationAdmin(ORG_A, adminA.address))
        .to.be.revertedWithCustomError(registry, "NotOrgAdmin").withArgs(ORG_A, adminA.address);
      await expect(registry.connect(outsider).transferOrganisationAdmin(ORG_A, ZeroAddress)).to.be.revertedWithCustomError(registry, "ZeroAddress");
    });

    it("org-admin functions refuse other organisations' admins, governance and outsiders", async function () {
      const until = (await latest()) + YEAR;
      await mined(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until));
      const calls: [string, (r: IssuerRegistry) => Promise<unknown>][] = [
        ["transferOrganisationAdmin", (r) => r.transferOrganisationAdmin(ORG_A, outsider.address)],
        ["addIssuerKey", (r) => r.addIssuerKey(ORG_A, keyA2.address, 0, until)],
        ["rotateIssuerKey", (r) => r.rotateIssuerKey(ORG_A, keyA.address, keyA2.address, until)],
        ["retireIssuerKey", (r) => r.retireIssuerKey(ORG_A, keyA.address, false)],
      ];
      for (const [name, call] of calls) {
        for (const caller of [adminB, gov, outsider]) {
          await expect(call(registry.connect(caller)), `${name} by ${caller.address}`)
            .to.be.revertedWithCustomError(registry, "NotOrgAdmin").withArgs(ORG_A, caller.address);
        }
      }
      // An unknown organisation has no admin.
      await expect(registry.connect(adminA).addIssuerKey(NEW_ORG, keyA2.address, 0, until))
        .to.be.revertedWithCustomError(registry, "NotOrgAdmin").withArgs(NEW_ORG, adminA.address);
    });
  });

  describe("issuer keys", function () {
    it("addIssuerKey: validFrom 0 means now", async function () {
      const until = (await latest()) + YEAR;
      const ts = await nextTs();
      await expect(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until))
        .to.emit(registry, "IssuerKeyAdded").withArgs(ORG_A, keyA.address, ts, until);
      const key = await registry.issuerKey(keyA.address);
      expect([key.agencyCode, key.validFrom, key.validUntil, key.addedAt, key.compromised])
        .to.deep.equal([BigInt(ORG_A), ts, until, ts, false]);
    });

    it("addIssuerKey: a future window", async function () {
      const from = (await latest()) + 1000n;
      await expect(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, from, from + 1n))
        .to.emit(registry, "IssuerKeyAdded").withArgs(ORG_A, keyA.address, from, from + 1n);
    });

    it("addIssuerKey refuses empty, inverted and past windows", async function () {
      const now = (await latest()) + 10n;
      const add = (from: bigint, until: bigint) => registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, from, until);
      await expect(add(now + 100n, now + 100n)).to.be.revertedWithCustomError(registry, "InvalidWindow").withArgs(now + 100n, now + 100n);
      await expect(add(now + 101n, now + 100n)).to.be.revertedWithCustomError(registry, "InvalidWindow").withArgs(now + 101n, now + 100n);
      await time().setNextBlockTimestamp(now);
      await expect(add(0n, now)).to.be.revertedWithCustomError(registry, "InvalidWindow").withArgs(now, now);
      await expect(add(1n, now - 50n)).to.be.revertedWithCustomError(registry, "InvalidWindow").withArgs(1n, now - 50n);
    });

    it("addIssuerKey refuses a backdated window start (it would make earlier signatures trusted)", async function () {
      const now = (await latest()) + 10n;
      await time().setNextBlockTimestamp(now);
      await expect(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, now - 1n, now + YEAR))
        .to.be.revertedWithCustomError(registry, "InvalidWindow").withArgs(now - 1n, now + YEAR);
      await expect(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, now + 1n, now + YEAR))
        .to.emit(registry, "IssuerKeyAdded");
    });

    it("addIssuerKey refuses a zero key and any key ever registered", async function () {
      const until = (await latest()) + YEAR;
      await expect(registry.connect(adminA).addIssuerKey(ORG_A, ZeroAddress, 0, until)).to.be.revertedWithCustomError(registry, "ZeroAddress");
      await mined(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until));
      await expect(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until))
        .to.be.revertedWithCustomError(registry, "IssuerKeyExists").withArgs(keyA.address);
      await expect(registry.connect(adminB).addIssuerKey(ORG_B, keyA.address, 0, until))
        .to.be.revertedWithCustomError(registry, "IssuerKeyExists").withArgs(keyA.address);
      await mined(registry.connect(adminA).retireIssuerKey(ORG_A, keyA.address, false));
      await expect(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until))
        .to.be.revertedWithCustomError(registry, "IssuerKeyExists").withArgs(keyA.address);
    });

    it("a suspended or removed organisation cannot add or rotate keys", async function () {
      const until = (await latest()) + YEAR;
      await mined(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until));
      await mined(byGov().suspend(ORG_A));
      await expect(registry.connect(adminA).addIssuerKey(ORG_A, keyA2.address, 0, until))
        .to.be.revertedWithCustomError(registry, "InvalidOrgStatus").withArgs(ORG_A, OrgStatus.Suspended);
      await expect(registry.connect(adminA).rotateIssuerKey(ORG_A, keyA.address, keyA2.address, until))
        .to.be.revertedWithCustomError(registry, "InvalidOrgStatus").withArgs(ORG_A, OrgStatus.Suspended);
      await mined(byGov().remove(ORG_A));
      await expect(registry.connect(adminA).addIssuerKey(ORG_A, keyA2.address, 0, until))
        .to.be.revertedWithCustomError(registry, "InvalidOrgStatus").withArgs(ORG_A, OrgStatus.Removed);
    });

    it("rotateIssuerKey retires the old key and adds the new one at the same second", async function () {
      const until = (await latest()) + YEAR;
      await mined(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until));
      const ts = await nextTs();
      const tx = registry.connect(adminA).rotateIssuerKey(ORG_A, keyA.address, keyA2.address, until + 1n);
      await expect(tx).to.emit(registry, "IssuerKeyRetired").withArgs(ORG_A, keyA.address, ts, false);
      await expect(tx).to.emit(registry, "IssuerKeyAdded").withArgs(ORG_A, keyA2.address, ts, until + 1n);
      expect((await registry.issuerKey(keyA.address)).validUntil).to.equal(ts);
      expect([await trusted(keyA.address, ts - 1n), await trusted(keyA.address, ts)]).to.deep.equal([true, false]);
      expect([await trusted(keyA2.address, ts - 1n), await trusted(keyA2.address, ts)]).to.deep.equal([false, true]);
      // The retired key cannot be rotated again.
      await expect(registry.connect(adminA).rotateIssuerKey(ORG_A, keyA.address, outsider.address, until))
        .to.be.revertedWithCustomError(registry, "IssuerKeyAlreadyRetired").withArgs(keyA.address);
    });

    it("rotateIssuerKey is all-or-nothing and only for the organisation's own keys", async function () {
      const until = (await latest()) + YEAR;
      await mined(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until));
      await mined(registry.connect(adminB).addIssuerKey(ORG_B, keyB.address, 0, until));
      const rotate = (oldKey: string, newKey: string, u = until) => registry.connect(adminA).rotateIssuerKey(ORG_A, oldKey, newKey, u);
      await expect(rotate(keyA.address, keyB.address)).to.be.revertedWithCustomError(registry, "IssuerKeyExists").withArgs(keyB.address);
      await expect(rotate(keyA.address, ZeroAddress)).to.be.revertedWithCustomError(registry, "ZeroAddress");
      const now = (await latest()) + 10n;
      await time().setNextBlockTimestamp(now);
      await expect(rotate(keyA.address, keyA2.address, now)).to.be.revertedWithCustomError(registry, "InvalidWindow").withArgs(now, now);
      expect((await registry.issuerKey(keyA.address)).validUntil).to.equal(until); // untouched
      await expect(rotate(keyB.address, keyA2.address)).to.be.revertedWithCustomError(registry, "UnknownIssuerKey").withArgs(keyB.address);
      await expect(rotate(outsider.address, keyA2.address)).to.be.revertedWithCustomError(registry, "UnknownIssuerKey").withArgs(outsider.address);
    });

    it("retireIssuerKey ends the window now; signatures made before stay trusted unless compromised", async function () {
      const until = (await latest()) + YEAR;
      await mined(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until));
      const ts = await nextTs();
      await expect(registry.connect(adminA).retireIssuerKey(ORG_A, keyA.address, false))
        .to.emit(registry, "IssuerKeyRetired").withArgs(ORG_A, keyA.address, ts, false);
      expect([await trusted(keyA.address, ts - 1n), await trusted(keyA.address, ts)]).to.deep.equal([true, false]);
      await expect(registry.connect(adminA).retireIssuerKey(ORG_A, keyA.address, false))
        .to.be.revertedWithCustomError(registry, "IssuerKeyAlreadyRetired").withArgs(keyA.address);
      // Learning later that it leaked: the retirement time stays, and past signatures are no longer trusted.
      await nextTs();
      await expect(registry.connect(adminA).retireIssuerKey(ORG_A, keyA.address, true))
        .to.emit(registry, "IssuerKeyRetired").withArgs(ORG_A, keyA.address, ts, true);
      expect(await trusted(keyA.address, ts - 1n)).to.equal(false);
      await expect(registry.connect(adminA).retireIssuerKey(ORG_A, keyA.address, true))
        .to.be.revertedWithCustomError(registry, "IssuerKeyAlreadyRetired").withArgs(keyA.address);
    });

    it("retireIssuerKey of a key past its window: only marking it compromised is possible", async function () {
      const until = (await latest()) + 100n;
      await mined(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until));
      await time().increaseTo(until);
      await expect(registry.connect(adminA).retireIssuerKey(ORG_A, keyA.address, false))
        .to.be.revertedWithCustomError(registry, "IssuerKeyAlreadyRetired").withArgs(keyA.address);
      await expect(registry.connect(adminA).retireIssuerKey(ORG_A, keyA.address, true))
        .to.emit(registry, "IssuerKeyRetired").withArgs(ORG_A, keyA.address, until, true);
    });

    it("retireIssuerKey works while the organisation is suspended or removed (emergencies)", async function () {
      const until = (await latest()) + YEAR;
      await mined(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, 0, until));
      await mined(registry.connect(adminA).addIssuerKey(ORG_A, keyA2.address, 0, until));
      await mined(byGov().suspend(ORG_A));
      await expect(registry.connect(adminA).retireIssuerKey(ORG_A, keyA.address, true)).to.emit(registry, "IssuerKeyRetired");
      await mined(byGov().remove(ORG_A));
      await expect(registry.connect(adminA).retireIssuerKey(ORG_A, keyA2.address, false)).to.emit(registry, "IssuerKeyRetired");
    });

    it("retireIssuerKey refuses another organisation's or an unknown key", async function () {
      const until = (await latest()) + YEAR;
      await mined(registry.connect(adminB).addIssuerKey(ORG_B, keyB.address, 0, until));
      await expect(registry.connect(adminA).retireIssuerKey(ORG_A, keyB.address, true))
        .to.be.revertedWithCustomError(registry, "UnknownIssuerKey").withArgs(keyB.address);
      await expect(registry.connect(adminA).retireIssuerKey(ORG_A, outsider.address, false))
        .to.be.revertedWithCustomError(registry, "UnknownIssuerKey").withArgs(outsider.address);
    });

    it("markIssuerKeyCompromised: governance's emergency path for any key", async function () {
      const until = (await latest()) + YEAR;
      await mined(registry.connect(adminB).addIssuerKey(ORG_B, keyB.address, 0, until));
      const ts = await nextTs();
      await expect(byGov().markIssuerKeyCompromised(keyB.address)).to.emit(registry, "IssuerKeyRetired").withArgs(ORG_B, keyB.address, ts, true);
      const key = await registry.issuerKey(keyB.address);
      expect([key.validUntil, key.compromised]).to.deep.equal([ts, true]);
      expect(await trusted(keyB.address, ts - 1n)).to.equal(false);
      await expect(byGov().markIssuerKeyCompromised(keyB.address))
        .to.be.revertedWithCustomError(registry, "IssuerKeyAlreadyRetired").withArgs(keyB.address);
      await expect(byGov().markIssuerKeyCompromised(keyA.address))
        .to.be.revertedWithCustomError(registry, "UnknownIssuerKey").withArgs(keyA.address);
    });
  });

  describe("isTrustedIssuer", function () {
    let from: bigint, until: bigint;
    beforeEach(async function () {
      from = (await latest()) + 1000n;
      until = from + 500n;
      await mined(registry.connect(adminA).addIssuerKey(ORG_A, keyA.address, from, until));
    });

    it("validFrom is inclusive and validUntil exclusive", async function () {
      const at = async (t: bigint) => registry.isTrustedIssuer(keyA.address, CIVIL_ID_TYPE, t);
      expect(await at(from - 1n)).to.deep.equal([false, BigInt(ORG_A)]);
      expect(await at(from)).to.deep.equal([true, BigInt(ORG_A)]);
      expect(await at(until - 1n)).to.deep.equal([true, BigInt(ORG_A)]);
      expect(await at(until)).to.deep.equal([false, BigInt(ORG_A)]);
      expect(await at(0n)).to.deep.equal([false, BigInt(ORG_A)]);
    });

    it("an unknown key is untrusted and names no organisation", async function () {
      expect(await registry.isTrustedIssuer(outsider.address, CIVIL_ID_TYPE, from)).to.deep.equal([false, 0n]);
    });

    it("requires the credential type to be allowed now", async function () {
      expect(await trusted(keyA.address, from, OTHER_TYPE)).to.equal(false);
      await mined(byGov().setCredentialType(ORG_A, CIVIL_ID_TYPE, false));
      expect(await trusted(keyA.address, from)).to.equal(false);
      await mined(byGov().setCredentialType(ORG_A, CIVIL_ID_TYPE, true));
      expect(await trusted(keyA.address, from)).to.equal(true);
    });

    it("requires the organisation to be active now", async function () {
      await mined(byGov().suspend(ORG_A));
      expect(await trusted(keyA.address, from)).to.equal(false);
      await mined(byGov().reinstate(ORG_A));
      expect(await trusted(keyA.address, from)).to.equal(true);
      await mined(byGov().remove(ORG_A));
      expect(await trusted(keyA.address, from)).to.equal(false);
    });

    it("a compromised key is untrusted for everything it ever signed", async function () {
      await mined(registry.connect(adminA).retireIssuerKey(ORG_A, keyA.address, true));
      for (const t of [from, until - 1n]) expect(await trusted(keyA.address, t)).to.equal(false);
    });
  });

  describe("the consortium's registry is governed by the M-of-N governor only", function () {
    it("no member, deployer or admin holds a role; only an executed proposal acts", async function () {
      const { ledger, actors } = fx.f;
      const reg = ledger.issuerRegistry;
      const governor = await ledger.governor.getAddress();
      expect(await reg.hasRole(GOVERNANCE_ROLE, governor)).to.equal(true);
      expect(await reg.hasRole(ZeroHash, governor)).to.equal(true);
      for (const account of [actors.deployer, ...actors.members, actors.orgAdmin]) {
        expect(await reg.hasRole(GOVERNANCE_ROLE, account.address)).to.equal(false);
        await expect(reg.connect(account).suspend(CENTRAL_AGENCY))
          .to.be.revertedWithCustomError(reg, "AccessControlUnauthorizedAccount").withArgs(account.address, GOVERNANCE_ROLE);
      }
      const at = BigInt(await time().latest());
      expect((await reg.isTrustedIssuer(actors.issuerKey.address, CIVIL_ID_TYPE, at)).trusted).to.equal(true);
      const tx = governed(ledger, actors.members, await reg.getAddress(), reg.interface.encodeFunctionData("markIssuerKeyCompromised", [actors.issuerKey.address]));
      await expect(tx).to.emit(reg, "IssuerKeyRetired");
      expect((await reg.isTrustedIssuer(actors.issuerKey.address, CIVIL_ID_TYPE, at)).trusted).to.equal(false);
    });
  });
});
