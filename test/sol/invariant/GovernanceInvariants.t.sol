// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ConsortiumGovernor} from "../../../contracts/governance/ConsortiumGovernor.sol";
import {IssuerRegistry} from "../../../contracts/issuer/IssuerRegistry.sol";
import {OrgKind, OrgStatus} from "../../../contracts/common/CivilIdTypes.sol";
import {
    NotMember,
    AlreadyMember,
    InvalidThreshold,
    UnknownProposal,
    ProposalExpired,
    ProposalClosed,
    AlreadyApproved,
    ThresholdNotReached,
    InvalidLifetime,
    ProposalCallFailed,
    MemberCountBelowThreshold,
    NotApproved,
    NotProposer,
    SignatureExpired,
    InvalidSigner,
    InvalidOrgStatus
} from "../../../contracts/common/CivilIdErrors.sol";
import {TestBase} from "../utils/TestBase.sol";
import {InvariantBase} from "../utils/InvariantBase.sol";
import {CallTarget} from "../utils/CallTarget.sol";

/// @title Invariant handler for the consortium governor
/// @notice Six candidate ministries (known keys; three founders, threshold 2) and an outsider propose, approve
///         (by transaction and by relayed EIP-712 signature, sometimes signed by the wrong key), withdraw
///         approvals, execute and cancel proposals that add or remove members, change the threshold, suspend or
///         reinstate an organisation, or call an inert target; time moves on so proposals expire. An independent
///         model of members, threshold, approvals and proposals predicts every outcome and error; the ghosts
///         record disagreements, executions below threshold and nonce movements.
contract GovernanceHandler is TestBase {
    enum Kind {
        AddMember,
        RemoveMember,
        SetThreshold,
        Suspend,
        Reinstate,
        Ping
    }

    struct ModelProposal {
        Kind kind;
        uint256 arg;
        uint64 expiresAt;
        address proposer;
        bool executed;
        bool cancelled;
    }

    uint256 public constant POOL = 6;
    uint32 public constant AGENCY = 1_741_000;
    uint64 public constant MAX_LIFETIME = 30 days;
    address public constant OUTSIDER = address(0x0BAD);
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant APPROVE_TYPEHASH = keccak256(
        "Approve(uint256 proposalId,address target,bytes32 dataHash,uint64 expiresAt,uint256 nonce,uint256 deadline)"
    );

    ConsortiumGovernor public immutable governor;
    IssuerRegistry public immutable issuers;
    CallTarget public immutable pingTarget;

    // ------------------------------------------------------------------ model
    mapping(address account => bool) public modelMember;
    uint256 public modelMemberCount;
    uint256 public modelThreshold;
    OrgStatus public modelOrgStatus;
    ModelProposal[] private _proposals; // index = proposalId - 1
    mapping(uint256 proposalId => mapping(address member => bool)) public modelApproved;
    mapping(address member => uint256) public modelNonce;

    // ------------------------------------------------------------------ ghosts
    uint256 public mismatches;
    bytes public firstMismatch;
    /// @notice Executions that succeeded with fewer approvals by current members than the threshold in force.
    uint256 public executedBelowThreshold;
    uint256 public executions;
    mapping(uint256 proposalId => uint256) public approvalsAtExecution;
    mapping(uint256 proposalId => uint256) public thresholdAtExecution;
    /// @notice Times a governor nonce was seen lower than before.
    uint256 public nonceDecreases;
    mapping(address member => uint256) public lastSeenNonce;
    uint256 public approvalsBySig;
    uint256 public refusals;

    /// @param closedProposals Proposals already executed before the handler starts (setup decisions).
    constructor(ConsortiumGovernor governor_, IssuerRegistry issuers_, CallTarget pingTarget_, uint256 closedProposals) {
        governor = governor_;
        issuers = issuers_;
        pingTarget = pingTarget_;
        for (uint256 i = 0; i < closedProposals; ++i) {
            _proposals.push(ModelProposal(Kind.Ping, 0, 0, address(0), true, false));
        }
        for (uint256 i = 0; i < 3; ++i) {
            modelMember[account(i)] = true;
        }
        modelMemberCount = 3;
        modelThreshold = 2;
        modelOrgStatus = OrgStatus.Active;
    }

    // ------------------------------------------------------------------ actions

    function propose(uint256 proposerSeed, uint8 kindSeed, uint256 argSeed, uint256 lifetimeSeed) external {
        address proposer = _actor(proposerSeed);
        Kind kind = Kind(kindSeed % 6);
        uint256 arg = _arg(kind, argSeed);
        // Mostly a valid lifetime; sometimes 0 or one second too long.
        uint256 l = lifetimeSeed % 16;
        uint64 lifetime = l == 0 ? 0 : l == 1 ? MAX_LIFETIME + 1 : uint64(1 + (lifetimeSeed >> 8) % MAX_LIFETIME);

        (address target, bytes memory data) = _call(kind, arg);
        vm.prank(proposer);
        (bool ok, bytes memory ret) =
            address(governor).call(abi.encodeCall(ConsortiumGovernor.propose, (target, data, lifetime, "handler")));

        bytes memory expected;
        if (!modelMember[proposer]) expected = abi.encodeWithSelector(NotMember.selector, proposer);
        else if (lifetime == 0 || lifetime > MAX_LIFETIME) {
            expected = abi.encodeWithSelector(InvalidLifetime.selector, lifetime, MAX_LIFETIME);
        }
        _compare(ok, ret, expected);
        if (ok && expected.length == 0) {
            _proposals.push(ModelProposal(kind, arg, uint64(block.timestamp) + lifetime, proposer, false, false));
            uint256 id = _proposals.length;
            if (abi.decode(ret, (uint256)) != id) _mismatch("proposal id", ret);
            modelApproved[id][proposer] = true;
        }
        _checkNonces();
    }

    function approve(uint256 memberSeed, uint256 idSeed) external {
        address member = _actor(memberSeed);
        uint256 id = _pickProposal(idSeed);
        vm.prank(member);
        (bool ok, bytes memory ret) = address(governor).call(abi.encodeCall(ConsortiumGovernor.approve, (id)));
        bytes memory expected = modelMember[member]
            ? _approveError(id, member)
            : abi.encodeWithSelector(NotMember.selector, member);
        _compare(ok, ret, expected);
        if (ok && expected.length == 0) modelApproved[id][member] = true;
        _checkNonces();
    }

    /// @param wrongKey Sign with another pool key than the claimed member's.
    function approveBySig(uint256 memberSeed, uint256 idSeed, uint256 deadlineSeed, bool wrongKey, address relayer)
        external
    {
        address member = _actor(memberSeed);
        uint256 memberIndex = POOL; // the outsider's "index": it has no key in the pool
        for (uint256 i = 0; i < POOL; ++i) {
            if (account(i) == member) memberIndex = i;
        }
        uint256 id = _pickProposal(idSeed);
        // Mostly in the future, sometimes exactly now, sometimes one second ago.
        uint256 d = deadlineSeed % 8;
        uint256 deadline = d == 0 ? block.timestamp - 1 : d == 1 ? block.timestamp : block.timestamp + (deadlineSeed >> 8) % 1 days;
        uint256 signerIndex = wrongKey ? (memberIndex + 1) % POOL : memberIndex % POOL;
        address signer = account(signerIndex);
        bytes memory signature = _signApproval(signerIndex, id, governor.nonces(member), deadline);

        vm.prank(relayer);
        (bool ok, bytes memory ret) = address(governor).call(
            abi.encodeCall(ConsortiumGovernor.approveBySig, (id, member, deadline, signature))
        );

        bytes memory expected;
        if (block.timestamp > deadline) {
            expected = abi.encodeWithSelector(SignatureExpired.selector, deadline, block.timestamp);
        } else if (!modelMember[member]) {
            expected = abi.encodeWithSelector(NotMember.selector, member);
        } else if (id == 0 || id > _proposals.length) {
            expected = abi.encodeWithSelector(UnknownProposal.selector, id);
        } else if (signer != member) {
            expected = abi.encodeWithSelector(InvalidSigner.selector, signer, member);
        } else {
            expected = _approveError(id, member);
        }
        _compare(ok, ret, expected);
        if (ok && expected.length == 0) {
            modelApproved[id][member] = true;
            ++modelNonce[member];
            ++approvalsBySig;
        }
        _checkNonces();
    }

    function revokeApproval(uint256 memberSeed, uint256 idSeed) external {
        address member = _actor(memberSeed);
        uint256 id = _pickProposal(idSeed);
        vm.prank(member);
        (bool ok, bytes memory ret) = address(governor).call(abi.encodeCall(ConsortiumGovernor.revokeApproval, (id)));
        bytes memory expected;
        if (!modelMember[member]) expected = abi.encodeWithSelector(NotMember.selector, member);
        else expected = _openError(id);
        if (expected.length == 0 && !modelApproved[id][member]) {
            expected = abi.encodeWithSelector(NotApproved.selector, id, member);
        }
        _compare(ok, ret, expected);
        if (ok && expected.length == 0) modelApproved[id][member] = false;
        _checkNonces();
    }

    function execute(uint256 executorSeed, uint256 idSeed) external {
        address executor = _actor(executorSeed);
        uint256 id = _pickProposal(idSeed);
        uint256 approvals = _modelApprovalCount(id);
        uint256 thresholdNow = modelThreshold;

        vm.prank(executor);
        (bool ok, bytes memory ret) = address(governor).call(abi.encodeCall(ConsortiumGovernor.execute, (id)));

        bytes memory expected;
        if (!modelMember[executor]) expected = abi.encodeWithSelector(NotMember.selector, executor);
        else expected = _openError(id);
        if (expected.length == 0 && approvals < thresholdNow) {
            expected = abi.encodeWithSelector(ThresholdNotReached.selector, id, approvals, thresholdNow);
        }
        if (expected.length == 0) {
            bytes memory inner = _innerError(_proposals[id - 1]);
            if (inner.length != 0) expected = abi.encodeWithSelector(ProposalCallFailed.selector, id, inner);
        }
        _compare(ok, ret, expected);

        if (ok) {
            // Whatever the model predicted: an execution must have had enough approvals by current members.
            ++executions;
            approvalsAtExecution[id] = approvals;
            thresholdAtExecution[id] = thresholdNow;
            if (approvals < thresholdNow) ++executedBelowThreshold;
            if (expected.length == 0) _applyEffect(id);
        }
        _checkNonces();
    }

    function cancel(uint256 callerSeed, uint256 idSeed) external {
        address caller = _actor(callerSeed);
        uint256 id = _pickProposal(idSeed);
        vm.prank(caller);
        (bool ok, bytes memory ret) = address(governor).call(abi.encodeCall(ConsortiumGovernor.cancel, (id)));
        bytes memory expected = _openError(id);
        if (expected.length == 0 && _proposals[id - 1].proposer != caller) {
            expected = abi.encodeWithSelector(NotProposer.selector, id, caller);
        }
        _compare(ok, ret, expected);
        if (ok && expected.length == 0) _proposals[id - 1].cancelled = true;
        _checkNonces();
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + secondsSeed % 3 days);
        _checkNonces();
    }

    // ------------------------------------------------------------------ views for the invariants

    function account(uint256 index) public pure returns (address) {
        return vm.addr(privateKey(index));
    }

    function privateKey(uint256 index) public pure returns (uint256) {
        return 0x6000 + index;
    }

    function proposalCount() external view returns (uint256) {
        return _proposals.length;
    }

    function modelApprovalCount(uint256 id) external view returns (uint256) {
        return _modelApprovalCount(id);
    }

    // ------------------------------------------------------------------ model internals

    function _modelApprovalCount(uint256 id) private view returns (uint256 count) {
        for (uint256 i = 0; i < POOL; ++i) {
            if (modelMember[account(i)] && modelApproved[id][account(i)]) ++count;
        }
    }

    /// @dev The error of ConsortiumGovernor._requireOpen, or empty if the proposal is open.
    function _openError(uint256 id) private view returns (bytes memory) {
        if (id == 0 || id > _proposals.length) return abi.encodeWithSelector(UnknownProposal.selector, id);
        ModelProposal storage p = _proposals[id - 1];
        if (p.executed || p.cancelled) return abi.encodeWithSelector(ProposalClosed.selector, id);
        if (block.timestamp >= p.expiresAt) return abi.encodeWithSelector(ProposalExpired.selector, id, p.expiresAt);
        return "";
    }

    function _approveError(uint256 id, address member) private view returns (bytes memory err) {
        err = _openError(id);
        if (err.length == 0 && modelApproved[id][member]) err = abi.encodeWithSelector(AlreadyApproved.selector, id, member);
    }

    /// @dev The error the proposal's call would raise now, or empty if it would succeed.
    function _innerError(ModelProposal storage p) private view returns (bytes memory) {
        if (p.kind == Kind.AddMember) {
            address a = address(uint160(p.arg));
            if (modelMember[a]) return abi.encodeWithSelector(AlreadyMember.selector, a);
        } else if (p.kind == Kind.RemoveMember) {
            address a = address(uint160(p.arg));
            if (!modelMember[a]) return abi.encodeWithSelector(NotMember.selector, a);
            if (modelMemberCount - 1 < modelThreshold) {
                return abi.encodeWithSelector(MemberCountBelowThreshold.selector, modelMemberCount - 1, modelThreshold);
            }
        } else if (p.kind == Kind.SetThreshold) {
            if (p.arg == 0 || p.arg > modelMemberCount) {
                return abi.encodeWithSelector(InvalidThreshold.selector, p.arg, modelMemberCount);
            }
        } else if (p.kind == Kind.Suspend) {
            if (modelOrgStatus != OrgStatus.Active) {
                return abi.encodeWithSelector(InvalidOrgStatus.selector, AGENCY, modelOrgStatus);
            }
        } else if (p.kind == Kind.Reinstate) {
            if (modelOrgStatus != OrgStatus.Suspended) {
                return abi.encodeWithSelector(InvalidOrgStatus.selector, AGENCY, modelOrgStatus);
            }
        }
        return "";
    }

    function _applyEffect(uint256 id) private {
        ModelProposal storage p = _proposals[id - 1];
        p.executed = true;
        if (p.kind == Kind.AddMember) {
            modelMember[address(uint160(p.arg))] = true;
            ++modelMemberCount;
        } else if (p.kind == Kind.RemoveMember) {
            modelMember[address(uint160(p.arg))] = false;
            --modelMemberCount;
        } else if (p.kind == Kind.SetThreshold) {
            modelThreshold = p.arg;
        } else if (p.kind == Kind.Suspend) {
            modelOrgStatus = OrgStatus.Suspended;
        } else if (p.kind == Kind.Reinstate) {
            modelOrgStatus = OrgStatus.Active;
        }
    }

    // ------------------------------------------------------------------ helpers

    function _call(Kind kind, uint256 arg) private view returns (address target, bytes memory data) {
        if (kind == Kind.AddMember) return (address(governor), abi.encodeCall(ConsortiumGovernor.addMember, (address(uint160(arg)))));
        if (kind == Kind.RemoveMember) {
            return (address(governor), abi.encodeCall(ConsortiumGovernor.removeMember, (address(uint160(arg)))));
        }
        if (kind == Kind.SetThreshold) return (address(governor), abi.encodeCall(ConsortiumGovernor.setThreshold, (arg)));
        if (kind == Kind.Suspend) return (address(issuers), abi.encodeCall(IssuerRegistry.suspend, (AGENCY)));
        if (kind == Kind.Reinstate) return (address(issuers), abi.encodeCall(IssuerRegistry.reinstate, (AGENCY)));
        return (address(pingTarget), abi.encodeCall(CallTarget.ping, (arg)));
    }

    function _arg(Kind kind, uint256 seed) private pure returns (uint256) {
        if (kind == Kind.AddMember || kind == Kind.RemoveMember) return uint160(account(seed % POOL));
        if (kind == Kind.SetThreshold) return seed % (POOL + 2); // 0..7: includes invalid values
        return seed;
    }

    /// @dev Three times in four a current member (so proposals progress), otherwise any pool account or the
    ///      outsider.
    function _actor(uint256 seed) private view returns (address) {
        if (seed % 4 != 0) {
            uint256 nth = (seed >> 8) % modelMemberCount;
            for (uint256 i = 0; i < POOL; ++i) {
                if (!modelMember[account(i)]) continue;
                if (nth == 0) return account(i);
                --nth;
            }
        }
        uint256 k = (seed >> 16) % (POOL + 1);
        return k == POOL ? OUTSIDER : account(k);
    }

    /// @dev Mostly one of the latest proposals; sometimes 0 or one past the last (unknown).
    function _pickProposal(uint256 seed) private view returns (uint256) {
        uint256 n = _proposals.length;
        uint256 k = seed % 16;
        if (n == 0 || k == 0) return k % 2 == 0 ? 0 : n + 1;
        uint256 window = n < 4 ? n : 4;
        return k < 12 ? n - (seed >> 8) % window : 1 + (seed >> 8) % n;
    }

    function _signApproval(uint256 signerIndex, uint256 id, uint256 nonce, uint256 deadline)
        private
        view
        returns (bytes memory)
    {
        ConsortiumGovernor.Proposal memory p = governor.proposal(id);
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("CivilIdConsortiumGovernor"), keccak256("1"), block.chainid, address(governor))
        );
        bytes32 structHash =
            keccak256(abi.encode(APPROVE_TYPEHASH, id, p.target, keccak256(p.data), p.expiresAt, nonce, deadline));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey(signerIndex), keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
        return abi.encodePacked(r, s, v);
    }

    function _compare(bool ok, bytes memory ret, bytes memory expected) private {
        if (!ok) ++refusals;
        bool expectedOk = expected.length == 0;
        if (ok != expectedOk) _mismatch(ok ? "governor accepted, model refused" : "governor refused, model accepted", ok ? expected : ret);
        else if (!ok && keccak256(ret) != keccak256(expected)) _mismatch("different errors", abi.encode(ret, expected));
    }

    /// @dev Every action ends here: governor nonces never go down and move exactly as the model says.
    function _checkNonces() private {
        for (uint256 i = 0; i < POOL; ++i) {
            address a = account(i);
            uint256 n = governor.nonces(a);
            if (n < lastSeenNonce[a]) ++nonceDecreases;
            lastSeenNonce[a] = n;
            if (n != modelNonce[a]) _mismatch("nonce differs from model", abi.encode(a, n, modelNonce[a]));
        }
    }

    function _mismatch(string memory what, bytes memory data) private {
        if (mismatches == 0) firstMismatch = abi.encode(what, data);
        ++mismatches;
    }
}

/// @title Invariants of the consortium governor under random member actions
contract GovernanceInvariantsTest is TestBase, InvariantBase {
    uint256 private constant T0 = 1_700_000_000;
    uint32 private constant AGENCY = 1_741_000;

    GovernanceHandler private handler;
    ConsortiumGovernor private governor;
    IssuerRegistry private issuers;

    function setUp() public {
        vm.warp(T0);
        address[] memory founders = new address[](3);
        for (uint256 i = 0; i < 3; ++i) founders[i] = vm.addr(0x6000 + i);
        governor = new ConsortiumGovernor(founders, 2);
        issuers = new IssuerRegistry(address(governor));

        // Accredit the organisation that proposals suspend and reinstate (2 of 3 founders).
        bytes32[] memory types = new bytes32[](0);
        vm.prank(founders[0]);
        uint256 id = governor.propose(
            address(issuers),
            abi.encodeCall(IssuerRegistry.accredit, (AGENCY, OrgKind.CentralAgency, address(0xAD), types)),
            1 days,
            "accredit"
        );
        vm.prank(founders[1]);
        governor.approve(id);
        vm.prank(founders[1]);
        governor.execute(id);

        handler = new GovernanceHandler(governor, issuers, new CallTarget(), governor.proposalCount());
        assertEq(handler.account(0), founders[0], "handler key pool");

        _targetContract(address(handler));
        bytes4[] memory actions = new bytes4[](7);
        actions[0] = GovernanceHandler.propose.selector;
        actions[1] = GovernanceHandler.approve.selector;
        actions[2] = GovernanceHandler.approveBySig.selector;
        actions[3] = GovernanceHandler.revokeApproval.selector;
        actions[4] = GovernanceHandler.execute.selector;
        actions[5] = GovernanceHandler.cancel.selector;
        actions[6] = GovernanceHandler.warp.selector;
        _targetSelector(address(handler), actions);
    }

    /// @notice No proposal ever executes without `threshold` approvals by members current at execution.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_executionsMetThresholdOfCurrentMembers() public view {
        assertEq(handler.executedBelowThreshold(), 0, "a proposal executed below threshold");
        uint256 n = governor.proposalCount();
        for (uint256 id = 2; id <= n; ++id) {
            if (!governor.proposal(id).executed) continue;
            assertGe(handler.approvalsAtExecution(id), handler.thresholdAtExecution(id), "executed below threshold");
            assertGe(handler.thresholdAtExecution(id), 1, "executed with a zero threshold");
        }
    }

    /// @notice Members and threshold are exactly the model's, with 1 <= threshold <= member count; approvals of
    ///         every proposal are counted over current members only.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_membersThresholdAndApprovalsMatchModel() public view {
        if (handler.mismatches() != 0) {
            (string memory what, bytes memory data) = abi.decode(handler.firstMismatch(), (string, bytes));
            revert ModelMismatch(what, data);
        }
        address[] memory members = governor.members();
        assertEq(members.length, handler.modelMemberCount(), "member count");
        for (uint256 i = 0; i < members.length; ++i) {
            assertTrue(handler.modelMember(members[i]), "unexpected member");
        }
        uint256 threshold = governor.threshold();
        assertEq(threshold, handler.modelThreshold(), "threshold");
        assertTrue(threshold >= 1 && threshold <= members.length, "threshold out of range");
        uint256 n = governor.proposalCount();
        assertEq(n, handler.proposalCount(), "proposal count");
        for (uint256 id = 2; id <= n; ++id) {
            assertEq(governor.approvalCount(id), handler.modelApprovalCount(id), "approval count");
        }
    }

    /// @notice EIP-712 approval nonces only ever increase, by one per accepted signature.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_governorNoncesOnlyIncrease() public view {
        assertEq(handler.nonceDecreases(), 0, "a governor nonce decreased");
        uint256 total;
        for (uint256 i = 0; i < handler.POOL(); ++i) {
            address a = handler.account(i);
            assertEq(governor.nonces(a), handler.modelNonce(a), "nonce differs from accepted signatures");
            total += governor.nonces(a);
        }
        assertEq(total, handler.approvalsBySig(), "nonces do not add up to accepted signatures");
    }

    /// @notice The handler really exercises the governor (guards the invariants against being vacuous).
    function test_handlerMakesProgress() public {
        for (uint256 i = 0; i < 300; ++i) {
            uint256 r = uint256(keccak256(abi.encode("governance progress", i)));
            uint256 action = r % 7;
            if (action == 0) handler.propose(r >> 16, uint8(r >> 24), r >> 32, r >> 64);
            else if (action == 1) handler.approve(r >> 16, r >> 32);
            else if (action == 2) handler.approveBySig(r >> 16, r >> 32, r >> 64, (r >> 8) % 4 == 0, address(uint160(r >> 96)));
            else if (action == 3) handler.revokeApproval(r >> 16, r >> 32);
            else if (action == 4) handler.execute(r >> 16, r >> 32);
            else if (action == 5) handler.cancel(r >> 16, r >> 32);
            else handler.warp(r >> 16 & 0xffff);
        }
        invariant_membersThresholdAndApprovalsMatchModel(); // first: reports the first disagreement in full
        assertGe(handler.executions(), 5, "too few executions");
        assertGe(handler.approvalsBySig(), 10, "too few signed approvals");
        assertGe(handler.refusals(), 30, "too few refusals");
        invariant_executionsMetThresholdOfCurrentMembers();
        invariant_governorNoncesOnlyIncrease();
    }
}
