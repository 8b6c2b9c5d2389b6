// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice Inert target for governance proposals in tests: records the calls it receives from its caller.
contract CallTarget {
    mapping(address caller => uint256) public pings;
    uint256 public lastValue;

    function ping(uint256 value) external {
        ++pings[msg.sender];
        lastValue = value;
    }
}
