// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CredentialStatusRegistry} from "../../../contracts/status/CredentialStatusRegistry.sol";
import {IssuerRegistry} from "../../../contracts/issuer/IssuerRegistry.sol";
import {ConsortiumGovernor} from "../../../contracts/governance/ConsortiumGovernor.sol";
import {CredentialState, OperatorRole, OrgKind, OrgStatus} from "../../../contracts/common/CivilIdTypes.sol";
import {TestBase} from "../utils/TestBase.sol";
import {ConsortiumFixture} from "../utils/ConsortiumFixture.sol";
import {InvariantBase} from "../utils/InvariantBase.sol";
import {StatusModel} from "../utils/StatusModel.sol";

// The handler lives in the test's own file so that Hardhat emits its artifact whenever this file is run alone
// (the invariant runner must identify every target contract).

/// @title Invariant handler for the credential status registry
/// @notice Drives the registry with bounded random actions by the admins and operators of two organisations and
///         by outsiders: single and batch registrations (re-issuing to the same holders), single and batch status
///         changes, operator (re)assignment, and suspension/reinstatement of organisations through the governor. Each
///         action runs on the registry and on the reference model; the ghost variables record every disagreement
///         and, from a before/after snapshot of all credentials, who changed which credential.
/// @dev The handler is a governor member (threshold 1), so it can suspend and reinstate organisations alone.
///      A handler action never reverts on a refused registry call: refusals are expected and compared with the
///      model; only ghost counters carry failures to the invariants.
contract StatusHandler is TestBase {
    struct Snapshot {
        CredentialState[] states;
        uint8[] reasons;
    }

    uint32 public constant AGENCY_A = 1_741_000;
    uint32 public constant AGENCY_B = 6_110_000;
    address public constant ADMIN_A = address(0xA0);
    address public constant ADMIN_B = address(0xB0);
    uint256 public constant HOLDER_COUNT = 40;
    uint256 private constant MAX_BATCH_IN_HANDLER = 6;

    CredentialStatusRegistry public immutable statuses;
    IssuerRegistry public immutable issuers;
    ConsortiumGovernor public immutable governor;
    StatusModel public immutable model;

    /// @dev Everyone who acts: the two admins, six operator accounts and an outsider.
    address[] private _actors;
    /// @dev Every registered credential, in registration order, and its holder index.
    uint64[] private _ids;
    mapping(uint32 agencyCode => uint64[]) private _idsOf;
    mapping(uint64 id => uint256 holderIndex) public holderIndexOf;

    // ------------------------------------------------------------------ ghosts
    /// @notice Registry and model disagreed (outcome, error or resulting status).
    uint256 public mismatches;
    bytes public firstMismatch;
    /// @notice A credential's status changed although the caller was not an operator of its organisation with a
    ///         role allowing that change at the time of the call.
    uint256 public unauthorisedChanges;
    /// @notice A credential once seen Revoked was later seen in another state.
    uint256 public resurrections;
    mapping(uint64 id => bool) public everRevoked;
    /// @notice Successful status changes per caller, and in total (to show the campaign is not vacuous).
    mapping(address caller => uint256) public changesBy;
    uint256 public statusChanges;
    uint256 public registrations;
    uint256 public refusals;

    constructor(CredentialStatusRegistry statuses_, ConsortiumGovernor governor_, StatusModel model_) {
        statuses = statuses_;
        issuers = statuses_.issuerRegistry();
        governor = governor_;
        model = model_;
        _actors.push(ADMIN_A);
        _actors.push(ADMIN_B);
        for (uint160 i = 1; i <= 6; ++i) _actors.push(address(0x0900 + i));
        _actors.push(address(0x0BAD));
    }

    /// @notice Initial state: a Registrar and a LockOnly operator per organisation, two accounts without a role;
    ///         34 credentials of A (crossing a storage word) for holders 0..33 and 4 of B for holders 34..37.
    ///         Holders 38 and 39 have none yet.
    function init() external {
        _setOperator(ADMIN_A, _actors[2], AGENCY_A, OperatorRole.Registrar);
        _setOperator(ADMIN_A, _actors[3], AGENCY_A, OperatorRole.LockOnly);
        _setOperator(ADMIN_B, _actors[4], AGENCY_B, OperatorRole.Registrar);
        _setOperator(ADMIN_B, _actors[5], AGENCY_B, OperatorRole.LockOnly);
        for (uint256 h = 0; h < 38; ++h) this.register(h < 34 ? 0 : 2 << 8, h); // actor seeds of A's and B's registrars
        require(registrations == 38 && mismatches == 0, "handler init");
    }

    // ------------------------------------------------------------------ actions (fuzzer targets)

    function register(uint256 actorSeed, uint256 holderSeed) external {
        address actor = _registrarActor(actorSeed);
        uint256 holderIndex = holderSeed % HOLDER_COUNT;
        bytes32 holderRef = holderRefOf(holderIndex);
        Snapshot memory before = _snapshot();

        vm.prank(actor);
        (bool ok, bytes memory ret) = address(statuses).call(
            abi.encodeCall(CredentialStatusRegistry.register, (holderRef, keccak256(abi.encode(registrations))))
        );
        (bool mOk, bytes memory mRet) = address(model).call(abi.encodeCall(StatusModel.register, (actor, holderRef)));
        _compareOutcome(ok, ret, mOk, mRet);
        if (ok && mOk) {
            uint64 id = abi.decode(ret, (uint64));
            (uint64 expectedId,) = abi.decode(mRet, (uint64, uint64));
            if (id != expectedId) _mismatch("registered id", abi.encode(id, expectedId));
            _ids.push(id);
            _idsOf[model.agencyOf(id)].push(id);
            holderIndexOf[id] = holderIndex;
            ++registrations;
        }
        _attributeChanges(actor, before);
    }

    /// @notice registerBatch of 1..4 holders (duplicates possible: the later entry supersedes the earlier one).
    function registerBatch(uint256 actorSeed, uint256 holdersSeed) external {
        address actor = _registrarActor(actorSeed);
        bytes32[] memory holderRefs = new bytes32[](1 + holdersSeed % 4);
        uint256[] memory holderIndexes = new uint256[](holderRefs.length);
        for (uint256 i = 0; i < holderRefs.length; ++i) {
            holderIndexes[i] = (holdersSeed >> (8 + 8 * i)) % HOLDER_COUNT;
            holderRefs[i] = holderRefOf(holderIndexes[i]);
        }
        Snapshot memory before = _snapshot();

        vm.prank(actor);
        (bool ok, bytes memory ret) = address(statuses).call(
            abi.encodeCall(CredentialStatusRegistry.registerBatch, (holderRefs, new bytes32[](holderRefs.length)))
        );
        (bool mOk, bytes memory mRet) =
            address(model).call(abi.encodeCall(StatusModel.registerBatch, (actor, holderRefs)));
        _compareOutcome(ok, ret, mOk, mRet);
        if (ok && mOk) {
            uint64 firstId = abi.decode(ret, (uint64));
            if (firstId != abi.decode(mRet, (uint64))) _mismatch("first id of the batch", abi.encode(firstId, mRet));
            for (uint256 i = 0; i < holderRefs.length; ++i) {
                uint64 id = firstId + uint64(i);
                _ids.push(id);
                _idsOf[model.agencyOf(id)].push(id);
                holderIndexOf[id] = holderIndexes[i];
                ++registrations;
            }
        }
        _attributeChanges(actor, before);
    }

    /// @param toSeed 0: lock, 1: unlock, 2: revoke.
    function changeStatus(uint256 actorSeed, uint256 idSeed, uint8 toSeed, uint256 reasonSeed) external {
        address actor = _operatorActor(actorSeed);
        uint64[] memory picked = new uint64[](1);
        picked[0] = _pickId(actor, idSeed);
        _change(actor, CredentialState(toSeed % 3), picked, _reason(reasonSeed, toSeed % 3), false);
    }

    /// @param toSeed 0: lockBatch, 1: unlockBatch, 2: revokeBatch.
    function changeStatusBatch(uint256 actorSeed, uint256 idsSeed, uint8 toSeed, uint256 reasonSeed) external {
        address actor = _operatorActor(actorSeed);
        uint64[] memory picked = new uint64[](1 + idsSeed % MAX_BATCH_IN_HANDLER);
        for (uint256 i = 0; i < picked.length; ++i) {
            picked[i] = _pickId(actor, uint256(keccak256(abi.encode(idsSeed, i))));
        }
        _change(actor, CredentialState(toSeed % 3), picked, _reason(reasonSeed, toSeed % 3), true);
    }

    /// @notice An admin (or an outsider posing as one) gives, changes or clears an account's operator role.
    function setOperator(uint256 callerSeed, uint256 operatorSeed, bool agencyB, uint8 roleSeed) external {
        uint256 c = callerSeed % 3;
        address caller = c == 0 ? ADMIN_A : c == 1 ? ADMIN_B : _actors[_actors.length - 1];
        address operator = _actors[2 + operatorSeed % 6]; // never the outsider: it stays without a role
        _setOperator(caller, operator, agencyB ? AGENCY_B : AGENCY_A, OperatorRole(roleSeed % 3));
    }

    /// @notice Governance suspends or reinstates an organisation (status changes stay allowed while suspended,
    ///         registrations do not).
    /// @param mode One time in four suspend (if active), otherwise reinstate (if suspended): organisations are
    ///        active most of the time, so registrations keep happening.
    function setOrganisationStatus(bool agencyB, uint8 mode) external {
        uint32 agency = agencyB ? AGENCY_B : AGENCY_A;
        bool suspend = mode % 4 == 0;
        OrgStatus current = issuers.organisation(agency).status;
        if (suspend != (current == OrgStatus.Active)) return; // only valid transitions; refusals tested elsewhere
        bytes memory call = suspend
            ? abi.encodeCall(IssuerRegistry.suspend, (agency))
            : abi.encodeCall(IssuerRegistry.reinstate, (agency));
        governor.execute(governor.propose(address(issuers), call, 1 days, "status handler"));
        model.setOrganisation(agency, model.adminOf(agency), suspend ? OrgStatus.Suspended : OrgStatus.Active);
    }

    // ------------------------------------------------------------------ views for the invariants

    function idCount() external view returns (uint256) {
        return _ids.length;
    }

    function ids() external view returns (uint64[] memory) {
        return _ids;
    }

    function holderRefOf(uint256 holderIndex) public pure returns (bytes32) {
        return keccak256(abi.encode("status handler holder", holderIndex));
    }

    // ------------------------------------------------------------------ internals

    function _setOperator(address caller, address operator, uint32 agency, OperatorRole role) private {
        vm.prank(caller);
        (bool ok, bytes memory ret) =
            address(statuses).call(abi.encodeCall(CredentialStatusRegistry.setOperator, (operator, agency, role)));
        (bool mOk, bytes memory mRet) =
            address(model).call(abi.encodeCall(StatusModel.setOperator, (caller, operator, agency, role)));
        _compareOutcome(ok, ret, mOk, mRet);
        (uint32 agencyCode, OperatorRole storedRole) = statuses.operators(operator);
        (uint32 mAgencyCode, OperatorRole mRole) = model.operatorOf(operator);
        if (agencyCode != mAgencyCode || storedRole != mRole) {
            _mismatch("operator table", abi.encode(operator, agencyCode, storedRole, mAgencyCode, mRole));
        }
    }

    function _change(address actor, CredentialState to, uint64[] memory targets, uint8 reason, bool batch) private {
        bytes memory call;
        if (to == CredentialState.Locked) {
            call = batch
                ? abi.encodeCall(CredentialStatusRegistry.lockBatch, (targets, reason))
                : abi.encodeCall(CredentialStatusRegistry.lock, (targets[0], reason));
        } else if (to == CredentialState.Active) {
            call = batch
                ? abi.encodeCall(CredentialStatusRegistry.unlockBatch, (targets, reason))
                : abi.encodeCall(CredentialStatusRegistry.unlock, (targets[0], reason));
        } else {
            call = batch
                ? abi.encodeCall(CredentialStatusRegistry.revokeBatch, (targets, reason))
                : abi.encodeCall(CredentialStatusRegistry.revoke, (targets[0], reason));
        }
        Snapshot memory before = _snapshot();
        vm.prank(actor);
        (bool ok, bytes memory ret) = address(statuses).call(call);
        (bool mOk, bytes memory mRet) =
            address(model).call(abi.encodeCall(StatusModel.change, (actor, to, targets, reason, batch)));
        _compareOutcome(ok, ret, mOk, mRet);
        _attributeChanges(actor, before);
    }

    function _snapshot() private view returns (Snapshot memory s) {
        (, s.states, s.reasons) = statuses.statusesOf(_ids);
    }

    /// @dev Compares every credential known before the call with its state now: each change must be one the
    ///      caller was allowed to make (operator of the credential's organisation, with a role covering the new
    ///      state), a revoked credential must stay revoked, and the registry must agree with the model.
    function _attributeChanges(address actor, Snapshot memory before) private {
        (uint32 actorAgency, OperatorRole actorRole) = model.operatorOf(actor); // unchanged by status actions
        (, CredentialState[] memory states, uint8[] memory reasons) = statuses.statusesOf(_ids);
        for (uint256 i = 0; i < _ids.length; ++i) {
            uint64 id = _ids[i];
            (, CredentialState mState, uint8 mReason) = model.entry(id);
            if (states[i] != mState || reasons[i] != mReason) {
                _mismatch("status differs from model", abi.encode(id, states[i], reasons[i], mState, mReason));
            }
            if (states[i] == CredentialState.Revoked) everRevoked[id] = true;
            else if (everRevoked[id]) ++resurrections;
            if (i >= before.states.length) continue; // registered by this call
            if (states[i] == before.states[i] && reasons[i] == before.reasons[i]) continue;
            ++statusChanges;
            ++changesBy[actor];
            OperatorRole needed = states[i] == CredentialState.Locked ? OperatorRole.LockOnly : OperatorRole.Registrar;
            if (actorAgency != model.agencyOf(id) || uint8(actorRole) < uint8(needed)) ++unauthorisedChanges;
        }
    }

    function _compareOutcome(bool ok, bytes memory ret, bool mOk, bytes memory mRet) private {
        if (!ok) ++refusals;
        if (ok != mOk) _mismatch(ok ? "registry accepted, model refused" : "registry refused, model accepted", ok ? mRet : ret);
        else if (!ok && keccak256(ret) != keccak256(mRet)) _mismatch("different errors", abi.encode(ret, mRet));
    }

    function _mismatch(string memory what, bytes memory data) private {
        if (mismatches == 0) firstMismatch = abi.encode(what, data);
        ++mismatches;
    }

    /// @dev Three times in four a current Registrar (per the model), otherwise as `_operatorActor`.
    function _registrarActor(uint256 seed) private view returns (address) {
        if (seed % 4 != 0) {
            address[6] memory registrars;
            uint256 n;
            for (uint256 i = 2; i < 8; ++i) {
                (, OperatorRole role) = model.operatorOf(_actors[i]);
                if (role == OperatorRole.Registrar) registrars[n++] = _actors[i];
            }
            if (n != 0) return registrars[(seed >> 8) % n];
        }
        return _operatorActor(seed >> 16);
    }

    /// @dev Mostly the six operator accounts, sometimes an admin or the outsider (neither is an operator).
    function _operatorActor(uint256 seed) private view returns (address) {
        uint256 k = seed % 10;
        if (k < 8) return _actors[2 + (seed >> 8) % 6];
        return k == 8 ? _actors[(seed >> 8) % 2] : _actors[_actors.length - 1];
    }

    /// @dev Mostly a credential of the actor's own organisation (when it has one), else any registered credential,
    ///      and sometimes the id just past an organisation's range (unknown).
    function _pickId(address actor, uint256 seed) private view returns (uint64) {
        uint256 k = seed % 16;
        if (k == 0) {
            uint32 agency = (seed >> 8) % 2 == 0 ? AGENCY_A : AGENCY_B;
            return model.idOf(agency, model.count(agency));
        }
        (uint32 ownAgency,) = model.operatorOf(actor);
        uint64[] storage own = _idsOf[ownAgency];
        if (k < 13 && own.length != 0) return own[(seed >> 8) % own.length];
        return _ids[(seed >> 8) % _ids.length];
    }

    /// @dev Mostly a reason valid for the action, sometimes any byte.
    function _reason(uint256 seed, uint8 to) private view returns (uint8 reason) {
        if (seed % 8 == 0) return uint8(seed >> 8);
        reason = uint8((seed >> 8) % 10);
        if (!model.reasonAllowed(CredentialState(to), reason)) reason = to == 1 ? 9 : 1;
    }
}

/// @title Invariants of the credential status registry under random operator, admin and governance actions
contract StatusInvariantsTest is ConsortiumFixture, InvariantBase {
    StatusHandler private handler;
    StatusModel private model;

    function setUp() public {
        _deployConsortium();
        model = new StatusModel();
        handler = new StatusHandler(statuses, governor, model);
        _accredit(handler.AGENCY_A(), OrgKind.CentralAgency, handler.ADMIN_A());
        _accredit(handler.AGENCY_B(), OrgKind.LocalGovernment, handler.ADMIN_B());
        model.setOrganisation(handler.AGENCY_A(), handler.ADMIN_A(), OrgStatus.Active);
        model.setOrganisation(handler.AGENCY_B(), handler.ADMIN_B(), OrgStatus.Active);
        // The handler becomes the governor's only member (threshold 1) to suspend and reinstate organisations.
        _handOverGovernor(address(handler));
        handler.init();

        _targetContract(address(handler));
        bytes4[] memory actions = new bytes4[](6);
        actions[0] = StatusHandler.register.selector;
        actions[1] = StatusHandler.registerBatch.selector;
        actions[2] = StatusHandler.changeStatus.selector;
        actions[3] = StatusHandler.changeStatusBatch.selector;
        actions[4] = StatusHandler.setOperator.selector;
        actions[5] = StatusHandler.setOrganisationStatus.selector;
        _targetSelector(address(handler), actions);
    }

    /// @notice Revoked is final: a credential once revoked is never seen Active or Locked again.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_revokedNeverReactivated() public view {
        assertEq(handler.resurrections(), 0, "a revoked credential changed state again");
        uint64[] memory ids = handler.ids();
        (, CredentialState[] memory states,) = statuses.statusesOf(ids);
        for (uint256 i = 0; i < ids.length; ++i) {
            if (handler.everRevoked(ids[i])) {
                assertTrue(states[i] == CredentialState.Revoked, "revoked credential no longer revoked");
            }
        }
    }

    /// @notice One device: per holder reference at most one non-revoked credential, and it is the holder's latest.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_atMostOneLiveCredentialPerHolder() public view {
        uint64[] memory ids = handler.ids();
        (, CredentialState[] memory states,) = statuses.statusesOf(ids);
        uint256[] memory live = new uint256[](handler.HOLDER_COUNT());
        for (uint256 i = 0; i < ids.length; ++i) {
            if (states[i] == CredentialState.Revoked) continue;
            uint256 holder = handler.holderIndexOf(ids[i]);
            ++live[holder];
            assertEq(
                statuses.latestCredentialOf(handler.holderRefOf(holder)), ids[i], "live credential is not the latest"
            );
        }
        for (uint256 h = 0; h < live.length; ++h) {
            if (live[h] > 1) revert AssertionFailedUint("holder has several live credentials", live[h], 1);
        }
    }

    /// @notice Only operators of the issuing organisation, with a sufficient role, ever change a credential's
    ///         status; admins and outsiders never do.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_onlyIssuingOrganisationOperatorsChangeStatus() public view {
        assertEq(handler.unauthorisedChanges(), 0, "status changed by a caller without authority over it");
        assertEq(handler.changesBy(handler.ADMIN_A()), 0, "admin of A changed a status");
        assertEq(handler.changesBy(handler.ADMIN_B()), 0, "admin of B changed a status");
        assertEq(handler.changesBy(address(0x0BAD)), 0, "outsider changed a status");
    }

    /// @notice The registry always agrees with the reference model: outcomes, errors and every status.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_registryMatchesModel() public view {
        if (handler.mismatches() != 0) {
            (string memory what, bytes memory data) = abi.decode(handler.firstMismatch(), (string, bytes));
            revert ModelMismatch(what, data);
        }
        uint64[] memory ids = handler.ids();
        (bool[] memory registered, CredentialState[] memory states, uint8[] memory reasons) = statuses.statusesOf(ids);
        for (uint256 i = 0; i < ids.length; ++i) {
            (, CredentialState mState, uint8 mReason) = model.entry(ids[i]);
            assertTrue(registered[i], "registered credential reads as unregistered");
            assertTrue(states[i] == mState && reasons[i] == mReason, "status differs from model");
        }
    }

    /// @notice The handler really exercises the system: a fixed walk through its actions registers, changes
    ///         and refuses, with no disagreement (guards the invariants above against being vacuous).
    function test_handlerMakesProgress() public {
        for (uint256 i = 0; i < 200; ++i) {
            uint256 r = uint256(keccak256(abi.encode("progress", i)));
            uint256 action = r % 10;
            if (action < 1) handler.register(r >> 16, r >> 32);
            else if (action < 2) handler.registerBatch(r >> 16, r >> 32);
            else if (action < 6) handler.changeStatus(r >> 16, r >> 32, uint8(r >> 48), r >> 64);
            else if (action < 8) handler.changeStatusBatch(r >> 16, r >> 32, uint8(r >> 48), r >> 64);
            else if (action < 9) handler.setOperator(r >> 16, r >> 32, (r >> 48) & 1 == 1, uint8(r >> 56));
            else handler.setOrganisationStatus((r >> 16) & 1 == 1, uint8(r >> 17));
        }
        invariant_registryMatchesModel(); // first: reports the first disagreement in full
        assertGe(handler.registrations(), 48, "too few registrations beyond the initial 38");
        assertGe(handler.statusChanges(), 15, "too few status changes");
        assertGe(handler.refusals(), 10, "too few refusals");
        invariant_revokedNeverReactivated();
        invariant_atMostOneLiveCredentialPerHolder();
        invariant_onlyIssuingOrganisationOperatorsChangeStatus();
    }
}
