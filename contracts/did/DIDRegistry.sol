// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {
    SignatureExpired,
    InvalidSigner,
    NotIdentityOwner,
    IdentityDeactivated,
    InvalidValidity
} from "../common/CivilIdErrors.sol";

/// @title ERC-1056 compatible DID registry with EIP-712 signed writes
/// @notice Anchors `did:ethr:<chainId>:<address>` documents. Read functions, storage getters, events and the
///         `changed`/`previousChange` log chaining are those of the reference `EthereumDIDRegistry`, so the
///         unmodified `ethr-did-resolver` resolves DIDs against this contract.
/// @dev Deliberate deviations from ERC-1056 (see docs/ARCHITECTURE.md):
///      1. `*Signed` functions verify an EIP-712 signature bound to chain id, this contract, the signer's nonce
///         and a deadline; they take an extra trailing `deadline` argument. High-s and zero-address signatures
///         are rejected (OpenZeppelin ECDSA).
///      2. Setting the owner to the zero address deactivates the DID for good: `identityOwner` then returns the
///         zero address and every write reverts (the reference lets the identity key write again).
///      3. Refusals are custom errors instead of `require` strings.
///      4. `validDelegate` is false for every delegate of a deactivated identity (the stored validity and the
///         events are unchanged, so resolvers still see the history and the deactivation).
contract DIDRegistry is EIP712 {
    /// @notice Explicit owner of an identity; zero means "the identity owns itself" (unless deactivated).
    mapping(address identity => address owner) public owners;
    /// @notice Delegate validity: identity => keccak256(abi.encode(delegateType)) => delegate => valid until (unix s).
    mapping(address identity => mapping(bytes32 delegateTypeHash => mapping(address delegate => uint256 validTo)))
        public delegates;
    /// @notice Block number of the identity's latest change (head of the event chain the resolver walks).
    mapping(address identity => uint256 blockNumber) public changed;
    /// @notice Per-signer nonce of EIP-712 signed writes; only ever increases.
    mapping(address signer => uint256 nonce) public nonce;
    /// @notice True once the owner was set to the zero address.
    mapping(address identity => bool) public deactivated;

    bytes32 private constant CHANGE_OWNER_TYPEHASH = keccak256(
        "ChangeOwner(address identity,address newOwner,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant ADD_DELEGATE_TYPEHASH = keccak256(
        "AddDelegate(address identity,bytes32 delegateType,address delegate,uint256 validity,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant REVOKE_DELEGATE_TYPEHASH = keccak256(
        "RevokeDelegate(address identity,bytes32 delegateType,address delegate,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant SET_ATTRIBUTE_TYPEHASH = keccak256(
        "SetAttribute(address identity,bytes32 name,bytes value,uint256 validity,uint256 nonce,uint256 deadline)"
    );
    bytes32 private constant REVOKE_ATTRIBUTE_TYPEHASH = keccak256(
        "RevokeAttribute(address identity,bytes32 name,bytes value,uint256 nonce,uint256 deadline)"
    );

    /// @notice The identity's owner changed (to the zero address: deactivated).
    event DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange);
    /// @notice A delegate was added (validTo in the future) or revoked (validTo = now).
    event DIDDelegateChanged(
        address indexed identity, bytes32 delegateType, address delegate, uint256 validTo, uint256 previousChange
    );
    /// @notice An attribute was set (validTo in the future) or revoked (validTo = 0).
    event DIDAttributeChanged(
        address indexed identity, bytes32 name, bytes value, uint256 validTo, uint256 previousChange
    );

    constructor() EIP712("CivilIdDIDRegistry", "1") {}

    /// @notice The account that controls `identity`; the zero address once deactivated.
    /// @param identity The DID's address.
    /// @return The current owner.
    function identityOwner(address identity) public view returns (address) {
        if (deactivated[identity]) return address(0);
        address owner = owners[identity];
        return owner == address(0) ? identity : owner;
    }

    /// @notice Whether `delegate` is a currently valid delegate of `identity` for `delegateType`.
    /// @param identity The DID's address.
    /// @param delegateType The delegate type, e.g. "veriKey" or "sigAuth" as bytes32.
    /// @param delegate The delegate account.
    /// @return True while the delegation has not expired or been revoked, and the identity is not deactivated
    ///         (a deactivated DID has no valid delegates: they could never be revoked any more).
    function validDelegate(address identity, bytes32 delegateType, address delegate) public view returns (bool) {
        if (deactivated[identity]) return false;
        return delegates[identity][keccak256(abi.encode(delegateType))][delegate] > block.timestamp;
    }

    /// @notice EIP-712 domain separator (binds chain id and this contract) for off-chain signers.
    /// @return The domain separator.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ owner

    /// @notice Transfers control of `identity`; `newOwner = 0` deactivates the DID permanently.
    /// @param identity The DID's address.
    /// @param newOwner The new owner.
    function changeOwner(address identity, address newOwner) external {
        _changeOwner(identity, msg.sender, newOwner);
    }

    /// @notice `changeOwner` authorised by the owner's EIP-712 signature (relayed by anyone).
    /// @param identity The DID's address.
    /// @param sigV Signature v.
    /// @param sigR Signature r.
    /// @param sigS Signature s.
    /// @param newOwner The new owner.
    /// @param deadline Unix time after which the signature is refused.
    function changeOwnerSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        address newOwner,
        uint256 deadline
    ) external {
        address owner = _useSignature(
            identity,
            deadline,
            abi.encode(CHANGE_OWNER_TYPEHASH, identity, newOwner),
            sigV,
            sigR,
            sigS
        );
        _changeOwner(identity, owner, newOwner);
    }

    // ------------------------------------------------------------------ delegates

    /// @notice Adds `delegate` for `validity` seconds.
    /// @param identity The DID's address.
    /// @param delegateType The delegate type.
    /// @param delegate The delegate account.
    /// @param validity Seconds from now; must be positive.
    function addDelegate(address identity, bytes32 delegateType, address delegate, uint256 validity) external {
        _addDelegate(identity, msg.sender, delegateType, delegate, validity);
    }

    /// @notice `addDelegate` authorised by the owner's EIP-712 signature.
    /// @param identity The DID's address.
    /// @param sigV Signature v.
    /// @param sigR Signature r.
    /// @param sigS Signature s.
    /// @param delegateType The delegate type.
    /// @param delegate The delegate account.
    /// @param validity Seconds from now.
    /// @param deadline Unix time after which the signature is refused.
    function addDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate,
        uint256 validity,
        uint256 deadline
    ) external {
        address owner = _useSignature(
            identity,
            deadline,
            abi.encode(ADD_DELEGATE_TYPEHASH, identity, delegateType, delegate, validity),
            sigV,
            sigR,
            sigS
        );
        _addDelegate(identity, owner, delegateType, delegate, validity);
    }

    /// @notice Revokes `delegate` now.
    /// @param identity The DID's address.
    /// @param delegateType The delegate type.
    /// @param delegate The delegate account.
    function revokeDelegate(address identity, bytes32 delegateType, address delegate) external {
        _revokeDelegate(identity, msg.sender, delegateType, delegate);
    }

    /// @notice `revokeDelegate` authorised by the owner's EIP-712 signature.
    /// @param identity The DID's address.
    /// @param sigV Signature v.
    /// @param sigR Signature r.
    /// @param sigS Signature s.
    /// @param delegateType The delegate type.
    /// @param delegate The delegate account.
    /// @param deadline Unix time after which the signature is refused.
    function revokeDelegateSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 delegateType,
        address delegate,
        uint256 deadline
    ) external {
        address owner = _useSignature(
            identity,
            deadline,
            abi.encode(REVOKE_DELEGATE_TYPEHASH, identity, delegateType, delegate),
            sigV,
            sigR,
            sigS
        );
        _revokeDelegate(identity, owner, delegateType, delegate);
    }

    // ------------------------------------------------------------------ attributes

    /// @notice Publishes an attribute (public key, service endpoint, ...) valid for `validity` seconds.
    /// @param identity The DID's address.
    /// @param name Attribute name, e.g. "did/pub/Secp256k1/veriKey/hex" or "did/svc/..." as bytes32.
    /// @param value Attribute value.
    /// @param validity Seconds from now; must be positive.
    function setAttribute(address identity, bytes32 name, bytes calldata value, uint256 validity) external {
        _setAttribute(identity, msg.sender, name, value, validity);
    }

    /// @notice `setAttribute` authorised by the owner's EIP-712 signature.
    /// @param identity The DID's address.
    /// @param sigV Signature v.
    /// @param sigR Signature r.
    /// @param sigS Signature s.
    /// @param name Attribute name.
    /// @param value Attribute value.
    /// @param validity Seconds from now.
    /// @param deadline Unix time after which the signature is refused.
    function setAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value,
        uint256 validity,
        uint256 deadline
    ) external {
        address owner = _useSignature(
            identity,
            deadline,
            abi.encode(SET_ATTRIBUTE_TYPEHASH, identity, name, keccak256(value), validity),
            sigV,
            sigR,
            sigS
        );
        _setAttribute(identity, owner, name, value, validity);
    }

    /// @notice Revokes an attribute (emits it with validTo = 0).
    /// @param identity The DID's address.
    /// @param name Attribute name.
    /// @param value Attribute value.
    function revokeAttribute(address identity, bytes32 name, bytes calldata value) external {
        _revokeAttribute(identity, msg.sender, name, value);
    }

    /// @notice `revokeAttribute` authorised by the owner's EIP-712 signature.
    /// @param identity The DID's address.
    /// @param sigV Signature v.
    /// @param sigR Signature r.
    /// @param sigS Signature s.
    /// @param name Attribute name.
    /// @param value Attribute value.
    /// @param deadline Unix time after which the signature is refused.
    function revokeAttributeSigned(
        address identity,
        uint8 sigV,
        bytes32 sigR,
        bytes32 sigS,
        bytes32 name,
        bytes calldata value,
        uint256 deadline
    ) external {
        address owner = _useSignature(
            identity,
            deadline,
            abi.encode(REVOKE_ATTRIBUTE_TYPEHASH, identity, name, keccak256(value)),
            sigV,
            sigR,
            sigS
        );
        _revokeAttribute(identity, owner, name, value);
    }

    // ------------------------------------------------------------------ internals

    /// @dev Checks the deadline, recovers the signer of the typed struct (fields + nonce + deadline), requires
    ///      it to be the identity's owner and consumes the owner's nonce. Returns the owner.
    function _useSignature(
        address identity,
        uint256 deadline,
        bytes memory encodedFieldsWithTypehash,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private returns (address owner) {
        if (block.timestamp > deadline) revert SignatureExpired(deadline, block.timestamp);
        owner = _requireLive(identity);
        uint256 current = nonce[owner];
        bytes32 digest = _hashTypedDataV4(keccak256(bytes.concat(encodedFieldsWithTypehash, abi.encode(current, deadline))));
        address recovered = ECDSA.recover(digest, v, r, s);
        if (recovered != owner) revert InvalidSigner(recovered, owner);
        nonce[owner] = current + 1;
    }

    function _requireLive(address identity) private view returns (address owner) {
        if (deactivated[identity]) revert IdentityDeactivated(identity);
        owner = identityOwner(identity);
    }

    function _requireOwner(address identity, address actor) private view {
        address owner = _requireLive(identity);
        if (actor != owner) revert NotIdentityOwner(identity, actor);
    }

    function _changeOwner(address identity, address actor, address newOwner) private {
        _requireOwner(identity, actor);
        owners[identity] = newOwner;
        if (newOwner == address(0)) deactivated[identity] = true;
        emit DIDOwnerChanged(identity, newOwner, changed[identity]);
        changed[identity] = block.number;
    }

    function _addDelegate(address identity, address actor, bytes32 delegateType, address delegate, uint256 validity)
        private
    {
        _requireOwner(identity, actor);
        if (validity == 0 || validity > type(uint64).max) revert InvalidValidity(validity);
        uint256 validTo = block.timestamp + validity;
        delegates[identity][keccak256(abi.encode(delegateType))][delegate] = validTo;
        emit DIDDelegateChanged(identity, delegateType, delegate, validTo, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeDelegate(address identity, address actor, bytes32 delegateType, address delegate) private {
        _requireOwner(identity, actor);
        delegates[identity][keccak256(abi.encode(delegateType))][delegate] = block.timestamp;
        emit DIDDelegateChanged(identity, delegateType, delegate, block.timestamp, changed[identity]);
        changed[identity] = block.number;
    }

    function _setAttribute(address identity, address actor, bytes32 name, bytes calldata value, uint256 validity)
        private
    {
        _requireOwner(identity, actor);
        if (validity == 0 || validity > type(uint64).max) revert InvalidValidity(validity);
        emit DIDAttributeChanged(identity, name, value, block.timestamp + validity, changed[identity]);
        changed[identity] = block.number;
    }

    function _revokeAttribute(address identity, address actor, bytes32 name, bytes calldata value) private {
        _requireOwner(identity, actor);
        emit DIDAttributeChanged(identity, name, value, 0, changed[identity]);
        changed[identity] = block.number;
    }
}
