// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title Shared types of the mobile civil-servant ID ledger
/// @notice Enums and constants used by more than one contract. Values are part of the on-chain ABI and of
///         the event stream that indexers read: never renumber, only append.

/// @notice Where an organisation's HR requests come from.
enum OrgKind {
    None, //            0: unused (a zero record means "no such organisation")
    CentralAgency, //   1: central administrative agency, HR system e-사람
    LocalGovernment //  2: local government, HR system 차세대 인사랑
}

/// @notice Accreditation status of an organisation.
enum OrgStatus {
    None, //      0: never accredited
    Active, //    1: may issue
    Suspended, // 2: temporarily may not issue; its credentials are refused by verifiers until reinstated
    Removed //    3: final
}

/// @notice Status of one credential. Stored in 2 bits.
enum CredentialState {
    Active, //  0: valid (a registered credential starts here)
    Locked, //  1: reversible suspension, e.g. the phone was reported lost
    Revoked //  2: final; reason SupersededByReissue means a newer credential of the same holder exists
}

/// @notice Why a credential's status changed. Stored in 5 bits beside the state (see CredentialStatusRegistry).
library ReasonCode {
    uint8 internal constant NONE = 0;
    uint8 internal constant LOST_DEVICE = 1;
    uint8 internal constant PIN_LOCKOUT = 2; // 5 consecutive wrong PINs on the device
    uint8 internal constant APP_DELETED = 3;
    uint8 internal constant DEVICE_REPLACED = 4;
    uint8 internal constant SUPERSEDED_BY_REISSUE = 5;
    uint8 internal constant LEFT_SERVICE = 6;
    uint8 internal constant KEY_COMPROMISE = 7;
    uint8 internal constant ADMINISTRATIVE = 8;
    uint8 internal constant FOUND_DEVICE = 9; // used when unlocking after a lost phone was recovered
    /// @dev Set only by the consortium's governance on a removed organisation's credentials (`retireCredentials`).
    uint8 internal constant ORGANISATION_RETIRED = 10;
    /// @dev Highest code defined; the registry stores codes in 5 bits (0..31).
    uint8 internal constant MAX = 10;
}

/// @notice Roles an organisation admin can give to a status operator account.
enum OperatorRole {
    None, //      0: no rights
    LockOnly, //  1: help desk: may lock its organisation's credentials (loss reports), nothing else
    Registrar //  2: issuing server: register, lock, unlock and revoke its organisation's credentials
}

/// @notice Credential ids are `agencyCode << 40 | sequence`: the issuing organisation is part of the id (so
///         status writes need no lookup to find it) and an organisation's credentials are contiguous (so
///         32 of them share one storage word). The sequence is a counter, never derived from personal data.
library CredentialIds {
    uint256 internal constant SEQUENCE_BITS = 40;
    uint256 internal constant SEQUENCE_MASK = (uint256(1) << SEQUENCE_BITS) - 1;
    /// @dev Number of sequences an organisation has (0 .. 2^40 - 1): the bound `SequenceExhausted` enforces.
    uint256 internal constant SEQUENCE_SPACE = uint256(1) << SEQUENCE_BITS;

    function make(uint32 agencyCode, uint64 sequence) internal pure returns (uint64) {
        return uint64((uint256(agencyCode) << SEQUENCE_BITS) | sequence);
    }

    function agencyOf(uint64 credentialId) internal pure returns (uint32) {
        return uint32(uint256(credentialId) >> SEQUENCE_BITS);
    }

    function sequenceOf(uint64 credentialId) internal pure returns (uint64) {
        return uint64(uint256(credentialId) & SEQUENCE_MASK);
    }
}

/// @notice Korean agency codes (기관코드) are 7 decimal digits with a non-zero first digit.
library AgencyCodes {
    uint32 internal constant MIN = 1_000_000;
    uint32 internal constant MAX = 9_999_999;

    function isValid(uint32 code) internal pure returns (bool) {
        return code >= MIN && code <= MAX;
    }
}
