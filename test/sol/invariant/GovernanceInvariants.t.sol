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
    TargetNotContract,
    SignatureExpired,
    InvalidSigner,
    InvalidOrgStatus,
    ZeroAddress
} from "../../../contracts/common/CivilIdErrors.sol";
import {TestBase} from "../utils/TestBase.sol";
import {InvariantBase} from "../utils/InvariantBase.sol";
import {CallTarget} from "../utils/CallTarget.sol";

/// @title Invariant handler for the consortium governor
/// @notice Six candidate ministries (known keys; three founders, threshold 2) and an outsider propose, approve
///         (by transaction and by relayed EIP-712 signature, sometimes signed by the wrong key), withdraw
///         approvals, burn their signature nonce (then relay the voided signature), execute and cancel proposals
///         that add or remove members, change the threshold, suspend or reinstate an organisation, or call an
///         inert target (and try to propose calls to the zero address or to addresses without code); time moves
///         on so proposals expire. An independent model of members, membership epochs, threshold, approvals (with
///         the epoch they were given in) and proposals predicts every outcome and error; the ghosts record
///         disagreements, executions below threshold, nonce movements and approvals outliving a removal.
contract GovernanceHandler is TestBase {
    enum Kind {
        AddMember,
        RemoveMember,
        SetThreshold,
        Suspend,
        Reinstate,
        Ping,
        NoCodeTarget, // always refused: an EOA, a precompile or an unused address
        ZeroTarget // always refused
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
    uint256[] private _proposed; // ids created by the `propose` action
    /// @notice Times each account became a member (the governor's `membershipEpoch`).
    mapping(address account => uint256) public modelEpoch;
    /// @notice The membership epoch an approval was given in (0 = none); it counts only in that same epoch.
    mapping(uint256 proposalId => mapping(address member => uint256 epoch)) public modelApprovalEpoch;
    mapping(address member => uint256) public modelNonce;

    // ------------------------------------------------------------------ ghosts
    uint256 public mismatches;
    bytes public firstMismatch;
    /// @notice Executions that succeeded with fewer approvals by current members than the threshold in force.
    uint256 public executedBelowThreshold;
    uint256 public executions;
    /// @notice Executions by the `execute` action (the rest are `readmit`'s).
    uint256 public randomExecutions;
    mapping(uint256 proposalId => uint256) public approvalsAtExecution;
    mapping(uint256 proposalId => uint256) public thresholdAtExecution;
    /// @notice Times a governor nonce was seen lower than before.
    uint256 public nonceDecreases;
    mapping(address member => uint256) public lastSeenNonce;
    uint256 public approvalsBySig;
    uint256 public nonceInvalidations;
    /// @notice Sum of the nonce increases caused by re-admissions (nonces move to `(epoch - 1) << 128`).
    uint256 public nonceJumps;
    /// @notice Signed approvals relayed after their signer burned the nonce; each must be refused.
    uint256 public voidedSignaturesRelayed;
    uint256 public refusals;
    uint256 public codelessTargetsRefused;
    /// @notice Cancels refused because the proposer is no longer a member.
    uint256 public cancelsByRemovedProposers;
    /// @notice Members re-added after a removal, and approvals of open proposals from their earlier membership
    ///         on record then.
    uint256 public readmissions;
    uint256 public staleApprovalsAtReadmission;

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
            modelEpoch[account(i)] = 1;
        }
        modelMemberCount = 3;
        modelThreshold = 2;
        modelOrgStatus = OrgStatus.Active;
    }

    // ------------------------------------------------------------------ actions

    function propose(uint256 proposerSeed, uint8 kindSeed, uint256 argSeed, uint256 lifetimeSeed) external {
        address proposer = _actor(proposerSeed);
        // Three times in sixteen a target the governor must refuse (no code, or the zero address).
        uint8 k = kindSeed % 16;
        Kind kind = k == 15 ? Kind.ZeroTarget : k >= 13 ? Kind.NoCodeTarget : Kind(k % 6);
        uint256 arg = _arg(kind, argSeed);
        // Mostly a valid lifetime; sometimes 0 or one second too long.
        uint256 l = lifetimeSeed % 16;
        uint64 lifetime = l == 0 ? 0 : l == 1 ? MAX_LIFETIME + 1 : uint64(1 + (lifetimeSeed >> 8) % MAX_LIFETIME);
        uint256 id = _propose(proposer, kind, arg, lifetime);
        if (id != 0) _proposed.push(id);
    }

    function approve(uint256 memberSeed, uint256 idSeed) external {
        _approve(_actor(memberSeed), _pickProposal(idSeed));
    }

    /// @dev The proposal's id, or 0 if the governor refused it.
    function _propose(address proposer, Kind kind, uint256 arg, uint64 lifetime) private returns (uint256 id) {
        (address target, bytes memory data) = _call(kind, arg);
        vm.prank(proposer);
        (bool ok, bytes memory ret) =
            address(governor).call(abi.encodeCall(ConsortiumGovernor.propose, (target, data, lifetime, "handler")));

        bytes memory expected;
        if (!modelMember[proposer]) expected = abi.encodeWithSelector(NotMember.selector, proposer);
        else if (kind == Kind.ZeroTarget) expected = abi.encodeWithSelector(ZeroAddress.selector);
        else if (kind == Kind.NoCodeTarget) expected = abi.encodeWithSelector(TargetNotContract.selector, target);
        else if (lifetime == 0 || lifetime > MAX_LIFETIME) {
            expected = abi.encodeWithSelector(InvalidLifetime.selector, lifetime, MAX_LIFETIME);
        }
        _compare(ok, ret, expected);
        if (!ok && kind == Kind.NoCodeTarget && modelMember[proposer]) ++codelessTargetsRefused;
        if (ok && expected.length == 0) {
            _proposals.push(ModelProposal(kind, arg, uint64(block.timestamp) + lifetime, proposer, false, false));
            id = _proposals.length;
            if (abi.decode(ret, (uint256)) != id) _mismatch("proposal id", ret);
            modelApprovalEpoch[id][proposer] = modelEpoch[proposer];
        }
        _checkNonces();
    }

    function _approve(address member, uint256 id) private {
        vm.prank(member);
        (bool ok, bytes memory ret) = address(governor).call(abi.encodeCall(ConsortiumGovernor.approve, (id)));
        bytes memory expected = modelMember[member]
            ? _approveError(id, member)
            : abi.encodeWithSelector(NotMember.selector, member);
        _compare(ok, ret, expected);
        if (ok && expected.length == 0) modelApprovalEpoch[id][member] = modelEpoch[member];
        _checkNonces();
    }

    /// @param wrongKey Sign with another pool key than the claimed member's.
    function approveBySig(uint256 memberSeed, uint256 idSeed, uint256 deadlineSeed, bool wrongKey, address relayer)
        external
    {
        address member = _actor(memberSeed);
        uint256 memberIndex = _poolIndex(member); // POOL for the outsider: it has no key in the pool
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
            modelApprovalEpoch[id][member] = modelEpoch[member];
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
        if (expected.length == 0 && !_modelCounts(id, member)) {
            expected = abi.encodeWithSelector(NotApproved.selector, id, member);
        }
        _compare(ok, ret, expected);
        if (ok && expected.length == 0) modelApprovalEpoch[id][member] = 0;
        _checkNonces();
    }

    /// @notice A member signs an approval, burns its nonce before it is relayed, and (if `relay`) the voided
    ///         signature is relayed anyway: it must be refused and record nothing.
    function invalidateNonce(uint256 memberSeed, uint256 idSeed, bool relay) external {
        address member = _actor(memberSeed);
        uint256 id = _pickProposal(idSeed);
        uint256 memberIndex = _poolIndex(member);
        uint256 deadline = block.timestamp + 1 hours;
        uint256 oldNonce = governor.nonces(member);
        bytes memory signature = memberIndex < POOL ? _signApproval(memberIndex, id, oldNonce, deadline) : bytes("");

        vm.prank(member);
        (bool ok, bytes memory ret) = address(governor).call(abi.encodeCall(ConsortiumGovernor.invalidateNonce, ()));
        bytes memory expected;
        if (!modelMember[member]) expected = abi.encodeWithSelector(NotMember.selector, member);
        _compare(ok, ret, expected);
        if (ok && expected.length == 0) {
            ++modelNonce[member];
            ++nonceInvalidations;
        }
        _checkNonces();
        if (!ok || !relay || signature.length == 0) return;

        // Relay the signature over the burned nonce. The governor checks it against the current nonce, so it
        // recovers some other address; the model predicts which, from the digest over the current nonce.
        bool approvedBefore = governor.hasApproved(id, member);
        (ok, ret) = address(governor).call(abi.encodeCall(ConsortiumGovernor.approveBySig, (id, member, deadline, signature)));
        ++voidedSignaturesRelayed;
        if (id == 0 || id > _proposals.length) {
            expected = abi.encodeWithSelector(UnknownProposal.selector, id);
        } else {
            expected = abi.encodeWithSelector(
                InvalidSigner.selector, _recover(id, governor.nonces(member), deadline, signature), member
            );
        }
        _compare(ok, ret, expected);
        if (governor.hasApproved(id, member) != approvedBefore) _mismatch("voided signature changed an approval", ret);
        _checkNonces();
    }

    function execute(uint256 executorSeed, uint256 idSeed) external {
        if (_execute(_actor(executorSeed), _pickProposal(idSeed))) ++randomExecutions;
    }

    function _execute(address executor, uint256 id) private returns (bool ok) {
        uint256 approvals = _modelApprovalCount(id);
        uint256 thresholdNow = modelThreshold;

        vm.prank(executor);
        bytes memory ret;
        (ok, ret) = address(governor).call(abi.encodeCall(ConsortiumGovernor.execute, (id)));

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

    /// @dev A proposer removed since proposing always gets its turn (it must be refused as a non-member).
    function cancel(uint256 callerSeed, uint256 idSeed) external {
        uint256 id = _pickProposal(idSeed);
        address proposer = id != 0 && id <= _proposals.length ? _proposals[id - 1].proposer : address(0);
        _cancel(proposer != address(0) && !modelMember[proposer] ? proposer : _actor(callerSeed), id);
    }

    function _cancel(address caller, uint256 id) private {
        vm.prank(caller);
        (bool ok, bytes memory ret) = address(governor).call(abi.encodeCall(ConsortiumGovernor.cancel, (id)));
        bytes memory expected;
        if (!modelMember[caller]) expected = abi.encodeWithSelector(NotMember.selector, caller);
        else expected = _openError(id);
        if (expected.length == 0 && _proposals[id - 1].proposer != caller) {
            expected = abi.encodeWithSelector(NotProposer.selector, id, caller);
        }
        _compare(ok, ret, expected);
        if (!ok && !modelMember[caller] && id != 0 && id <= _proposals.length && _proposals[id - 1].proposer == caller) {
            ++cancelsByRemovedProposers;
        }
        if (ok && expected.length == 0) _proposals[id - 1].cancelled = true;
        _checkNonces();
    }

    /// @notice A member (often the proposer or an approver of an open proposal) is removed and re-added through
    ///         two executed proposals. While removed it can neither approve nor cancel; once back, its approval
    ///         from before the removal does not count (the invariants check every such approval), and it may
    ///         approve again, once.
    function readmit(uint256 memberSeed, uint256 idSeed) external {
        if (modelMemberCount <= 1) return; // the last member's removal is refused: MemberCountBelowThreshold
        uint256 id = _pickProposal(idSeed);
        bool open = _openError(id).length == 0;
        address proposer = open ? _proposals[id - 1].proposer : address(0);
        address member = open && memberSeed % 2 == 0 && modelMember[proposer] ? proposer : _nthMember(memberSeed >> 8);
        address other = _nthMember(0) == member ? _nthMember(1) : _nthMember(0);
        if (open && !_modelCounts(id, member)) _approve(member, id);

        uint256 removal = _propose(other, Kind.RemoveMember, uint160(member), 1 days);
        _approveUntilThreshold(removal);
        _execute(other, removal);
        if (modelMember[member]) return; // refused: already recorded as a model mismatch
        if (open) {
            _approve(member, id); // NotMember
            _cancel(member, id); // NotMember, even for its own proposal
        }

        uint256 addition = _propose(other, Kind.AddMember, uint160(member), 1 days);
        _approveUntilThreshold(addition);
        _execute(other, addition);
        if (open) {
            if (governor.hasApproved(id, member)) _mismatch("approval from before removal counts", abi.encode(id, member));
            _approve(member, id); // counts again
            _approve(member, id); // AlreadyApproved
        }
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

    /// @notice The model's `hasApproved`: an approval given in the account's current membership epoch.
    function modelHasApproved(uint256 id, address member) external view returns (bool) {
        return _modelCounts(id, member);
    }

    // ------------------------------------------------------------------ model internals

    function _modelCounts(uint256 id, address member) private view returns (bool) {
        uint256 epoch = modelApprovalEpoch[id][member];
        return epoch != 0 && epoch == modelEpoch[member];
    }

    /// @dev Current members approve `id` in pool order until it has `threshold` counted approvals.
    function _approveUntilThreshold(uint256 id) private {
        if (id == 0) return;
        for (uint256 i = 0; i < POOL && _modelApprovalCount(id) < modelThreshold; ++i) {
            address a = account(i);
            if (modelMember[a] && !_modelCounts(id, a)) _approve(a, id);
        }
    }

    function _modelApprovalCount(uint256 id) private view returns (uint256 count) {
        for (uint256 i = 0; i < POOL; ++i) {
            if (modelMember[account(i)] && _modelCounts(id, account(i))) ++count;
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
        if (err.length == 0 && _modelCounts(id, member)) err = abi.encodeWithSelector(AlreadyApproved.selector, id, member);
    }

    /// @dev The error the proposal's call would raise now, or empty if it would succeed.
    function _innerError(ModelProposal storage p) private view returns (bytes memory) {
        if (p.kind == Kind.AddMember) {
            address a = address(uint160(p.arg));
            if (modelMember[a]) return abi.encodeWithSelector(AlreadyMember.selector, a);
        } else if (p.kind == Kind.RemoveMember) {
            address a = address(uint160(p.arg));
            if (!modelMember[a]) return abi.encodeWithSelector(NotMember.selector, a);
            if (modelMemberCount == 1) {
                return abi.encodeWithSelector(MemberCountBelowThreshold.selector, 0, modelThreshold);
            }
        } else if (p.kind == Kind.SetThreshold) {
            (uint256 min, uint256 max) = _bounds(modelMemberCount);
            if (p.arg < min || p.arg > max) {
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
            address a = address(uint160(p.arg));
            modelMember[a] = true;
            ++modelMemberCount;
            _clampThreshold();
            if (++modelEpoch[a] > 1) {
                // Readmitted: whatever it approved while a member before must not count now, and its nonce moves
                // past every nonce of its earlier memberships (signed but unrelayed approvals die).
                ++readmissions;
                uint256 jumped = (modelEpoch[a] - 1) << 128;
                nonceJumps += jumped - modelNonce[a];
                modelNonce[a] = jumped;
                for (uint256 i = 1; i <= _proposals.length; ++i) {
                    uint256 epoch = modelApprovalEpoch[i][a];
                    if (epoch != 0 && epoch < modelEpoch[a] && _openError(i).length == 0) ++staleApprovalsAtReadmission;
                }
            }
        } else if (p.kind == Kind.RemoveMember) {
            modelMember[address(uint160(p.arg))] = false;
            --modelMemberCount;
            _clampThreshold();
        } else if (p.kind == Kind.SetThreshold) {
            modelThreshold = p.arg;
        } else if (p.kind == Kind.Suspend) {
            modelOrgStatus = OrgStatus.Suspended;
        } else if (p.kind == Kind.Reinstate) {
            modelOrgStatus = OrgStatus.Active;
        }
    }

    // ------------------------------------------------------------------ helpers

    /// @dev The governor's threshold band: a strict majority, at most N - 1 from 3 members on.
    function _bounds(uint256 n) private pure returns (uint256 min, uint256 max) {
        min = n / 2 + 1;
        max = n >= 3 ? n - 1 : n;
    }

    /// @dev After a member change the governor moves the threshold to the nearest bound.
    function _clampThreshold() private {
        (uint256 min, uint256 max) = _bounds(modelMemberCount);
        if (modelThreshold < min) modelThreshold = min;
        else if (modelThreshold > max) modelThreshold = max;
    }

    function _call(Kind kind, uint256 arg) private view returns (address target, bytes memory data) {
        if (kind == Kind.AddMember) return (address(governor), abi.encodeCall(ConsortiumGovernor.addMember, (address(uint160(arg)))));
        if (kind == Kind.RemoveMember) {
            return (address(governor), abi.encodeCall(ConsortiumGovernor.removeMember, (address(uint160(arg)))));
        }
        if (kind == Kind.SetThreshold) return (address(governor), abi.encodeCall(ConsortiumGovernor.setThreshold, (arg)));
        if (kind == Kind.Suspend) return (address(issuers), abi.encodeCall(IssuerRegistry.suspend, (AGENCY)));
        if (kind == Kind.Reinstate) return (address(issuers), abi.encodeCall(IssuerRegistry.reinstate, (AGENCY)));
        if (kind == Kind.NoCodeTarget) return (address(uint160(arg)), abi.encodeCall(CallTarget.ping, (arg)));
        if (kind == Kind.ZeroTarget) return (address(0), abi.encodeCall(CallTarget.ping, (arg)));
        return (address(pingTarget), abi.encodeCall(CallTarget.ping, (arg)));
    }

    /// @dev Member changes mostly name an account they can apply to (a non-member to add, a member to remove), so
    ///      members are removed and re-added often; one time in four any pool account (refused when executed).
    function _arg(Kind kind, uint256 seed) private view returns (uint256) {
        if (kind == Kind.AddMember || kind == Kind.RemoveMember) {
            bool wantMember = kind == Kind.RemoveMember;
            uint256 eligible = wantMember ? modelMemberCount : POOL - modelMemberCount;
            if (seed % 4 == 0 || eligible == 0) return uint160(account((seed >> 8) % POOL));
            uint256 nth = (seed >> 8) % eligible;
            for (uint256 i = 0; i < POOL; ++i) {
                if (modelMember[account(i)] != wantMember) continue;
                if (nth == 0) return uint160(account(i));
                --nth;
            }
        }
        // Mostly a value in the threshold band of the current member count; one time in four 0..POOL+1, which
        // includes values outside the band (refused with InvalidThreshold).
        if (kind == Kind.SetThreshold) {
            if (seed % 4 == 0) return (seed >> 8) % (POOL + 2); // includes values outside the band
            (uint256 min, uint256 max) = _bounds(modelMemberCount);
            return min + (seed >> 8) % (max - min + 1);
        }
        if (kind == Kind.NoCodeTarget) {
            // A pool member's own account (an EOA), a precompile (0x01..0x09: no code) or an unused address.
            uint256 c = seed % 3;
            if (c == 0) return uint160(account((seed >> 8) % POOL));
            if (c == 1) return 1 + (seed >> 8) % 9;
            return uint160(uint256(keccak256(abi.encode("no code", seed))));
        }
        return seed;
    }

    /// @dev The account's index in the key pool, or POOL for an account without a pool key (the outsider).
    function _poolIndex(address a) private pure returns (uint256 index) {
        for (index = 0; index < POOL; ++index) {
            if (account(index) == a) return index;
        }
    }

    /// @dev Three times in four a current member (so proposals progress), otherwise any pool account or the
    ///      outsider.
    function _actor(uint256 seed) private view returns (address) {
        if (seed % 4 != 0) return _nthMember(seed >> 8);
        uint256 k = (seed >> 16) % (POOL + 1);
        return k == POOL ? OUTSIDER : account(k);
    }

    /// @dev The (`seed` modulo member count)-th current member in pool order.
    function _nthMember(uint256 seed) private view returns (address) {
        uint256 nth = seed % modelMemberCount;
        for (uint256 i = 0; i < POOL; ++i) {
            if (!modelMember[account(i)]) continue;
            if (nth == 0) return account(i);
            --nth;
        }
        revert("no members"); // unreachable: the governor always keeps at least `threshold` >= 1 members
    }

    /// @dev Mostly one of the latest proposals of the `propose` action (not `readmit`'s, executed at once);
    ///      sometimes any proposal, 0 or one past the last (unknown).
    function _pickProposal(uint256 seed) private view returns (uint256) {
        uint256 n = _proposals.length;
        uint256 m = _proposed.length;
        uint256 k = seed % 16;
        if (n == 0 || k == 0) return k % 2 == 0 ? 0 : n + 1;
        if (k >= 12 || m == 0) return 1 + (seed >> 8) % n;
        uint256 window = m < 4 ? m : 4;
        return _proposed[m - 1 - (seed >> 8) % window];
    }

    function _signApproval(uint256 signerIndex, uint256 id, uint256 nonce, uint256 deadline)
        private
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey(signerIndex), _approvalDigest(id, nonce, deadline));
        return abi.encodePacked(r, s, v);
    }

    /// @dev The address a 65-byte signature recovers to over the Approve digest with `nonce`.
    function _recover(uint256 id, uint256 nonce, uint256 deadline, bytes memory signature)
        private
        view
        returns (address)
    {
        (bytes32 r, bytes32 s) = abi.decode(signature, (bytes32, bytes32));
        uint8 v = uint8(signature[64]);
        return ecrecover(_approvalDigest(id, nonce, deadline), v, r, s);
    }

    function _approvalDigest(uint256 id, uint256 nonce, uint256 deadline) private view returns (bytes32) {
        ConsortiumGovernor.Proposal memory p = governor.proposal(id);
        bytes32 domain = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("CivilIdConsortiumGovernor"), keccak256("1"), block.chainid, address(governor))
        );
        bytes32 structHash =
            keccak256(abi.encode(APPROVE_TYPEHASH, id, p.target, keccak256(p.data), p.expiresAt, nonce, deadline));
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
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
            if (governor.isMember(a) != modelMember[a] || governor.membershipEpoch(a) != modelEpoch[a]) {
                _mismatch("membership differs from model", abi.encode(a, governor.membershipEpoch(a), modelEpoch[a]));
            }
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
        bytes4[] memory actions = new bytes4[](9);
        actions[0] = GovernanceHandler.propose.selector;
        actions[1] = GovernanceHandler.approve.selector;
        actions[2] = GovernanceHandler.approveBySig.selector;
        actions[3] = GovernanceHandler.revokeApproval.selector;
        actions[4] = GovernanceHandler.execute.selector;
        actions[5] = GovernanceHandler.cancel.selector;
        actions[6] = GovernanceHandler.warp.selector;
        actions[7] = GovernanceHandler.invalidateNonce.selector;
        actions[8] = GovernanceHandler.readmit.selector;
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

    /// @notice Membership epochs are the model's, and an approval counts (in `hasApproved` and, for members, in
    ///         `approvalCount`) only if given in the account's current membership: an approval given before a
    ///         removal never counts after the account is re-added.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_approvalsFromEarlierMembershipNeverCount() public view {
        uint256 n = governor.proposalCount();
        for (uint256 i = 0; i < handler.POOL(); ++i) {
            address a = handler.account(i);
            uint256 epoch = governor.membershipEpoch(a);
            assertEq(epoch, handler.modelEpoch(a), "membership epoch");
            for (uint256 id = 2; id <= n; ++id) {
                uint256 approvedIn = handler.modelApprovalEpoch(id, a);
                bool counts = governor.hasApproved(id, a);
                if (approvedIn != 0 && approvedIn < epoch) {
                    assertFalse(counts, "approval from an earlier membership counts");
                }
                assertTrue(counts == handler.modelHasApproved(id, a), "hasApproved differs from model");
            }
        }
    }

    /// @notice EIP-712 approval nonces only ever increase: by one per accepted signature or invalidation, and by
    ///         the re-admission jump.
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
        assertEq(
            total,
            handler.approvalsBySig() + handler.nonceInvalidations() + handler.nonceJumps(),
            "nonces do not add up to accepted signatures and invalidations"
        );
    }

    /// @notice The handler really exercises the governor (guards the invariants against being vacuous).
    function test_handlerMakesProgress() public {
        for (uint256 i = 0; i < 1000; ++i) {
            uint256 r = uint256(keccak256(abi.encode("governance progress", i)));
            uint256 action = r % 9;
            if (action == 0) handler.propose(r >> 16, uint8(r >> 24), r >> 32, r >> 64);
            else if (action == 1) handler.approve(r >> 16, r >> 32);
            else if (action == 2) handler.approveBySig(r >> 16, r >> 32, r >> 64, (r >> 8) % 4 == 0, address(uint160(r >> 96)));
            else if (action == 3) handler.revokeApproval(r >> 16, r >> 32);
            else if (action == 4) handler.execute(r >> 16, r >> 32);
            else if (action == 5) handler.cancel(r >> 16, r >> 32);
            else if (action == 6) handler.invalidateNonce(r >> 16, r >> 32, (r >> 8) % 2 == 0);
            else if (action == 7) handler.readmit(r >> 16, r >> 32);
            else handler.warp(r >> 16 & 0xffff);
        }
        invariant_membersThresholdAndApprovalsMatchModel(); // first: reports the first disagreement in full
        // The threshold band (a strict majority) makes random executions rarer: 3 in this fixed sequence.
        assertGe(handler.randomExecutions(), 3, "too few executions");
        assertGe(handler.approvalsBySig(), 10, "too few signed approvals");
        assertGe(handler.refusals(), 30, "too few refusals");
        assertGe(handler.nonceInvalidations(), 5, "too few nonce invalidations");
        assertGe(handler.voidedSignaturesRelayed(), 3, "too few voided signatures relayed");
        assertGe(handler.codelessTargetsRefused(), 3, "too few code-less targets proposed");
        assertGe(handler.cancelsByRemovedProposers(), 3, "too few cancels by removed proposers");
        assertGe(handler.readmissions(), 3, "too few readmissions");
        assertGe(handler.staleApprovalsAtReadmission(), 3, "too few approvals from an earlier membership");
        invariant_executionsMetThresholdOfCurrentMembers();
        invariant_governorNoncesOnlyIncrease();
        invariant_approvalsFromEarlierMembershipNeverCount();
    }
}
