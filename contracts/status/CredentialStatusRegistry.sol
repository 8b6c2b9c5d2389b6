// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CredentialState, OperatorRole, ReasonCode, CredentialIds} from "../common/CivilIdTypes.sol";
import {IssuerRegistry} from "../issuer/IssuerRegistry.sol";
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
} from "../common/CivilIdErrors.sol";

/// @title Credential status registry (active / locked / revoked), one device per holder
/// @notice Every mobile civil-servant ID is registered here by its issuing organisation and carries a status that
///         verifiers read: Active, Locked (reversible, e.g. phone reported lost) or Revoked (final). Only accounts
///         that the issuing organisation's admin made status operators change its credentials, and only that
///         organisation's credentials. Registering a new credential for a holder reference (a salted hash, never
///         personal data) revokes the holder's previous credential in the same transaction: one device at a time.
/// @dev Storage layout, chosen for gas (see docs/ARCHITECTURE.md):
///      - credential id = agencyCode << 40 | sequence; sequences are allocated per organisation from `nextSequence`,
///        so an id is registered iff its sequence is below its organisation's counter;
///      - 8 status bits per credential (2 state + 5 reason + 1 marker), 32 credentials per storage word, so a batch
///        over an organisation's consecutive ids rewrites each word once;
///      - registering the first credential of a word sets that credential's marker bit, so the word is non-zero
///        from then on and every later status change in it is a cheap non-zero -> non-zero write (5k, not 22k gas).
contract CredentialStatusRegistry {
    using CredentialIds for uint64;

    /// @dev One storage word: 4 + 1 bytes.
    struct Operator {
        uint32 agencyCode;
        OperatorRole role;
    }

    /// @notice Largest batch accepted by the batch functions.
    uint256 public constant MAX_BATCH = 2000;
    /// @notice Most words one `statusWords` call returns (2,048 words = 65,536 credentials, ~4.6 M gas of reads).
    uint256 public constant MAX_STATUS_WORDS_PAGE = 2048;

    /// @dev Reasons accepted for lock and revoke (bit i set = code i allowed): 1-4, 6-8. SUPERSEDED_BY_REISSUE
    ///      is set only by registration; FOUND_DEVICE only unlocks.
    uint256 private constant LOCK_OR_REVOKE_REASONS = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 8);
    /// @dev Reasons accepted for unlock: ADMINISTRATIVE, FOUND_DEVICE.
    uint256 private constant UNLOCK_REASONS = (1 << 8) | (1 << 9);

    /// @dev Bit 7 of a credential's status byte: set on the first credential of each word (see contract docs).
    uint256 private constant MARKER_BIT = 0x80;
    /// @dev Reason codes occupy 5 bits of the status byte.
    uint8 private constant MAX_REASON = 31;

    /// @notice The accreditation registry that says who administers each organisation and whether it is active.
    IssuerRegistry public immutable issuerRegistry;

    /// @notice Status operator accounts and the organisation they act for.
    mapping(address operator => Operator) public operators;
    /// @notice Next credential sequence per organisation (= number of credentials it registered).
    mapping(uint32 agencyCode => uint64) public nextSequence;
    /// @notice The holder's latest registered credential (0 = none). Ids are never 0: agency codes are >= 1,000,000.
    mapping(bytes32 holderRef => uint64 credentialId) public latestCredentialOf;
    mapping(uint256 wordIndex => uint256) private _statusWords;

    /// @notice An organisation admin set (or cleared, role None) a status operator.
    event OperatorSet(address indexed operator, uint32 indexed agencyCode, OperatorRole role);
    /// @notice A credential was registered Active. If `supersededId` is non-zero, that earlier credential of the
    ///         same holder became Revoked with reason SUPERSEDED_BY_REISSUE in the same transaction.
    event CredentialRegistered(
        uint64 indexed credentialId, bytes32 indexed holderRef, bytes32 credentialDigest, uint64 supersededId
    );
    /// @notice One credential's status changed.
    event CredentialStatusChanged(
        uint64 indexed credentialId, CredentialState state, uint8 reason, address operator
    );
    /// @notice A batch of credentials changed to the same status (one event per batch keeps batches cheap).
    event CredentialsStatusChanged(
        uint64[] credentialIds, CredentialState state, uint8 reason, address indexed operator
    );

    /// @param issuers The issuer registry of the same consortium.
    constructor(IssuerRegistry issuers) {
        if (address(issuers) == address(0)) revert ZeroAddress();
        issuerRegistry = issuers;
    }

    // ------------------------------------------------------------------ operators

    /// @notice Gives `operator` a status role for the caller's organisation, or clears it (role None).
    ///         Only the organisation's admin in the issuer registry may.
    /// @param operator The account (issuing server or help desk).
    /// @param agencyCode The organisation the caller administers.
    /// @param role LockOnly (help desk), Registrar (issuing server) or None.
    function setOperator(address operator, uint32 agencyCode, OperatorRole role) external {
        if (operator == address(0)) revert ZeroAddress();
        if (agencyCode == 0) revert InvalidAgencyCode(agencyCode);
        if (issuerRegistry.organisationAdmin(agencyCode) != msg.sender) revert NotOrgAdmin(agencyCode, msg.sender);
        uint32 current = operators[operator].agencyCode;
        if (current != 0 && current != agencyCode) revert OperatorOfOtherOrganisation(operator, current);
        if (role == OperatorRole.None) delete operators[operator];
        else operators[operator] = Operator({agencyCode: agencyCode, role: role});
        emit OperatorSet(operator, agencyCode, role);
    }

    // ------------------------------------------------------------------ registration

    /// @notice Registers a new Active credential of the caller's organisation for `holderRef`, superseding the
    ///         holder's previous credential (one device at a time).
    /// @param holderRef Salted hash identifying the holder; never personal data.
    /// @param credentialDigest The credential's binding digest: keccak256 over its issuer, subject (the holder's device
    ///        DID and key), claims, credential type and validity (sdk/issuer/credential.ts `bindingDigest`). Known before
    ///        the id is assigned, it ties this entry to exactly one credential content: a verifier refuses a JWT that
    ///        names this id with any other content, even one signed by a key of the same organisation.
    /// @return credentialId The new credential's id.
    function register(bytes32 holderRef, bytes32 credentialDigest) external returns (uint64 credentialId) {
        uint32 agency = _registrar();
        uint64 sequence = nextSequence[agency];
        credentialId = _register(agency, sequence, holderRef, credentialDigest);
        nextSequence[agency] = sequence + 1;
    }

    /// @notice Registers several credentials of the caller's organisation, with consecutive ids.
    /// @param holderRefs One holder reference per credential.
    /// @param credentialDigests One binding digest per credential.
    /// @return firstId The first new id; the others follow consecutively.
    function registerBatch(bytes32[] calldata holderRefs, bytes32[] calldata credentialDigests)
        external
        returns (uint64 firstId)
    {
        uint256 n = holderRefs.length;
        if (n == 0 || n > MAX_BATCH || n != credentialDigests.length) revert InvalidBatch(n);
        uint32 agency = _registrar();
        uint64 sequence = nextSequence[agency];
        firstId = CredentialIds.make(agency, sequence);
        for (uint256 i = 0; i < n; ++i) {
            _register(agency, sequence + uint64(i), holderRefs[i], credentialDigests[i]);
        }
        nextSequence[agency] = sequence + uint64(n);
    }

    // ------------------------------------------------------------------ status changes

    /// @notice Locks an Active credential at once (e.g. phone reported lost). LockOnly or Registrar.
    /// @param credentialId The credential; must be the caller's organisation's.
    /// @param reason A lock reason code.
    function lock(uint64 credentialId, uint8 reason) external {
        _changeOne(credentialId, reason, OperatorRole.LockOnly, LOCK_OR_REVOKE_REASONS, CredentialState.Locked);
    }

    /// @notice Unlocks a Locked credential. Registrar only.
    /// @param credentialId The credential.
    /// @param reason FOUND_DEVICE or ADMINISTRATIVE.
    function unlock(uint64 credentialId, uint8 reason) external {
        _changeOne(credentialId, reason, OperatorRole.Registrar, UNLOCK_REASONS, CredentialState.Active);
    }

    /// @notice Revokes an Active or Locked credential for good. Registrar only.
    /// @param credentialId The credential.
    /// @param reason A revoke reason code.
    function revoke(uint64 credentialId, uint8 reason) external {
        _changeOne(credentialId, reason, OperatorRole.Registrar, LOCK_OR_REVOKE_REASONS, CredentialState.Revoked);
    }

    /// @notice Locks several credentials; all-or-nothing. Sorted ids cost least.
    /// @param credentialIds The credentials.
    /// @param reason A lock reason code.
    function lockBatch(uint64[] calldata credentialIds, uint8 reason) external {
        _changeMany(credentialIds, reason, OperatorRole.LockOnly, LOCK_OR_REVOKE_REASONS, CredentialState.Locked);
    }

    /// @notice Unlocks several credentials; all-or-nothing. Registrar only.
    /// @param credentialIds The credentials.
    /// @param reason FOUND_DEVICE or ADMINISTRATIVE.
    function unlockBatch(uint64[] calldata credentialIds, uint8 reason) external {
        _changeMany(credentialIds, reason, OperatorRole.Registrar, UNLOCK_REASONS, CredentialState.Active);
    }

    /// @notice Revokes several credentials; all-or-nothing. Registrar only.
    /// @param credentialIds The credentials.
    /// @param reason A revoke reason code.
    function revokeBatch(uint64[] calldata credentialIds, uint8 reason) external {
        _changeMany(credentialIds, reason, OperatorRole.Registrar, LOCK_OR_REVOKE_REASONS, CredentialState.Revoked);
    }

    // ------------------------------------------------------------------ views

    /// @notice A credential's status.
    /// @param credentialId The credential.
    /// @return registered Whether it was ever registered (if not, state/reason are meaningless: refuse).
    /// @return state Its state.
    /// @return reason The reason of the latest change (0 for a fresh registration).
    function statusOf(uint64 credentialId)
        external
        view
        returns (bool registered, CredentialState state, uint8 reason)
    {
        registered = _isRegistered(credentialId);
        (state, reason) = _read(_statusWords[credentialId >> 5], credentialId);
    }

    /// @notice Statuses of several credentials in one call (for gates warming a cache).
    /// @param credentialIds The credentials.
    /// @return registered Per credential, whether it was registered.
    /// @return states Per credential, the state.
    /// @return reasons Per credential, the reason.
    function statusesOf(uint64[] calldata credentialIds)
        external
        view
        returns (bool[] memory registered, CredentialState[] memory states, uint8[] memory reasons)
    {
        uint256 n = credentialIds.length;
        if (n > MAX_BATCH) revert InvalidBatch(n);
        registered = new bool[](n);
        states = new CredentialState[](n);
        reasons = new uint8[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint64 id = credentialIds[i];
            registered[i] = _isRegistered(id);
            (states[i], reasons[i]) = _read(_statusWords[id >> 5], id);
        }
    }

    /// @notice Packed status words of one organisation, so a new verifier reads the whole status state at one
    /// block instead of replaying every event. Word `fromWord + i` holds the organisation's sequences
    /// 32·(fromWord+i) … 32·(fromWord+i)+31, one byte each, lowest sequence in the lowest byte; per byte bits 0–1
    /// are the state, 2–6 the reason, bit 7 a storage marker (ignore it). Bytes at or past `registeredCount` are
    /// not registered credentials.
    /// @param agencyCode The organisation.
    /// @param fromWord The first word (sequence / 32).
    /// @param count How many words, at most MAX_STATUS_WORDS_PAGE (page larger ranges).
    /// @return registeredCount The organisation's number of registered credentials (its next sequence).
    /// @return words The packed words.
    function statusWords(uint32 agencyCode, uint256 fromWord, uint256 count)
        external
        view
        returns (uint64 registeredCount, uint256[] memory words)
    {
        if (count > MAX_STATUS_WORDS_PAGE || fromWord > type(uint40).max >> 5) revert InvalidBatch(count);
        registeredCount = nextSequence[agencyCode];
        uint256 base = (uint256(agencyCode) << 35) + fromWord;
        words = new uint256[](count);
        for (uint256 i = 0; i < count; ++i) {
            words[i] = _statusWords[base + i];
        }
    }

    /// @notice Whether a credential is registered and Active.
    /// @param credentialId The credential.
    /// @return True if a verifier may accept it (issuer trust is checked separately).
    function isActive(uint64 credentialId) external view returns (bool) {
        if (!_isRegistered(credentialId)) return false;
        (CredentialState state,) = _read(_statusWords[credentialId >> 5], credentialId);
        return state == CredentialState.Active;
    }

    // ------------------------------------------------------------------ internals

    function _registrar() private view returns (uint32 agency) {
        Operator memory op = operators[msg.sender];
        if (op.role != OperatorRole.Registrar) revert NotAuthorised(msg.sender, op.role);
        agency = op.agencyCode;
        // Pulls the organisation's status: a suspended or removed organisation registers nothing.
        if (!issuerRegistry.isOrganisationActive(agency)) {
            revert InvalidOrgStatus(agency, issuerRegistry.organisation(agency).status);
        }
    }

    function _register(uint32 agency, uint64 sequence, bytes32 holderRef, bytes32 credentialDigest)
        private
        returns (uint64 credentialId)
    {
        if (holderRef == bytes32(0)) revert InvalidHolderRef();
        credentialId = CredentialIds.make(agency, sequence);
        uint64 previous = latestCredentialOf[holderRef];
        uint64 superseded;
        if (previous != 0) {
            uint256 key = previous >> 5;
            uint256 word = _statusWords[key];
            (CredentialState state,) = _read(word, previous);
            if (state != CredentialState.Revoked) {
                // Only the issuing organisation changes its credentials: another organisation's live credential
                // must first be revoked by its issuer (e.g. LEFT_SERVICE on a transfer).
                if (previous.agencyOf() != agency) revert HolderActiveElsewhere(holderRef, previous);
                _statusWords[key] = _write(word, previous, CredentialState.Revoked, ReasonCode.SUPERSEDED_BY_REISSUE);
                superseded = previous;
            }
        }
        latestCredentialOf[holderRef] = credentialId;
        // The new id's status bits are already zero (= Active, reason NONE): sequences are never reused. The first
        // id of each word primes the word with its marker bit (paid once per 32 registrations).
        if (sequence & 31 == 0) _statusWords[credentialId >> 5] = MARKER_BIT;
        emit CredentialRegistered(credentialId, holderRef, credentialDigest, superseded);
    }

    function _operatorFor(OperatorRole minimum) private view returns (uint32 agency) {
        Operator memory op = operators[msg.sender];
        if (op.role == OperatorRole.None || uint8(op.role) < uint8(minimum)) revert NotAuthorised(msg.sender, op.role);
        agency = op.agencyCode;
    }

    function _checkReason(uint8 reason, uint256 allowed) private pure {
        if (reason > MAX_REASON || (allowed >> reason) & 1 == 0) revert InvalidReason(reason);
    }

    function _checkOwned(uint64 credentialId, uint32 agency, uint64 registeredCount) private pure {
        if (credentialId.agencyOf() != agency) revert WrongOrganisation(credentialId, agency);
        if (credentialId.sequenceOf() >= registeredCount) revert UnknownCredential(credentialId);
    }

    function _changeOne(uint64 credentialId, uint8 reason, OperatorRole minimum, uint256 reasons, CredentialState to)
        private
    {
        uint32 agency = _operatorFor(minimum);
        _checkReason(reason, reasons);
        _checkOwned(credentialId, agency, nextSequence[agency]);
        uint256 key = credentialId >> 5;
        _statusWords[key] = _transition(_statusWords[key], credentialId, to, reason);
        emit CredentialStatusChanged(credentialId, to, reason, msg.sender);
    }

    function _changeMany(
        uint64[] calldata credentialIds,
        uint8 reason,
        OperatorRole minimum,
        uint256 reasons,
        CredentialState to
    ) private {
        uint256 n = credentialIds.length;
        if (n == 0 || n > MAX_BATCH) revert InvalidBatch(n);
        uint32 agency = _operatorFor(minimum);
        _checkReason(reason, reasons);
        uint256 registeredCount = nextSequence[agency];
        uint256 bits = uint256(uint8(to)) | (uint256(reason) << 2);
        uint256 allowedFrom = to == CredentialState.Locked ? 1 : to == CredentialState.Active ? 2 : 3;
        uint256 cachedKey = type(uint256).max;
        uint256 word;
        unchecked {
            for (uint256 i = 0; i < n; ++i) {
                uint256 id;
                assembly ("memory-safe") {
                    id := calldataload(add(credentialIds.offset, shl(5, i)))
                }
                if (id > type(uint64).max) revert UnknownCredential(uint64(id));
                if (id >> 40 != agency) revert WrongOrganisation(uint64(id), agency);
                if (id & CredentialIds.SEQUENCE_MASK >= registeredCount) revert UnknownCredential(uint64(id));
                uint256 key = id >> 5;
                if (key != cachedKey) {
                    if (cachedKey != type(uint256).max) _statusWords[cachedKey] = word;
                    cachedKey = key;
                    word = _statusWords[key];
                }
                uint256 shift = (id & 31) << 3;
                uint256 from = (word >> shift) & 3;
                if ((allowedFrom >> from) & 1 == 0) revert InvalidTransition(uint64(id), CredentialState(from), to);
                word = (word & ~(uint256(0x7f) << shift)) | (bits << shift);
            }
        }
        _statusWords[cachedKey] = word;
        // Same event and ABI encoding as `emit CredentialsStatusChanged(...)`, without re-validating each id
        // (the loop above checked that every id fits in uint64).
        bytes32 topic = CredentialsStatusChanged.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, 0x60)
            mstore(add(ptr, 0x20), to)
            mstore(add(ptr, 0x40), reason)
            mstore(add(ptr, 0x60), n)
            calldatacopy(add(ptr, 0x80), credentialIds.offset, shl(5, n))
            log2(ptr, add(0x80, shl(5, n)), topic, caller())
        }
    }

    /// @dev The state machine: Active -> Locked -> Active, Active|Locked -> Revoked; Revoked is final.
    function _transition(uint256 word, uint64 credentialId, CredentialState to, uint8 reason)
        private
        pure
        returns (uint256)
    {
        (CredentialState from,) = _read(word, credentialId);
        bool allowed = (to == CredentialState.Locked && from == CredentialState.Active)
            || (to == CredentialState.Active && from == CredentialState.Locked)
            || (to == CredentialState.Revoked && from != CredentialState.Revoked);
        if (!allowed) revert InvalidTransition(credentialId, from, to);
        return _write(word, credentialId, to, reason);
    }

    function _isRegistered(uint64 credentialId) private view returns (bool) {
        return credentialId.agencyOf() != 0 && credentialId.sequenceOf() < nextSequence[credentialId.agencyOf()];
    }

    function _read(uint256 word, uint64 credentialId) private pure returns (CredentialState state, uint8 reason) {
        uint256 bits = (word >> ((credentialId & 31) * 8)) & 0xff;
        state = CredentialState(bits & 3);
        reason = uint8((bits >> 2) & MAX_REASON);
    }

    function _write(uint256 word, uint64 credentialId, CredentialState state, uint8 reason)
        private
        pure
        returns (uint256)
    {
        uint256 shift = (credentialId & 31) * 8;
        uint256 bits = uint256(uint8(state)) | (uint256(reason) << 2);
        return (word & ~(uint256(0x7f) << shift)) | (bits << shift); // keeps the marker bit
    }
}
