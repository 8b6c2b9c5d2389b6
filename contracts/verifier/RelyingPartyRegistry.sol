// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ZeroAddress, InvalidWindow} from "../common/CivilIdErrors.sol";

/// @notice Lifecycle of an accredited relying party. Removed is final.
enum RelyingPartyStatus {
    None,
    Active,
    Suspended,
    Removed
}

/// @notice No relying party with this id.
error UnknownRelyingParty(uint32 relyingPartyId);
/// @notice The relying party's status does not allow this.
error InvalidRelyingPartyStatus(uint32 relyingPartyId, RelyingPartyStatus status);
/// @notice The caller is not this relying party's admin.
error NotRelyingPartyAdmin(uint32 relyingPartyId, address caller);
/// @notice A uses bitmask must name at least one use.
error InvalidUses(uint16 uses);
/// @notice A key may only request uses its relying party was granted.
error UsesNotGranted(uint32 relyingPartyId, uint16 requested, uint16 granted);
/// @notice A relying party's display name must be 1..128 bytes.
error InvalidRelyingPartyName(uint256 length);
/// @notice The verifier key is already listed (keys are never reused, even after retirement).
error VerifierKeyExists(address keyAddress);
/// @notice No such verifier key, or it belongs to another relying party.
error UnknownVerifierKey(address keyAddress);
/// @notice The verifier key was already retired.
error VerifierKeyAlreadyRetired(address keyAddress);

/// @title Relying-party listing of the consortium (verifier authentication against relay)
/// @notice Which verifiers may ask a holder's wallet for a presentation, under which displayed name and for which
///         uses. A relying party (a building's gate operator, the government mail service, a library) is listed,
///         granted uses, suspended, reinstated or removed by consortium decision: only `GOVERNANCE_ROLE` (held by
///         the M-of-N `ConsortiumGovernor`) does that, as for issuer accreditation. The relying party's own admin
///         manages its verifier keys (one per gate terminal or service instance) within that grant. Wallets check
///         that a signed presentation request comes from a key listed here, for the use it asks for, and show the
///         name. Everything stored is public data about organisations; nothing about holders.
contract RelyingPartyRegistry is AccessControl {
    /// @notice Role of the consortium governor (M-of-N member ministries).
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");
    /// @notice Longest display name, in bytes (UTF-8).
    uint256 public constant MAX_NAME_LENGTH = 128;

    /// @dev One storage word: 2 + 1 + 5 + 20 bytes.
    struct RelyingParty {
        uint16 uses;
        RelyingPartyStatus status;
        uint40 listedAt;
        address admin;
    }

    /// @dev One storage word: 4 + 2 + 5 + 5 + 5 bytes. A key speaks for its relying party in [validFrom, validUntil).
    struct VerifierKey {
        uint32 relyingPartyId;
        uint16 uses;
        uint40 validFrom;
        uint40 validUntil;
        uint40 addedAt;
    }

    /// @notice Relying parties listed so far; ids run from 1 to this count.
    uint32 public relyingPartyCount;

    mapping(uint32 relyingPartyId => RelyingParty) private _relyingParties;
    mapping(uint32 relyingPartyId => string) private _names;
    mapping(address keyAddress => VerifierKey) private _keys;

    /// @notice A relying party was listed.
    event RelyingPartyListed(uint32 indexed relyingPartyId, string name, address admin, uint16 uses);
    /// @notice A relying party's status changed.
    event RelyingPartyStatusChanged(uint32 indexed relyingPartyId, RelyingPartyStatus previousStatus, RelyingPartyStatus newStatus);
    /// @notice A relying party's granted uses changed.
    event RelyingPartyUsesChanged(uint32 indexed relyingPartyId, uint16 previousUses, uint16 newUses);
    /// @notice A relying party's display name changed.
    event RelyingPartyRenamed(uint32 indexed relyingPartyId, string name);
    /// @notice A relying party's admin account changed.
    event RelyingPartyAdminChanged(uint32 indexed relyingPartyId, address previousAdmin, address newAdmin);
    /// @notice A verifier key was listed for a relying party.
    event VerifierKeyAdded(uint32 indexed relyingPartyId, address indexed keyAddress, uint16 uses, uint40 validFrom, uint40 validUntil);
    /// @notice A verifier key was retired: wallets refuse its requests from `retiredAt` on.
    event VerifierKeyRetired(uint32 indexed relyingPartyId, address indexed keyAddress, uint40 retiredAt);

    /// @param governance The account or contract holding GOVERNANCE_ROLE (and its admin role).
    constructor(address governance) {
        if (governance == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(GOVERNANCE_ROLE, governance);
    }

    modifier onlyRelyingPartyAdmin(uint32 relyingPartyId) {
        if (_relyingParties[relyingPartyId].admin != msg.sender) revert NotRelyingPartyAdmin(relyingPartyId, msg.sender);
        _;
    }

    // ------------------------------------------------------------------ governance

    /// @notice Lists a relying party with the uses it may request. Its id is `relyingPartyCount` after the call.
    /// @param name Display name shown by wallets (public data, 1..128 bytes).
    /// @param admin The relying party's admin account (manages its verifier keys).
    /// @param uses Bitmask of the uses it may request (non-zero).
    /// @return relyingPartyId The new relying party's id.
    function listRelyingParty(string calldata name, address admin, uint16 uses)
        external
        onlyRole(GOVERNANCE_ROLE)
        returns (uint32 relyingPartyId)
    {
        _checkName(bytes(name).length);
        if (admin == address(0)) revert ZeroAddress();
        if (uses == 0) revert InvalidUses(uses);
        relyingPartyId = ++relyingPartyCount;
        _relyingParties[relyingPartyId] =
            RelyingParty({uses: uses, status: RelyingPartyStatus.Active, listedAt: uint40(block.timestamp), admin: admin});
        _names[relyingPartyId] = name;
        emit RelyingPartyListed(relyingPartyId, name, admin, uses);
        emit RelyingPartyStatusChanged(relyingPartyId, RelyingPartyStatus.None, RelyingPartyStatus.Active);
    }

    /// @notice Changes the uses a relying party may request. Narrowing takes effect on its keys at once.
    /// @param relyingPartyId The relying party.
    /// @param uses The new bitmask (non-zero).
    function setUses(uint32 relyingPartyId, uint16 uses) external onlyRole(GOVERNANCE_ROLE) {
        RelyingParty storage rp = _requireKnown(relyingPartyId);
        if (uses == 0) revert InvalidUses(uses);
        emit RelyingPartyUsesChanged(relyingPartyId, rp.uses, uses);
        rp.uses = uses;
    }

    /// @notice Changes a relying party's display name.
    /// @param relyingPartyId The relying party.
    /// @param name The new name (1..128 bytes).
    function rename(uint32 relyingPartyId, string calldata name) external onlyRole(GOVERNANCE_ROLE) {
        _requireKnown(relyingPartyId);
        _checkName(bytes(name).length);
        _names[relyingPartyId] = name;
        emit RelyingPartyRenamed(relyingPartyId, name);
    }

    /// @notice Suspends an active relying party: wallets refuse all its keys until it is reinstated.
    /// @param relyingPartyId The relying party.
    function suspend(uint32 relyingPartyId) external onlyRole(GOVERNANCE_ROLE) {
        _transition(relyingPartyId, RelyingPartyStatus.Active, RelyingPartyStatus.Suspended);
    }

    /// @notice Reinstates a suspended relying party.
    /// @param relyingPartyId The relying party.
    function reinstate(uint32 relyingPartyId) external onlyRole(GOVERNANCE_ROLE) {
        _transition(relyingPartyId, RelyingPartyStatus.Suspended, RelyingPartyStatus.Active);
    }

    /// @notice Removes a relying party for good (from active or suspended).
    /// @param relyingPartyId The relying party.
    function remove(uint32 relyingPartyId) external onlyRole(GOVERNANCE_ROLE) {
        RelyingParty storage rp = _requireKnown(relyingPartyId);
        RelyingPartyStatus current = rp.status;
        if (current == RelyingPartyStatus.Removed) revert InvalidRelyingPartyStatus(relyingPartyId, current);
        rp.status = RelyingPartyStatus.Removed;
        emit RelyingPartyStatusChanged(relyingPartyId, current, RelyingPartyStatus.Removed);
    }

    /// @notice Replaces a relying party's admin (e.g. the old admin key was lost).
    /// @param relyingPartyId The relying party.
    /// @param newAdmin The new admin account.
    function setRelyingPartyAdmin(uint32 relyingPartyId, address newAdmin) external onlyRole(GOVERNANCE_ROLE) {
        _requireKnown(relyingPartyId);
        _setAdmin(relyingPartyId, newAdmin);
    }

    /// @notice Retires any verifier key now (governance's emergency path, e.g. a stolen gate terminal).
    /// @param keyAddress The key.
    function retireAnyVerifierKey(address keyAddress) external onlyRole(GOVERNANCE_ROLE) {
        VerifierKey storage key = _keys[keyAddress];
        if (key.relyingPartyId == 0) revert UnknownVerifierKey(keyAddress);
        _retire(keyAddress, key);
    }

    // ------------------------------------------------------------------ relying-party admin

    /// @notice Hands the relying party's admin role to another account.
    /// @param relyingPartyId The relying party.
    /// @param newAdmin The new admin account.
    function transferRelyingPartyAdmin(uint32 relyingPartyId, address newAdmin) external onlyRelyingPartyAdmin(relyingPartyId) {
        _setAdmin(relyingPartyId, newAdmin);
    }

    /// @notice Lists a verifier key (a terminal's or service instance's signing address) for the caller's relying party.
    /// @param relyingPartyId The relying party; must be active.
    /// @param keyAddress The key's address; never listed before.
    /// @param uses The uses this key may request: a non-empty subset of the relying party's grant.
    /// @param validUntil End of the key's window (unix s), in the future. The window starts now.
    function addVerifierKey(uint32 relyingPartyId, address keyAddress, uint16 uses, uint40 validUntil)
        external
        onlyRelyingPartyAdmin(relyingPartyId)
    {
        RelyingParty storage rp = _relyingParties[relyingPartyId];
        if (rp.status != RelyingPartyStatus.Active) revert InvalidRelyingPartyStatus(relyingPartyId, rp.status);
        if (keyAddress == address(0)) revert ZeroAddress();
        if (_keys[keyAddress].relyingPartyId != 0) revert VerifierKeyExists(keyAddress);
        if (uses == 0) revert InvalidUses(uses);
        if (uses & ~rp.uses != 0) revert UsesNotGranted(relyingPartyId, uses, rp.uses);
        uint40 nowTs = uint40(block.timestamp);
        if (validUntil <= nowTs) revert InvalidWindow(nowTs, validUntil);
        _keys[keyAddress] =
            VerifierKey({relyingPartyId: relyingPartyId, uses: uses, validFrom: nowTs, validUntil: validUntil, addedAt: nowTs});
        emit VerifierKeyAdded(relyingPartyId, keyAddress, uses, nowTs, validUntil);
    }

    /// @notice Retires one of the caller's relying party's verifier keys now.
    /// @param relyingPartyId The relying party.
    /// @param keyAddress The key.
    function retireVerifierKey(uint32 relyingPartyId, address keyAddress) external onlyRelyingPartyAdmin(relyingPartyId) {
        VerifierKey storage key = _keys[keyAddress];
        if (key.relyingPartyId != relyingPartyId) revert UnknownVerifierKey(keyAddress);
        _retire(keyAddress, key);
    }

    // ------------------------------------------------------------------ views

    /// @notice A relying party's record (zero record if unknown).
    /// @param relyingPartyId The relying party.
    /// @return The record.
    function relyingParty(uint32 relyingPartyId) external view returns (RelyingParty memory) {
        return _relyingParties[relyingPartyId];
    }

    /// @notice A relying party's display name (empty if unknown).
    /// @param relyingPartyId The relying party.
    /// @return The name.
    function relyingPartyName(uint32 relyingPartyId) external view returns (string memory) {
        return _names[relyingPartyId];
    }

    /// @notice A verifier key's record (relyingPartyId 0 if unknown).
    /// @param keyAddress The key's address.
    /// @return The record.
    function verifierKey(address keyAddress) external view returns (VerifierKey memory) {
        return _keys[keyAddress];
    }

    /// @notice The wallet's question, in one call: who is behind `keyAddress`, and may it ask for the uses `use`
    ///         now? `uses` is the key's own grant narrowed by its relying party's current grant (0 when the key is
    ///         outside its window or the relying party is not active).
    /// @param keyAddress The address that signed the presentation request.
    /// @param use The bit (or bits) of the use(s) asked for.
    /// @return allowed True when the key is in its window, its relying party is active and every bit of `use` is granted.
    /// @return relyingPartyId The key's relying party (0 if the key is unknown).
    /// @return uses The uses the key may request now.
    /// @return status The relying party's status.
    /// @return name The relying party's display name.
    function authorisation(address keyAddress, uint16 use)
        external
        view
        returns (bool allowed, uint32 relyingPartyId, uint16 uses, RelyingPartyStatus status, string memory name)
    {
        VerifierKey memory key = _keys[keyAddress];
        relyingPartyId = key.relyingPartyId;
        if (relyingPartyId == 0) return (false, 0, 0, RelyingPartyStatus.None, "");
        RelyingParty memory rp = _relyingParties[relyingPartyId];
        status = rp.status;
        name = _names[relyingPartyId];
        bool live = status == RelyingPartyStatus.Active && block.timestamp >= key.validFrom && block.timestamp < key.validUntil;
        uses = live ? key.uses & rp.uses : 0;
        allowed = use != 0 && uses & use == use;
    }

    // ------------------------------------------------------------------ internals

    function _checkName(uint256 length) private pure {
        if (length == 0 || length > MAX_NAME_LENGTH) revert InvalidRelyingPartyName(length);
    }

    function _requireKnown(uint32 relyingPartyId) private view returns (RelyingParty storage rp) {
        rp = _relyingParties[relyingPartyId];
        if (rp.status == RelyingPartyStatus.None) revert UnknownRelyingParty(relyingPartyId);
    }

    function _transition(uint32 relyingPartyId, RelyingPartyStatus from, RelyingPartyStatus to) private {
        RelyingParty storage rp = _requireKnown(relyingPartyId);
        if (rp.status != from) revert InvalidRelyingPartyStatus(relyingPartyId, rp.status);
        rp.status = to;
        emit RelyingPartyStatusChanged(relyingPartyId, from, to);
    }

    function _setAdmin(uint32 relyingPartyId, address newAdmin) private {
        if (newAdmin == address(0)) revert ZeroAddress();
        RelyingParty storage rp = _relyingParties[relyingPartyId];
        emit RelyingPartyAdminChanged(relyingPartyId, rp.admin, newAdmin);
        rp.admin = newAdmin;
    }

    function _retire(address keyAddress, VerifierKey storage key) private {
        uint40 nowTs = uint40(block.timestamp);
        if (key.validUntil <= nowTs) revert VerifierKeyAlreadyRetired(keyAddress);
        key.validUntil = nowTs;
        emit VerifierKeyRetired(key.relyingPartyId, keyAddress, nowTs);
    }
}
