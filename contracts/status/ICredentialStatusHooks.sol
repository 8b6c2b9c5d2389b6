// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {OrgStatus} from "../common/CivilIdTypes.sol";

/// @title What the issuer registry calls on its bound credential status registry
/// @notice The issuer registry pushes every organisation status change (so registration needs no cross-contract
///         read) and forwards governance's retirement of a removed organisation's credentials.
interface ICredentialStatusHooks {
    /// @notice The issuer registry this status registry reads (checked when binding).
    /// @return The issuer registry's address.
    function issuerRegistry() external view returns (address);

    /// @notice Mirrors an organisation's accreditation status.
    /// @param agencyCode The organisation.
    /// @param status Its new status.
    function syncOrganisationStatus(uint32 agencyCode, OrgStatus status) external;

    /// @notice Revokes (reason ORGANISATION_RETIRED) a removed organisation's credentials in a sequence range.
    /// @param agencyCode The removed organisation.
    /// @param fromSequence First sequence.
    /// @param count Number of sequences.
    /// @return retired How many credentials changed.
    function retireOrganisationCredentials(uint32 agencyCode, uint64 fromSequence, uint64 count)
        external
        returns (uint256 retired);
}
