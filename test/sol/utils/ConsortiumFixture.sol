// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ConsortiumGovernor} from "../../../contracts/governance/ConsortiumGovernor.sol";
import {IssuerRegistry} from "../../../contracts/issuer/IssuerRegistry.sol";
import {CredentialStatusRegistry} from "../../../contracts/status/CredentialStatusRegistry.sol";
import {ICredentialStatusHooks} from "../../../contracts/status/ICredentialStatusHooks.sol";
import {OrgKind} from "../../../contracts/common/CivilIdTypes.sol";
import {TestBase} from "./TestBase.sol";

/// @notice Deploys the real consortium contracts the way production wires them: the governor holds the issuer
///         registry's governance role and the status registry reads the issuer registry. The test contract is the
///         governor's only member (threshold 1), so `_govern` runs a decision through propose + execute.
abstract contract ConsortiumFixture is TestBase {
    uint256 internal constant T0 = 1_700_000_000;
    uint64 internal constant PROPOSAL_LIFETIME = 1 days;
    bytes32 internal constant CIVIL_ID_TYPE = keccak256("CivilServantIdCredential");

    ConsortiumGovernor internal governor;
    IssuerRegistry internal issuers;
    CredentialStatusRegistry internal statuses;

    function _deployConsortium() internal {
        vm.warp(T0);
        address[] memory founders = new address[](1);
        founders[0] = address(this);
        governor = new ConsortiumGovernor(founders, 1);
        issuers = new IssuerRegistry(address(governor));
        statuses = new CredentialStatusRegistry(issuers);
        issuers.bindStatusRegistry(ICredentialStatusHooks(address(statuses))); // this contract deployed the issuer registry: its one-time right
    }

    /// @dev Runs one governance decision through the governor (propose, then execute; threshold 1).
    function _govern(address target, bytes memory data) internal returns (bytes memory result) {
        uint256 id = governor.propose(target, data, PROPOSAL_LIFETIME, "test");
        result = governor.execute(id);
    }

    /// @dev Makes `successor` the governor's only member: adding it makes the threshold 2-of-2 (a strict majority),
    ///      so the removal of this contract needs the successor's approval too; then 1-of-1.
    function _handOverGovernor(address successor) internal {
        _govern(address(governor), abi.encodeCall(ConsortiumGovernor.addMember, (successor)));
        uint256 id = governor.propose(
            address(governor), abi.encodeCall(ConsortiumGovernor.removeMember, (address(this))), PROPOSAL_LIFETIME, "hand over"
        );
        vm.prank(successor);
        governor.approve(id);
        governor.execute(id);
    }

    function _accredit(uint32 agencyCode, OrgKind kind, address admin) internal {
        bytes32[] memory types = new bytes32[](1);
        types[0] = CIVIL_ID_TYPE;
        _govern(address(issuers), abi.encodeCall(IssuerRegistry.accredit, (agencyCode, kind, admin, types)));
    }
}
