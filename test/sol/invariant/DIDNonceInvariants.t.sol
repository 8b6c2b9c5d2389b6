// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {DIDRegistry} from "../../../contracts/did/DIDRegistry.sol";
import {
    SignatureExpired,
    InvalidSigner,
    NotIdentityOwner,
    IdentityDeactivated
} from "../../../contracts/common/CivilIdErrors.sol";
import {TestBase} from "../utils/TestBase.sol";
import {DIDRegistryEip712} from "../utils/DIDRegistryEip712.sol";
import {InvariantBase} from "../utils/InvariantBase.sol";

/// @title Invariant handler for DIDRegistry signed writes
/// @notice Four keys and six identities (the keys' own plus two keyless identities owned by keys). Random signed
///         writes of all five kinds, signed by the owner or by another key, with the current or a wrong nonce and
///         deadlines before, at and after now, plus unsigned ownership transfers and time moves. A model of owners,
///         deactivation and nonces predicts every outcome; ghosts record disagreements and any nonce decrease.
contract DIDHandler is TestBase {
    uint256 public constant KEYS = 4;
    uint256 public constant IDENTITIES = 6;

    DIDRegistry public immutable registry;

    // ------------------------------------------------------------------ model
    mapping(address identity => address) private _modelOwner; // zero: the identity itself
    mapping(address identity => bool) public modelDeactivated;
    mapping(address signer => uint256) public modelNonce;

    // ------------------------------------------------------------------ ghosts
    uint256 public mismatches;
    bytes public firstMismatch;
    uint256 public nonceDecreases;
    mapping(address signer => uint256) public lastSeenNonce;
    uint256 public signedWrites;
    uint256 public refusals;

    constructor(DIDRegistry registry_) {
        registry = registry_;
    }

    /// @notice The keyless identities are handed to keys 0 and 1.
    function init() external {
        for (uint256 i = KEYS; i < IDENTITIES; ++i) {
            address identity = identityAt(i);
            vm.prank(identity);
            registry.changeOwner(identity, key(i - KEYS));
            _modelOwner[identity] = key(i - KEYS);
        }
    }

    // ------------------------------------------------------------------ actions

    /// @param op 0 changeOwner, 1 addDelegate, 2 revokeDelegate, 3 setAttribute, 4 revokeAttribute.
    /// @param signerSeed Three times in four the identity's owner signs, otherwise any key.
    /// @param tamper One time in eight, sign over the signer's nonce + 1 instead of its current nonce.
    function signedWrite(
        uint256 signerSeed,
        uint256 identitySeed,
        uint8 op,
        uint256 argSeed,
        uint256 deadlineSeed,
        uint8 tamper,
        address relayer
    ) external {
        address identity = _identity(identitySeed);
        uint256 signerIndex = (signerSeed >> 8) % KEYS;
        if (signerSeed % 4 != 0) {
            for (uint256 i = 0; i < KEYS; ++i) {
                if (key(i) == modelOwnerOf(identity)) signerIndex = i;
            }
        }
        address signer = key(signerIndex);
        bool wrongNonce = tamper % 8 == 0;
        op %= 5;
        // Mostly in the future, sometimes exactly now, sometimes one second ago.
        uint256 d = deadlineSeed % 8;
        uint256 deadline = d == 0 ? block.timestamp - 1 : d == 1 ? block.timestamp : block.timestamp + (deadlineSeed >> 8) % 7 days;
        uint256 signedNonce = registry.nonce(signer) + (wrongNonce ? 1 : 0);
        // A new owner is a key, or (rarely) the zero address, which deactivates the identity.
        address newOwner = argSeed % 64 == 0 ? address(0) : key((argSeed >> 8) % KEYS);
        bytes32 kind = (argSeed >> 16) % 2 == 0 ? bytes32("veriKey") : bytes32("sigAuth");
        bytes memory value = abi.encodePacked(uint64(argSeed >> 32));
        uint256 validity = 1 + (argSeed >> 96) % 30 days;

        bytes32 structHash;
        if (op == 0) {
            structHash = keccak256(abi.encode(DIDRegistryEip712.CHANGE_OWNER_TYPEHASH, identity, newOwner, signedNonce, deadline));
        } else if (op == 1) {
            structHash = keccak256(abi.encode(DIDRegistryEip712.ADD_DELEGATE_TYPEHASH, identity, kind, newOwner, validity, signedNonce, deadline));
        } else if (op == 2) {
            structHash = keccak256(abi.encode(DIDRegistryEip712.REVOKE_DELEGATE_TYPEHASH, identity, kind, newOwner, signedNonce, deadline));
        } else if (op == 3) {
            structHash =
                keccak256(abi.encode(DIDRegistryEip712.SET_ATTRIBUTE_TYPEHASH, identity, kind, keccak256(value), validity, signedNonce, deadline));
        } else {
            structHash = keccak256(abi.encode(DIDRegistryEip712.REVOKE_ATTRIBUTE_TYPEHASH, identity, kind, keccak256(value), signedNonce, deadline));
        }
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey(signerIndex), _digest(structHash));

        bytes memory call;
        if (op == 0) call = abi.encodeCall(DIDRegistry.changeOwnerSigned, (identity, v, r, s, newOwner, deadline));
        else if (op == 1) call = abi.encodeCall(DIDRegistry.addDelegateSigned, (identity, v, r, s, kind, newOwner, validity, deadline));
        else if (op == 2) call = abi.encodeCall(DIDRegistry.revokeDelegateSigned, (identity, v, r, s, kind, newOwner, deadline));
        else if (op == 3) call = abi.encodeCall(DIDRegistry.setAttributeSigned, (identity, v, r, s, kind, value, validity, deadline));
        else call = abi.encodeCall(DIDRegistry.revokeAttributeSigned, (identity, v, r, s, kind, value, deadline));

        vm.prank(relayer);
        (bool ok, bytes memory ret) = address(registry).call(call);

        address owner = modelOwnerOf(identity);
        if (block.timestamp > deadline) {
            _expect(ok, ret, abi.encodeWithSelector(SignatureExpired.selector, deadline, block.timestamp));
        } else if (modelDeactivated[identity]) {
            _expect(ok, ret, abi.encodeWithSelector(IdentityDeactivated.selector, identity));
        } else if (signer != owner || wrongNonce) {
            // The recovered address is unpredictable unless the digest matched the signer's: compare the selector.
            if (ok || bytes4(ret) != InvalidSigner.selector) _mismatch("expected InvalidSigner", ret);
            if (!ok) ++refusals;
        } else {
            _expect(ok, ret, "");
            if (ok) {
                ++modelNonce[owner];
                ++signedWrites;
                if (op == 0) _setModelOwner(identity, newOwner);
            }
        }
        _checkNoncesAndOwners();
    }

    /// @notice Unsigned ownership transfer by the owner (or a refused attempt by someone else): no nonce moves.
    function changeOwner(uint256 callerSeed, uint256 identitySeed, uint256 newOwnerSeed) external {
        address identity = _identity(identitySeed);
        address caller = callerSeed % 5 == 0 ? identity : key(callerSeed % KEYS);
        address newOwner = newOwnerSeed % 64 == 0 ? address(0) : key((newOwnerSeed >> 8) % KEYS);
        vm.prank(caller);
        (bool ok, bytes memory ret) = address(registry).call(abi.encodeCall(DIDRegistry.changeOwner, (identity, newOwner)));
        bytes memory expected;
        if (modelDeactivated[identity]) expected = abi.encodeWithSelector(IdentityDeactivated.selector, identity);
        else if (caller != modelOwnerOf(identity)) expected = abi.encodeWithSelector(NotIdentityOwner.selector, identity, caller);
        _expect(ok, ret, expected);
        if (ok && expected.length == 0) _setModelOwner(identity, newOwner);
        _checkNoncesAndOwners();
    }

    function warp(uint256 secondsSeed) external {
        vm.warp(block.timestamp + secondsSeed % 1 days);
        _checkNoncesAndOwners();
    }

    // ------------------------------------------------------------------ views

    function key(uint256 index) public pure returns (address) {
        return vm.addr(privateKey(index));
    }

    function privateKey(uint256 index) public pure returns (uint256) {
        return 0x7000 + index;
    }

    /// @dev Identities 0..3 are the keys' own addresses; 4 and 5 have no key.
    function identityAt(uint256 index) public pure returns (address) {
        return index < KEYS ? key(index) : address(uint160(0xD1D0 + index));
    }

    function modelOwnerOf(address identity) public view returns (address) {
        if (modelDeactivated[identity]) return address(0);
        address owner = _modelOwner[identity];
        return owner == address(0) ? identity : owner;
    }

    // ------------------------------------------------------------------ internals

    function _identity(uint256 seed) private pure returns (address) {
        return identityAt(seed % IDENTITIES);
    }

    function _setModelOwner(address identity, address newOwner) private {
        _modelOwner[identity] = newOwner;
        if (newOwner == address(0)) modelDeactivated[identity] = true;
    }

    function _digest(bytes32 structHash) private view returns (bytes32) {
        bytes32 domain = DIDRegistryEip712.domainSeparator(block.chainid, address(registry));
        return keccak256(abi.encodePacked("\x19\x01", domain, structHash));
    }

    function _expect(bool ok, bytes memory ret, bytes memory expected) private {
        if (!ok) ++refusals;
        bool expectedOk = expected.length == 0;
        if (ok != expectedOk) _mismatch(ok ? "registry accepted, model refused" : "registry refused, model accepted", ok ? expected : ret);
        else if (!ok && keccak256(ret) != keccak256(expected)) _mismatch("different errors", abi.encode(ret, expected));
    }

    /// @dev Every action ends here: no nonce goes down, nonces and owners are the model's.
    function _checkNoncesAndOwners() private {
        for (uint256 i = 0; i < KEYS; ++i) {
            address k = key(i);
            uint256 n = registry.nonce(k);
            if (n < lastSeenNonce[k]) ++nonceDecreases;
            lastSeenNonce[k] = n;
            if (n != modelNonce[k]) _mismatch("nonce differs from model", abi.encode(k, n, modelNonce[k]));
        }
        for (uint256 i = 0; i < IDENTITIES; ++i) {
            address identity = identityAt(i);
            if (registry.identityOwner(identity) != modelOwnerOf(identity)) {
                _mismatch("owner differs from model", abi.encode(identity, registry.identityOwner(identity)));
            }
        }
    }

    function _mismatch(string memory what, bytes memory data) private {
        if (mismatches == 0) firstMismatch = abi.encode(what, data);
        ++mismatches;
    }
}

/// @title Invariants of DIDRegistry nonces and ownership under random signed and unsigned writes
contract DIDNonceInvariantsTest is TestBase, InvariantBase {
    DIDRegistry private registry;
    DIDHandler private handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        registry = new DIDRegistry();
        handler = new DIDHandler(registry);
        handler.init();
        _targetContract(address(handler));
        bytes4[] memory actions = new bytes4[](3);
        actions[0] = DIDHandler.signedWrite.selector;
        actions[1] = DIDHandler.changeOwner.selector;
        actions[2] = DIDHandler.warp.selector;
        _targetSelector(address(handler), actions);
    }

    /// @notice Signer nonces only increase, by exactly one per accepted signed write, whatever is refused.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_didNoncesOnlyIncrease() public view {
        assertEq(handler.nonceDecreases(), 0, "a DID nonce decreased");
        uint256 total;
        for (uint256 i = 0; i < handler.KEYS(); ++i) {
            address k = handler.key(i);
            assertEq(registry.nonce(k), handler.modelNonce(k), "nonce differs from accepted signed writes");
            total += registry.nonce(k);
        }
        assertEq(total, handler.signedWrites(), "nonces do not add up to accepted signed writes");
    }

    /// @notice Ownership and deactivation follow exactly the accepted writes; outcomes and errors match the model.
    /// hardhat-config: invariant.runs = 64
    /// hardhat-config: invariant.depth = 64
    /// hardhat-config: invariant.failOnRevert = true
    function invariant_didOwnershipMatchesModel() public view {
        if (handler.mismatches() != 0) {
            (string memory what, bytes memory data) = abi.decode(handler.firstMismatch(), (string, bytes));
            revert ModelMismatch(what, data);
        }
        for (uint256 i = 0; i < handler.IDENTITIES(); ++i) {
            address identity = handler.identityAt(i);
            assertEq(registry.identityOwner(identity), handler.modelOwnerOf(identity), "owner");
            assertTrue(registry.deactivated(identity) == handler.modelDeactivated(identity), "deactivated flag");
        }
    }

    /// @notice The handler really exercises the registry (guards the invariants against being vacuous).
    function test_handlerMakesProgress() public {
        for (uint256 i = 0; i < 200; ++i) {
            uint256 r = uint256(keccak256(abi.encode("did progress", i)));
            uint256 action = r % 8;
            if (action < 6) {
                handler.signedWrite(r >> 8, r >> 16, uint8(r >> 24), r >> 32, r >> 64, uint8(r >> 4), address(uint160(r >> 96)));
            } else if (action < 7) {
                handler.changeOwner(r >> 8, r >> 16, r >> 32);
            } else {
                handler.warp(r >> 8);
            }
        }
        invariant_didOwnershipMatchesModel(); // first: reports the first disagreement in full
        assertGe(handler.signedWrites(), 20, "too few accepted signed writes");
        assertGe(handler.refusals(), 20, "too few refusals");
        invariant_didNoncesOnlyIncrease();
    }
}
