// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice Foundry-style invariant targeting, as read by Hardhat 3's EDR runner: the fuzzer calls only the
///         contracts returned by `targetContracts()` and, for those listed in `targetSelectors()`, only those
///         functions (so handler views and helpers are never called as actions).
abstract contract InvariantBase {
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetContracts;
    FuzzSelector[] private _selectors;

    function _targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function _targetSelector(address target, bytes4[] memory selectors) internal {
        _selectors.push(FuzzSelector(target, selectors));
    }

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _selectors;
    }
}
