// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {DIDRegistry} from "../../../contracts/did/DIDRegistry.sol";
import {SignatureExpired, InvalidSigner, IdentityDeactivated} from "../../../contracts/common/CivilIdErrors.sol";
import {TestBase} from "../utils/TestBase.sol";
import {DIDRegistryEip712} from "../utils/DIDRegistryEip712.sol";

/// @title Fuzz tests of DIDRegistry's EIP-712 signed writes
/// @notice The digests are rebuilt here from the EIP-712 spec and the documented struct types, independently of
///         the contract, so a drift in the contract's typehashes or domain is caught too.
contract DIDRegistrySignedFuzzTest is TestBase {
    enum Op {
        ChangeOwner,
        AddDelegate,
        RevokeDelegate,
        SetAttribute,
        RevokeAttribute
    }

    enum Field {
        Identity,
        NewOwner,
        Kind, // delegateType or attribute name
        Delegate,
        Value,
        Validity,
        Deadline,
        Nonce
    }

    /// @dev One signed write: what is signed and what is submitted.
    struct SignedCall {
        Op op;
        address identity;
        address newOwner;
        bytes32 kind;
        address delegate;
        bytes value;
        uint256 validity;
        uint256 deadline;
        uint256 nonce;
    }


    uint256 private constant T0 = 1_700_000_000;
    uint256 private constant MAX_DEADLINE_AHEAD = 365 days;

    DIDRegistry private registry;

    event DIDAttributeChanged(
        address indexed identity, bytes32 name, bytes value, uint256 validTo, uint256 previousChange
    );

    function setUp() public {
        vm.warp(T0);
        registry = new DIDRegistry();
    }

    // ------------------------------------------------------------------ properties

    /// @notice A correctly signed write of any kind succeeds once, relayed by anyone, consumes exactly one nonce
    ///         of the owner, has its effect, and cannot be replayed.
    function testFuzz_validSignatureSucceedsOnce(
        uint256 pkSeed,
        uint8 opSeed,
        bytes32 kind,
        address other,
        bytes calldata value,
        uint256 validitySeed,
        uint256 deadlineSeed,
        address relayer
    ) public {
        uint256 pk = boundPrivateKey(pkSeed);
        SignedCall memory c = _call(pk, opSeed, kind, other, value, validitySeed, deadlineSeed);
        (uint8 v, bytes32 r, bytes32 s) = _sign(pk, address(registry), block.chainid, c);

        if (c.op == Op.SetAttribute || c.op == Op.RevokeAttribute) {
            vm.expectEmit(true, false, false, true, address(registry));
            emit DIDAttributeChanged(
                c.identity, c.kind, c.value, c.op == Op.SetAttribute ? block.timestamp + c.validity : 0, 0
            );
        }
        vm.prank(relayer);
        (bool ok, bytes memory ret) = address(registry).call(_calldata(c, v, r, s));
        assertTrue(ok, string(abi.encodePacked("valid signature refused: ", ret)));

        address signer = vm.addr(pk);
        assertEq(registry.nonce(signer), 1, "nonce not consumed exactly once");
        assertEq(registry.changed(c.identity), block.number, "change not recorded");
        _checkEffect(c);

        // Replay: the signed nonce is spent (and for changeOwner the signer may no longer be the owner).
        vm.prank(relayer);
        (ok, ret) = address(registry).call(_calldata(c, v, r, s));
        assertFalse(ok, "replayed signature accepted");
        assertTrue(
            bytes4(ret) == InvalidSigner.selector || bytes4(ret) == IdentityDeactivated.selector,
            "replay refused for the wrong reason"
        );
        assertEq(registry.nonce(signer), 1, "nonce moved on a refused replay");
    }

    /// @notice Changing any one signed field (or signing another nonce) makes the signature invalid, and the
    ///         refusal consumes nothing: the untampered call still succeeds afterwards.
    function testFuzz_tamperedFieldRejected(
        uint256 pkSeed,
        uint8 opSeed,
        uint8 fieldSeed,
        uint256 tamperSeed,
        bytes32 kind,
        address other,
        bytes calldata value,
        uint256 validitySeed,
        uint256 deadlineSeed
    ) public {
        uint256 pk = boundPrivateKey(pkSeed);
        address signer = vm.addr(pk);
        SignedCall memory c = _call(pk, opSeed, kind, other, value, validitySeed, deadlineSeed);
        (uint8 v, bytes32 r, bytes32 s) = _sign(pk, address(registry), block.chainid, c);

        // A second identity that the same key controls, so a swapped identity fails on the signature binding
        // itself and not merely on an ownership check.
        address secondIdentity = address(uint160(uint256(keccak256(abi.encode("second identity", tamperSeed)))));
        vm.assume(secondIdentity != signer);
        vm.prank(secondIdentity);
        registry.changeOwner(secondIdentity, signer);

        Field[] memory fields = _signedFields(c.op);
        Field field = fields[fieldSeed % fields.length];
        SignedCall memory t = _copy(c);
        if (field == Field.Identity) {
            t.identity = secondIdentity;
        } else if (field == Field.NewOwner) {
            t.newOwner = address(uint160(uint256(keccak256(abi.encode(tamperSeed, c.newOwner)))));
        } else if (field == Field.Kind) {
            t.kind = keccak256(abi.encode(tamperSeed, c.kind));
        } else if (field == Field.Delegate) {
            t.delegate = address(uint160(uint256(keccak256(abi.encode(tamperSeed, c.delegate)))));
        } else if (field == Field.Value) {
            t.value = abi.encodePacked(c.value, uint8(tamperSeed));
        } else if (field == Field.Validity) {
            t.validity = bound(tamperSeed, 1, type(uint64).max);
            vm.assume(t.validity != c.validity);
        } else if (field == Field.Deadline) {
            t.deadline = bound(tamperSeed, block.timestamp, block.timestamp + MAX_DEADLINE_AHEAD);
            vm.assume(t.deadline != c.deadline);
        }

        if (field == Field.Nonce) {
            // Same call, but signed over another nonce than the owner's current one.
            SignedCall memory otherNonce = _copy(c);
            otherNonce.nonce = bound(tamperSeed, 1, type(uint256).max);
            (uint8 v2, bytes32 r2, bytes32 s2) = _sign(pk, address(registry), block.chainid, otherNonce);
            _expectSignatureRefused(_calldata(c, v2, r2, s2));
        } else {
            _expectSignatureRefused(_calldata(t, v, r, s));
        }
        assertEq(registry.nonce(signer), 0, "refused call consumed a nonce");

        (bool ok,) = address(registry).call(_calldata(c, v, r, s));
        assertTrue(ok, "untampered call refused after a tampered one");
        assertEq(registry.nonce(signer), 1, "nonce not consumed");
    }

    /// @notice A signature for one operation cannot be submitted as another one with the same field values.
    function testFuzz_signatureBoundToOperationType(
        uint256 pkSeed,
        uint8 opSeed,
        uint8 otherOpSeed,
        bytes32 kind,
        address other,
        bytes calldata value,
        uint256 validitySeed
    ) public {
        uint256 pk = boundPrivateKey(pkSeed);
        SignedCall memory c = _call(pk, opSeed, kind, other, value, validitySeed, 0);
        Op otherOp = Op(bound(otherOpSeed, 0, 4));
        vm.assume(otherOp != c.op);
        (uint8 v, bytes32 r, bytes32 s) = _sign(pk, address(registry), block.chainid, c);
        SignedCall memory asOther = _copy(c);
        asOther.op = otherOp;
        _expectSignatureRefused(_calldata(asOther, v, r, s));
        assertEq(registry.nonce(vm.addr(pk)), 0, "refused call consumed a nonce");
        (bool ok,) = address(registry).call(_calldata(c, v, r, s));
        assertTrue(ok, "signature refused for its own operation");
    }

    /// @notice The domain binds the chain id: a signature made for this chain is refused on another one (e.g. a
    ///         fork), and one made for the other chain is accepted only there.
    function testFuzz_wrongChainIdRejected(
        uint256 pkSeed,
        uint8 opSeed,
        uint64 otherChainId,
        bytes32 kind,
        address other,
        bytes calldata value
    ) public {
        uint256 homeChainId = block.chainid;
        vm.assume(otherChainId != 0 && otherChainId != homeChainId);
        uint256 pk = boundPrivateKey(pkSeed);
        SignedCall memory c = _call(pk, opSeed, kind, other, value, 1 days, 0);

        (uint8 v, bytes32 r, bytes32 s) = _sign(pk, address(registry), homeChainId, c);
        (uint8 vo, bytes32 ro, bytes32 so) = _sign(pk, address(registry), otherChainId, c);

        _expectSignatureRefused(_calldata(c, vo, ro, so));
        vm.chainId(otherChainId);
        assertEq(registry.domainSeparator(), _domainSeparator(address(registry), otherChainId), "domain not rebuilt");
        _expectSignatureRefused(_calldata(c, v, r, s));
        (bool ok,) = address(registry).call(_calldata(c, vo, ro, so));
        assertTrue(ok, "signature for the current chain refused");
    }

    /// @notice The domain binds the registry: a signature for one deployment is refused by another.
    function testFuzz_otherRegistryRejected(
        uint256 pkSeed,
        uint8 opSeed,
        bytes32 kind,
        address other,
        bytes calldata value
    ) public {
        DIDRegistry otherRegistry = new DIDRegistry();
        uint256 pk = boundPrivateKey(pkSeed);
        SignedCall memory c = _call(pk, opSeed, kind, other, value, 1 days, 0);
        (uint8 v, bytes32 r, bytes32 s) = _sign(pk, address(registry), block.chainid, c);

        (bool ok, bytes memory ret) = address(otherRegistry).call(_calldata(c, v, r, s));
        assertFalse(ok, "signature accepted by another registry");
        assertTrue(bytes4(ret) == InvalidSigner.selector, "wrong refusal");
        (ok,) = address(registry).call(_calldata(c, v, r, s));
        assertTrue(ok, "signature refused by its own registry");
    }

    /// @notice deadline == block.timestamp is accepted; one second (or more) later the signature is expired.
    function testFuzz_deadlineBoundary(uint256 pkSeed, uint8 opSeed, uint256 deadlineSeed, uint256 lateBy)
        public
    {
        uint256 pk = boundPrivateKey(pkSeed);
        uint256 deadline = bound(deadlineSeed, T0, T0 + 10 * 365 days);
        lateBy = bound(lateBy, 1, 10 * 365 days);

        SignedCall memory onTime = _call(pk, opSeed, "kind", address(0xBEEF), "value", 1 days, 0);
        onTime.deadline = deadline;
        (uint8 v, bytes32 r, bytes32 s) = _sign(pk, address(registry), block.chainid, onTime);

        // Too late first: nothing is consumed, so the same signature stays usable until its deadline.
        vm.warp(deadline + lateBy);
        vm.expectRevert(abi.encodeWithSelector(SignatureExpired.selector, deadline, deadline + lateBy));
        _submit(_calldata(onTime, v, r, s));

        vm.warp(deadline);
        (bool ok,) = address(registry).call(_calldata(onTime, v, r, s));
        assertTrue(ok, "signature refused at its deadline");

        // A fresh signature (next nonce) with the same deadline, submitted one second too late. The deadline is
        // checked before the signer, so this holds whatever the first write changed.
        SignedCall memory late = _copy(onTime);
        late.nonce = 1;
        (v, r, s) = _sign(pk, address(registry), block.chainid, late);
        vm.warp(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(SignatureExpired.selector, deadline, deadline + 1));
        _submit(_calldata(late, v, r, s));
    }

    /// @notice The malleable twin (s' = n - s, v flipped) of a valid signature is refused, and so is a v outside
    ///         {27, 28}; the original still works afterwards.
    function testFuzz_highSAndBadVRejected(uint256 pkSeed, uint8 opSeed, uint8 badV, bytes32 kind) public {
        vm.assume(badV != 27 && badV != 28);
        uint256 pk = boundPrivateKey(pkSeed);
        SignedCall memory c = _call(pk, opSeed, kind, address(0xCAFE), "v", 1 days, 0);
        (uint8 v, bytes32 r, bytes32 s) = _sign(pk, address(registry), block.chainid, c);

        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignatureS.selector, highS));
        _submit(_calldata(c, v == 27 ? 28 : 27, r, highS));

        vm.expectRevert(abi.encodeWithSelector(ECDSA.ECDSAInvalidSignature.selector));
        _submit(_calldata(c, badV, r, s));

        (bool ok,) = address(registry).call(_calldata(c, v, r, s));
        assertTrue(ok, "valid signature refused after malleated ones");
    }

    /// @notice After an ownership transfer the previous owner's signatures are refused and the new owner's are
    ///         accepted, with nonces kept per signer.
    function testFuzz_onlyCurrentOwnerSigns(uint256 oldPkSeed, uint256 newPkSeed, bytes32 kind, address delegate)
        public
    {
        uint256 oldPk = boundPrivateKey(oldPkSeed);
        uint256 newPk = boundPrivateKey(newPkSeed);
        address identity = vm.addr(oldPk);
        address newOwner = vm.addr(newPk);
        vm.assume(newOwner != identity);

        vm.prank(identity);
        registry.changeOwner(identity, newOwner);

        SignedCall memory c = _call(oldPk, uint8(Op.AddDelegate), kind, delegate, "", 1 days, 0);
        (uint8 v, bytes32 r, bytes32 s) = _sign(oldPk, address(registry), block.chainid, c);
        vm.expectRevert(
            abi.encodeWithSelector(InvalidSigner.selector, identity, newOwner) // nonce 0 for both keys
        );
        _submit(_calldata(c, v, r, s));

        (v, r, s) = _sign(newPk, address(registry), block.chainid, c);
        _submit(_calldata(c, v, r, s));
        assertTrue(registry.validDelegate(identity, kind, delegate), "new owner's delegate missing");
        assertEq(registry.nonce(newOwner), 1, "new owner's nonce");
        assertEq(registry.nonce(identity), 0, "old owner's nonce moved");
    }

    /// @notice A deactivated identity refuses every signed write, even one signed before deactivation.
    function testFuzz_deactivatedIdentityRefusesSignedWrites(uint256 pkSeed, uint8 opSeed, bytes32 kind) public {
        uint256 pk = boundPrivateKey(pkSeed);
        SignedCall memory c = _call(pk, opSeed, kind, address(0xD00D), "x", 1 days, 0);
        (uint8 v, bytes32 r, bytes32 s) = _sign(pk, address(registry), block.chainid, c);

        vm.prank(c.identity);
        registry.changeOwner(c.identity, address(0));
        assertEq(registry.identityOwner(c.identity), address(0), "not deactivated");

        vm.expectRevert(abi.encodeWithSelector(IdentityDeactivated.selector, c.identity));
        _submit(_calldata(c, v, r, s));
    }

    // ------------------------------------------------------------------ helpers

    function _call(
        uint256 pk,
        uint8 opSeed,
        bytes32 kind,
        address other,
        bytes memory value,
        uint256 validitySeed,
        uint256 deadlineSeed
    ) private view returns (SignedCall memory c) {
        c.op = Op(opSeed % 5);
        c.identity = vm.addr(pk);
        c.newOwner = other;
        c.kind = kind;
        c.delegate = other;
        c.value = value;
        c.validity = bound(validitySeed, 1, type(uint64).max);
        c.deadline = bound(deadlineSeed, block.timestamp, block.timestamp + MAX_DEADLINE_AHEAD);
        c.nonce = registry.nonce(vm.addr(pk));
    }

    function _copy(SignedCall memory c) private pure returns (SignedCall memory) {
        return SignedCall(c.op, c.identity, c.newOwner, c.kind, c.delegate, c.value, c.validity, c.deadline, c.nonce);
    }

    /// @dev The fields covered by the signature of each operation (the nonce is implicit, the owner's current one).
    function _signedFields(Op op) private pure returns (Field[] memory f) {
        if (op == Op.ChangeOwner) {
            f = new Field[](4);
            (f[0], f[1], f[2], f[3]) = (Field.Identity, Field.NewOwner, Field.Deadline, Field.Nonce);
        } else if (op == Op.AddDelegate) {
            f = new Field[](6);
            (f[0], f[1], f[2], f[3], f[4], f[5]) =
                (Field.Identity, Field.Kind, Field.Delegate, Field.Validity, Field.Deadline, Field.Nonce);
        } else if (op == Op.RevokeDelegate) {
            f = new Field[](5);
            (f[0], f[1], f[2], f[3], f[4]) = (Field.Identity, Field.Kind, Field.Delegate, Field.Deadline, Field.Nonce);
        } else if (op == Op.SetAttribute) {
            f = new Field[](6);
            (f[0], f[1], f[2], f[3], f[4], f[5]) =
                (Field.Identity, Field.Kind, Field.Value, Field.Validity, Field.Deadline, Field.Nonce);
        } else {
            f = new Field[](5);
            (f[0], f[1], f[2], f[3], f[4]) = (Field.Identity, Field.Kind, Field.Value, Field.Deadline, Field.Nonce);
        }
    }

    function _structHash(SignedCall memory c) private pure returns (bytes32) {
        if (c.op == Op.ChangeOwner) {
            return keccak256(abi.encode(DIDRegistryEip712.CHANGE_OWNER_TYPEHASH, c.identity, c.newOwner, c.nonce, c.deadline));
        }
        if (c.op == Op.AddDelegate) {
            return keccak256(
                abi.encode(DIDRegistryEip712.ADD_DELEGATE_TYPEHASH, c.identity, c.kind, c.delegate, c.validity, c.nonce, c.deadline)
            );
        }
        if (c.op == Op.RevokeDelegate) {
            return keccak256(abi.encode(DIDRegistryEip712.REVOKE_DELEGATE_TYPEHASH, c.identity, c.kind, c.delegate, c.nonce, c.deadline));
        }
        if (c.op == Op.SetAttribute) {
            return keccak256(
                abi.encode(DIDRegistryEip712.SET_ATTRIBUTE_TYPEHASH, c.identity, c.kind, keccak256(c.value), c.validity, c.nonce, c.deadline)
            );
        }
        return keccak256(
            abi.encode(DIDRegistryEip712.REVOKE_ATTRIBUTE_TYPEHASH, c.identity, c.kind, keccak256(c.value), c.nonce, c.deadline)
        );
    }

    function _domainSeparator(address verifyingContract, uint256 chainId) private pure returns (bytes32) {
        return DIDRegistryEip712.domainSeparator(chainId, verifyingContract);
    }

    function _sign(uint256 pk, address verifyingContract, uint256 chainId, SignedCall memory c)
        private
        pure
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        bytes32 digest =
            keccak256(abi.encodePacked("\x19\x01", _domainSeparator(verifyingContract, chainId), _structHash(c)));
        (v, r, s) = vm.sign(pk, digest);
    }

    function _calldata(SignedCall memory c, uint8 v, bytes32 r, bytes32 s) private pure returns (bytes memory) {
        if (c.op == Op.ChangeOwner) {
            return abi.encodeCall(DIDRegistry.changeOwnerSigned, (c.identity, v, r, s, c.newOwner, c.deadline));
        }
        if (c.op == Op.AddDelegate) {
            return abi.encodeCall(
                DIDRegistry.addDelegateSigned, (c.identity, v, r, s, c.kind, c.delegate, c.validity, c.deadline)
            );
        }
        if (c.op == Op.RevokeDelegate) {
            return abi.encodeCall(DIDRegistry.revokeDelegateSigned, (c.identity, v, r, s, c.kind, c.delegate, c.deadline));
        }
        if (c.op == Op.SetAttribute) {
            return abi.encodeCall(
                DIDRegistry.setAttributeSigned, (c.identity, v, r, s, c.kind, c.value, c.validity, c.deadline)
            );
        }
        return abi.encodeCall(DIDRegistry.revokeAttributeSigned, (c.identity, v, r, s, c.kind, c.value, c.deadline));
    }

    function _submit(bytes memory data) private {
        (bool ok, bytes memory ret) = address(registry).call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    /// @dev The call must revert with InvalidSigner (the recovered address is unpredictable, so only the selector
    ///      is compared).
    function _expectSignatureRefused(bytes memory data) private {
        (bool ok, bytes memory ret) = address(registry).call(data);
        assertFalse(ok, "tampered signature accepted");
        assertTrue(bytes4(ret) == InvalidSigner.selector, "tampered signature refused for the wrong reason");
    }

    function _checkEffect(SignedCall memory c) private view {
        if (c.op == Op.ChangeOwner) {
            assertEq(registry.identityOwner(c.identity), c.newOwner, "owner not changed");
            assertTrue(registry.deactivated(c.identity) == (c.newOwner == address(0)), "deactivation flag");
        } else if (c.op == Op.AddDelegate) {
            bytes32 typeHash = keccak256(abi.encode(c.kind));
            assertEq(registry.delegates(c.identity, typeHash, c.delegate), block.timestamp + c.validity, "validTo");
            assertTrue(registry.validDelegate(c.identity, c.kind, c.delegate), "delegate not valid");
        } else if (c.op == Op.RevokeDelegate) {
            bytes32 typeHash = keccak256(abi.encode(c.kind));
            assertEq(registry.delegates(c.identity, typeHash, c.delegate), block.timestamp, "revoked validTo");
            assertFalse(registry.validDelegate(c.identity, c.kind, c.delegate), "revoked delegate still valid");
        }
        // Attribute writes have no storage besides `changed`; their event was checked with expectEmit.
    }
}
