// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CredentialStatusRegistry} from "../../../contracts/status/CredentialStatusRegistry.sol";
import {CredentialState, OperatorRole, OrgKind, OrgStatus} from "../../../contracts/common/CivilIdTypes.sol";
import {ConsortiumFixture} from "../utils/ConsortiumFixture.sol";
import {StatusModel, StatusAssertions} from "../utils/StatusModel.sol";

/// @title Model-based fuzz test of CredentialStatusRegistry
/// @notice Random sequences of lock / unlock / revoke (single and batch, by operators of both organisations,
///         with valid and invalid reasons, ids in and out of range, duplicates and word-crossing batches) and
///         re-registrations. After every step the registry must agree with the reference model: same success or
///         the very same error, and every byte of every touched storage word equal to the model's (so neighbours
///         sharing the word are never disturbed and the marker bit sits on sequence % 32 == 0).
contract CredentialStatusModelFuzzTest is ConsortiumFixture, StatusAssertions {
    uint32 private constant AGENCY_A = 1_741_000;
    uint32 private constant AGENCY_B = 6_110_000;
    address private constant ADMIN_A = address(0xA0);
    address private constant ADMIN_B = address(0xB0);
    address private constant REGISTRAR_A = address(0xA1);
    address private constant HELP_DESK_A = address(0xA2);
    address private constant REGISTRAR_B = address(0xB1);
    address private constant OUTSIDER = address(0x0BAD);

    uint256 private constant INITIAL_A = 70; // words 0, 1 and a partial word 2
    uint256 private constant INITIAL_B = 5;
    uint256 private constant SHARED_HOLDERS = 8;
    uint256 private constant STEPS = 16;

    StatusModel private model;

    function setUp() public {
        _deployConsortium();
        model = new StatusModel();
        _accredit(AGENCY_A, OrgKind.CentralAgency, ADMIN_A);
        _accredit(AGENCY_B, OrgKind.LocalGovernment, ADMIN_B);
        model.setOrganisation(AGENCY_A, ADMIN_A, OrgStatus.Active);
        model.setOrganisation(AGENCY_B, ADMIN_B, OrgStatus.Active);
        _setOperator(ADMIN_A, REGISTRAR_A, AGENCY_A, OperatorRole.Registrar);
        _setOperator(ADMIN_A, HELP_DESK_A, AGENCY_A, OperatorRole.LockOnly);
        _setOperator(ADMIN_B, REGISTRAR_B, AGENCY_B, OperatorRole.Registrar);
        for (uint256 i = 0; i < INITIAL_A; ++i) _register(REGISTRAR_A, keccak256(abi.encode("initial A", i)));
        for (uint256 i = 0; i < INITIAL_B; ++i) _register(REGISTRAR_B, keccak256(abi.encode("initial B", i)));
        // Self-check of the storage slot used by the raw-word assertions: the first word carries its marker bit.
        assertEq(_rawWord(statuses, model.idOf(AGENCY_A, 0)) & 0xff, 0x80, "status word slot");
    }

    /// @notice A random sequence of status changes and re-registrations keeps registry and model identical.
    function testFuzz_randomSequenceMatchesModel(uint256 seed) public {
        for (uint256 step = 0; step < STEPS; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            uint256 kind = r % 16;
            if (kind < 2) {
                _register(_registrar(r >> 8), _sharedHolder(r >> 16));
            } else if (kind < 3) {
                bytes32[] memory holders = new bytes32[](1 + (r >> 16) % 4); // duplicates possible
                for (uint256 i = 0; i < holders.length; ++i) holders[i] = _sharedHolder(r >> (24 + 8 * i));
                _registerBatch(_registrar(r >> 8), holders);
            } else {
                CredentialState to =
                    kind < 8 ? CredentialState.Locked : kind < 12 ? CredentialState.Active : CredentialState.Revoked;
                bool batch = (r >> 24) % 3 == 0;
                uint64[] memory ids = new uint64[](batch ? 1 + (r >> 32) % 6 : 1);
                for (uint256 i = 0; i < ids.length; ++i) ids[i] = _pickId(uint256(keccak256(abi.encode(r, i))));
                _change(_actor(r >> 40), to, ids, _reason(to, r >> 48), batch);
            }
        }
        _assertEverythingMatchesModel();
    }

    /// @notice One batch over a whole word and beyond: a mix of transitions that must all succeed rewrites each
    ///         word once and leaves every other byte intact.
    function testFuzz_batchAcrossWordsMatchesModel(uint256 startSeed, uint8 lengthSeed, bool revokeInstead) public {
        uint64 start = uint64(bound(startSeed, 0, INITIAL_A - 1));
        uint256 length = bound(lengthSeed, 1, INITIAL_A - start);
        uint64[] memory ids = new uint64[](length);
        for (uint256 i = 0; i < length; ++i) ids[i] = model.idOf(AGENCY_A, start + uint64(i));
        CredentialState to = revokeInstead ? CredentialState.Revoked : CredentialState.Locked;
        _change(revokeInstead ? REGISTRAR_A : HELP_DESK_A, to, ids, 1, true);
        // Undo the locks (or attempt to: revoked credentials must refuse) in reverse order.
        uint64[] memory reversed = new uint64[](length);
        for (uint256 i = 0; i < length; ++i) reversed[i] = ids[length - 1 - i];
        _change(REGISTRAR_A, CredentialState.Active, reversed, 9, true);
        _assertEverythingMatchesModel();
    }

    // ------------------------------------------------------------------ driving registry and model together

    function _setOperator(address caller, address operator, uint32 agency, OperatorRole role) private {
        vm.prank(caller);
        statuses.setOperator(operator, agency, role);
        model.setOperator(caller, operator, agency, role);
    }

    function _register(address caller, bytes32 holderRef) private {
        vm.prank(caller);
        (bool ok, bytes memory ret) =
            address(statuses).call(abi.encodeCall(CredentialStatusRegistry.register, (holderRef, keccak256(abi.encode(holderRef)))));
        (bool mOk, bytes memory mRet) = address(model).call(abi.encodeCall(StatusModel.register, (caller, holderRef)));
        _assertSameOutcome(ok, ret, mOk, mRet);
        if (!ok) return;
        (uint64 expectedId, uint64 superseded) = abi.decode(mRet, (uint64, uint64));
        assertEq(abi.decode(ret, (uint64)), expectedId, "registered id");
        assertEq(statuses.latestCredentialOf(holderRef), expectedId, "latest credential of holder");
        _assertWordMatchesModel(statuses, model, expectedId);
        if (superseded != 0) {
            _assertWordMatchesModel(statuses, model, superseded);
            _assertStatusMatchesModel(statuses, model, superseded);
        }
    }

    function _registerBatch(address caller, bytes32[] memory holderRefs) private {
        bytes32[] memory digests = new bytes32[](holderRefs.length);
        vm.prank(caller);
        (bool ok, bytes memory ret) =
            address(statuses).call(abi.encodeCall(CredentialStatusRegistry.registerBatch, (holderRefs, digests)));
        (bool mOk, bytes memory mRet) =
            address(model).call(abi.encodeCall(StatusModel.registerBatch, (caller, holderRefs)));
        _assertSameOutcome(ok, ret, mOk, mRet);
        if (!ok) return;
        assertEq(abi.decode(ret, (uint64)), abi.decode(mRet, (uint64)), "first id of the batch");
        // Superseded credentials may sit anywhere in the organisation's range: compare all of it.
        _assertAgencyMatchesModel(model.agencyOf(abi.decode(ret, (uint64))));
    }

    function _change(address caller, CredentialState to, uint64[] memory ids, uint8 reason, bool batch) private {
        bytes memory call;
        if (batch) {
            call = to == CredentialState.Locked
                ? abi.encodeCall(CredentialStatusRegistry.lockBatch, (ids, reason))
                : to == CredentialState.Active
                    ? abi.encodeCall(CredentialStatusRegistry.unlockBatch, (ids, reason))
                    : abi.encodeCall(CredentialStatusRegistry.revokeBatch, (ids, reason));
        } else {
            call = to == CredentialState.Locked
                ? abi.encodeCall(CredentialStatusRegistry.lock, (ids[0], reason))
                : to == CredentialState.Active
                    ? abi.encodeCall(CredentialStatusRegistry.unlock, (ids[0], reason))
                    : abi.encodeCall(CredentialStatusRegistry.revoke, (ids[0], reason));
        }
        vm.prank(caller);
        (bool ok, bytes memory ret) = address(statuses).call(call);
        (bool mOk, bytes memory mRet) =
            address(model).call(abi.encodeCall(StatusModel.change, (caller, to, ids, reason, batch)));
        _assertSameOutcome(ok, ret, mOk, mRet);
        for (uint256 i = 0; i < ids.length; ++i) {
            // Each distinct word once (batches are mostly runs of neighbours).
            if (i == 0 || ids[i] >> 5 != ids[i - 1] >> 5) _assertWordMatchesModel(statuses, model, ids[i]);
            _assertStatusMatchesModel(statuses, model, ids[i]);
        }
    }

    function _assertSameOutcome(bool ok, bytes memory ret, bool mOk, bytes memory mRet) private pure {
        if (ok != mOk) {
            revert ModelMismatch(ok ? "registry accepted, model refused with" : "registry refused, model accepted", ok ? mRet : ret);
        }
        if (!ok && keccak256(ret) != keccak256(mRet)) revert ModelMismatch("different errors (registry, model)", abi.encode(ret, mRet));
    }

    function _assertEverythingMatchesModel() private view {
        _assertAgencyMatchesModel(AGENCY_A);
        _assertAgencyMatchesModel(AGENCY_B);
    }

    function _assertAgencyMatchesModel(uint32 agency) private view {
        uint64 n = model.count(agency);
        assertEq(statuses.nextSequence(agency), n, "sequence counter");
        uint64[] memory ids = new uint64[](n + 1); // one past the end: must read as unregistered
        for (uint64 s = 0; s <= n; ++s) ids[s] = model.idOf(agency, s);
        (bool[] memory registered, CredentialState[] memory states, uint8[] memory reasons) = statuses.statusesOf(ids);
        for (uint256 i = 0; i <= n; ++i) {
            (bool mRegistered, CredentialState mState, uint8 mReason) = model.entry(ids[i]);
            assertTrue(registered[i] == mRegistered, "batch view: registered");
            if (!mRegistered) continue;
            assertTrue(states[i] == mState, "batch view: state");
            assertEq(reasons[i], mReason, "batch view: reason");
            if (i % 32 == 0) _assertWordMatchesModel(statuses, model, ids[i]);
        }
    }

    // ------------------------------------------------------------------ random choices

    /// @dev Mostly A's registrar or help desk; sometimes B's registrar (wrong organisation) or an outsider.
    function _actor(uint256 r) private pure returns (address) {
        uint256 k = r % 10;
        if (k < 5) return REGISTRAR_A;
        if (k < 8) return HELP_DESK_A;
        if (k < 9) return REGISTRAR_B;
        return OUTSIDER;
    }

    function _registrar(uint256 r) private pure returns (address) {
        return r % 4 == 0 ? REGISTRAR_B : REGISTRAR_A;
    }

    function _sharedHolder(uint256 r) private pure returns (bytes32) {
        return keccak256(abi.encode("shared holder", r % SHARED_HOLDERS));
    }

    /// @dev Mostly a registered id of A near a word edge or anywhere; sometimes just past A's range, or B's.
    function _pickId(uint256 r) private view returns (uint64) {
        uint256 k = r % 16;
        uint64 countA = model.count(AGENCY_A);
        if (k == 0) return model.idOf(AGENCY_A, countA + uint64((r >> 8) % 3)); // unknown
        if (k == 1) return model.idOf(AGENCY_B, uint64((r >> 8) % model.count(AGENCY_B)));
        if (k < 6) {
            // 30, 31, 32, 33, 62, 63, 64, 65: both sides of the word edges
            uint64 edge = (k % 2 == 0) ? 32 : 64;
            return model.idOf(AGENCY_A, edge - 2 + uint64((r >> 8) % 4));
        }
        return model.idOf(AGENCY_A, uint64((r >> 8) % countA));
    }

    /// @dev Mostly a reason valid for the action, sometimes any byte.
    function _reason(CredentialState to, uint256 r) private view returns (uint8 reason) {
        if (r % 8 == 0) return uint8(r >> 8);
        for (uint256 i = 0; i < 16; ++i) {
            reason = uint8((r >> (8 + i * 4)) % 10);
            if (model.reasonAllowed(to, reason)) return reason;
        }
        return to == CredentialState.Active ? 8 : 1;
    }
}
