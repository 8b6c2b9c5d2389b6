// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
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
    OnlyGovernance,
    ProposalCallFailed,
    MemberCountBelowThreshold,
    NotApproved,
    NotProposer,
    TargetNotContract,
    SignatureExpired,
    InvalidSigner,
    ZeroAddress,
    MemberLimitReached
} from "../common/CivilIdErrors.sol";

/// @title M-of-N governance of the consortium's member ministries
/// @notice Consortium-level changes (accrediting, suspending, reinstating or removing an organisation; changing
///         the member set or the threshold) are proposals that execute only after `threshold` current members
///         approved them, before the proposal expires. Members approve by transaction or by an EIP-712 signature
///         (bound to chain id, this contract, the exact call, the member's nonce and a deadline) that anyone may
///         relay. The governor calls the target itself, so target contracts grant their admin role to it.
/// @dev Approvals are counted at execution time over the *current* members, so a removed member's approval
///      no longer counts and the threshold in force at execution applies. The threshold always lies in
///      `thresholdBounds(memberCount)`: a strict majority, and at most N - 1 once there are 3 or more members, so
///      no minority decides and no single lost key blocks every decision (including the removal of its member).
contract ConsortiumGovernor is EIP712, ReentrancyGuard {
    using EnumerableSet for EnumerableSet.AddressSet;

    struct Proposal {
        address target; //    20 bytes
        uint64 expiresAt; //   8 bytes (same slot as target)
        bool executed; //      1 byte
        bool cancelled; //     1 byte
        address proposer;
        bytes data;
    }

    bytes32 private constant APPROVE_TYPEHASH =
        keccak256("Approve(uint256 proposalId,address target,bytes32 dataHash,uint64 expiresAt,uint256 nonce,uint256 deadline)");

    /// @notice Longest lifetime a proposal may be given.
    uint64 public constant MAX_LIFETIME = 30 days;
    /// @notice Most members the governor admits: `execute` counts approvals over all members (~4.5 k gas each),
    ///         so 64 members bound that loop to ~0.3 M gas.
    uint256 public constant MAX_MEMBERS = 64;
    /// @dev A re-admitted member's nonces restart at `(epoch - 1) << NONCE_EPOCH_SHIFT`, above every nonce it could
    ///      have signed for during an earlier membership.
    uint256 private constant NONCE_EPOCH_SHIFT = 128;

    EnumerableSet.AddressSet private _members;
    /// @notice Approvals needed to execute a proposal.
    uint256 public threshold;
    /// @notice Number of proposals created; proposal ids are 1..proposalCount.
    uint256 public proposalCount;
    /// @notice Per-member nonce of EIP-712 approvals; only ever increases.
    mapping(address member => uint256) public nonces;

    /// @notice Incremented each time an account becomes a member: approvals given in an earlier membership
    ///         (before a removal) never count again after the account is re-added, whether they were recorded
    ///         on chain (the recorded epoch no longer matches) or only signed (re-admission moves the member's
    ///         nonce past every nonce of its earlier memberships, so those signatures no longer verify).
    mapping(address account => uint256) public membershipEpoch;

    mapping(uint256 proposalId => Proposal) private _proposals;
    /// @dev The approving member's membership epoch at approval time (0 = no approval).
    mapping(uint256 proposalId => mapping(address member => uint256 epoch)) private _approved;

    /// @notice A proposal was created (the proposer's approval is recorded separately).
    event ProposalCreated(
        uint256 indexed proposalId, address indexed proposer, address indexed target, bytes data, uint64 expiresAt, string description
    );
    /// @notice A member approved a proposal.
    event ProposalApproved(uint256 indexed proposalId, address indexed member);
    /// @notice A member invalidated its current approval nonce (an unrelayed signed approval is void).
    event NonceInvalidated(address indexed member, uint256 nonce);
    /// @notice A member withdrew an approval.
    event ApprovalRevoked(uint256 indexed proposalId, address indexed member);
    /// @notice A proposal's call was executed.
    event ProposalExecuted(uint256 indexed proposalId, address indexed executor);
    /// @notice The proposer cancelled a proposal.
    event ProposalCancelled(uint256 indexed proposalId);
    /// @notice A member ministry joined.
    event MemberAdded(address indexed member);
    /// @notice A member ministry left.
    event MemberRemoved(address indexed member);
    /// @notice The approval threshold changed.
    event ThresholdChanged(uint256 previousThreshold, uint256 newThreshold);

    modifier onlyMember() {
        if (!_members.contains(msg.sender)) revert NotMember(msg.sender);
        _;
    }

    modifier onlySelf() {
        if (msg.sender != address(this)) revert OnlyGovernance(msg.sender);
        _;
    }

    /// @param initialMembers The founding member ministries' accounts.
    /// @param initialThreshold Approvals needed, within `thresholdBounds(initialMembers.length)`.
    constructor(address[] memory initialMembers, uint256 initialThreshold) EIP712("CivilIdConsortiumGovernor", "1") {
        for (uint256 i = 0; i < initialMembers.length; ++i) {
            _addMember(initialMembers[i]);
        }
        _setThreshold(initialThreshold);
    }

    // ------------------------------------------------------------------ proposals

    /// @notice Proposes that the governor call `target` with `data`; the proposer's approval is recorded.
    /// @param target Contract to call (e.g. the issuer registry, or this governor for member changes).
    /// @param data ABI-encoded call.
    /// @param lifetime Seconds until the proposal expires (1..MAX_LIFETIME).
    /// @param description Human-readable purpose, kept in the event log.
    /// @return proposalId The new proposal's id.
    function propose(address target, bytes calldata data, uint64 lifetime, string calldata description)
        external
        onlyMember
        returns (uint256 proposalId)
    {
        if (target == address(0)) revert ZeroAddress();
        // A call to an address without code "succeeds" and does nothing: refuse it at proposal time.
        if (target.code.length == 0) revert TargetNotContract(target);
        if (lifetime == 0 || lifetime > MAX_LIFETIME) revert InvalidLifetime(lifetime, MAX_LIFETIME);
        proposalId = ++proposalCount;
        uint64 expiresAt = uint64(block.timestamp) + lifetime;
        _proposals[proposalId] =
            Proposal({target: target, expiresAt: expiresAt, executed: false, cancelled: false, proposer: msg.sender, data: data});
        emit ProposalCreated(proposalId, msg.sender, target, data, expiresAt, description);
        _approve(proposalId, msg.sender);
    }

    /// @notice Approves a proposal as the calling member.
    /// @param proposalId The proposal.
    function approve(uint256 proposalId) external onlyMember {
        _approve(proposalId, msg.sender);
    }

    /// @notice Records `member`'s EIP-712 approval; anyone may relay it.
    /// @param proposalId The proposal.
    /// @param member The approving member.
    /// @param deadline Unix time after which the signature is refused.
    /// @param signature The member's 65-byte signature over the Approve struct.
    function approveBySig(uint256 proposalId, address member, uint256 deadline, bytes calldata signature) external {
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        if (!_members.contains(member)) revert NotMember(member);
        Proposal storage p = _proposals[proposalId];
        if (p.target == address(0)) revert UnknownProposal(proposalId);
        uint256 nonce = nonces[member];
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(APPROVE_TYPEHASH, proposalId, p.target, keccak256(p.data), p.expiresAt, nonce, deadline))
        );
        address recovered = ECDSA.recover(digest, signature);
        if (recovered != member) revert InvalidSigner(recovered, member);
        nonces[member] = nonce + 1;
        _approve(proposalId, member);
    }

    /// @notice Withdraws the caller's approval of an open proposal.
    /// @param proposalId The proposal.
    function revokeApproval(uint256 proposalId) external onlyMember {
        _requireOpen(proposalId);
        if (!_counts(proposalId, msg.sender)) revert NotApproved(proposalId, msg.sender);
        _approved[proposalId][msg.sender] = 0;
        emit ApprovalRevoked(proposalId, msg.sender);
    }

    /// @notice Burns the caller's current approval nonce, voiding any signed approval not yet relayed.
    function invalidateNonce() external onlyMember {
        uint256 current = nonces[msg.sender];
        nonces[msg.sender] = current + 1;
        emit NonceInvalidated(msg.sender, current);
    }

    /// @notice Executes a proposal that enough current members approved. Any member may execute.
    /// @param proposalId The proposal.
    /// @return result The call's return data.
    function execute(uint256 proposalId) external onlyMember nonReentrant returns (bytes memory result) {
        Proposal storage p = _requireOpen(proposalId);
        uint256 approvals = approvalCount(proposalId);
        if (approvals < threshold) revert ThresholdNotReached(proposalId, approvals, threshold);
        p.executed = true; // effects before the interaction
        emit ProposalExecuted(proposalId, msg.sender);
        bool ok;
        // The governor exists to make this arbitrary, approved call; its result is checked right below.
        // solhint-disable-next-line avoid-low-level-calls
        (ok, result) = p.target.call(p.data);
        if (!ok) revert ProposalCallFailed(proposalId, result);
    }

    /// @notice Cancels an open proposal; only its proposer, while still a member, may.
    /// @param proposalId The proposal.
    function cancel(uint256 proposalId) external onlyMember {
        Proposal storage p = _requireOpen(proposalId);
        if (msg.sender != p.proposer) revert NotProposer(proposalId, msg.sender);
        p.cancelled = true;
        emit ProposalCancelled(proposalId);
    }

    // ------------------------------------------------------------------ member set (only via proposals)

    /// @notice Adds a member ministry (at most MAX_MEMBERS). Only through an executed proposal. If the threshold
    ///         would fall below a majority of the larger member set, it is raised to the majority (with
    ///         `ThresholdChanged`).
    /// @param member The new member's account.
    function addMember(address member) external onlySelf {
        _addMember(member);
        _clampThreshold();
    }

    /// @notice Removes a member ministry (e.g. one whose key was lost). Only through an executed proposal. If the
    ///         threshold would leave `thresholdBounds` of the smaller member set, it is moved to the nearest bound
    ///         (with `ThresholdChanged`). The last member cannot be removed.
    /// @param member The member to remove.
    function removeMember(address member) external onlySelf {
        if (_members.length() == 1 && _members.contains(member)) revert MemberCountBelowThreshold(0, threshold);
        if (!_members.remove(member)) revert NotMember(member);
        emit MemberRemoved(member);
        _clampThreshold();
    }

    /// @notice Changes the approval threshold. Only through an executed proposal.
    /// @param newThreshold Approvals needed, within `thresholdBounds(member count)`.
    function setThreshold(uint256 newThreshold) external onlySelf {
        _setThreshold(newThreshold);
    }

    // ------------------------------------------------------------------ views

    /// @notice The current members.
    /// @return The member accounts.
    function members() external view returns (address[] memory) {
        return _members.values();
    }

    /// @notice Whether `account` is a current member.
    /// @param account The account.
    /// @return True for a member.
    function isMember(address account) external view returns (bool) {
        return _members.contains(account);
    }

    /// @notice A proposal's stored fields.
    /// @param proposalId The proposal.
    /// @return The proposal.
    function proposal(uint256 proposalId) external view returns (Proposal memory) {
        return _proposals[proposalId];
    }

    /// @notice Whether `member` approved `proposalId` during its latest membership (`approvalCount` counts it only
    ///         while `member` is a member; approvals from an earlier membership are never reported).
    /// @param proposalId The proposal.
    /// @param member The member.
    /// @return True if approved.
    function hasApproved(uint256 proposalId, address member) external view returns (bool) {
        return _counts(proposalId, member);
    }

    /// @notice Approvals of `proposalId` by current members.
    /// @param proposalId The proposal.
    /// @return count The number of current members that approved.
    function approvalCount(uint256 proposalId) public view returns (uint256 count) {
        uint256 n = _members.length();
        for (uint256 i = 0; i < n; ++i) {
            if (_counts(proposalId, _members.at(i))) ++count;
        }
    }

    /// @notice The thresholds allowed for `memberCount` members: at least a strict majority (`memberCount / 2 + 1`),
    ///         and at most `memberCount - 1` once there are 3 or more members (with 1 or 2 members, all must approve).
    /// @param memberCount A member count (1..MAX_MEMBERS).
    /// @return min The smallest allowed threshold.
    /// @return max The largest allowed threshold.
    function thresholdBounds(uint256 memberCount) public pure returns (uint256 min, uint256 max) {
        min = memberCount / 2 + 1;
        max = memberCount >= 3 ? memberCount - 1 : memberCount;
    }

    /// @notice EIP-712 domain separator for off-chain approvers.
    /// @return The domain separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ internals

    function _requireOpen(uint256 proposalId) private view returns (Proposal storage p) {
        p = _proposals[proposalId];
        if (p.target == address(0)) revert UnknownProposal(proposalId);
        if (p.executed || p.cancelled) revert ProposalClosed(proposalId);
        if (block.timestamp >= p.expiresAt) revert ProposalExpired(proposalId, p.expiresAt);
    }

    /// @dev An approval counts only if given during the member's current membership.
    function _counts(uint256 proposalId, address member) private view returns (bool) {
        uint256 epoch = _approved[proposalId][member];
        return epoch != 0 && epoch == membershipEpoch[member];
    }

    function _approve(uint256 proposalId, address member) private {
        _requireOpen(proposalId);
        if (_counts(proposalId, member)) revert AlreadyApproved(proposalId, member);
        _approved[proposalId][member] = membershipEpoch[member];
        emit ProposalApproved(proposalId, member);
    }

    function _addMember(address member) private {
        if (member == address(0)) revert ZeroAddress();
        if (_members.length() >= MAX_MEMBERS) revert MemberLimitReached(MAX_MEMBERS);
        if (!_members.add(member)) revert AlreadyMember(member);
        uint256 epoch = ++membershipEpoch[member];
        emit MemberAdded(member);
        if (epoch > 1) {
            // Re-admission: void every approval the account signed (but nobody relayed) in an earlier membership,
            // including ones signed ahead for later nonces.
            uint256 previous = nonces[member];
            nonces[member] = (epoch - 1) << NONCE_EPOCH_SHIFT;
            emit NonceInvalidated(member, previous);
        }
    }

    function _setThreshold(uint256 newThreshold) private {
        uint256 n = _members.length();
        (uint256 min, uint256 max) = thresholdBounds(n);
        if (n == 0 || newThreshold < min || newThreshold > max) revert InvalidThreshold(newThreshold, n);
        emit ThresholdChanged(threshold, newThreshold);
        threshold = newThreshold;
    }

    /// @dev After a member change: moves the threshold to the nearest bound if it left `thresholdBounds`.
    function _clampThreshold() private {
        (uint256 min, uint256 max) = thresholdBounds(_members.length());
        uint256 current = threshold;
        if (current < min) _setThreshold(min);
        else if (current > max) _setThreshold(max);
    }
}
