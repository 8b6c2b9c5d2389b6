// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CredentialState, OperatorRole, OrgStatus, ReasonCode} from "../../../contracts/common/CivilIdTypes.sol";
import {
    NotAuthorised,
    WrongOrganisation,
    UnknownCredential,
    InvalidTransition,
    InvalidReason,
    InvalidHolderRef,
    InvalidBatch,
    NotOrgAdmin,
    ZeroAddress,
    InvalidAgencyCode,
    InvalidOrgStatus,
    OperatorOfOtherOrganisation,
    HolderActiveElsewhere
} from "../../../contracts/common/CivilIdErrors.sol";
import {CredentialStatusRegistry} from "../../../contracts/status/CredentialStatusRegistry.sol";
import {TestBase} from "./TestBase.sol";

/// @title Reference model of CredentialStatusRegistry, written from its specification
/// @notice Plain storage (one struct per credential, no bit packing) and the documented rules. Each mutating
///         function either applies the change and returns what the registry should return, or reverts with exactly
///         the error the registry should raise; called as an external call, a refusal rolls the model back just as
///         the registry is rolled back. Tests call the registry and the model with the same inputs and compare.
contract StatusModel {
    struct Entry {
        CredentialState state;
        uint8 reason;
    }

    struct Op {
        uint32 agencyCode;
        OperatorRole role;
    }

    uint256 internal constant MAX_BATCH = 2000;
    uint256 internal constant SEQUENCE_BITS = 40;

    mapping(uint64 credentialId => Entry) private _entries;
    mapping(uint32 agencyCode => uint64) public count;
    mapping(bytes32 holderRef => uint64) public latest;
    mapping(address operator => Op) private _operators;
    mapping(uint32 agencyCode => address) public adminOf;
    mapping(uint32 agencyCode => OrgStatus) public orgStatus;

    // ------------------------------------------------------------------ mirror of the issuer registry

    function setOrganisation(uint32 agencyCode, address admin, OrgStatus status) external {
        adminOf[agencyCode] = admin;
        orgStatus[agencyCode] = status;
    }

    // ------------------------------------------------------------------ registry operations

    function setOperator(address caller, address operator, uint32 agencyCode, OperatorRole role) external {
        if (operator == address(0)) revert ZeroAddress();
        if (agencyCode == 0) revert InvalidAgencyCode(agencyCode);
        if (adminOf[agencyCode] != caller) revert NotOrgAdmin(agencyCode, caller);
        // Appointing needs an active organisation; clearing is always possible.
        if (role != OperatorRole.None && orgStatus[agencyCode] != OrgStatus.Active) {
            revert InvalidOrgStatus(agencyCode, orgStatus[agencyCode]);
        }
        uint32 current = _operators[operator].agencyCode;
        if (current != 0 && current != agencyCode) revert OperatorOfOtherOrganisation(operator, current);
        if (role == OperatorRole.None) delete _operators[operator];
        else _operators[operator] = Op(agencyCode, role);
    }

    /// @return id The new credential's id.
    /// @return superseded The holder's previous credential revoked by this registration (0 if none).
    function register(address caller, bytes32 holderRef) external returns (uint64 id, uint64 superseded) {
        return _register(caller, holderRef);
    }

    /// @notice registerBatch: all-or-nothing, consecutive ids, each entry exactly like a single registration.
    /// @return firstId The first new id.
    function registerBatch(address caller, bytes32[] calldata holderRefs) external returns (uint64 firstId) {
        if (holderRefs.length == 0 || holderRefs.length > MAX_BATCH) revert InvalidBatch(holderRefs.length);
        for (uint256 i = 0; i < holderRefs.length; ++i) {
            (uint64 id,) = _register(caller, holderRefs[i]);
            if (i == 0) firstId = id;
        }
    }

    function _register(address caller, bytes32 holderRef) private returns (uint64 id, uint64 superseded) {
        Op memory op = _operators[caller];
        if (op.role != OperatorRole.Registrar) revert NotAuthorised(caller, op.role);
        if (orgStatus[op.agencyCode] != OrgStatus.Active) {
            revert InvalidOrgStatus(op.agencyCode, orgStatus[op.agencyCode]);
        }
        if (holderRef == bytes32(0)) revert InvalidHolderRef();
        uint64 previous = latest[holderRef];
        if (previous != 0 && _entries[previous].state != CredentialState.Revoked) {
            if (agencyOf(previous) != op.agencyCode) revert HolderActiveElsewhere(holderRef, previous);
            _entries[previous] = Entry(CredentialState.Revoked, ReasonCode.SUPERSEDED_BY_REISSUE);
            superseded = previous;
        }
        id = idOf(op.agencyCode, count[op.agencyCode]++);
        _entries[id] = Entry(CredentialState.Active, ReasonCode.NONE);
        latest[holderRef] = id;
    }

    /// @param to Locked (lock), Active (unlock) or Revoked (revoke).
    /// @param batch Whether the batch entry point is used (single calls take ids[0]).
    function change(address caller, CredentialState to, uint64[] calldata ids, uint8 reason, bool batch) external {
        if (batch && (ids.length == 0 || ids.length > MAX_BATCH)) revert InvalidBatch(ids.length);
        Op memory op = _operators[caller];
        OperatorRole minimum = to == CredentialState.Locked ? OperatorRole.LockOnly : OperatorRole.Registrar;
        if (op.role == OperatorRole.None || uint8(op.role) < uint8(minimum)) revert NotAuthorised(caller, op.role);
        // Unlock needs an active organisation; lock and revoke are always possible.
        if (to == CredentialState.Active && orgStatus[op.agencyCode] != OrgStatus.Active) {
            revert InvalidOrgStatus(op.agencyCode, orgStatus[op.agencyCode]);
        }
        if (!reasonAllowed(to, reason)) revert InvalidReason(reason);
        uint256 n = batch ? ids.length : 1;
        for (uint256 i = 0; i < n; ++i) {
            uint64 id = ids[i];
            if (agencyOf(id) != op.agencyCode) revert WrongOrganisation(id, op.agencyCode);
            if (sequenceOf(id) >= count[op.agencyCode]) revert UnknownCredential(id);
            CredentialState from = _entries[id].state;
            bool allowed = (to == CredentialState.Locked && from == CredentialState.Active)
                || (to == CredentialState.Active && from == CredentialState.Locked)
                || (to == CredentialState.Revoked && from != CredentialState.Revoked);
            if (!allowed) revert InvalidTransition(id, from, to);
            _entries[id] = Entry(to, reason);
        }
    }

    // ------------------------------------------------------------------ views

    function entry(uint64 id) external view returns (bool registered, CredentialState state, uint8 reason) {
        Entry memory e = _entries[id];
        return (isRegistered(id), e.state, e.reason);
    }

    function operatorOf(address account) external view returns (uint32 agencyCode, OperatorRole role) {
        Op memory op = _operators[account];
        return (op.agencyCode, op.role);
    }

    /// @notice The 32-credential storage word holding `id` as the registry's documented layout says it must be:
    ///         byte j = state | reason << 2, plus the marker bit 0x80 on the word's first credential
    ///         (sequence % 32 == 0) and the FULL bit 0x80 on byte 31 once its last credential is registered;
    ///         zero for unregistered credentials.
    function expectedWord(uint64 id) external view returns (uint256 word) {
        uint64 base = id & ~uint64(31);
        for (uint64 j = 0; j < 32; ++j) {
            if (!isRegistered(base + j)) continue;
            Entry memory e = _entries[base + j];
            uint256 bits = uint256(uint8(e.state)) | (uint256(e.reason) << 2) | (j == 0 || j == 31 ? 0x80 : 0);
            word |= bits << (j * 8);
        }
    }

    function isRegistered(uint64 id) public view returns (bool) {
        return agencyOf(id) != 0 && sequenceOf(id) < count[agencyOf(id)];
    }

    /// @dev Lock and revoke: LOST_DEVICE..DEVICE_REPLACED, LEFT_SERVICE..ADMINISTRATIVE. Unlock: ADMINISTRATIVE,
    ///      FOUND_DEVICE. SUPERSEDED_BY_REISSUE only by registration, NONE never.
    function reasonAllowed(CredentialState to, uint8 reason) public pure returns (bool) {
        if (to == CredentialState.Active) {
            return reason == ReasonCode.ADMINISTRATIVE || reason == ReasonCode.FOUND_DEVICE;
        }
        return reason >= ReasonCode.LOST_DEVICE && reason <= ReasonCode.ADMINISTRATIVE
            && reason != ReasonCode.SUPERSEDED_BY_REISSUE;
    }

    function idOf(uint32 agencyCode, uint64 sequence) public pure returns (uint64) {
        return uint64((uint256(agencyCode) << SEQUENCE_BITS) | sequence);
    }

    function agencyOf(uint64 id) public pure returns (uint32) {
        return uint32(id >> SEQUENCE_BITS);
    }

    function sequenceOf(uint64 id) public pure returns (uint64) {
        return uint64(uint256(id) & ((uint256(1) << SEQUENCE_BITS) - 1));
    }
}

/// @notice Compares the registry's packed storage with the model, byte by byte.
abstract contract StatusAssertions is TestBase {
    /// @dev First storage slot of the `CredentialStatusRegistry._statusWords` array (after operators, _orgs,
    ///      latestCredentialOf): word `id >> 5` is at slot 3 + (id >> 5). A wrong slot reads zero words, which the
    ///      marker-bit checks catch at once.
    uint256 private constant STATUS_WORDS_SLOT = 3;

    /// @dev The raw 32-credential word holding `id`.
    function _rawWord(CredentialStatusRegistry registry, uint64 id) internal view returns (uint256) {
        bytes32 slot = bytes32(STATUS_WORDS_SLOT + (uint256(id) >> 5));
        return uint256(vm.load(address(registry), slot));
    }

    /// @dev Every byte of the word holding `id` is what the model says (see StatusModel.expectedWord). This is
    ///      what proves a write never disturbs its 31 neighbours.
    function _assertWordMatchesModel(CredentialStatusRegistry registry, StatusModel model, uint64 id) internal view {
        uint256 word = _rawWord(registry, id);
        uint256 expected = model.expectedWord(id);
        if (word == expected) return;
        for (uint256 j = 0; j < 32; ++j) {
            uint256 actual = (word >> (j * 8)) & 0xff;
            uint256 wanted = (expected >> (j * 8)) & 0xff;
            if (actual != wanted) revert AssertionFailedUint("status byte differs from model", actual, wanted);
        }
    }

    /// @dev The registry's public view of `id` agrees with the model.
    function _assertStatusMatchesModel(CredentialStatusRegistry registry, StatusModel model, uint64 id)
        internal
        view
    {
        (bool registered, CredentialState state, uint8 reason) = registry.statusOf(id);
        (bool mRegistered, CredentialState mState, uint8 mReason) = model.entry(id);
        assertTrue(registered == mRegistered, "registered flag differs from model");
        if (!mRegistered) return;
        assertEq(uint8(state), uint8(mState), "state differs from model");
        assertEq(reason, mReason, "reason differs from model");
        assertTrue(registry.isActive(id) == (mState == CredentialState.Active), "isActive differs from model");
    }
}
