// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {OrgStatus, CredentialState, OperatorRole} from "./CivilIdTypes.sol";

/// @title Custom errors shared by the ledger contracts
/// @notice One place for every refusal, so SDKs decode them from one ABI.

// --- signatures (EIP-712) ---
/// @notice The signed call's deadline has passed.
error SignatureExpired(uint256 deadline, uint256 nowTimestamp);
/// @notice The signature does not recover to the account that must authorise the call.
error InvalidSigner(address recovered, address expected);

// --- DID registry ---
/// @notice The caller (or signer) is not the current owner of the identity.
error NotIdentityOwner(address identity, address caller);
/// @notice The DID was deactivated (owner set to the zero address); it accepts no more writes.
error IdentityDeactivated(address identity);
/// @notice A delegate's validity must be a positive number of seconds.
error InvalidValidity(uint256 validity);

// --- governance ---
/// @notice Only a consortium member may do this.
error NotMember(address account);
/// @notice The account is already a member.
error AlreadyMember(address account);
/// @notice The threshold must lie in the band `thresholdBounds(memberCount)` (a strict majority, and at most
///         N - 1 once there are 3 or more members).
error InvalidThreshold(uint256 threshold, uint256 memberCount);
/// @notice The governor already has `MAX_MEMBERS` members.
error MemberLimitReached(uint256 maxMembers);
/// @notice No proposal with this id.
error UnknownProposal(uint256 proposalId);
/// @notice The proposal's expiry has passed.
error ProposalExpired(uint256 proposalId, uint64 expiresAt);
/// @notice The proposal was already executed or cancelled.
error ProposalClosed(uint256 proposalId);
/// @notice This member already approved this proposal.
error AlreadyApproved(uint256 proposalId, address member);
/// @notice The member has not approved this proposal.
error NotApproved(uint256 proposalId, address member);
/// @notice Only the proposer may cancel a proposal.
error NotProposer(uint256 proposalId, address caller);
/// @notice A proposal's target must be a contract.
error TargetNotContract(address target);
/// @notice Not enough current members approved.
error ThresholdNotReached(uint256 proposalId, uint256 approvals, uint256 threshold);
/// @notice A proposal's lifetime must be positive and at most the governor's maximum.
error InvalidLifetime(uint64 lifetime, uint64 maxLifetime);
/// @notice Only the governor itself (through an executed proposal) may do this.
error OnlyGovernance(address caller);
/// @notice The proposal's call reverted; the revert data is passed on.
error ProposalCallFailed(uint256 proposalId, bytes returnData);
/// @notice The last member cannot be removed (the governor would be left without anyone to act).
error MemberCountBelowThreshold(uint256 memberCount, uint256 threshold);

// --- issuer registry ---
/// @notice Agency codes are 7 decimal digits (1000000..9999999).
error InvalidAgencyCode(uint32 agencyCode);
/// @notice The organisation kind must be CentralAgency or LocalGovernment.
error InvalidOrgKind(uint8 kind);
/// @notice The organisation is already accredited (or was removed, which is final).
error OrganisationExists(uint32 agencyCode);
/// @notice No organisation with this agency code.
error UnknownOrganisation(uint32 agencyCode);
/// @notice The organisation's status does not allow this.
error InvalidOrgStatus(uint32 agencyCode, OrgStatus status);
/// @notice The caller is not this organisation's admin.
error NotOrgAdmin(uint32 agencyCode, address caller);
/// @notice A zero address was given where an account is required.
error ZeroAddress();
/// @notice The issuer key is already registered (keys are never reused, even after retirement).
error IssuerKeyExists(address issuer);
/// @notice No such issuer key, or it belongs to another organisation.
error UnknownIssuerKey(address issuer);
/// @notice The issuer key was already retired.
error IssuerKeyAlreadyRetired(address issuer);
/// @notice A key's window must start now or later (never backdated) and end after it starts.
error InvalidWindow(uint64 validFrom, uint64 validUntil);
/// @notice The issuer registry is already bound to a status registry, or the caller may not bind it.
error StatusRegistryBinding(address caller, address current);
/// @notice The status registry given does not read this issuer registry.
error StatusRegistryMismatch(address statusRegistry, address itsIssuerRegistry);
/// @notice Only the consortium's issuer registry may do this.
error OnlyIssuerRegistry(address caller);

// --- credential status registry ---
/// @notice The caller's operator role does not allow this action.
error NotAuthorised(address caller, OperatorRole role);
/// @notice The credential belongs to another organisation than the caller's.
error WrongOrganisation(uint64 credentialId, uint32 callerAgency);
/// @notice No credential with this id was registered.
error UnknownCredential(uint64 credentialId);
/// @notice The transition is not allowed by the state machine (e.g. revoked is final).
error InvalidTransition(uint64 credentialId, CredentialState from, CredentialState to);
/// @notice Reason code unknown, or not allowed for this action.
error InvalidReason(uint8 reason);
/// @notice Holder references are non-zero salted hashes.
error InvalidHolderRef();
/// @notice Array arguments must be non-empty, of equal length and at most the batch limit.
error InvalidBatch(uint256 length);
/// @notice The organisation may not issue this credential type.
error CredentialTypeNotAllowed(uint32 agencyCode, bytes32 credentialType);
/// @notice The operator account already acts for another organisation; that organisation must clear it first.
error OperatorOfOtherOrganisation(address operator, uint32 agencyCode);
/// @notice The holder has a live credential of another organisation; its issuer must revoke it first.
error HolderActiveElsewhere(bytes32 holderRef, uint64 credentialId);
/// @notice The organisation's 40-bit credential sequence space (2^40 ids) would overflow into the next agency's ids.
error SequenceExhausted(uint32 agencyCode, uint64 registeredCount, uint256 requested);

// --- document anchor ---
/// @notice This Merkle root was anchored already (the first anchor's block is the one that counts).
error AlreadyAnchored(bytes32 root, uint64 blockNumber);
/// @notice A root must be non-zero and cover at least one document signature.
error InvalidAnchor(bytes32 root, uint256 leafCount);
