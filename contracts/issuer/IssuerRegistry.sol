// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {OrgKind, OrgStatus, AgencyCodes} from "../common/CivilIdTypes.sol";
import {ICredentialStatusHooks} from "../status/ICredentialStatusHooks.sol";
import {
    InvalidAgencyCode,
    InvalidOrgKind,
    OrganisationExists,
    UnknownOrganisation,
    InvalidOrgStatus,
    NotOrgAdmin,
    ZeroAddress,
    IssuerKeyExists,
    UnknownIssuerKey,
    IssuerKeyAlreadyRetired,
    InvalidWindow,
    StatusRegistryBinding,
    StatusRegistryMismatch
} from "../common/CivilIdErrors.sol";

/// @notice An organisation name must be 1..MAX_ORGANISATION_NAME_BYTES bytes of UTF-8.
error InvalidOrganisationName(uint32 agencyCode, uint256 length);

/// @title Issuer accreditation of the consortium
/// @notice Which organisations may issue mobile civil-servant IDs, of which credential types, and with which
///         issuer keys (the addresses behind their `did:ethr` issuer DIDs). Accreditation, suspension,
///         reinstatement and removal of an organisation are consortium decisions: only `GOVERNANCE_ROLE` (held by
///         the M-of-N `ConsortiumGovernor`) makes them. Each organisation's own admin manages its issuer keys
///         within that grant. No personal data is stored.
contract IssuerRegistry is AccessControl {
    /// @notice Longest organisation name accepted (bytes of UTF-8; a Korean name of 40 syllables is 120 bytes).
    uint256 public constant MAX_ORGANISATION_NAME_BYTES = 256;

    /// @notice Role of the consortium governor (M-of-N member ministries).
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");

    /// @dev One storage word: 1 + 1 + 5 + 5 + 20 bytes.
    struct Organisation {
        OrgKind kind;
        OrgStatus status;
        uint40 accreditedAt;
        uint40 statusChangedAt;
        address admin;
    }

    /// @dev One storage word: 4 + 5 + 5 + 5 + 1 bytes. A key signs credentials in [validFrom, validUntil);
    ///      retiring sets validUntil to the retirement time; `compromised` taints everything it ever signed.
    struct IssuerKey {
        uint32 agencyCode;
        uint40 validFrom;
        uint40 validUntil;
        uint40 addedAt;
        bool compromised;
    }

    mapping(uint32 agencyCode => Organisation) private _organisations;
    mapping(uint32 agencyCode => mapping(bytes32 credentialType => bool)) private _typeAllowed;
    mapping(address issuer => IssuerKey) private _issuerKeys;
    uint32[] private _agencyCodes;
    /// @dev keccak256 of each organisation's official name (UTF-8, NFC), in its own slot: the packed Organisation
    ///      word and the status registry's hot paths (`isOrganisationActive`, the status mirror) are unchanged.
    mapping(uint32 agencyCode => bytes32 nameHash) private _organisationNames;
    /// @dev The deployer, allowed exactly one `bindStatusRegistry` call; zero once bound.
    address private _binder;
    /// @notice The credential status registry that mirrors organisation statuses (zero until bound).
    ICredentialStatusHooks public statusRegistry;

    /// @notice An organisation was accredited.
    event OrganisationAccredited(uint32 indexed agencyCode, OrgKind kind, address admin);
    /// @notice An organisation's accreditation status changed.
    event OrganisationStatusChanged(uint32 indexed agencyCode, OrgStatus previousStatus, OrgStatus newStatus);
    /// @notice Governance set an organisation's official name (the name verifiers show; public, not personal data).
    ///         The full name is in the event for indexers and auditors; storage keeps its keccak256.
    event OrganisationNameSet(uint32 indexed agencyCode, bytes32 indexed nameHash, string name);
    /// @notice An organisation's admin account changed.
    event OrganisationAdminChanged(uint32 indexed agencyCode, address previousAdmin, address newAdmin);
    /// @notice A credential type was allowed or disallowed for an organisation.
    event CredentialTypeSet(uint32 indexed agencyCode, bytes32 indexed credentialType, bool allowed);
    /// @notice An issuer key (DID address) was added to an organisation.
    event IssuerKeyAdded(uint32 indexed agencyCode, address indexed issuer, uint40 validFrom, uint40 validUntil);
    /// @notice An issuer key was retired (signs nothing from `retiredAt` on); `compromised` taints past signatures.
    event IssuerKeyRetired(uint32 indexed agencyCode, address indexed issuer, uint40 retiredAt, bool compromised);
    /// @notice The status registry was bound (once, at deployment).
    event StatusRegistryBound(address indexed statusRegistry);
    /// @notice Governance retired a removed organisation's credentials in [fromSequence, fromSequence + count);
    ///         `retired` of them changed (the status registry's `CredentialsStatusChanged` lists them).
    event OrganisationCredentialsRetired(uint32 indexed agencyCode, uint64 fromSequence, uint64 count, uint256 retired);

    /// @param governance The account or contract holding GOVERNANCE_ROLE (and its admin role).
    constructor(address governance) {
        if (governance == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, governance);
        _grantRole(GOVERNANCE_ROLE, governance);
        _binder = msg.sender;
    }

    modifier onlyOrgAdmin(uint32 agencyCode) {
        if (_organisations[agencyCode].admin != msg.sender) revert NotOrgAdmin(agencyCode, msg.sender);
        _;
    }

    // ------------------------------------------------------------------ deployment

    /// @notice Binds the status registry that reads this registry; only the deployer, only once (the deployment
    ///         does it right after deploying the status registry). Pushes the status of every organisation
    ///         accredited so far, then keeps the mirror current on every status change.
    /// @param registry The status registry; its `issuerRegistry()` must be this contract.
    function bindStatusRegistry(ICredentialStatusHooks registry) external {
        if (msg.sender != _binder) revert StatusRegistryBinding(msg.sender, address(statusRegistry));
        if (address(registry) == address(0)) revert ZeroAddress();
        address reads = registry.issuerRegistry();
        if (reads != address(this)) revert StatusRegistryMismatch(address(registry), reads);
        statusRegistry = registry;
        _binder = address(0);
        emit StatusRegistryBound(address(registry));
        uint256 n = _agencyCodes.length;
        for (uint256 i = 0; i < n; ++i) {
            uint32 code = _agencyCodes[i];
            registry.syncOrganisationStatus(code, _organisations[code].status);
        }
    }

    // ------------------------------------------------------------------ governance

    /// @notice Accredits an organisation to issue the given credential types.
    /// @param agencyCode The 7-digit agency code (기관코드).
    /// @param kind Central agency (e-사람) or local government (차세대 인사랑).
    /// @param admin The organisation's admin account (manages its issuer keys and status operators).
    /// @param credentialTypes keccak256 of each credential type name it may issue.
    function accredit(uint32 agencyCode, OrgKind kind, address admin, bytes32[] calldata credentialTypes)
        external
        onlyRole(GOVERNANCE_ROLE)
    {
        if (!AgencyCodes.isValid(agencyCode)) revert InvalidAgencyCode(agencyCode);
        if (kind != OrgKind.CentralAgency && kind != OrgKind.LocalGovernment) revert InvalidOrgKind(uint8(kind));
        if (admin == address(0)) revert ZeroAddress();
        if (_organisations[agencyCode].status != OrgStatus.None) revert OrganisationExists(agencyCode);
        uint40 nowTs = uint40(block.timestamp);
        _organisations[agencyCode] =
            Organisation({kind: kind, status: OrgStatus.Active, accreditedAt: nowTs, statusChangedAt: nowTs, admin: admin});
        _agencyCodes.push(agencyCode);
        emit OrganisationAccredited(agencyCode, kind, admin);
        emit OrganisationStatusChanged(agencyCode, OrgStatus.None, OrgStatus.Active);
        _syncStatus(agencyCode, OrgStatus.Active);
        for (uint256 i = 0; i < credentialTypes.length; ++i) {
            _typeAllowed[agencyCode][credentialTypes[i]] = true;
            emit CredentialTypeSet(agencyCode, credentialTypes[i], true);
        }
    }

    /// @notice Suspends an active organisation: verifiers refuse its credentials until it is reinstated.
    /// @param agencyCode The organisation.
    function suspend(uint32 agencyCode) external onlyRole(GOVERNANCE_ROLE) {
        _transition(agencyCode, OrgStatus.Active, OrgStatus.Suspended);
    }

    /// @notice Reinstates a suspended organisation.
    /// @param agencyCode The organisation.
    function reinstate(uint32 agencyCode) external onlyRole(GOVERNANCE_ROLE) {
        _transition(agencyCode, OrgStatus.Suspended, OrgStatus.Active);
    }

    /// @notice Removes an organisation for good (from active or suspended).
    /// @param agencyCode The organisation.
    function remove(uint32 agencyCode) external onlyRole(GOVERNANCE_ROLE) {
        OrgStatus current = _organisations[agencyCode].status;
        if (current == OrgStatus.None) revert UnknownOrganisation(agencyCode);
        if (current == OrgStatus.Removed) revert InvalidOrgStatus(agencyCode, current);
        _setStatus(agencyCode, current, OrgStatus.Removed);
    }

    /// @notice Retires a removed organisation's credentials in the sequence range [fromSequence, fromSequence +
    ///         count) (at most the status registry's MAX_RETIREMENT_RANGE per call): every one not yet revoked becomes
    ///         Revoked with reason ORGANISATION_RETIRED, so it no longer blocks its holder's registration by another
    ///         organisation (`HolderActiveElsewhere`). The consortium's remedy when a removed organisation cannot
    ///         revoke its own credentials.
    /// @param agencyCode The organisation; must be removed.
    /// @param fromSequence First sequence of the range.
    /// @param count Number of sequences; the range must be registered.
    /// @return retired How many credentials changed.
    function retireCredentials(uint32 agencyCode, uint64 fromSequence, uint64 count)
        external
        onlyRole(GOVERNANCE_ROLE)
        returns (uint256 retired)
    {
        OrgStatus status = _organisations[agencyCode].status;
        if (status != OrgStatus.Removed) revert InvalidOrgStatus(agencyCode, status);
        ICredentialStatusHooks registry = statusRegistry;
        if (address(registry) == address(0)) revert StatusRegistryBinding(msg.sender, address(0));
        retired = registry.retireOrganisationCredentials(agencyCode, fromSequence, count);
        emit OrganisationCredentialsRetired(agencyCode, fromSequence, count, retired);
    }

    /// @notice Allows or disallows a credential type for an organisation.
    /// @param agencyCode The organisation.
    /// @param credentialType keccak256 of the credential type name.
    /// @param allowed Whether it may issue that type.
    function setCredentialType(uint32 agencyCode, bytes32 credentialType, bool allowed)
        external
        onlyRole(GOVERNANCE_ROLE)
    {
        _requireKnown(agencyCode);
        _typeAllowed[agencyCode][credentialType] = allowed;
        emit CredentialTypeSet(agencyCode, credentialType, allowed);
    }

    /// @notice Sets (or renames) an organisation's official name: verifiers refuse a credential whose organisation name
    ///         differs from it, and the issuing servers' HR import refuses a row that names another. Every change is
    ///         an `OrganisationNameSet` event carrying the name.
    /// @param agencyCode The organisation (accredited, in any status).
    /// @param name The official name, UTF-8 in Unicode NFC (e.g. "행정안전부"); the SDK normalises and checks it.
    function setOrganisationName(uint32 agencyCode, string calldata name) external onlyRole(GOVERNANCE_ROLE) {
        _requireKnown(agencyCode);
        uint256 length = bytes(name).length;
        if (length == 0 || length > MAX_ORGANISATION_NAME_BYTES) revert InvalidOrganisationName(agencyCode, length);
        bytes32 nameHash = keccak256(bytes(name));
        _organisationNames[agencyCode] = nameHash;
        emit OrganisationNameSet(agencyCode, nameHash, name);
    }

    /// @notice Replaces an organisation's admin (e.g. the old admin key was lost).
    /// @param agencyCode The organisation.
    /// @param newAdmin The new admin account.
    function setOrganisationAdmin(uint32 agencyCode, address newAdmin) external onlyRole(GOVERNANCE_ROLE) {
        _requireKnown(agencyCode);
        _setAdmin(agencyCode, newAdmin);
    }

    /// @notice Marks any issuer key compromised (governance's emergency path, e.g. when the org admin is unreachable).
    /// @param issuer The issuer key.
    function markIssuerKeyCompromised(address issuer) external onlyRole(GOVERNANCE_ROLE) {
        IssuerKey storage key = _issuerKeys[issuer];
        if (key.agencyCode == 0) revert UnknownIssuerKey(issuer);
        _retire(issuer, key, true);
    }

    // ------------------------------------------------------------------ organisation admin

    /// @notice Hands the organisation's admin role to another account.
    /// @param agencyCode The organisation.
    /// @param newAdmin The new admin account.
    function transferOrganisationAdmin(uint32 agencyCode, address newAdmin) external onlyOrgAdmin(agencyCode) {
        _setAdmin(agencyCode, newAdmin);
    }

    /// @notice Adds an issuer key (the address of an issuer DID) to the caller's organisation.
    /// @param agencyCode The organisation; must be active.
    /// @param issuer The key's address; never used before.
    /// @param validFrom Start of the signing window (unix s): now or later; 0 means now.
    /// @param validUntil End of the signing window (unix s), in the future.
    function addIssuerKey(uint32 agencyCode, address issuer, uint40 validFrom, uint40 validUntil)
        external
        onlyOrgAdmin(agencyCode)
    {
        _requireActive(agencyCode);
        _addKey(agencyCode, issuer, validFrom, validUntil);
    }

    /// @notice Rotates keys in one step: retires `oldIssuer` now and adds `newIssuer` from now.
    /// @param agencyCode The organisation; must be active.
    /// @param oldIssuer The key to retire.
    /// @param newIssuer The replacement key.
    /// @param validUntil End of the new key's signing window.
    function rotateIssuerKey(uint32 agencyCode, address oldIssuer, address newIssuer, uint40 validUntil)
        external
        onlyOrgAdmin(agencyCode)
    {
        _requireActive(agencyCode);
        _retire(oldIssuer, _ownKey(agencyCode, oldIssuer), false);
        _addKey(agencyCode, newIssuer, 0, validUntil);
    }

    /// @notice Retires an issuer key now. With `compromised`, verifiers also refuse what it signed before.
    /// @param agencyCode The organisation.
    /// @param issuer The key to retire.
    /// @param compromised Whether the key leaked.
    function retireIssuerKey(uint32 agencyCode, address issuer, bool compromised) external onlyOrgAdmin(agencyCode) {
        _retire(issuer, _ownKey(agencyCode, issuer), compromised);
    }

    // ------------------------------------------------------------------ views

    /// @notice An organisation's record (zero record if unknown).
    /// @param agencyCode The organisation.
    /// @return The record.
    function organisation(uint32 agencyCode) external view returns (Organisation memory) {
        return _organisations[agencyCode];
    }

    /// @notice Whether an organisation is accredited and active now.
    /// @param agencyCode The organisation.
    /// @return True if active.
    function isOrganisationActive(uint32 agencyCode) external view returns (bool) {
        return _organisations[agencyCode].status == OrgStatus.Active;
    }

    /// @notice keccak256 of an organisation's official name (zero if governance never set one).
    /// @param agencyCode The organisation.
    /// @return The name's hash.
    function organisationNameHash(uint32 agencyCode) external view returns (bytes32) {
        return _organisationNames[agencyCode];
    }

    /// @notice The admin of an organisation (zero if unknown).
    /// @param agencyCode The organisation.
    /// @return The admin account.
    function organisationAdmin(uint32 agencyCode) external view returns (address) {
        return _organisations[agencyCode].admin;
    }

    /// @notice Whether an organisation may issue a credential type.
    /// @param agencyCode The organisation.
    /// @param credentialType keccak256 of the type name.
    /// @return True if allowed.
    function isCredentialTypeAllowed(uint32 agencyCode, bytes32 credentialType) external view returns (bool) {
        return _typeAllowed[agencyCode][credentialType];
    }

    /// @notice An issuer key's record (agencyCode 0 if unknown).
    /// @param issuer The key's address.
    /// @return The record.
    function issuerKey(address issuer) external view returns (IssuerKey memory) {
        return _issuerKeys[issuer];
    }

    /// @notice All agency codes ever accredited, in order.
    /// @return The codes.
    function agencyCodes() external view returns (uint32[] memory) {
        return _agencyCodes;
    }

    /// @notice The verifier's question: may `issuer` sign `credentialType` credentials that it signed at time `at`?
    ///         True when the key was in its signing window at `at`, was never marked compromised, its organisation
    ///         is active *now* and may issue that type now.
    /// @param issuer The issuer key (address of the issuer DID).
    /// @param credentialType keccak256 of the type name.
    /// @param at The credential's issuance time (unix s).
    /// @return trusted Whether to trust it.
    /// @return agencyCode The issuing organisation (0 if the key is unknown).
    function isTrustedIssuer(address issuer, bytes32 credentialType, uint64 at)
        external
        view
        returns (bool trusted, uint32 agencyCode)
    {
        IssuerKey memory key = _issuerKeys[issuer];
        agencyCode = key.agencyCode;
        trusted = agencyCode != 0 && !key.compromised && at >= key.validFrom && at < key.validUntil
            && _organisations[agencyCode].status == OrgStatus.Active && _typeAllowed[agencyCode][credentialType];
    }

    // ------------------------------------------------------------------ internals

    function _requireKnown(uint32 agencyCode) private view {
        if (_organisations[agencyCode].status == OrgStatus.None) revert UnknownOrganisation(agencyCode);
    }

    function _requireActive(uint32 agencyCode) private view {
        OrgStatus status = _organisations[agencyCode].status;
        if (status != OrgStatus.Active) revert InvalidOrgStatus(agencyCode, status);
    }

    function _transition(uint32 agencyCode, OrgStatus from, OrgStatus to) private {
        OrgStatus current = _organisations[agencyCode].status;
        if (current == OrgStatus.None) revert UnknownOrganisation(agencyCode);
        if (current != from) revert InvalidOrgStatus(agencyCode, current);
        _setStatus(agencyCode, from, to);
    }

    function _setStatus(uint32 agencyCode, OrgStatus from, OrgStatus to) private {
        Organisation storage org = _organisations[agencyCode];
        org.status = to;
        org.statusChangedAt = uint40(block.timestamp);
        emit OrganisationStatusChanged(agencyCode, from, to);
        _syncStatus(agencyCode, to);
    }

    /// @dev Keeps the status registry's mirror current in the same transaction (it refuses registration otherwise).
    function _syncStatus(uint32 agencyCode, OrgStatus status) private {
        ICredentialStatusHooks registry = statusRegistry;
        if (address(registry) != address(0)) registry.syncOrganisationStatus(agencyCode, status);
    }

    function _setAdmin(uint32 agencyCode, address newAdmin) private {
        if (newAdmin == address(0)) revert ZeroAddress();
        Organisation storage org = _organisations[agencyCode];
        emit OrganisationAdminChanged(agencyCode, org.admin, newAdmin);
        org.admin = newAdmin;
    }

    function _ownKey(uint32 agencyCode, address issuer) private view returns (IssuerKey storage key) {
        key = _issuerKeys[issuer];
        if (key.agencyCode != agencyCode) revert UnknownIssuerKey(issuer);
    }

    function _addKey(uint32 agencyCode, address issuer, uint40 validFrom, uint40 validUntil) private {
        if (issuer == address(0)) revert ZeroAddress();
        if (_issuerKeys[issuer].agencyCode != 0) revert IssuerKeyExists(issuer);
        uint40 nowTs = uint40(block.timestamp);
        if (validFrom == 0) validFrom = nowTs;
        // Never backdated: a key must not make signatures from before its registration trustworthy.
        if (validFrom < nowTs || validFrom >= validUntil) revert InvalidWindow(validFrom, validUntil);
        _issuerKeys[issuer] = IssuerKey({
            agencyCode: agencyCode,
            validFrom: validFrom,
            validUntil: validUntil,
            addedAt: nowTs,
            compromised: false
        });
        emit IssuerKeyAdded(agencyCode, issuer, validFrom, validUntil);
    }

    function _retire(address issuer, IssuerKey storage key, bool compromised) private {
        uint40 nowTs = uint40(block.timestamp);
        // A key already past its window can still be marked compromised, but not retired twice.
        if (key.validUntil <= nowTs && (!compromised || key.compromised)) revert IssuerKeyAlreadyRetired(issuer);
        if (key.validUntil > nowTs) key.validUntil = nowTs;
        if (compromised) key.compromised = true;
        emit IssuerKeyRetired(key.agencyCode, issuer, key.validUntil, compromised);
    }
}
