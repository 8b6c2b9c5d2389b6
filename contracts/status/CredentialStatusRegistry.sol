// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CredentialState, OperatorRole, OrgStatus, ReasonCode, CredentialIds} from "../common/CivilIdTypes.sol";
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
    HolderActiveElsewhere,
    SequenceExhausted,
    OnlyIssuerRegistry
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
///        over an organisation's consecutive ids rewrites each word once; word `id >> 5` lives at a fixed offset
///        from `_statusWords` (an array, not a mapping: no hash per access);
///      - registering the first credential of a word sets that credential's marker bit, so the word is non-zero
///        from then on and every later status change in it is a cheap non-zero -> non-zero write (5k, not 22k gas);
///      - registering the last credential of a word sets the word's FULL bit (bit 7 of its byte 31): a status change
///        in a full word proves the credential registered without reading the organisation's counter;
///      - the organisation's counter and a mirror of its accreditation status share one slot, so registration
///        checks "organisation active" without a call to the issuer registry (which pushes every status change).
contract CredentialStatusRegistry {
    using CredentialIds for uint64;

    /// @dev One storage word: 4 + 1 bytes.
    struct Operator {
        uint32 agencyCode;
        OperatorRole role;
    }

    /// @dev One storage word: the organisation's credential counter (next sequence) and its accreditation status
    ///      as last pushed by the issuer registry (`syncOrganisationStatus`).
    struct OrgRecord {
        uint48 registeredCount;
        OrgStatus status;
    }

    /// @notice Largest batch accepted by the status-change batch functions and `statusesOf`.
    uint256 public constant MAX_BATCH = 2000;
    /// @notice Largest `registerBatch`, bounded by gas: the worst case (every holder new) costs ~26.5 k gas per
    ///         credential, so 600 stay below 16 M gas: they fit a 30 M gas block and also the 2^24 per-transaction
    ///         gas cap of EIP-7825 (Osaka) that some clients already enforce.
    uint256 public constant MAX_REGISTER_BATCH = 600;
    /// @notice Most sequences one `retireCredentials` call covers (~5 M gas at most).
    uint256 public constant MAX_RETIREMENT_RANGE = 8192;
    /// @notice Most words one `statusWords` call returns (2,048 words = 65,536 credentials, ~4.6 M gas of reads).
    uint256 public constant MAX_STATUS_WORDS_PAGE = 2048;

    /// @dev Reasons accepted for lock and revoke (bit i set = code i allowed): 1-4, 6-8. SUPERSEDED_BY_REISSUE
    ///      is set only by registration, ORGANISATION_RETIRED only by governance; FOUND_DEVICE only unlocks.
    uint256 private constant LOCK_OR_REVOKE_REASONS = (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 8);
    /// @dev Reasons accepted for unlock: ADMINISTRATIVE, FOUND_DEVICE.
    uint256 private constant UNLOCK_REASONS = (1 << 8) | (1 << 9);

    /// @dev Bit 7 of a credential's status byte: set on the first credential of each word (see contract docs).
    uint256 private constant MARKER_BIT = 0x80;
    /// @dev Bit 7 of byte 31: set once all 32 sequences of the word are registered.
    uint256 private constant FULL_BIT = 1 << 255;
    /// @dev Reason codes occupy 5 bits of the status byte.
    uint8 private constant MAX_REASON = 31;

    /// @notice The accreditation registry that says who administers each organisation and whether it is active.
    IssuerRegistry public immutable issuerRegistry;

    /// @notice Status operator accounts and the organisation they act for.
    mapping(address operator => Operator) public operators;
    /// @dev Slot 1 (tests set it directly): per organisation, counter and mirrored status.
    mapping(uint32 agencyCode => OrgRecord) private _orgs;
    /// @notice The holder's latest registered credential (0 = none). Ids are never 0: agency codes are >= 1,000,000.
    mapping(bytes32 holderRef => uint64 credentialId) public latestCredentialOf;
    /// @dev Slot 3 onwards: status word `id >> 5` at slot 3 + (id >> 5). A fixed-size array, not a mapping, so a
    ///      word's slot is one addition instead of a keccak256 (~50 gas less per status access). Ids are uint64, so
    ///      2^59 words hold them all; the mappings' hashed slots land in this range with probability 2^-197.
    uint256[1 << 59] private _statusWords;

    /// @notice An organisation admin set (or cleared, role None) a status operator.
    event OperatorSet(address indexed operator, uint32 indexed agencyCode, OperatorRole role);
    /// @notice A credential was registered Active. If `supersededId` is non-zero, that earlier credential of the
    ///         same holder became Revoked with reason SUPERSEDED_BY_REISSUE in the same transaction.
    event CredentialRegistered(
        uint64 indexed credentialId, bytes32 indexed holderRef, bytes32 credentialDigest, uint64 supersededId
    );
    /// @notice One credential became Locked (from Active). One event per transition: the new state is the event
    ///         itself (topic 0), so the log carries two data words, not three (256 gas less per status change).
    event CredentialLocked(uint64 indexed credentialId, uint8 reason, address operator);
    /// @notice One credential became Active again (from Locked).
    event CredentialUnlocked(uint64 indexed credentialId, uint8 reason, address operator);
    /// @notice One credential became Revoked (final).
    event CredentialRevoked(uint64 indexed credentialId, uint8 reason, address operator);
    /// @notice A batch of credentials changed to the same status (one event per batch keeps batches cheap). Also
    ///         emitted, with the issuer registry as `operator` and reason ORGANISATION_RETIRED, by `retireCredentials`.
    /// @param packedIds The changed ids, 8 bytes each, big-endian, in call order (`abi.encodePacked(uint64...)`,
    ///        the layout of the `*BatchPacked` calls): a quarter of the log data of a `uint64[]`.
    event CredentialsStatusChanged(bytes packedIds, CredentialState state, uint8 reason, address indexed operator);
    /// @notice The issuer registry pushed an organisation's accreditation status (mirrored for registration checks).
    event OrganisationStatusSynced(uint32 indexed agencyCode, OrgStatus status);

    /// @param issuers The issuer registry of the same consortium (bind it with `issuers.bindStatusRegistry`).
    constructor(IssuerRegistry issuers) {
        if (address(issuers) == address(0)) revert ZeroAddress();
        issuerRegistry = issuers;
    }

    // ------------------------------------------------------------------ operators

    /// @notice Gives `operator` a status role for the caller's organisation, or clears it (role None).
    ///         Only the organisation's admin in the issuer registry may, and only an active organisation's admin
    ///         may appoint (clearing an operator only removes rights and is always possible).
    /// @param operator The account (issuing server or help desk).
    /// @param agencyCode The organisation the caller administers.
    /// @param role LockOnly (help desk), Registrar (issuing server) or None.
    function setOperator(address operator, uint32 agencyCode, OperatorRole role) external {
        if (operator == address(0)) revert ZeroAddress();
        if (agencyCode == 0) revert InvalidAgencyCode(agencyCode);
        IssuerRegistry.Organisation memory org = issuerRegistry.organisation(agencyCode);
        if (org.admin != msg.sender) revert NotOrgAdmin(agencyCode, msg.sender);
        if (role != OperatorRole.None && org.status != OrgStatus.Active) revert InvalidOrgStatus(agencyCode, org.status);
        uint32 current = operators[operator].agencyCode;
        if (current != 0 && current != agencyCode) revert OperatorOfOtherOrganisation(operator, current);
        if (role == OperatorRole.None) delete operators[operator];
        else operators[operator] = Operator({agencyCode: agencyCode, role: role});
        emit OperatorSet(operator, agencyCode, role);
    }

    // ------------------------------------------------------------------ issuer registry hooks

    /// @notice Mirrors an organisation's accreditation status. Only the issuer registry calls this, in the same
    ///         transaction as the status change, so the mirror never lags.
    /// @param agencyCode The organisation.
    /// @param status Its new status.
    function syncOrganisationStatus(uint32 agencyCode, OrgStatus status) external {
        if (msg.sender != address(issuerRegistry)) revert OnlyIssuerRegistry(msg.sender);
        _orgs[agencyCode].status = status;
        emit OrganisationStatusSynced(agencyCode, status);
    }

    /// @notice Retires a removed organisation's credentials in the sequence range [fromSequence, fromSequence +
    ///         count): every one not yet Revoked becomes Revoked with reason ORGANISATION_RETIRED, so it no longer
    ///         blocks its holder's registration elsewhere (`HolderActiveElsewhere`). Only the issuer registry calls
    ///         this, on a governance decision (`IssuerRegistry.retireCredentials`).
    /// @param agencyCode The removed organisation.
    /// @param fromSequence First sequence of the range.
    /// @param count Number of sequences (1..MAX_RETIREMENT_RANGE); the range must be registered.
    /// @return retired How many credentials changed (already revoked ones are skipped).
    function retireOrganisationCredentials(uint32 agencyCode, uint64 fromSequence, uint64 count)
        external
        returns (uint256 retired) {
        if (msg.sender != address(issuerRegistry)) revert OnlyIssuerRegistry(msg.sender);
        OrgRecord memory org = _orgs[agencyCode];
        if (org.status != OrgStatus.Removed) revert InvalidOrgStatus(agencyCode, org.status);
        if (count == 0 || count > MAX_RETIREMENT_RANGE || uint256(fromSequence) + count > org.registeredCount) {
            revert InvalidBatch(count);
        }
        // 8 bytes per id; one spare word because each id is written as a 32-byte word (its low 24 bytes are
        // overwritten by the next id, or left zero as the padding after the last one).
        bytes memory packedIds = new bytes((uint256(count) << 3) + 32);
        uint256 out;
        assembly ("memory-safe") {
            out := add(packedIds, 0x20)
        }
        uint256 bits = uint256(uint8(CredentialState.Revoked)) | (uint256(ReasonCode.ORGANISATION_RETIRED) << 2);
        uint256 first = CredentialIds.make(agencyCode, fromSequence);
        uint256 end = first + count;
        for (uint256 id = first; id < end;) {
            uint256 key = id >> 5;
            uint256 word = _statusWords[key];
            uint256 wordEnd = (key + 1) << 5;
            if (wordEnd > end) wordEnd = end;
            for (; id < wordEnd; ++id) {
                uint256 shift = (id & 31) << 3;
                if ((word >> shift) & 3 != uint256(uint8(CredentialState.Revoked))) {
                    word = (word & ~(uint256(0x7f) << shift)) | (bits << shift);
                    assembly ("memory-safe") {
                        mstore(add(out, shl(3, retired)), shl(192, id))
                    }
                    ++retired;
                }
            }
            _statusWords[key] = word;
        }
        assembly ("memory-safe") {
            mstore(packedIds, shl(3, retired)) // only the changed ids go into the event
        }
        emit CredentialsStatusChanged(packedIds, CredentialState.Revoked, ReasonCode.ORGANISATION_RETIRED, msg.sender);
    }

    // ------------------------------------------------------------------ registration

    /// @notice Registers a new Active credential of the caller's organisation for `holderRef`, superseding the
    ///         holder's previous credential (one device at a time). The organisation must be active.
    /// @param holderRef Salted hash identifying the holder; never personal data.
    /// @param credentialDigest The credential's binding digest: keccak256 over its issuer, subject (the holder's device
    ///        DID and key), claims, credential type and validity (sdk/issuer/credential.ts `bindingDigest`). Known before
    ///        the id is assigned, it ties this entry to exactly one credential content: a verifier refuses a JWT that
    ///        names this id with any other content, even one signed by a key of the same organisation.
    /// @return credentialId The new credential's id.
    function register(bytes32 holderRef, bytes32 credentialDigest) external returns (uint64 credentialId) {
        credentialId = _registerOneAndReturn(holderRef, credentialDigest);
    }

    /// @notice `register` under a second name whose selector, 0x00000032, the dispatcher compares first (solc
    ///         compares selectors one by one in ascending order; `register` is 0x2f926732, compared 8th) and whose
    ///         three zero bytes cost less calldata: the same function with the same checks and event, ~200 gas
    ///         cheaper. The SDK (`StatusClient.register`) sends this one; `register` stays for every other caller
    ///         (Seaport's optimised-selector pattern).
    /// @param holderRef Salted hash identifying the holder; never personal data.
    /// @param credentialDigest The credential's binding digest (see `register`).
    /// @return credentialId The new credential's id.
    // solhint-disable-next-line func-name-mixedcase
    function register_8wReb(bytes32 holderRef, bytes32 credentialDigest) external returns (uint64 credentialId) {
        credentialId = _registerOneAndReturn(holderRef, credentialDigest);
    }

    /// @notice Registers several credentials of the caller's organisation, with consecutive ids. At most
    ///         MAX_REGISTER_BATCH per call (so a batch fits a 30 M gas block); the SDK splits larger lists.
    /// @param holderRefs One holder reference per credential.
    /// @param credentialDigests One binding digest per credential.
    /// @return firstId The first new id; the others follow consecutively.
    function registerBatch(bytes32[] calldata holderRefs, bytes32[] calldata credentialDigests)
        external
        returns (uint64 firstId)
    {
        uint256 n = holderRefs.length;
        if (n == 0 || n > MAX_REGISTER_BATCH || n != credentialDigests.length) revert InvalidBatch(n);
        (uint32 agency, uint64 sequence, bool allocated) = _registrarAllocate(n);
        if (!allocated) _refuseRegistrar(n);
        firstId = CredentialIds.make(agency, sequence);
        for (uint256 i = 0; i < n; ++i) {
            _register(agency, sequence + uint64(i), holderRefs[i], credentialDigests[i], true);
        }
    }

    // ------------------------------------------------------------------ status changes
    // lock, unlock and revoke (and the lock_kvt72 alias) are one internal function, `_changeOne`, with the transition's
    // parameters; they stay separate external functions because each has its own role, reasons and event, which
    // callers and held-out suites address by name.

    /// @notice Locks an Active credential at once (e.g. phone reported lost). LockOnly or Registrar; possible
    ///         whatever the organisation's accreditation status (a lost phone can always be locked).
    /// @param credentialId The credential; must be the caller's organisation's.
    /// @param reason A lock reason code.
    function lock(uint64 credentialId, uint8 reason) external {
        _changeOne(credentialId, reason, OperatorRole.LockOnly, false, LOCK_OR_REVOKE_REASONS, CredentialState.Locked);
    }

    /// @notice `lock` under a second name whose selector, 0x0000003d, the dispatcher compares second (after
    ///         `register_8wReb`; `lock` itself is 0x868f8367, compared 18th): the same function with the same checks
    ///         and event, ~370 gas cheaper. The SDK (`StatusClient.lock`) sends this one; `lock` stays for every
    ///         other caller. Only the two single operations that missed issue #13's gas goals have a second name:
    ///         each one costs every function compared after it 22 gas.
    /// @param credentialId The credential; must be the caller's organisation's.
    /// @param reason A lock reason code.
    // solhint-disable-next-line func-name-mixedcase
    function lock_kvt72(uint64 credentialId, uint8 reason) external {
        _changeOne(credentialId, reason, OperatorRole.LockOnly, false, LOCK_OR_REVOKE_REASONS, CredentialState.Locked);
    }

    /// @notice Unlocks a Locked credential. Registrar only, and only while the organisation is active.
    /// @param credentialId The credential.
    /// @param reason FOUND_DEVICE or ADMINISTRATIVE.
    function unlock(uint64 credentialId, uint8 reason) external {
        _changeOne(credentialId, reason, OperatorRole.Registrar, true, UNLOCK_REASONS, CredentialState.Active);
    }

    /// @notice Revokes an Active or Locked credential for good. Registrar only; possible whatever the
    ///         organisation's accreditation status (revoking only removes trust).
    /// @param credentialId The credential.
    /// @param reason A revoke reason code.
    function revoke(uint64 credentialId, uint8 reason) external {
        _changeOne(credentialId, reason, OperatorRole.Registrar, false, LOCK_OR_REVOKE_REASONS, CredentialState.Revoked);
    }

    /// @notice Locks several credentials; all-or-nothing. Sorted ids cost least.
    /// @param credentialIds The credentials.
    /// @param reason A lock reason code.
    function lockBatch(uint64[] calldata credentialIds, uint8 reason) external {
        (uint256 offset, uint256 n) = _ids(credentialIds);
        _changeMany(offset, n, 5, 0, reason, OperatorRole.LockOnly, LOCK_OR_REVOKE_REASONS, CredentialState.Locked);
    }

    /// @notice Unlocks several credentials; all-or-nothing. Registrar only, organisation active.
    /// @param credentialIds The credentials.
    /// @param reason FOUND_DEVICE or ADMINISTRATIVE.
    function unlockBatch(uint64[] calldata credentialIds, uint8 reason) external {
        (uint256 offset, uint256 n) = _ids(credentialIds);
        _changeMany(offset, n, 5, 0, reason, OperatorRole.Registrar, UNLOCK_REASONS, CredentialState.Active);
    }

    /// @notice Revokes several credentials; all-or-nothing. Registrar only.
    /// @param credentialIds The credentials.
    /// @param reason A revoke reason code.
    function revokeBatch(uint64[] calldata credentialIds, uint8 reason) external {
        (uint256 offset, uint256 n) = _ids(credentialIds);
        _changeMany(offset, n, 5, 0, reason, OperatorRole.Registrar, LOCK_OR_REVOKE_REASONS, CredentialState.Revoked);
    }

    /// @notice `lockBatch` with the ids packed as 8-byte big-endian words (`abi.encodePacked(uint64...)`): a quarter
    ///         of the calldata. Same checks, same event.
    /// @param packedIds The credential ids, 8 bytes each, at most MAX_BATCH.
    /// @param reason A lock reason code.
    function lockBatchPacked(bytes calldata packedIds, uint8 reason) external {
        (uint256 offset, uint256 n) = _packed(packedIds);
        _changeMany(offset, n, 3, 192, reason, OperatorRole.LockOnly, LOCK_OR_REVOKE_REASONS, CredentialState.Locked);
    }

    /// @notice `unlockBatch` with packed ids (see `lockBatchPacked`).
    /// @param packedIds The credential ids, 8 bytes each.
    /// @param reason FOUND_DEVICE or ADMINISTRATIVE.
    function unlockBatchPacked(bytes calldata packedIds, uint8 reason) external {
        (uint256 offset, uint256 n) = _packed(packedIds);
        _changeMany(offset, n, 3, 192, reason, OperatorRole.Registrar, UNLOCK_REASONS, CredentialState.Active);
    }

    /// @notice `revokeBatch` with packed ids (see `lockBatchPacked`).
    /// @param packedIds The credential ids, 8 bytes each.
    /// @param reason A revoke reason code.
    function revokeBatchPacked(bytes calldata packedIds, uint8 reason) external {
        (uint256 offset, uint256 n) = _packed(packedIds);
        _changeMany(offset, n, 3, 192, reason, OperatorRole.Registrar, LOCK_OR_REVOKE_REASONS, CredentialState.Revoked);
    }

    // ------------------------------------------------------------------ views

    /// @notice An organisation's number of registered credentials (= its next sequence).
    /// @param agencyCode The organisation.
    /// @return The counter.
    function nextSequence(uint32 agencyCode) external view returns (uint64) {
        return uint64(_orgs[agencyCode].registeredCount);
    }

    /// @notice The organisation's accreditation status as mirrored here (equals the issuer registry's).
    /// @param agencyCode The organisation.
    /// @return The status.
    function statusOfOrganisation(uint32 agencyCode) external view returns (OrgStatus) {
        return _orgs[agencyCode].status;
    }

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
        registeredCount = uint64(_orgs[agencyCode].registeredCount);
        uint256 base = (uint256(agencyCode) << 35) + fromWord;
        words = new uint256[](count);
        // Ids are uint64 (agency codes below 2^24; the issuer registry accepts 1,000,000-9,999,999): a larger code
        // has no status words, all zero.
        if (agencyCode >= 1 << 24) return (registeredCount, words);
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

    /// @dev The caller's organisation, if its role is at least `minimum`; with `requireActive`, the organisation
    ///      must also be active (registration, unlock).
    function _operatorFor(OperatorRole minimum, bool requireActive) private view returns (uint32 agency) {
        uint256 op = _load(uint256(uint160(msg.sender)), _operatorsSlot());
        uint256 role = (op >> 32) & 0xff;
        if (role < uint256(uint8(minimum))) revert NotAuthorised(msg.sender, OperatorRole(role));
        agency = uint32(op);
        if (requireActive) {
            uint256 status = (_load(agency, _orgsSlot()) >> 48) & 0xff;
            if (status != uint256(uint8(OrgStatus.Active))) revert InvalidOrgStatus(agency, OrgStatus(status));
        }
    }

    function _operatorsSlot() private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            slot := operators.slot
        }
    }

    function _orgsSlot() private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            slot := _orgs.slot
        }
    }

    function _wordsSlot() private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            slot := _statusWords.slot
        }
    }

    function _latestSlot() private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            slot := latestCredentialOf.slot
        }
    }

    /// @dev Storage slot of `mapping[key]` for a mapping at `mappingSlot` with a value-type key.
    function _at(uint256 key, uint256 mappingSlot) private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            mstore(0x00, key)
            mstore(0x20, mappingSlot)
            slot := keccak256(0x00, 0x40)
        }
    }

    function _load(uint256 key, uint256 mappingSlot) private view returns (uint256 value) {
        uint256 slot = _at(key, mappingSlot);
        assembly ("memory-safe") {
            value := sload(slot)
        }
    }

    function _store(uint256 slot, uint256 value) private {
        assembly ("memory-safe") {
            sstore(slot, value)
        }
    }

    /// @dev Checks that the caller is a Registrar of an active organisation and reserves `n` consecutive
    ///      sequences of it: the single place that bounds the 40-bit sequence space. One read of the operator slot
    ///      and one of the organisation record (counter + mirrored status). It does not revert: `allocated` is false
    ///      if a check failed, and the caller must then revert (`_refuseRegistrar`), which also undoes the counter
    ///      write; the single registration folds the flag into its own refusal test (one branch, not two).
    function _registrarAllocate(uint256 n) private returns (uint32 agency, uint64 first, bool allocated) {
        assembly ("memory-safe") {
            mstore(0x00, caller())
            mstore(0x20, operators.slot)
            let op := sload(keccak256(0x00, 0x40))
            agency := and(op, 0xffffffff)
            mstore(0x00, agency)
            mstore(0x20, _orgs.slot)
            let slot := keccak256(0x00, 0x40)
            let record := sload(slot)
            first := and(record, 0xffffffffffff)
            // The counter is the low 48 bits and stays at most 2^40 + MAX_REGISTER_BATCH: no carry into the status
            // byte. Written whether or not the checks passed (no branch): the refusal reverts, which undoes it.
            let updated := add(record, n)
            sstore(slot, updated)
            // Registrar (2), organisation Active (1), and the counter stays within 2^40 sequences. The bytes above
            // both records' fields are never written, so they are zero: role = op >> 32, and status Active with
            // first + n <= 2^40 is exactly updated - 2^48 <= 2^40 (another status lands below 0, which wraps, or at
            // 2^48 or more).
            allocated := and(eq(shr(32, op), 2), lt(sub(updated, 0x1000000000000), 0x10000000001))
        }
    }

    /// @dev Cold path after a failed `_registrarAllocate(n)`: reverts with the first check that failed. The
    ///      records are warm by now; the organisation's counter already includes the `n` reserved sequences.
    function _refuseRegistrar(uint256 n) private view {
        Operator memory op = operators[msg.sender];
        if (op.role != OperatorRole.Registrar) revert NotAuthorised(msg.sender, op.role);
        OrgRecord memory org = _orgs[op.agencyCode];
        if (org.status != OrgStatus.Active) revert InvalidOrgStatus(op.agencyCode, org.status);
        revert SequenceExhausted(op.agencyCode, uint64(org.registeredCount - n), n);
    }

    /// @dev `register` and `register_8wReb`: allocates one sequence, registers, and ends the call itself, returning
    ///      the new id ABI-encoded from the scratch space (no free-memory-pointer read, no memory expansion).
    function _registerOneAndReturn(bytes32 holderRef, bytes32 credentialDigest) private returns (uint64) {
        (uint32 agency, uint64 sequence, bool allocated) = _registrarAllocate(1);
        uint64 credentialId = _register(agency, sequence, holderRef, credentialDigest, allocated);
        assembly ("memory-safe") {
            mstore(0x00, credentialId)
            return(0x00, 0x20)
        }
    }

    /// @dev Registers one credential: supersedes the holder's previous credential if it is live and of the same
    ///      organisation, refuses if it is live elsewhere, primes or completes the new id's status word and emits
    ///      `CredentialRegistered`. Every refusal (the allocation's checks when `allocated` is false, a zero holder
    ///      reference, a holder live elsewhere) is folded into one flag tested after the block: the revert undoes
    ///      its writes.
    function _register(uint32 agency, uint64 sequence, bytes32 holderRef, bytes32 credentialDigest, bool allocated)
        private
        returns (uint64 credentialId)
    {
        uint256 previous;
        bool ok;
        bytes32 topic = CredentialRegistered.selector;
        assembly ("memory-safe") {
            let id := or(shl(40, agency), sequence)
            credentialId := id
            ok := and(allocated, iszero(iszero(holderRef)))
            mstore(0x00, holderRef)
            mstore(0x20, latestCredentialOf.slot)
            let latestSlot := keccak256(0x00, 0x40)
            previous := sload(latestSlot)
            let superseded := 0
            // Switches, not `if`s: solc lays a default out as the fall-through (an `if` body out of line), so the
            // supersede path runs without jumps out and back (-64 gas, measured).
            switch previous
            // solhint-disable-next-line no-empty-blocks
            case 0 {}
            default {
                let slot := add(_statusWords.slot, shr(5, previous))
                let word := sload(slot)
                let at := shl(3, and(previous, 31))
                // A live (not Revoked = 2) previous credential: supersede it if it is ours, refuse otherwise.
                switch xor(and(shr(at, word), 3), 2)
                // solhint-disable-next-line no-empty-blocks
                case 0 {}
                default {
                    ok := and(ok, eq(shr(40, previous), agency))
                    // Revoked (2) with reason SUPERSEDED_BY_REISSUE (5): 2 | 5 << 2 = 0x16; marker and FULL kept.
                    sstore(slot, or(and(word, not(shl(at, 0x7f))), shl(at, 0x16)))
                    superseded := previous
                }
            }
            sstore(latestSlot, id)
            // The new id's status bits are already zero (Active, reason NONE): sequences are never reused. The
            // first id of a word primes it with its marker bit, the last one marks it full ((sequence + 1) & 31 is
            // 1 for the first, 0 for the last: one test for both).
            if lt(and(add(sequence, 1), 31), 2) {
                let slot := add(_statusWords.slot, shr(5, id))
                switch and(sequence, 31)
                case 0 { sstore(slot, 0x80) }
                default { sstore(slot, or(sload(slot), shl(255, 1))) }
            }
            mstore(0x00, credentialDigest) // event data in the scratch space: no memory beyond it is touched
            mstore(0x20, superseded)
            log3(0x00, 0x40, topic, id, holderRef)
        }
        if (!ok) _refuseRegistration(holderRef, previous, allocated);
    }

    /// @dev Cold path of `_register`: the allocation's refusal first (only the single registration passes a failed
    ///      allocation on: it reserved one sequence), then the holder's. Only the issuing organisation changes its
    ///      credentials: another organisation's live credential must first be revoked by its issuer (e.g.
    ///      LEFT_SERVICE on a transfer) or retired by governance.
    function _refuseRegistration(bytes32 holderRef, uint256 previous, bool allocated) private view {
        if (!allocated) _refuseRegistrar(1);
        if (holderRef == bytes32(0)) revert InvalidHolderRef();
        revert HolderActiveElsewhere(holderRef, uint64(previous));
    }

    /// @dev One status change with every check (role, organisation status for unlock, reason, organisation of
    ///      the id, registration, transition) folded into one test; a refusal takes the cold path `_refuseOne`.
    function _changeOne(
        uint64 credentialId,
        uint8 reason,
        OperatorRole minimum,
        bool requireActive,
        uint256 reasons,
        CredentialState to
    ) private {
        uint256 allowedFrom = to == CredentialState.Locked ? 1 : to == CredentialState.Active ? 2 : 3;
        bool ok;
        bytes32 topic = to == CredentialState.Locked
            ? CredentialLocked.selector
            : to == CredentialState.Active ? CredentialUnlocked.selector : CredentialRevoked.selector;
        assembly ("memory-safe") {
            mstore(0x00, caller())
            mstore(0x20, operators.slot)
            let op := sload(keccak256(0x00, 0x40))
            let slot := add(_statusWords.slot, shr(5, credentialId))
            let word := sload(slot)
            let at := shl(3, and(credentialId, 31))
            // `reasons` has no bit above 31, so the reason test also refuses codes beyond the 5-bit field.
            ok := and(
                and(iszero(lt(and(shr(32, op), 0xff), minimum)), and(shr(reason, reasons), 1)),
                and(eq(shr(40, credentialId), and(op, 0xffffffff)), and(shr(and(shr(at, word), 3), allowedFrom), 1))
            )
            // A full word proves registration; otherwise (the organisation's newest word) read its counter.
            if or(requireActive, iszero(shr(255, word))) {
                mstore(0x00, and(op, 0xffffffff))
                mstore(0x20, _orgs.slot)
                let record := sload(keccak256(0x00, 0x40))
                ok := and(ok, lt(and(credentialId, 0xffffffffff), and(record, 0xffffffffffff)))
                if requireActive { ok := and(ok, eq(and(shr(48, record), 0xff), 1)) }
            }
            // `switch` rather than `if`: the change is the fall-through (see `_register`).
            switch ok
            // solhint-disable-next-line no-empty-blocks
            case 0 {}
            default {
                sstore(slot, or(and(word, not(shl(at, 0x7f))), shl(at, or(to, shl(2, reason)))))
                // Event data (reason, operator) in the scratch space: no memory beyond it is touched.
                mstore(0x00, reason)
                mstore(0x20, caller())
                log2(0x00, 0x40, topic, credentialId)
            }
        }
        if (!ok) _refuseOne(credentialId, reason, minimum, requireActive, reasons, to);
    }

    /// @dev Cold path of `_changeOne`: reverts with the first check that failed, in the documented order.
    function _refuseOne(
        uint64 credentialId,
        uint8 reason,
        OperatorRole minimum,
        bool requireActive,
        uint256 reasons,
        CredentialState to
    ) private view {
        Operator memory op = operators[msg.sender];
        if (uint8(op.role) < uint8(minimum)) revert NotAuthorised(msg.sender, op.role);
        OrgRecord memory org = _orgs[op.agencyCode];
        if (requireActive && org.status != OrgStatus.Active) revert InvalidOrgStatus(op.agencyCode, org.status);
        if ((reasons >> reason) & 1 == 0) revert InvalidReason(reason);
        if (credentialId.agencyOf() != op.agencyCode) revert WrongOrganisation(credentialId, op.agencyCode);
        if (credentialId.sequenceOf() >= org.registeredCount) revert UnknownCredential(credentialId);
        (CredentialState from,) = _read(_statusWords[credentialId >> 5], credentialId);
        revert InvalidTransition(credentialId, from, to);
    }

    /// @dev Calldata offset and count of a `uint64[]`.
    function _ids(uint64[] calldata credentialIds) private pure returns (uint256 offset, uint256 n) {
        assembly ("memory-safe") {
            offset := credentialIds.offset
            n := credentialIds.length
        }
    }

    /// @dev Calldata offset and count of packed 8-byte ids.
    function _packed(bytes calldata packedIds) private pure returns (uint256 offset, uint256 n) {
        if (packedIds.length & 7 != 0) revert InvalidBatch(packedIds.length);
        assembly ("memory-safe") {
            offset := packedIds.offset
            n := shr(3, packedIds.length)
        }
    }

    /// @dev The batch loop shared by the ABI-array (`stride` 5, `shift` 0) and packed (`stride` 3, `shift` 192)
    ///      forms: id i is `calldataload(offset + i << stride) >> shift`. It builds the event's packed id list in
    ///      memory while it checks and applies each change, then emits `CredentialsStatusChanged` once.
    // One loop in one assembly block keeps the per-credential cost minimal; splitting it would cost gas per id.
    // solhint-disable-next-line function-max-lines
    function _changeMany(
        uint256 offset,
        uint256 n,
        uint256 stride,
        uint256 shift,
        uint8 reason,
        OperatorRole minimum,
        uint256 reasons,
        CredentialState to
    ) private {
        if (n == 0 || n > MAX_BATCH) revert InvalidBatch(n);
        uint32 agency = _operatorFor(minimum, to == CredentialState.Active);
        if ((reasons >> reason) & 1 == 0) revert InvalidReason(reason);
        uint256 registeredCount = _load(agency, _orgsSlot()) & 0xffffffffffff;
        uint256 bits = uint256(uint8(to)) | (uint256(reason) << 2);
        uint256 allowedFrom = to == CredentialState.Locked ? 1 : to == CredentialState.Active ? 2 : 3;
        uint256 wordsSlot = _wordsSlot();
        uint256 agencyBase = uint256(agency) << 40;
        // Event data: offset of `packedIds` (0x60), state, reason, its length 8n, then the ids, 8 bytes each, the
        // last word zero-padded. Each id is written as a 32-byte word whose low 24 bytes the next id overwrites.
        uint256 ptr;
        uint256 dataLength = 0x80 + (((n << 3) + 31) & ~uint256(31));
        uint256 failedAt = type(uint256).max; // calldata position of the first refused id
        assembly ("memory-safe") {
            ptr := mload(0x40)
            let q := add(ptr, 0x80)
            let qEnd := add(q, shl(3, n))
            mstore(0x40, add(qEnd, 0x20))
            mstore(ptr, 0x60)
            mstore(add(ptr, 0x20), to)
            mstore(add(ptr, 0x40), reason)
            mstore(add(ptr, 0x60), shl(3, n))
            let step := shl(stride, 1)
            let p := offset
            let cachedKey := not(0)
            let slot := 0
            let word := 0
            for { } lt(q, qEnd) { q := add(q, 8) } {
                let id := shr(shift, calldataload(p))
                mstore(q, shl(192, id))
                let key := shr(5, id)
                if iszero(eq(key, cachedKey)) {
                    if iszero(eq(cachedKey, not(0))) { sstore(slot, word) }
                    cachedKey := key
                    slot := add(wordsSlot, key)
                    word := sload(slot)
                }
                let at := shl(3, and(id, 31))
                let from := and(shr(at, word), 3)
                // One test for "a registered uint64 id of the caller's organisation whose state allows the
                // change": id - agencyBase wraps around for ids of lower agencies and is >= the counter for higher
                // or unregistered ones. (A refused id may have loaded a word: harmless, the call reverts.)
                if iszero(and(lt(sub(id, agencyBase), registeredCount), and(shr(from, allowedFrom), 1))) {
                    failedAt := p
                    mstore(0x00, from) // the state as this batch left it (a repeated id sees its own change)
                    break
                }
                word := or(and(word, not(shl(at, 0x7f))), shl(at, bits))
                p := add(p, step)
            }
            if eq(failedAt, not(0)) { sstore(slot, word) }
        }
        if (failedAt != type(uint256).max) {
            uint256 failedFrom;
            assembly ("memory-safe") {
                failedFrom := mload(0x00)
            }
            _refuse(failedAt, shift, agency, failedFrom, to);
        }
        // Same event and ABI encoding as `emit CredentialsStatusChanged(packedIds, to, reason, msg.sender)`.
        bytes32 topic = CredentialsStatusChanged.selector;
        assembly ("memory-safe") {
            log2(ptr, dataLength, topic, caller())
        }
    }

    /// @dev Reverts with the precise reason the batch loop refused the id at calldata position `at` (cold path:
    ///      the loop tests several conditions at once). `from` is the id's state as the batch saw it.
    function _refuse(uint256 at, uint256 shift, uint32 agency, uint256 from, CredentialState to) private view {
        uint256 id;
        assembly ("memory-safe") {
            id := shr(shift, calldataload(at))
        }
        if (id > type(uint64).max) revert UnknownCredential(uint64(id));
        if (id >> 40 != agency) revert WrongOrganisation(uint64(id), agency);
        if (id & CredentialIds.SEQUENCE_MASK >= _orgs[agency].registeredCount) revert UnknownCredential(uint64(id));
        revert InvalidTransition(uint64(id), CredentialState(from), to);
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
        return credentialId.agencyOf() != 0 && credentialId.sequenceOf() < _orgs[credentialId.agencyOf()].registeredCount;
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
        return (word & ~(uint256(0x7f) << shift)) | (bits << shift); // keeps the marker and FULL bits
    }
}
