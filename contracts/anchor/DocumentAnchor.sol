// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {AlreadyAnchored, InvalidAnchor} from "../common/CivilIdErrors.sol";

/// @title Timestamps for document e-signatures
/// @notice A signing service collects the digests of document signatures, builds a Merkle tree over them
///         (OpenZeppelin's standard double-hashed leaves, sorted-pair hashing: sdk/anchor/) and anchors the root here
///         in one transaction. The block that first anchored a root proves that every signature under it existed at
///         that block's time: a verifier takes the signing time from the chain, not from the signer's claim, and a
///         backdated signature is detected.
/// @dev Anyone may anchor: an anchor only timestamps, it vouches for nothing (who signed is checked off chain
///      against the credential and issuer registries). Re-anchoring a root is refused, so its time can only be the
///      earliest one. One storage word per root; the gas per signature is that word and the event divided by the
///      batch size. No personal data: a leaf is a hash of a signature digest.
contract DocumentAnchor {
    /// @dev One storage word: 5 + 5 + 20 bytes (block numbers and times fit 40 bits for ~35,000 years).
    struct Anchor {
        uint40 blockNumber;
        uint40 timestamp;
        address submitter;
    }

    mapping(bytes32 root => Anchor) private _anchors;

    /// @notice A Merkle root of `leafCount` document-signature digests was anchored.
    event RootAnchored(bytes32 indexed root, address indexed submitter, uint256 leafCount);

    /// @notice Anchors a Merkle root of a batch of document-signature digests.
    /// @param root The tree's root (non-zero).
    /// @param leafCount How many digests the tree covers (at least 1; informational, for auditors).
    function anchor(bytes32 root, uint256 leafCount) external {
        if (root == bytes32(0) || leafCount == 0) revert InvalidAnchor(root, leafCount);
        Anchor memory existing = _anchors[root];
        if (existing.blockNumber != 0) revert AlreadyAnchored(root, existing.blockNumber);
        _anchors[root] = Anchor({blockNumber: uint40(block.number), timestamp: uint40(block.timestamp), submitter: msg.sender});
        emit RootAnchored(root, msg.sender, leafCount);
    }

    /// @notice When a root was anchored (all zero if never).
    /// @param root The Merkle root.
    /// @return blockNumber The anchoring block (0 = not anchored).
    /// @return timestamp That block's timestamp.
    /// @return submitter The account that anchored it.
    function anchorOf(bytes32 root) external view returns (uint64 blockNumber, uint64 timestamp, address submitter) {
        Anchor memory a = _anchors[root];
        return (a.blockNumber, a.timestamp, a.submitter);
    }

    /// @notice Whether `digest` is under an anchored root, and the anchoring block.
    /// @param digest The document-signature digest (the leaf is `keccak256(bytes.concat(keccak256(abi.encode(digest))))`).
    /// @param proof The sibling hashes from the leaf up to the root.
    /// @return blockNumber The anchoring block of the root the proof leads to (0 = not anchored).
    /// @return timestamp That block's timestamp.
    function anchoredAt(bytes32 digest, bytes32[] calldata proof) external view returns (uint64 blockNumber, uint64 timestamp) {
        Anchor memory a = _anchors[MerkleProof.processProofCalldata(proof, leafOf(digest))];
        return (a.blockNumber, a.timestamp);
    }

    /// @notice The Merkle leaf of a digest (OpenZeppelin StandardMerkleTree encoding of one `bytes32` value).
    /// @param digest The document-signature digest.
    /// @return The leaf.
    function leafOf(bytes32 digest) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(digest))));
    }
}
