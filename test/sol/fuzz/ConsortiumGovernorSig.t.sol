// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {ConsortiumGovernor} from "../../../contracts/governance/ConsortiumGovernor.sol";
import {
    SignatureExpired,
    InvalidSigner,
    NotMember,
    ThresholdNotReached
} from "../../../contracts/common/CivilIdErrors.sol";
import {TestBase} from "../utils/TestBase.sol";
import {CallTarget} from "../utils/CallTarget.sol";

/// @title Fuzz tests of ConsortiumGovernor.approveBySig (EIP-712 approvals relayed by anyone)
contract ConsortiumGovernorSigFuzzTest is TestBase {
    enum Field {
        ProposalId,
        Member,
        Target,
        DataHash,
        ExpiresAt,
        Deadline,
        Nonce
    }

    /// @dev The signed Approve struct.
    struct Approval {
        uint256 proposalId;
        address target;
        bytes32 dataHash;
        uint64 expiresAt;
        uint256 nonce;
        uint256 deadline;
    }

    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant APPROVE_TYPEHASH = keccak256(
        "Approve(uint256 proposalId,address target,bytes32 dataHash,uint64 expiresAt,uint256 nonce,uint256 deadline)"
    );
    uint256 private constant T0 = 1_700_000_000;
    uint64 private constant LIFETIME = 7 days;
    uint256 private constant PROPOSER_PK = 0xA11CE;
    uint256 private constant OTHER_MEMBER_PK = 0xB0B;

    CallTarget private target;

    function setUp() public {
        vm.warp(T0);
        target = new CallTarget();
    }

    // ------------------------------------------------------------------ properties

    /// @notice A member's valid signature approves exactly once, whoever relays it; it consumes one nonce and a
    ///         replay is refused; with it the proposal reaches the threshold and executes.
    function testFuzz_approveBySigSucceedsOnce(uint256 pkSeed, uint256 deadlineSeed, uint256 value, address relayer)
        public
    {
        uint256 pk = _memberKey(pkSeed);
        address member = vm.addr(pk);
        (ConsortiumGovernor gov, uint256 id) = _governorWithProposal(member, value);
        uint256 deadline = bound(deadlineSeed, block.timestamp, type(uint256).max);
        bytes memory sig = _signApproval(pk, gov, _approval(gov, id, member, deadline));

        vm.prank(relayer);
        gov.approveBySig(id, member, deadline, sig);
        assertTrue(gov.hasApproved(id, member), "approval not recorded");
        assertEq(gov.nonces(member), 1, "nonce not consumed exactly once");
        assertEq(gov.approvalCount(id), 2, "approval count");

        vm.prank(relayer);
        vm.expectPartialRevert(InvalidSigner.selector);
        gov.approveBySig(id, member, deadline, sig);
        assertEq(gov.nonces(member), 1, "nonce moved on a refused replay");

        vm.prank(vm.addr(PROPOSER_PK));
        gov.execute(id);
        assertEq(target.pings(address(gov)), 1, "proposal call not made");
        assertEq(target.lastValue(), value, "proposal call data");
    }

    /// @notice Changing any signed field (or signing a stale/future nonce) invalidates the signature; the refusal
    ///         consumes nothing and the untampered signature still works afterwards.
    function testFuzz_tamperedApprovalRejected(uint256 pkSeed, uint8 fieldSeed, uint256 tamperSeed, uint256 value)
        public
    {
        uint256 pk = _memberKey(pkSeed);
        address member = vm.addr(pk);
        (ConsortiumGovernor gov, uint256 id) = _governorWithProposal(member, value);
        // A second open proposal, with other data and a later expiry, for the proposalId swap.
        vm.warp(block.timestamp + 1);
        vm.prank(vm.addr(PROPOSER_PK));
        uint256 otherId = gov.propose(address(target), abi.encodeCall(CallTarget.ping, (~value)), LIFETIME, "other");

        uint256 deadline = block.timestamp + 1 hours;
        Approval memory good = _approval(gov, id, member, deadline);
        bytes memory goodSig = _signApproval(pk, gov, good);

        Field field = Field(fieldSeed % 7);
        Approval memory signed = _copy(good);
        uint256 submittedId = id;
        address submittedMember = member;
        uint256 submittedDeadline = deadline;
        if (field == Field.ProposalId) {
            submittedId = otherId; // signature over `id`, submitted for `otherId`
        } else if (field == Field.Member) {
            submittedMember = vm.addr(OTHER_MEMBER_PK); // signed by `member`, claimed for another member
        } else if (field == Field.Target) {
            signed.target = address(uint160(uint256(keccak256(abi.encode(tamperSeed)))));
        } else if (field == Field.DataHash) {
            signed.dataHash = keccak256(abi.encode(tamperSeed, good.dataHash));
        } else if (field == Field.ExpiresAt) {
            signed.expiresAt = uint64(bound(tamperSeed, 0, type(uint64).max));
            vm.assume(signed.expiresAt != good.expiresAt);
        } else if (field == Field.Deadline) {
            submittedDeadline = bound(tamperSeed, block.timestamp, type(uint256).max);
            vm.assume(submittedDeadline != deadline);
        } else {
            signed.nonce = bound(tamperSeed, 1, type(uint256).max);
        }
        bytes memory sig = _isSubmissionTamper(field) ? goodSig : _signApproval(pk, gov, signed);

        vm.expectPartialRevert(InvalidSigner.selector);
        gov.approveBySig(submittedId, submittedMember, submittedDeadline, sig);
        assertEq(gov.nonces(member), 0, "refused approval consumed a nonce");
        assertEq(gov.nonces(submittedMember), 0, "refused approval consumed the claimed member's nonce");
        assertFalse(gov.hasApproved(submittedId, submittedMember), "refused approval recorded");

        gov.approveBySig(id, member, deadline, goodSig);
        assertTrue(gov.hasApproved(id, member), "untampered approval refused");
    }

    /// @notice The domain binds chain id and governor deployment.
    function testFuzz_wrongChainOrGovernorRejected(uint256 pkSeed, uint64 otherChainId, uint256 value) public {
        vm.assume(otherChainId != 0 && otherChainId != block.chainid);
        uint256 pk = _memberKey(pkSeed);
        address member = vm.addr(pk);
        (ConsortiumGovernor gov, uint256 id) = _governorWithProposal(member, value);
        (ConsortiumGovernor twin, uint256 twinId) = _governorWithProposal(member, value);
        assertEq(twinId, id, "twin proposal id");
        uint256 deadline = block.timestamp;
        Approval memory a = _approval(gov, id, member, deadline);

        // Same id, target, data, expiry and nonce on the twin governor: only the domain differs.
        bytes memory sigForGov = _signApproval(pk, gov, a);
        vm.expectPartialRevert(InvalidSigner.selector);
        twin.approveBySig(id, member, deadline, sigForGov);

        bytes memory sigOtherChain = _sign(pk, _domainSeparator(address(gov), otherChainId), a);
        vm.expectPartialRevert(InvalidSigner.selector);
        gov.approveBySig(id, member, deadline, sigOtherChain);

        vm.chainId(otherChainId);
        vm.expectPartialRevert(InvalidSigner.selector);
        gov.approveBySig(id, member, deadline, sigForGov);
        gov.approveBySig(id, member, deadline, sigOtherChain);
        assertTrue(gov.hasApproved(id, member), "signature for the current chain refused");
    }

    /// @notice deadline == block.timestamp is accepted, anything later is expired.
    function testFuzz_deadlineBoundary(uint256 pkSeed, uint256 deadlineSeed, uint256 lateBy) public {
        uint256 pk = _memberKey(pkSeed);
        address member = vm.addr(pk);
        (ConsortiumGovernor gov, uint256 id) = _governorWithProposal(member, 1);
        uint256 deadline = bound(deadlineSeed, block.timestamp, block.timestamp + LIFETIME - 1);
        lateBy = bound(lateBy, 1, LIFETIME);
        bytes memory sig = _signApproval(pk, gov, _approval(gov, id, member, deadline));

        vm.warp(deadline + lateBy);
        vm.expectRevert(abi.encodeWithSelector(SignatureExpired.selector, deadline, deadline + lateBy));
        gov.approveBySig(id, member, deadline, sig);

        vm.warp(deadline); // still before the proposal's expiry
        gov.approveBySig(id, member, deadline, sig);
        assertTrue(gov.hasApproved(id, member), "approval at the deadline refused");
    }

    /// @notice Malleable (high-s) and wrongly sized signatures are refused.
    function testFuzz_malformedSignatureRejected(uint256 pkSeed, uint8 extraLength) public {
        uint256 pk = _memberKey(pkSeed);
        address member = vm.addr(pk);
        (ConsortiumGovernor gov, uint256 id) = _governorWithProposal(member, 1);
        uint256 deadline = block.timestamp;
        Approval memory a = _approval(gov, id, member, deadline);
        bytes32 digest = _digest(_domainSeparator(address(gov), block.chainid), a);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, digest);

        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureS.selector, highS));
        gov.approveBySig(id, member, deadline, abi.encodePacked(r, highS, v == 27 ? uint8(28) : uint8(27)));

        uint256 badLength = 65 + bound(extraLength, 1, 64);
        bytes memory longSig = abi.encodePacked(r, s, v, new bytes(badLength - 65));
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureLength.selector, badLength));
        gov.approveBySig(id, member, deadline, longSig);

        gov.approveBySig(id, member, deadline, abi.encodePacked(r, s, v));
        assertTrue(gov.hasApproved(id, member), "valid approval refused after malformed ones");
    }

    /// @notice A non-member's valid signature is refused and counts for nothing.
    function testFuzz_nonMemberSignatureRejected(uint256 pkSeed) public {
        uint256 pk = _memberKey(pkSeed);
        address outsider = vm.addr(pk);
        address[] memory founders = new address[](2);
        founders[0] = vm.addr(PROPOSER_PK);
        founders[1] = vm.addr(OTHER_MEMBER_PK);
        ConsortiumGovernor gov = new ConsortiumGovernor(founders, 2);
        vm.prank(founders[0]);
        uint256 id = gov.propose(address(target), abi.encodeCall(CallTarget.ping, (1)), LIFETIME, "p");
        bytes memory sig = _signApproval(pk, gov, _approval(gov, id, outsider, block.timestamp));

        vm.expectRevert(abi.encodeWithSelector(NotMember.selector, outsider));
        gov.approveBySig(id, outsider, block.timestamp, sig);

        vm.expectRevert(abi.encodeWithSelector(ThresholdNotReached.selector, id, 1, 2));
        vm.prank(founders[0]);
        gov.execute(id);
    }

    // ------------------------------------------------------------------ helpers

    /// @dev A fuzzed private key distinct from the fixed ones.
    function _memberKey(uint256 seed) private pure returns (uint256 pk) {
        pk = boundPrivateKey(seed);
        vm.assume(pk != PROPOSER_PK && pk != OTHER_MEMBER_PK);
    }

    /// @dev Governor of {proposer, member, other}, threshold 2, with one open proposal by the proposer.
    function _governorWithProposal(address member, uint256 value)
        private
        returns (ConsortiumGovernor gov, uint256 id)
    {
        address[] memory founders = new address[](3);
        founders[0] = vm.addr(PROPOSER_PK);
        founders[1] = member;
        founders[2] = vm.addr(OTHER_MEMBER_PK);
        gov = new ConsortiumGovernor(founders, 2);
        vm.prank(founders[0]);
        id = gov.propose(address(target), abi.encodeCall(CallTarget.ping, (value)), LIFETIME, "ping");
    }

    function _approval(ConsortiumGovernor gov, uint256 id, address member, uint256 deadline)
        private
        view
        returns (Approval memory a)
    {
        ConsortiumGovernor.Proposal memory p = gov.proposal(id);
        a = Approval(id, p.target, keccak256(p.data), p.expiresAt, gov.nonces(member), deadline);
    }

    function _copy(Approval memory a) private pure returns (Approval memory) {
        return Approval(a.proposalId, a.target, a.dataHash, a.expiresAt, a.nonce, a.deadline);
    }

    function _isSubmissionTamper(Field field) private pure returns (bool) {
        return field == Field.ProposalId || field == Field.Member || field == Field.Deadline;
    }

    function _domainSeparator(address verifyingContract, uint256 chainId) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                DOMAIN_TYPEHASH, keccak256("CivilIdConsortiumGovernor"), keccak256("1"), chainId, verifyingContract
            )
        );
    }

    function _digest(bytes32 domainSeparator, Approval memory a) private pure returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(APPROVE_TYPEHASH, a.proposalId, a.target, a.dataHash, a.expiresAt, a.nonce, a.deadline)
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    function _sign(uint256 pk, bytes32 domainSeparator, Approval memory a) private pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(pk, _digest(domainSeparator, a));
        return abi.encodePacked(r, s, v);
    }

    function _signApproval(uint256 pk, ConsortiumGovernor gov, Approval memory a) private view returns (bytes memory) {
        return _sign(pk, _domainSeparator(address(gov), block.chainid), a);
    }
}
