// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title The EIP-712 spec of DIDRegistry's signed writes, written out independently of the contract
/// @notice Tests rebuild digests from this spec (not from the contract's own constants), so a drift in the contract's
///         type strings or domain fails them.
library DIDRegistryEip712 {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant CHANGE_OWNER_TYPEHASH =
        keccak256("ChangeOwner(address identity,address newOwner,uint256 nonce,uint256 deadline)");
    bytes32 internal constant ADD_DELEGATE_TYPEHASH = keccak256(
        "AddDelegate(address identity,bytes32 delegateType,address delegate,uint256 validity,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant REVOKE_DELEGATE_TYPEHASH =
        keccak256("RevokeDelegate(address identity,bytes32 delegateType,address delegate,uint256 nonce,uint256 deadline)");
    bytes32 internal constant SET_ATTRIBUTE_TYPEHASH = keccak256(
        "SetAttribute(address identity,bytes32 name,bytes value,uint256 validity,uint256 nonce,uint256 deadline)"
    );
    bytes32 internal constant REVOKE_ATTRIBUTE_TYPEHASH =
        keccak256("RevokeAttribute(address identity,bytes32 name,bytes value,uint256 nonce,uint256 deadline)");

    /// @notice The domain separator of a DIDRegistry at `verifyingContract` on `chainId`.
    function domainSeparator(uint256 chainId, address verifyingContract) internal pure returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("CivilIdDIDRegistry"), keccak256("1"), chainId, verifyingContract));
    }
}
