import { expect } from "chai";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { ZeroAddress, ZeroHash, id as keccakUtf8 } from "ethers";
import { RelyingPartyRegistry__factory, type RelyingPartyRegistry } from "../../../sdk/chain/contracts.js";
import { governed } from "../helpers/fixture.js";
import { mined, useFixture } from "../helpers/ledger-test.js";
import {
  OnChainRelyingPartyDirectory,
  RelyingPartyActions,
  RelyingPartyAdmin,
  RelyingPartyStatus,
  connectRelyingPartyRegistry,
} from "../../../sdk/relying-party/registry.js";
import { USE_BITS, usesMask, usesOfMask } from "../../../sdk/relying-party/uses.js";
import { parseDeployment } from "../../../sdk/chain/deployment.js";
import { rejection } from "../helpers/rejections.js";

const GATE = USE_BITS["building-gate"];
const LIBRARY = USE_BITS["library-card"];
const MAIL = USE_BITS["mail-login"];
const YEAR = 365 * 86_400;
const GOVERNANCE_ROLE = keccakUtf8("GOVERNANCE_ROLE");

describe("RelyingPartyRegistry", function () {
  // A standalone registry governed by an externally owned account (every governance path is one call); the
  // consortium's own registry, governed by the M-of-N governor and used through the SDK, is covered at the end.
  let registry: RelyingPartyRegistry;
  let gov: HardhatEthersSigner, admin: HardhatEthersSigner, admin2: HardhatEthersSigner, outsider: HardhatEthersSigner;
  let key1: HardhatEthersSigner, key2: HardhatEthersSigner;
  const fx = useFixture({ accredit: false }, async (f) => {
    const s = await f.ethers.getSigners();
    [gov, admin, admin2, outsider, key1, key2] = [s[12]!, s[13]!, s[14]!, s[15]!, s[16]!, s[17]!];
    registry = await new RelyingPartyRegistry__factory(f.actors.deployer).deploy(gov.address);
    await registry.waitForDeployment();
    await mined(registry.connect(gov).listRelyingParty("세종청사 출입관리", admin.address, GATE | LIBRARY));
  });
  const latest = async () => fx.f.networkHelpers.time.latest();
  const byGov = () => registry.connect(gov);
  const byAdmin = () => registry.connect(admin);
  const addKey = async (key = key1, uses = GATE) => mined(byAdmin().addVerifierKey(1, key.address, uses, (await latest()) + YEAR));

  it("grants governance to the given account only and refuses a zero account", async function () {
    expect(await registry.hasRole(GOVERNANCE_ROLE, gov.address)).to.equal(true);
    expect(await registry.hasRole(ZeroHash, gov.address)).to.equal(true);
    expect(await registry.hasRole(GOVERNANCE_ROLE, fx.f.actors.deployer.address)).to.equal(false);
    const factory = new RelyingPartyRegistry__factory(fx.f.actors.deployer);
    await expect(factory.deploy(ZeroAddress)).to.be.revertedWithCustomError(factory, "ZeroAddress");
  });

  it("lists a relying party with events, name and packed record", async function () {
    await expect(byGov().listRelyingParty("국립세종도서관", admin2.address, LIBRARY))
      .to.emit(registry, "RelyingPartyListed").withArgs(2, "국립세종도서관", admin2.address, LIBRARY)
      .and.to.emit(registry, "RelyingPartyStatusChanged").withArgs(2, RelyingPartyStatus.None, RelyingPartyStatus.Active);
    expect(await registry.relyingPartyCount()).to.equal(2);
    const rp = await registry.relyingParty(2);
    expect([rp.uses, rp.status, rp.admin]).to.deep.equal([BigInt(LIBRARY), BigInt(RelyingPartyStatus.Active), admin2.address]);
    expect(await registry.relyingPartyName(2)).to.equal("국립세종도서관");
  });

  it("refuses listings with a bad name, admin or uses, and from anyone but governance", async function () {
    await expect(byGov().listRelyingParty("", admin.address, GATE)).to.be.revertedWithCustomError(registry, "InvalidRelyingPartyName").withArgs(0);
    await expect(byGov().listRelyingParty("x".repeat(129), admin.address, GATE)).to.be.revertedWithCustomError(registry, "InvalidRelyingPartyName").withArgs(129);
    await expect(byGov().listRelyingParty("ok", ZeroAddress, GATE)).to.be.revertedWithCustomError(registry, "ZeroAddress");
    await expect(byGov().listRelyingParty("ok", admin.address, 0)).to.be.revertedWithCustomError(registry, "InvalidUses").withArgs(0);
    await expect(registry.connect(outsider).listRelyingParty("ok", admin.address, GATE))
      .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount").withArgs(outsider.address, GOVERNANCE_ROLE);
  });

  it("authorises a listed key for its uses only, and says who it is", async function () {
    await expect(byAdmin().addVerifierKey(1, key1.address, GATE, (await latest()) + YEAR)).to.emit(registry, "VerifierKeyAdded");
    const ok = await registry.authorisation(key1.address, GATE);
    expect([ok.allowed, ok.relyingPartyId, ok.uses, ok.status, ok.name]).to.deep.equal([true, 1n, BigInt(GATE), BigInt(RelyingPartyStatus.Active), "세종청사 출입관리"]);
    expect((await registry.authorisation(key1.address, LIBRARY)).allowed).to.equal(false); // granted to the RP, not to this key
    expect((await registry.authorisation(key1.address, GATE | LIBRARY)).allowed).to.equal(false);
    expect((await registry.authorisation(key1.address, 0)).allowed).to.equal(false);
    const unknown = await registry.authorisation(outsider.address, GATE);
    expect([unknown.allowed, unknown.relyingPartyId, unknown.name]).to.deep.equal([false, 0n, ""]);
    expect((await registry.verifierKey(key1.address)).relyingPartyId).to.equal(1n);
  });

  it("refuses keys beyond the grant, reused, zero, expired-at-birth, or added by anyone but the admin", async function () {
    const until = (await latest()) + YEAR;
    await expect(byAdmin().addVerifierKey(1, key1.address, MAIL, until)).to.be.revertedWithCustomError(registry, "UsesNotGranted").withArgs(1, MAIL, GATE | LIBRARY);
    await expect(byAdmin().addVerifierKey(1, key1.address, 0, until)).to.be.revertedWithCustomError(registry, "InvalidUses");
    await expect(byAdmin().addVerifierKey(1, ZeroAddress, GATE, until)).to.be.revertedWithCustomError(registry, "ZeroAddress");
    await expect(byAdmin().addVerifierKey(1, key1.address, GATE, await latest())).to.be.revertedWithCustomError(registry, "InvalidWindow");
    await expect(registry.connect(outsider).addVerifierKey(1, key1.address, GATE, until))
      .to.be.revertedWithCustomError(registry, "NotRelyingPartyAdmin").withArgs(1, outsider.address);
    await addKey();
    await expect(byAdmin().addVerifierKey(1, key1.address, GATE, until)).to.be.revertedWithCustomError(registry, "VerifierKeyExists").withArgs(key1.address);
    await mined(byAdmin().retireVerifierKey(1, key1.address));
    await expect(byAdmin().addVerifierKey(1, key1.address, GATE, until)).to.be.revertedWithCustomError(registry, "VerifierKeyExists"); // never reused
  });

  it("retires keys (admin or governance), once, and only the relying party's own", async function () {
    await addKey(key1);
    await addKey(key2, LIBRARY);
    await expect(byAdmin().retireVerifierKey(1, key1.address)).to.emit(registry, "VerifierKeyRetired");
    expect((await registry.authorisation(key1.address, GATE)).allowed).to.equal(false);
    expect((await registry.authorisation(key1.address, GATE)).uses).to.equal(0n);
    await expect(byAdmin().retireVerifierKey(1, key1.address)).to.be.revertedWithCustomError(registry, "VerifierKeyAlreadyRetired");
    await expect(byAdmin().retireVerifierKey(2, key2.address)).to.be.revertedWithCustomError(registry, "NotRelyingPartyAdmin");
    await mined(byGov().listRelyingParty("other", admin2.address, GATE));
    await expect(registry.connect(admin2).retireVerifierKey(2, key2.address)).to.be.revertedWithCustomError(registry, "UnknownVerifierKey").withArgs(key2.address);
    await expect(byGov().retireAnyVerifierKey(key2.address)).to.emit(registry, "VerifierKeyRetired");
    await expect(byGov().retireAnyVerifierKey(outsider.address)).to.be.revertedWithCustomError(registry, "UnknownVerifierKey");
    await expect(registry.connect(outsider).retireAnyVerifierKey(key2.address)).to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount");
  });

  it("a key stops at the end of its window", async function () {
    const until = (await latest()) + 100;
    await mined(byAdmin().addVerifierKey(1, key1.address, GATE, until));
    expect((await registry.authorisation(key1.address, GATE)).allowed).to.equal(true);
    await fx.f.networkHelpers.time.increaseTo(until);
    expect((await registry.authorisation(key1.address, GATE)).allowed).to.equal(false);
    await expect(byAdmin().retireVerifierKey(1, key1.address)).to.be.revertedWithCustomError(registry, "VerifierKeyAlreadyRetired");
  });

  it("suspension, reinstatement and removal switch every key off and on; removal is final", async function () {
    await addKey();
    await expect(byGov().suspend(1)).to.emit(registry, "RelyingPartyStatusChanged").withArgs(1, RelyingPartyStatus.Active, RelyingPartyStatus.Suspended);
    const suspended = await registry.authorisation(key1.address, GATE);
    expect([suspended.allowed, suspended.status]).to.deep.equal([false, BigInt(RelyingPartyStatus.Suspended)]);
    await expect(byAdmin().addVerifierKey(1, key2.address, GATE, (await latest()) + YEAR))
      .to.be.revertedWithCustomError(registry, "InvalidRelyingPartyStatus").withArgs(1, RelyingPartyStatus.Suspended);
    await expect(byGov().suspend(1)).to.be.revertedWithCustomError(registry, "InvalidRelyingPartyStatus");
    await expect(byGov().reinstate(1)).to.emit(registry, "RelyingPartyStatusChanged").withArgs(1, RelyingPartyStatus.Suspended, RelyingPartyStatus.Active);
    expect((await registry.authorisation(key1.address, GATE)).allowed).to.equal(true);
    await expect(byGov().reinstate(1)).to.be.revertedWithCustomError(registry, "InvalidRelyingPartyStatus");
    await expect(byGov().remove(1)).to.emit(registry, "RelyingPartyStatusChanged").withArgs(1, RelyingPartyStatus.Active, RelyingPartyStatus.Removed);
    expect((await registry.authorisation(key1.address, GATE)).allowed).to.equal(false);
    await expect(byGov().remove(1)).to.be.revertedWithCustomError(registry, "InvalidRelyingPartyStatus");
    await expect(byGov().reinstate(1)).to.be.revertedWithCustomError(registry, "InvalidRelyingPartyStatus");
    await expect(byGov().suspend(9)).to.be.revertedWithCustomError(registry, "UnknownRelyingParty").withArgs(9);
    await expect(byGov().remove(9)).to.be.revertedWithCustomError(registry, "UnknownRelyingParty").withArgs(9);
  });

  it("narrowing a grant narrows its keys at once; renaming and admin changes are governed and evented", async function () {
    await addKey(key1, GATE | LIBRARY);
    await expect(byGov().setUses(1, LIBRARY)).to.emit(registry, "RelyingPartyUsesChanged").withArgs(1, GATE | LIBRARY, LIBRARY);
    expect((await registry.authorisation(key1.address, GATE)).allowed).to.equal(false);
    expect((await registry.authorisation(key1.address, LIBRARY)).allowed).to.equal(true);
    await expect(byGov().setUses(1, 0)).to.be.revertedWithCustomError(registry, "InvalidUses");
    await expect(byGov().setUses(9, GATE)).to.be.revertedWithCustomError(registry, "UnknownRelyingParty");
    await expect(byGov().rename(1, "세종청사 통합출입")).to.emit(registry, "RelyingPartyRenamed").withArgs(1, "세종청사 통합출입");
    expect((await registry.authorisation(key1.address, LIBRARY)).name).to.equal("세종청사 통합출입");
    await expect(byGov().rename(1, "")).to.be.revertedWithCustomError(registry, "InvalidRelyingPartyName");
    await expect(byGov().setRelyingPartyAdmin(1, admin2.address)).to.emit(registry, "RelyingPartyAdminChanged").withArgs(1, admin.address, admin2.address);
    await expect(byGov().setRelyingPartyAdmin(1, ZeroAddress)).to.be.revertedWithCustomError(registry, "ZeroAddress");
    await expect(byGov().setRelyingPartyAdmin(9, admin.address)).to.be.revertedWithCustomError(registry, "UnknownRelyingParty");
    await expect(byAdmin().transferRelyingPartyAdmin(1, admin.address)).to.be.revertedWithCustomError(registry, "NotRelyingPartyAdmin");
    await expect(registry.connect(admin2).transferRelyingPartyAdmin(1, admin.address)).to.emit(registry, "RelyingPartyAdminChanged").withArgs(1, admin2.address, admin.address);
  });

  describe("in the consortium deployment, through the SDK", function () {
    it("is deployed with the others, governed by the M-of-N governor, and read by wallets", async function () {
      const { ledger, actors, ethers } = fx.f;
      expect(ledger.deployment.relyingPartyRegistry).to.be.a("string");
      expect(parseDeployment(JSON.parse(JSON.stringify(ledger.deployment))).relyingPartyRegistry).to.equal(ledger.deployment.relyingPartyRegistry);
      const s = await ethers.getSigners();
      const rpAdmin = s[13]!;
      const gateKey = s[16]!;
      const consortium = connectRelyingPartyRegistry(ledger.deployment, actors.deployer);
      expect(await consortium.hasRole(GOVERNANCE_ROLE, ledger.deployment.governor)).to.equal(true);
      // A member alone cannot list: the governor holds the role.
      await expect(consortium.connect(actors.members[0]!).listRelyingParty("x", rpAdmin.address, GATE)).to.be.revertedWithCustomError(consortium, "AccessControlUnauthorizedAccount");
      const action = await new RelyingPartyActions(consortium).list("세종청사 출입관리", rpAdmin.address, ["building-gate"]);
      expect(action.description).to.contain("building-gate");
      await mined(governed(ledger, actors.members, action.target, action.data));
      const now = await latest();
      await new RelyingPartyAdmin(consortium.connect(rpAdmin)).addVerifierKey(1, gateKey.address, ["building-gate"], now + YEAR);
      const directory = new OnChainRelyingPartyDirectory(consortium);
      const seen = await directory.authorisation(gateKey.address, "building-gate");
      expect(seen).to.deep.include({ allowed: true, relyingPartyId: 1, relyingPartyName: "세종청사 출입관리", status: RelyingPartyStatus.Active });
      expect(seen.uses).to.deep.equal(["building-gate"]);
      expect((await directory.authorisation(gateKey.address, "on-duty-identity")).allowed).to.equal(false);
      // The admin's refusals come back typed, with the contract's reason.
      const reused = await rejection(new RelyingPartyAdmin(consortium.connect(rpAdmin)).addVerifierKey(1, gateKey.address, ["building-gate"], now + YEAR));
      expect([reused.code, reused.message]).to.satisfy(([code, message]: [string, string]) => code === "CONTRACT_REVERTED" && /VerifierKeyExists.*never reused/.test(message));
      const refused = await rejection(new RelyingPartyAdmin(consortium.connect(actors.outsider)).retireVerifierKey(1, gateKey.address));
      expect(refused.message).to.match(/NotRelyingPartyAdmin/);
      expect(refused.code).to.equal("NOT_AUTHORISED");
      const retire = await new RelyingPartyActions(consortium).retireAnyVerifierKey(gateKey.address);
      await mined(governed(ledger, actors.members, retire.target, retire.data));
      expect((await directory.authorisation(gateKey.address, "building-gate")).allowed).to.equal(false);
    });

    it("builds every governance action and refuses bad arguments before any transaction", async function () {
      const consortium = connectRelyingPartyRegistry(fx.f.ledger.deployment, fx.f.actors.deployer);
      const actions = new RelyingPartyActions(consortium);
      const a = fx.f.actors.outsider.address;
      for (const action of await Promise.all([
        actions.setUses(1, ["library-card"]), actions.rename(1, "도서관"), actions.suspend(1), actions.reinstate(1), actions.remove(1), actions.setAdmin(1, a),
      ])) {
        expect(consortium.interface.parseTransaction({ data: action.data })).to.not.equal(null);
      }
      expect((await rejection(actions.list("", a, ["building-gate"]))).message).to.match(/name/);
      expect((await rejection(actions.list(" padded", a, ["building-gate"]))).message).to.match(/name/);
      expect((await rejection(actions.list("ok", "0x1234", ["building-gate"]))).message).to.match(/address/);
      expect((await rejection(actions.list("ok", a, []))).message).to.match(/at least one use/);
      expect((await rejection(actions.list("ok", a, ["teleport" as never]))).message).to.match(/Unknown use/);
      expect((await rejection(actions.suspend(0))).message).to.match(/id/);
      expect((await rejection(new RelyingPartyAdmin(consortium).addVerifierKey(1, a, ["building-gate"], -1))).message).to.match(/validUntil/);
      expect((await rejection(new OnChainRelyingPartyDirectory(consortium).authorisation("nope", "building-gate"))).message).to.match(/address/);
      expect(() => connectRelyingPartyRegistry({ ...fx.f.ledger.deployment, relyingPartyRegistry: undefined }, fx.f.actors.deployer)).to.throw(/no relying-party registry/);
      expect(() => parseDeployment({ ...fx.f.ledger.deployment, relyingPartyRegistry: "0x12" })).to.throw(/relyingPartyRegistry/);
      expect(usesOfMask(usesMask(["mail-login", "document-signature"]))).to.deep.equal(["mail-login", "document-signature"]);
    });
  });
});
