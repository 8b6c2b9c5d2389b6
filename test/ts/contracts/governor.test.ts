import { expect } from "chai";
import { network } from "hardhat";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { TypedDataEncoder, ZeroAddress, type BytesLike } from "ethers";
import { ConsortiumGovernor__factory, type ConsortiumGovernor } from "../../../sdk/chain/contracts.js";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import { OrgKind } from "../../../sdk/chain/codes.js";
import { GOVERNOR_EIP712, governorDomain, readEip712Domain, signApproval, type Eip712Domain } from "../../../sdk/did/signed-writes.js";
import { CIVIL_ID_TYPE } from "../helpers/fixture.js";
import { highSBytes, mined, useFixture } from "../helpers/ledger-test.js";

const NEW_ORG = 1_310_000;
const HOUR = 3600n;
const MAX_LIFETIME = 30n * 86_400n;

describe("ConsortiumGovernor", function () {
  const fx = useFixture({ accredit: false });
  const gov = () => fx.f.ledger.governor;
  const issuers = () => fx.f.ledger.issuerRegistry;
  const m = (i: number): HardhatEthersSigner => fx.f.actors.members[i]!;
  const outsider = () => fx.f.actors.outsider;
  const time = () => fx.f.networkHelpers.time;
  let domain: Eip712Domain;

  before(async function () {
    domain = await readEip712Domain(fx.f.ledger.governor, GOVERNOR_EIP712);
  });

  const accreditData = (code = NEW_ORG, admin = fx.f.actors.orgAdmin.address) =>
    issuers().interface.encodeFunctionData("accredit", [code, OrgKind.CentralAgency, admin, [CIVIL_ID_TYPE]]);
  const selfCall = (fn: "addMember" | "removeMember", account: string) =>
    fn === "addMember"
      ? gov().interface.encodeFunctionData("addMember", [account])
      : gov().interface.encodeFunctionData("removeMember", [account]);
  const thresholdData = (t: number) => gov().interface.encodeFunctionData("setThreshold", [t]);

  /** Proposes as `proposer` and returns the new id and its expiry. */
  async function propose(proposer: HardhatEthersSigner, target: string, data: BytesLike, lifetime = HOUR) {
    await mined(gov().connect(proposer).propose(target, data, lifetime, "test proposal"));
    const id = await gov().proposalCount();
    return { id, expiresAt: (await gov().proposal(id)).expiresAt };
  }
  /** Proposes and approves up to the current threshold (members 0..threshold-1), without executing. */
  async function approved(target: string, data: BytesLike) {
    const { id } = await propose(m(0), target, data);
    const threshold = Number(await gov().threshold());
    for (let i = 1; i < threshold; i++) await mined(gov().connect(m(i)).approve(id));
    return id;
  }
  /** Runs a proposal through to execution. */
  async function pass(target: string, data: BytesLike) {
    const id = await approved(target, data);
    await mined(gov().connect(m(0)).execute(id));
    return id;
  }
  /** A fifth member (the outsider account), so that the threshold band of 5 members (3..4) leaves room. */
  const addFifth = async () => pass(await govAddress(), selfCall("addMember", outsider().address));
  const issuerAddress = () => issuers().getAddress();
  const govAddress = () => gov().getAddress();

  describe("deployment", function () {
    it("records the founding members and threshold with events", async function () {
      const members = fx.f.actors.members.map((s) => s.address);
      expect(await gov().members()).to.deep.equal(members);
      expect(await gov().threshold()).to.equal(3n);
      expect(await gov().MAX_LIFETIME()).to.equal(MAX_LIFETIME);
      for (const member of members) expect(await gov().isMember(member)).to.equal(true);
      expect(await gov().isMember(outsider().address)).to.equal(false);

      const fresh = await new ConsortiumGovernor__factory(fx.f.actors.deployer).deploy(members.slice(0, 2), 2);
      const deployTx = fresh.deploymentTransaction()!;
      await expect(deployTx).to.emit(fresh, "MemberAdded").withArgs(members[0]);
      await expect(deployTx).to.emit(fresh, "MemberAdded").withArgs(members[1]);
      await expect(deployTx).to.emit(fresh, "ThresholdChanged").withArgs(0, 2);
    });

    it("refuses invalid thresholds, duplicate and zero members", async function () {
      const factory = new ConsortiumGovernor__factory(fx.f.actors.deployer);
      const [a, b] = [m(0).address, m(1).address];
      await expect(factory.deploy([a, b], 0)).to.be.revertedWithCustomError(factory, "InvalidThreshold").withArgs(0, 2);
      await expect(factory.deploy([a, b], 3)).to.be.revertedWithCustomError(factory, "InvalidThreshold").withArgs(3, 2);
      await expect(factory.deploy([], 0)).to.be.revertedWithCustomError(factory, "InvalidThreshold").withArgs(0, 0);
      await expect(factory.deploy([a, a], 1)).to.be.revertedWithCustomError(factory, "AlreadyMember").withArgs(a);
      await expect(factory.deploy([a, ZeroAddress], 1)).to.be.revertedWithCustomError(factory, "ZeroAddress");
    });

    it("exposes its EIP-712 domain (ERC-5267 and domainSeparator agree with the SDK)", async function () {
      const chainId = (await fx.f.ethers.provider.getNetwork()).chainId;
      expect(domain).to.deep.equal(governorDomain(chainId, await govAddress()));
      expect(await gov().domainSeparator()).to.equal(TypedDataEncoder.hashDomain(domain));
    });
  });

  describe("propose", function () {
    it("creates a proposal with the proposer's approval", async function () {
      const target = await issuerAddress();
      const data = accreditData();
      expect(await gov().connect(m(1)).propose.staticCall(target, data, HOUR, "accredit")).to.equal(1n);
      const ts = (await time().latest()) + 5;
      await time().setNextBlockTimestamp(ts);
      const tx = gov().connect(m(1)).propose(target, data, HOUR, "accredit 1310000");
      const expiresAt = BigInt(ts) + HOUR;
      await expect(tx).to.emit(gov(), "ProposalCreated").withArgs(1, m(1).address, target, data, expiresAt, "accredit 1310000");
      await expect(tx).to.emit(gov(), "ProposalApproved").withArgs(1, m(1).address);
      const p = await gov().proposal(1);
      expect([p.target, p.expiresAt, p.executed, p.cancelled, p.proposer, p.data]).to.deep.equal([target, expiresAt, false, false, m(1).address, data]);
      expect(await gov().proposalCount()).to.equal(1n);
      expect(await gov().approvalCount(1)).to.equal(1n);
      expect(await gov().hasApproved(1, m(1).address)).to.equal(true);
      expect(await gov().hasApproved(1, m(0).address)).to.equal(false);
    });

    it("refuses outsiders, a zero target and lifetimes outside 1..MAX_LIFETIME", async function () {
      const target = await issuerAddress();
      await expect(gov().connect(outsider()).propose(target, "0x", HOUR, ""))
        .to.be.revertedWithCustomError(gov(), "NotMember").withArgs(outsider().address);
      await expect(gov().connect(m(0)).propose(ZeroAddress, "0x", HOUR, "")).to.be.revertedWithCustomError(gov(), "ZeroAddress");
      await expect(gov().connect(m(0)).propose(target, "0x", 0, ""))
        .to.be.revertedWithCustomError(gov(), "InvalidLifetime").withArgs(0, MAX_LIFETIME);
      await expect(gov().connect(m(0)).propose(target, "0x", MAX_LIFETIME + 1n, ""))
        .to.be.revertedWithCustomError(gov(), "InvalidLifetime").withArgs(MAX_LIFETIME + 1n, MAX_LIFETIME);
      await expect(gov().connect(m(0)).propose(target, "0x", MAX_LIFETIME, "")).to.emit(gov(), "ProposalCreated");
    });
  });

  describe("approve / revokeApproval", function () {
    it("records approvals once per member", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      await expect(gov().connect(m(1)).approve(id)).to.emit(gov(), "ProposalApproved").withArgs(id, m(1).address);
      expect(await gov().approvalCount(id)).to.equal(2n);
      await expect(gov().connect(m(1)).approve(id)).to.be.revertedWithCustomError(gov(), "AlreadyApproved").withArgs(id, m(1).address);
      await expect(gov().connect(m(0)).approve(id)).to.be.revertedWithCustomError(gov(), "AlreadyApproved").withArgs(id, m(0).address);
      await expect(gov().connect(outsider()).approve(id)).to.be.revertedWithCustomError(gov(), "NotMember").withArgs(outsider().address);
      for (const unknown of [0n, id + 1n]) {
        await expect(gov().connect(m(2)).approve(unknown)).to.be.revertedWithCustomError(gov(), "UnknownProposal").withArgs(unknown);
      }
    });

    it("withdraws an approval, which can be given again", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      await mined(gov().connect(m(1)).approve(id));
      await expect(gov().connect(m(1)).revokeApproval(id)).to.emit(gov(), "ApprovalRevoked").withArgs(id, m(1).address);
      expect(await gov().approvalCount(id)).to.equal(1n);
      expect(await gov().hasApproved(id, m(1).address)).to.equal(false);
      await expect(gov().connect(m(1)).revokeApproval(id)).to.be.revertedWithCustomError(gov(), "NotApproved").withArgs(id, m(1).address);
      await expect(gov().connect(m(2)).revokeApproval(id)).to.be.revertedWithCustomError(gov(), "NotApproved").withArgs(id, m(2).address);
      await expect(gov().connect(outsider()).revokeApproval(id)).to.be.revertedWithCustomError(gov(), "NotMember").withArgs(outsider().address);
      await expect(gov().connect(m(1)).revokeApproval(99)).to.be.revertedWithCustomError(gov(), "UnknownProposal").withArgs(99);
      await expect(gov().connect(m(1)).approve(id)).to.emit(gov(), "ProposalApproved").withArgs(id, m(1).address);
      // The proposer may withdraw its own implicit approval too.
      await expect(gov().connect(m(0)).revokeApproval(id)).to.emit(gov(), "ApprovalRevoked").withArgs(id, m(0).address);
    });

    it("a proposal expires at expiresAt (the last accepted second is expiresAt - 1)", async function () {
      const { id, expiresAt } = await propose(m(0), await issuerAddress(), accreditData());
      await time().setNextBlockTimestamp(expiresAt - 1n);
      await expect(gov().connect(m(1)).approve(id)).to.emit(gov(), "ProposalApproved");
      await time().setNextBlockTimestamp(expiresAt);
      await expect(gov().connect(m(2)).approve(id)).to.be.revertedWithCustomError(gov(), "ProposalExpired").withArgs(id, expiresAt);
      await expect(gov().connect(m(1)).revokeApproval(id)).to.be.revertedWithCustomError(gov(), "ProposalExpired").withArgs(id, expiresAt);
      await expect(gov().connect(m(0)).cancel(id)).to.be.revertedWithCustomError(gov(), "ProposalExpired").withArgs(id, expiresAt);
    });

    it("an expired proposal cannot be executed even with enough approvals", async function () {
      const id = await approved(await issuerAddress(), accreditData());
      const { expiresAt } = await gov().proposal(id);
      await time().setNextBlockTimestamp(expiresAt - 1n);
      const snap = await fx.f.networkHelpers.takeSnapshot();
      await expect(gov().connect(m(0)).execute(id)).to.emit(gov(), "ProposalExecuted");
      await snap.restore();
      await time().setNextBlockTimestamp(expiresAt);
      await expect(gov().connect(m(0)).execute(id)).to.be.revertedWithCustomError(gov(), "ProposalExpired").withArgs(id, expiresAt);
    });
  });

  describe("execute", function () {
    it("needs threshold approvals, then calls the target once; any member may execute", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      await mined(gov().connect(m(1)).approve(id));
      await expect(gov().connect(m(3)).execute(id)).to.be.revertedWithCustomError(gov(), "ThresholdNotReached").withArgs(id, 2, 3);
      await mined(gov().connect(m(2)).approve(id));
      await expect(gov().connect(outsider()).execute(id)).to.be.revertedWithCustomError(gov(), "NotMember").withArgs(outsider().address);
      const tx = gov().connect(m(3)).execute(id);
      await expect(tx).to.emit(gov(), "ProposalExecuted").withArgs(id, m(3).address);
      await expect(tx).to.emit(issuers(), "OrganisationAccredited").withArgs(NEW_ORG, OrgKind.CentralAgency, fx.f.actors.orgAdmin.address);
      expect((await gov().proposal(id)).executed).to.equal(true);
      await expect(gov().connect(m(0)).execute(id)).to.be.revertedWithCustomError(gov(), "ProposalClosed").withArgs(id);
      await expect(gov().connect(m(3)).approve(id)).to.be.revertedWithCustomError(gov(), "ProposalClosed").withArgs(id);
      await expect(gov().connect(m(1)).revokeApproval(id)).to.be.revertedWithCustomError(gov(), "ProposalClosed").withArgs(id);
      await expect(gov().connect(m(0)).cancel(id)).to.be.revertedWithCustomError(gov(), "ProposalClosed").withArgs(id);
    });

    it("returns the call's return data", async function () {
      await pass(await issuerAddress(), accreditData());
      const data = issuers().interface.encodeFunctionData("organisationAdmin", [NEW_ORG]);
      const id = await approved(await issuerAddress(), data);
      const result = await gov().connect(m(0)).execute.staticCall(id);
      expect(issuers().interface.decodeFunctionResult("organisationAdmin", result)[0]).to.equal(fx.f.actors.orgAdmin.address);
    });

    it("bubbles a failing call as ProposalCallFailed with the target's revert data, and stays open", async function () {
      const target = await issuerAddress();
      const suspend = await approved(target, issuers().interface.encodeFunctionData("suspend", [NEW_ORG]));
      await expect(gov().connect(m(0)).execute(suspend))
        .to.be.revertedWithCustomError(gov(), "ProposalCallFailed")
        .withArgs(suspend, issuers().interface.encodeErrorResult("UnknownOrganisation", [NEW_ORG]));
      expect((await gov().proposal(suspend)).executed).to.equal(false);
      // Once the organisation exists the same proposal executes.
      await pass(target, accreditData());
      await expect(gov().connect(m(0)).execute(suspend)).to.emit(issuers(), "OrganisationStatusChanged");

      const unknownFunction = await approved(target, "0xdeadbeef");
      await expect(gov().connect(m(0)).execute(unknownFunction))
        .to.be.revertedWithCustomError(gov(), "ProposalCallFailed").withArgs(unknownFunction, "0x");
    });

    it("counts only current members' approvals: a removed member's approval no longer counts", async function () {
      await addFifth(); // 5 members, threshold 3; removing one keeps threshold 3 (band of 4 members: 3..3)
      const pending = await approved(await issuerAddress(), accreditData()); // approved by m0, m1, m2
      await pass(await govAddress(), selfCall("removeMember", m(2).address));
      expect(await gov().hasApproved(pending, m(2).address)).to.equal(true);
      expect(await gov().approvalCount(pending)).to.equal(2n);
      await expect(gov().connect(m(0)).execute(pending)).to.be.revertedWithCustomError(gov(), "ThresholdNotReached").withArgs(pending, 2, 3);
      await mined(gov().connect(m(3)).approve(pending));
      await expect(gov().connect(m(0)).execute(pending)).to.emit(gov(), "ProposalExecuted");
    });

    it("applies the threshold in force at execution, not at proposal time", async function () {
      await addFifth();
      const pending = await approved(await issuerAddress(), accreditData()); // 3 approvals
      await pass(await govAddress(), thresholdData(4));
      await expect(gov().connect(m(0)).execute(pending)).to.be.revertedWithCustomError(gov(), "ThresholdNotReached").withArgs(pending, 3, 4);
      await mined(gov().connect(m(3)).approve(pending));
      await expect(gov().connect(m(0)).execute(pending)).to.emit(gov(), "ProposalExecuted");
    });

    it("a lowered threshold applies to proposals already open", async function () {
      await addFifth();
      await pass(await govAddress(), thresholdData(4));
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      for (const i of [1, 2]) await mined(gov().connect(m(i)).approve(id));
      await expect(gov().connect(m(0)).execute(id)).to.be.revertedWithCustomError(gov(), "ThresholdNotReached").withArgs(id, 3, 4);
      await pass(await govAddress(), thresholdData(3));
      await expect(gov().connect(m(0)).execute(id)).to.emit(gov(), "ProposalExecuted");
    });
  });

  describe("cancel", function () {
    it("only the proposer cancels; a cancelled proposal is closed", async function () {
      const { id } = await propose(m(1), await issuerAddress(), accreditData());
      await expect(gov().connect(m(0)).cancel(id)).to.be.revertedWithCustomError(gov(), "NotProposer").withArgs(id, m(0).address);
      await expect(gov().connect(outsider()).cancel(id)).to.be.revertedWithCustomError(gov(), "NotMember").withArgs(outsider().address);
      await expect(gov().connect(m(1)).cancel(99)).to.be.revertedWithCustomError(gov(), "UnknownProposal").withArgs(99);
      await expect(gov().connect(m(1)).cancel(id)).to.emit(gov(), "ProposalCancelled").withArgs(id);
      expect((await gov().proposal(id)).cancelled).to.equal(true);
      for (const [name, call] of [
        ["approve", () => gov().connect(m(2)).approve(id)],
        ["revokeApproval", () => gov().connect(m(1)).revokeApproval(id)],
        ["execute", () => gov().connect(m(1)).execute(id)],
        ["cancel", () => gov().connect(m(1)).cancel(id)],
      ] as const) {
        await expect(call(), name).to.be.revertedWithCustomError(gov(), "ProposalClosed").withArgs(id);
      }
    });
  });

  describe("membership epochs, nonce invalidation, targets", function () {
    it("a removed proposer can no longer cancel its proposal", async function () {
      const { id } = await propose(m(3), await issuerAddress(), accreditData());
      await pass(await govAddress(), selfCall("removeMember", m(3).address));
      await expect(gov().connect(m(3)).cancel(id)).to.be.revertedWithCustomError(gov(), "NotMember").withArgs(m(3).address);
    });

    it("approvals from an earlier membership do not count after the member is re-added", async function () {
      const { id } = await propose(m(3), await issuerAddress(), accreditData());
      expect(await gov().approvalCount(id)).to.equal(1n);
      const epoch = await gov().membershipEpoch(m(3).address);
      await pass(await govAddress(), selfCall("removeMember", m(3).address));
      await pass(await govAddress(), selfCall("addMember", m(3).address));
      expect(await gov().membershipEpoch(m(3).address)).to.equal(epoch + 1n);
      expect(await gov().hasApproved(id, m(3).address)).to.equal(false);
      expect(await gov().approvalCount(id)).to.equal(0n);
      // It may approve again in its new membership, once.
      await expect(gov().connect(m(3)).approve(id)).to.emit(gov(), "ProposalApproved").withArgs(id, m(3).address);
      await expect(gov().connect(m(3)).approve(id)).to.be.revertedWithCustomError(gov(), "AlreadyApproved").withArgs(id, m(3).address);
      expect(await gov().approvalCount(id)).to.equal(1n);
    });

    it("invalidateNonce voids a signed approval that was not relayed yet", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      const p = await gov().proposal(id);
      const deadline = BigInt(await time().latest()) + HOUR;
      const sig = await signApproval(m(1), domain, { proposalId: id, target: p.target, data: p.data, expiresAt: p.expiresAt }, { nonce: 0n, deadline });
      await expect(gov().connect(m(1)).invalidateNonce()).to.emit(gov(), "NonceInvalidated").withArgs(m(1).address, 0n);
      expect(await gov().nonces(m(1).address)).to.equal(1n);
      await expect(gov().connect(outsider()).approveBySig(id, m(1).address, deadline, sig.signature)).to.be.revertedWithCustomError(gov(), "InvalidSigner");
      await expect(gov().connect(outsider()).invalidateNonce()).to.be.revertedWithCustomError(gov(), "NotMember").withArgs(outsider().address);
    });

    it("refuses a proposal whose target has no code", async function () {
      await expect(gov().connect(m(0)).propose(outsider().address, "0x", HOUR, "no code"))
        .to.be.revertedWithCustomError(gov(), "TargetNotContract").withArgs(outsider().address);
    });
  });

  describe("member set and threshold: only through proposals", function () {
    it("refuses direct calls, even from members", async function () {
      for (const caller of [m(0), outsider()]) {
        await expect(gov().connect(caller).addMember(outsider().address)).to.be.revertedWithCustomError(gov(), "OnlyGovernance").withArgs(caller.address);
        await expect(gov().connect(caller).removeMember(m(3).address)).to.be.revertedWithCustomError(gov(), "OnlyGovernance").withArgs(caller.address);
        await expect(gov().connect(caller).setThreshold(1)).to.be.revertedWithCustomError(gov(), "OnlyGovernance").withArgs(caller.address);
      }
    });

    it("adds a member, who may then propose", async function () {
      const id = await approved(await govAddress(), selfCall("addMember", outsider().address));
      await expect(gov().connect(m(0)).execute(id)).to.emit(gov(), "MemberAdded").withArgs(outsider().address);
      expect(await gov().isMember(outsider().address)).to.equal(true);
      expect(await gov().members()).to.deep.equal([...fx.f.actors.members.map((s) => s.address), outsider().address]);
      await expect(gov().connect(outsider()).propose(await issuerAddress(), accreditData(), HOUR, "")).to.emit(gov(), "ProposalCreated");
    });

    it("removes a member, who can no longer act", async function () {
      const id = await approved(await govAddress(), selfCall("removeMember", m(3).address));
      await expect(gov().connect(m(0)).execute(id)).to.emit(gov(), "MemberRemoved").withArgs(m(3).address);
      expect(await gov().isMember(m(3).address)).to.equal(false);
      expect(await gov().members()).to.have.length(3);
      await expect(gov().connect(m(3)).propose(await issuerAddress(), accreditData(), HOUR, ""))
        .to.be.revertedWithCustomError(gov(), "NotMember").withArgs(m(3).address);
    });

    it("changes the threshold within the band (5 members: 3..4)", async function () {
      await addFifth();
      const id = await approved(await govAddress(), thresholdData(4));
      await expect(gov().connect(m(0)).execute(id)).to.emit(gov(), "ThresholdChanged").withArgs(3, 4);
      expect(await gov().threshold()).to.equal(4n);
    });

    it("refusals inside governance calls surface as ProposalCallFailed with the exact error", async function () {
      const g = gov().interface;
      const cases: [string, string][] = [
        [selfCall("addMember", m(1).address), g.encodeErrorResult("AlreadyMember", [m(1).address])],
        [selfCall("addMember", ZeroAddress), g.encodeErrorResult("ZeroAddress", [])],
        [selfCall("removeMember", outsider().address), g.encodeErrorResult("NotMember", [outsider().address])],
        [thresholdData(0), g.encodeErrorResult("InvalidThreshold", [0, 4])],
        [thresholdData(5), g.encodeErrorResult("InvalidThreshold", [5, 4])],
        // 4-of-4: one lost key would block every decision, including the removal of its member.
        [thresholdData(4), g.encodeErrorResult("InvalidThreshold", [4, 4])],
        // 2-of-4: not a majority.
        [thresholdData(2), g.encodeErrorResult("InvalidThreshold", [2, 4])],
      ];
      for (const [data, error] of cases) {
        const id = await approved(await govAddress(), data);
        await expect(gov().connect(m(0)).execute(id)).to.be.revertedWithCustomError(gov(), "ProposalCallFailed").withArgs(id, error);
      }
    });

    it("removing a member (e.g. one whose key is lost) moves the threshold into the smaller band, down to one member", async function () {
      // 4 members, 3-of-4: m3's key is lost. The three others remove it; the threshold drops to 2-of-3.
      const removal = await approved(await govAddress(), selfCall("removeMember", m(3).address));
      await expect(gov().connect(m(0)).execute(removal)).to.emit(gov(), "ThresholdChanged").withArgs(3, 2);
      expect(await gov().threshold()).to.equal(2n);
      await pass(await govAddress(), selfCall("removeMember", m(2).address)); // 2 members: 2-of-2
      expect(await gov().threshold()).to.equal(2n);
      await pass(await govAddress(), selfCall("removeMember", m(1).address)); // 1 member: 1-of-1
      expect(await gov().threshold()).to.equal(1n);
      const last = await approved(await govAddress(), selfCall("removeMember", m(0).address));
      await expect(gov().connect(m(0)).execute(last))
        .to.be.revertedWithCustomError(gov(), "ProposalCallFailed")
        .withArgs(last, gov().interface.encodeErrorResult("MemberCountBelowThreshold", [0, 1]));
    });

    it("adding members raises the threshold to a strict majority when needed", async function () {
      await addFifth(); // 5 members: threshold 3 stays (band 3..4)
      expect(await gov().threshold()).to.equal(3n);
      const sixth = await approved(await govAddress(), selfCall("addMember", fx.f.actors.deployer.address));
      await expect(gov().connect(m(0)).execute(sixth)).to.emit(gov(), "ThresholdChanged").withArgs(3, 4); // 6 members: 4..5
      expect(await gov().threshold()).to.equal(4n);
    });

    it("reports its threshold band and caps the member count at MAX_MEMBERS (execute counts approvals per member)", async function () {
      expect(await gov().MAX_MEMBERS()).to.equal(64n);
      const bands = await Promise.all([1, 2, 3, 4, 5, 7, 64].map(async (n) => (await gov().thresholdBounds(n)).map(Number)));
      expect(bands).to.deep.equal([[1, 1], [2, 2], [2, 2], [3, 3], [3, 4], [4, 6], [33, 63]]);
      const factory = new ConsortiumGovernor__factory(fx.f.actors.deployer);
      const many = (n: number) => Array.from({ length: n }, (_, i) => "0x" + (i + 1).toString(16).padStart(40, "0"));
      const full = await factory.deploy(many(64), 33);
      expect(await full.members()).to.have.length(64);
      await expect(factory.deploy(many(65), 33)).to.be.revertedWithCustomError(factory, "MemberLimitReached").withArgs(64);
    });
  });

  describe("reentrancy", function () {
    it("a proposal cannot execute another proposal: the governor is not a member", async function () {
      const victim = await approved(await issuerAddress(), accreditData());
      const attack = await approved(await govAddress(), gov().interface.encodeFunctionData("execute", [victim]));
      await expect(gov().connect(m(0)).execute(attack))
        .to.be.revertedWithCustomError(gov(), "ProposalCallFailed")
        .withArgs(attack, gov().interface.encodeErrorResult("NotMember", [await govAddress()]));
    });

    it("even with the governor made a member, the reentrancy guard stops nested execution", async function () {
      await pass(await govAddress(), selfCall("addMember", await govAddress()));
      const victim = await approved(await issuerAddress(), accreditData());
      const attack = await approved(await govAddress(), gov().interface.encodeFunctionData("execute", [victim]));
      const reentrant = gov().interface.encodeErrorResult("ReentrancyGuardReentrantCall", []);
      await expect(gov().connect(m(0)).execute(attack)).to.be.revertedWithCustomError(gov(), "ProposalCallFailed").withArgs(attack, reentrant);
      // A proposal executing itself meets the same guard.
      const selfId = (await gov().proposalCount()) + 1n;
      const selfExec = await approved(await govAddress(), gov().interface.encodeFunctionData("execute", [selfId]));
      expect(selfExec).to.equal(selfId);
      await expect(gov().connect(m(0)).execute(selfExec)).to.be.revertedWithCustomError(gov(), "ProposalCallFailed").withArgs(selfExec, reentrant);
      // The victim is untouched and executes normally.
      expect((await gov().proposal(victim)).executed).to.equal(false);
      await expect(gov().connect(m(0)).execute(victim)).to.emit(gov(), "ProposalExecuted").withArgs(victim, m(0).address);
    });
  });

  describe("approveBySig", function () {
    const farDeadline = async () => BigInt(await time().latest()) + HOUR;
    async function sign(member: HardhatEthersSigner, id: bigint, opts: { nonce?: bigint; deadline?: bigint; domain?: Eip712Domain; governor?: ConsortiumGovernor } = {}) {
      const g = opts.governor ?? gov();
      const p = await g.proposal(id);
      return signApproval(member, opts.domain ?? domain, { proposalId: id, target: p.target, data: p.data, expiresAt: p.expiresAt }, {
        nonce: opts.nonce ?? (await g.nonces(member.address)),
        deadline: opts.deadline ?? (await farDeadline()),
      });
    }

    it("records a member's approval relayed by anyone, which counts toward execution", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      for (const member of [m(1), m(2)]) {
        const sig = await sign(member, id);
        await expect(gov().connect(outsider()).approveBySig(id, member.address, sig.deadline, sig.signature))
          .to.emit(gov(), "ProposalApproved").withArgs(id, member.address);
        expect(await gov().nonces(member.address)).to.equal(1n);
      }
      await expect(gov().connect(m(3)).execute(id)).to.emit(gov(), "ProposalExecuted");
    });

    it("accepts the deadline second itself and refuses one second later", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      const deadline = BigInt(await time().latest()) + 100n;
      const sig = await sign(m(1), id, { deadline });
      const snap = await fx.f.networkHelpers.takeSnapshot();
      await time().setNextBlockTimestamp(deadline);
      await expect(gov().approveBySig(id, m(1).address, deadline, sig.signature)).to.emit(gov(), "ProposalApproved");
      await snap.restore();
      await time().setNextBlockTimestamp(deadline + 1n);
      await expect(gov().approveBySig(id, m(1).address, deadline, sig.signature))
        .to.be.revertedWithCustomError(gov(), "SignatureExpired").withArgs(deadline, deadline + 1n);
    });

    it("refuses non-members, unknown proposals and a signature by someone else", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      const byOutsider = await sign(outsider(), id);
      await expect(gov().approveBySig(id, outsider().address, byOutsider.deadline, byOutsider.signature))
        .to.be.revertedWithCustomError(gov(), "NotMember").withArgs(outsider().address);
      await expect(gov().approveBySig(id, m(1).address, byOutsider.deadline, byOutsider.signature))
        .to.be.revertedWithCustomError(gov(), "InvalidSigner").withArgs(outsider().address, m(1).address);
      const byM2 = await sign(m(2), id);
      await expect(gov().approveBySig(id, m(1).address, byM2.deadline, byM2.signature))
        .to.be.revertedWithCustomError(gov(), "InvalidSigner").withArgs(m(2).address, m(1).address);
      await expect(gov().approveBySig(id + 1n, m(1).address, byM2.deadline, byM2.signature))
        .to.be.revertedWithCustomError(gov(), "UnknownProposal").withArgs(id + 1n);
    });

    it("refuses a replay after the approval was withdrawn (nonce), and a stale or future nonce", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      const sig = await sign(m(1), id);
      await mined(gov().approveBySig(id, m(1).address, sig.deadline, sig.signature));
      await mined(gov().connect(m(1)).revokeApproval(id));
      await expect(gov().approveBySig(id, m(1).address, sig.deadline, sig.signature))
        .to.be.revertedWithCustomError(gov(), "InvalidSigner").withArgs(anyValue, m(1).address);
      const future = await sign(m(1), id, { nonce: 2n });
      await expect(gov().approveBySig(id, m(1).address, future.deadline, future.signature))
        .to.be.revertedWithCustomError(gov(), "InvalidSigner").withArgs(anyValue, m(1).address);
      const current = await sign(m(1), id, { nonce: 1n });
      await expect(gov().approveBySig(id, m(1).address, current.deadline, current.signature)).to.emit(gov(), "ProposalApproved");
    });

    it("refuses a second approval without consuming the nonce", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      const sig = await sign(m(0), id); // the proposer already approved
      await expect(gov().approveBySig(id, m(0).address, sig.deadline, sig.signature))
        .to.be.revertedWithCustomError(gov(), "AlreadyApproved").withArgs(id, m(0).address);
      expect(await gov().nonces(m(0).address)).to.equal(0n);
    });

    it("binds the proposal id, target, call data and expiry", async function () {
      const target = await issuerAddress();
      // Two proposals identical but for their id: same target, data and expiry.
      const t0 = BigInt(await time().latest()) + 10n;
      await time().setNextBlockTimestamp(t0);
      const first = await propose(m(0), target, accreditData(), HOUR);
      await time().setNextBlockTimestamp(t0 + 1n);
      const second = await propose(m(0), target, accreditData(), HOUR - 1n);
      expect(second.expiresAt).to.equal(first.expiresAt);
      const forFirst = await sign(m(1), first.id);
      await expect(gov().approveBySig(second.id, m(1).address, forFirst.deadline, forFirst.signature))
        .to.be.revertedWithCustomError(gov(), "InvalidSigner").withArgs(anyValue, m(1).address);

      const p = await gov().proposal(first.id);
      const variants = [
        { proposalId: first.id, target: outsider().address, data: p.data, expiresAt: p.expiresAt },
        { proposalId: first.id, target, data: accreditData(NEW_ORG + 1), expiresAt: p.expiresAt },
        { proposalId: first.id, target, data: p.data, expiresAt: p.expiresAt + 1n },
      ];
      for (const request of variants) {
        const sig = await signApproval(m(1), domain, request, { nonce: 0n, deadline: forFirst.deadline });
        await expect(gov().approveBySig(first.id, m(1).address, sig.deadline, sig.signature))
          .to.be.revertedWithCustomError(gov(), "InvalidSigner").withArgs(anyValue, m(1).address);
      }
      await expect(gov().approveBySig(first.id, m(1).address, forFirst.deadline + 1n, forFirst.signature))
        .to.be.revertedWithCustomError(gov(), "InvalidSigner").withArgs(anyValue, m(1).address);
      await expect(gov().approveBySig(first.id, m(1).address, forFirst.deadline, forFirst.signature)).to.emit(gov(), "ProposalApproved");
    });

    it("refuses high-s, zero, malformed and wrong-length signatures (OpenZeppelin ECDSA)", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      const sig = await sign(m(1), id);
      const flipped = highSBytes(sig.signature);
      await expect(gov().approveBySig(id, m(1).address, sig.deadline, flipped))
        .to.be.revertedWithCustomError(gov(), "ECDSAInvalidSignatureS").withArgs("0x" + flipped.slice(66, 130));
      const zero = "0x" + "00".repeat(65);
      const badV = sig.signature.slice(0, 130) + "1d"; // v = 29
      for (const bad of [zero, badV]) {
        await expect(gov().approveBySig(id, m(1).address, sig.deadline, bad)).to.be.revertedWithCustomError(gov(), "ECDSAInvalidSignature");
      }
      for (const length of [0, 64, 66]) {
        const bad = length === 66 ? sig.signature + "00" : sig.signature.slice(0, 2 + 2 * length);
        await expect(gov().approveBySig(id, m(1).address, sig.deadline, bad))
          .to.be.revertedWithCustomError(gov(), "ECDSAInvalidSignatureLength").withArgs(length);
      }
      await expect(gov().approveBySig(id, m(1).address, sig.deadline, sig.signature)).to.emit(gov(), "ProposalApproved");
    });

    it("refuses approvals of closed and expired proposals", async function () {
      const { id, expiresAt } = await propose(m(0), await issuerAddress(), accreditData());
      const sig = await sign(m(1), id, { deadline: expiresAt + HOUR });
      const snap = await fx.f.networkHelpers.takeSnapshot();
      await mined(gov().connect(m(0)).cancel(id));
      await expect(gov().approveBySig(id, m(1).address, sig.deadline, sig.signature))
        .to.be.revertedWithCustomError(gov(), "ProposalClosed").withArgs(id);
      await snap.restore();
      await time().setNextBlockTimestamp(expiresAt);
      await expect(gov().approveBySig(id, m(1).address, sig.deadline, sig.signature))
        .to.be.revertedWithCustomError(gov(), "ProposalExpired").withArgs(id, expiresAt);
    });

    it("an approval signed before the member's removal does not count after re-admission (nonces move past the old membership)", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      const current = await sign(m(3), id); // nonce 0, never relayed
      const ahead = await sign(m(3), id, { nonce: 1n }); // signed ahead for the next nonce
      await pass(await govAddress(), selfCall("removeMember", m(3).address));
      const readmit = await approved(await govAddress(), selfCall("addMember", m(3).address));
      await expect(gov().connect(m(0)).execute(readmit)).to.emit(gov(), "NonceInvalidated").withArgs(m(3).address, 0n);
      expect(await gov().nonces(m(3).address)).to.equal(1n << 128n);
      for (const sig of [current, ahead]) {
        await expect(gov().connect(outsider()).approveBySig(id, m(3).address, sig.deadline, sig.signature))
          .to.be.revertedWithCustomError(gov(), "InvalidSigner");
      }
      expect(await gov().hasApproved(id, m(3).address)).to.equal(false);
      // A signature of the new membership (the SDK reads the new nonce) is accepted.
      const fresh = await sign(m(3), id);
      await expect(gov().connect(outsider()).approveBySig(id, m(3).address, fresh.deadline, fresh.signature))
        .to.emit(gov(), "ProposalApproved").withArgs(id, m(3).address);
    });

    it("a removed member's signature no longer counts", async function () {
      const { id } = await propose(m(0), await issuerAddress(), accreditData());
      const sig = await sign(m(3), id);
      await pass(await govAddress(), selfCall("removeMember", m(3).address));
      await expect(gov().approveBySig(id, m(3).address, sig.deadline, sig.signature))
        .to.be.revertedWithCustomError(gov(), "NotMember").withArgs(m(3).address);
    });

    describe("replay across deployments and chains", function () {
      /** Proposes the same accreditation on `g` in a block mined at `timestamp`, expiring at `timestamp + lifetime`. */
      async function proposeAt(
        g: ConsortiumGovernor, proposer: HardhatEthersSigner, helpers: typeof fx.f.networkHelpers, timestamp: bigint, lifetime = HOUR,
      ) {
        await helpers.time.setNextBlockTimestamp(timestamp);
        await mined(g.connect(proposer).propose(await issuerAddress(), accreditData(), lifetime, "twin"));
        return g.proposalCount();
      }

      it("a signature for one governor fails on a second deployment on the same chain", async function () {
        const members = fx.f.actors.members.map((s) => s.address);
        const second = await new ConsortiumGovernor__factory(fx.f.actors.deployer).deploy(members, 3);
        await second.waitForDeployment();
        // Identical proposals (id 1, same target, data and expiry) on both governors: only the domain differs.
        const t = BigInt(await time().latest()) + 100n;
        const idA = await proposeAt(gov(), m(0), fx.f.networkHelpers, t, HOUR);
        const idB = await proposeAt(second, m(0), fx.f.networkHelpers, t + 1n, HOUR - 1n);
        expect(idB).to.equal(idA);
        expect((await second.proposal(idB)).expiresAt).to.equal((await gov().proposal(idA)).expiresAt);
        const forA = await sign(m(1), idA);
        await expect(second.approveBySig(idB, m(1).address, forA.deadline, forA.signature))
          .to.be.revertedWithCustomError(second, "InvalidSigner").withArgs(anyValue, m(1).address);
        const forB = await sign(m(1), idB, { governor: second, domain: await readEip712Domain(second, GOVERNOR_EIP712) });
        await expect(second.approveBySig(idB, m(1).address, forB.deadline, forB.signature)).to.emit(second, "ProposalApproved");
        await expect(gov().approveBySig(idA, m(1).address, forA.deadline, forA.signature)).to.emit(gov(), "ProposalApproved");
      });

      it("a signature for chain 31337 fails on chain 4242 at the same governor address", async function () {
        const otherChain = await network.create({ override: { chainId: 4242 } });
        const signers = await otherChain.ethers.getSigners();
        const twinLedger = await deployConsortium(signers[0]!, { members: fx.f.actors.members.map((s) => s.address), threshold: 3 });
        const twin = twinLedger.governor;
        expect(await twin.getAddress()).to.equal(await govAddress());
        expect(await twinLedger.issuerRegistry.getAddress()).to.equal(await issuerAddress());
        const twinDomain = await readEip712Domain(twin, GOVERNOR_EIP712);
        expect(twinDomain).to.deep.equal({ ...domain, chainId: 4242n });

        const otherLatest = BigInt((await otherChain.ethers.provider.getBlock("latest"))!.timestamp);
        const t = (otherLatest > BigInt(await time().latest()) ? otherLatest : BigInt(await time().latest())) + 100n;
        const proposer = signers[1]!; // the same key as m(0) on this chain
        expect(proposer.address).to.equal(m(0).address);
        const id = await proposeAt(gov(), m(0), fx.f.networkHelpers, t);
        expect(await proposeAt(twin, proposer, otherChain.networkHelpers, t)).to.equal(id);
        expect((await twin.proposal(id)).expiresAt).to.equal((await gov().proposal(id)).expiresAt);

        const deadline = t + HOUR;
        const forHere = await sign(m(1), id, { deadline });
        await expect(twin.approveBySig(id, m(1).address, deadline, forHere.signature))
          .to.be.revertedWithCustomError(twin, "InvalidSigner").withArgs(anyValue, m(1).address);
        const forTwin = await sign(m(1), id, { deadline, domain: twinDomain, governor: twin });
        await expect(twin.approveBySig(id, m(1).address, deadline, forTwin.signature)).to.emit(twin, "ProposalApproved");
        await expect(gov().approveBySig(id, m(1).address, deadline, forTwin.signature))
          .to.be.revertedWithCustomError(gov(), "InvalidSigner").withArgs(anyValue, m(1).address);
      });
    });
  });
});
