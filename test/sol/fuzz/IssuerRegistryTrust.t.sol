// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IssuerRegistry} from "../../../contracts/issuer/IssuerRegistry.sol";
import {OrgKind, OrgStatus} from "../../../contracts/common/CivilIdTypes.sol";
import {
    InvalidAgencyCode,
    InvalidOrgKind,
    IssuerKeyAlreadyRetired,
    InvalidWindow,
    ProposalCallFailed
} from "../../../contracts/common/CivilIdErrors.sol";
import {ConsortiumFixture} from "../utils/ConsortiumFixture.sol";

/// @title Fuzz tests of IssuerRegistry: trust at fuzzed times around key windows (which start at or after the
///        key's registration), retirement, compromise, organisation status, and agency-code validation.
contract IssuerRegistryTrustFuzzTest is ConsortiumFixture {
    uint32 private constant AGENCY = 1_741_000;
    address private constant ADMIN = address(0xAD);
    address private constant ISSUER = address(0x1551);
    address private constant NEXT_ISSUER = address(0x1552);
    uint256 private constant HORIZON = 50 * 365 days; // keeps uint40 windows far from overflow

    function setUp() public {
        _deployConsortium();
        _accredit(AGENCY, OrgKind.CentralAgency, ADMIN);
    }

    // ------------------------------------------------------------------ signing window

    /// @notice Trust at `at` is exactly `validFrom <= at < validUntil`, whatever the current time is (a verifier
    ///         checking an old credential gets the same answer as one checking it at issuance); nothing signed
    ///         before the key's registration is ever trusted.
    function testFuzz_trustFollowsSigningWindow(
        uint256 fromSeed,
        uint256 untilSeed,
        uint8 pointSeed,
        int16 delta,
        uint64 randomAt,
        uint256 nowSeed,
        uint32 registerDelay
    ) public {
        // Register the key at a fuzzed time after T0 (the window rules are relative to registration).
        uint40 registeredAt = uint40(T0 + registerDelay % (HORIZON / 4));
        vm.warp(registeredAt);
        (uint40 validFrom, uint40 validUntil) = _addKey(ISSUER, fromSeed, untilSeed);
        assertEq(issuers.issuerKey(ISSUER).addedAt, registeredAt, "registration time");
        uint64 at = _probeTime(validFrom, validUntil, registeredAt, pointSeed, delta, randomAt);

        vm.warp(bound(nowSeed, registeredAt, T0 + HORIZON));
        (bool trusted, uint32 agency) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, at);
        assertEq(agency, AGENCY, "agency of the key");
        assertTrue(trusted == (at >= validFrom && at < validUntil), "trust differs from the signing window");
        if (at < registeredAt) assertFalse(trusted, "signature from before the key's registration trusted");

        // Another credential type is never trusted, an unknown key never is and reports no organisation.
        (trusted,) = issuers.isTrustedIssuer(ISSUER, keccak256("OtherCredential"), at);
        assertFalse(trusted, "type not granted but trusted");
        (trusted, agency) = issuers.isTrustedIssuer(address(0xBAD), CIVIL_ID_TYPE, at);
        assertFalse(trusted, "unknown key trusted");
        assertEq(agency, 0, "unknown key has an organisation");
    }

    /// @notice Retiring at time R cuts the window to [validFrom, min(validUntil, R)); a second retirement is
    ///         refused; marking it compromised afterwards still works once and then distrusts everything.
    function testFuzz_retireCutsWindow(
        uint256 fromSeed,
        uint256 untilSeed,
        uint256 retireSeed,
        uint8 pointSeed,
        int16 delta,
        uint64 randomAt
    ) public {
        (uint40 validFrom, uint40 validUntil) = _addKey(ISSUER, fromSeed, untilSeed);
        uint256 retiredAt = bound(retireSeed, T0, T0 + HORIZON);
        vm.warp(retiredAt);

        vm.startPrank(ADMIN);
        if (validUntil <= retiredAt) {
            // Already past its window: nothing to retire.
            vm.expectRevert(abi.encodeWithSelector(IssuerKeyAlreadyRetired.selector, ISSUER));
            issuers.retireIssuerKey(AGENCY, ISSUER, false);
        } else {
            issuers.retireIssuerKey(AGENCY, ISSUER, false);
            validUntil = uint40(retiredAt);
            assertEq(issuers.issuerKey(ISSUER).validUntil, validUntil, "retirement time");
            vm.expectRevert(abi.encodeWithSelector(IssuerKeyAlreadyRetired.selector, ISSUER));
            issuers.retireIssuerKey(AGENCY, ISSUER, false);
        }
        vm.stopPrank();

        uint64 at = _probeTime(validFrom, validUntil, uint40(T0), pointSeed, delta, randomAt);
        (bool trusted,) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, at);
        assertTrue(trusted == (at >= validFrom && at < validUntil), "trust differs from the retired window");

        // Compromise after retirement: allowed once, then nothing it ever signed is trusted.
        vm.prank(ADMIN);
        issuers.retireIssuerKey(AGENCY, ISSUER, true);
        vm.prank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(IssuerKeyAlreadyRetired.selector, ISSUER));
        issuers.retireIssuerKey(AGENCY, ISSUER, true);
        (trusted,) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, at);
        assertFalse(trusted, "compromised key trusted");
    }

    /// @notice A compromised key (by its admin or by governance's emergency path) is distrusted for every time,
    ///         including times inside its original window.
    function testFuzz_compromiseTaintsEverything(
        uint256 fromSeed,
        uint256 untilSeed,
        uint256 compromiseSeed,
        bool byGovernance,
        uint64 at
    ) public {
        (, uint40 validUntil) = _addKey(ISSUER, fromSeed, untilSeed);
        // Compromise while the key is live (a key past its window can be marked too; covered above).
        vm.warp(bound(compromiseSeed, T0, validUntil - 1));
        if (byGovernance) {
            _govern(address(issuers), abi.encodeCall(IssuerRegistry.markIssuerKeyCompromised, (ISSUER)));
        } else {
            vm.prank(ADMIN);
            issuers.retireIssuerKey(AGENCY, ISSUER, true);
        }
        IssuerRegistry.IssuerKey memory key = issuers.issuerKey(ISSUER);
        assertTrue(key.compromised, "compromised flag");
        assertEq(key.validUntil, block.timestamp, "window not closed at compromise");
        (bool trusted, uint32 agency) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, at);
        assertFalse(trusted, "compromised key trusted");
        assertEq(agency, AGENCY, "compromised key lost its organisation");
    }

    /// @notice Rotation at time R: for every `at` up to the new key's end, at most one of the two keys is trusted,
    ///         the old one exactly before R and the new one exactly from R.
    function testFuzz_rotationHandsOverAtRotationTime(
        uint256 untilSeed,
        uint256 rotateSeed,
        uint256 newUntilSeed,
        uint8 pointSeed,
        int16 delta,
        uint64 randomAt
    ) public {
        (uint40 oldFrom, uint40 oldUntil) = _addKey(ISSUER, 0, untilSeed);
        uint40 rotatedAt = uint40(bound(rotateSeed, T0, oldUntil - 1));
        vm.warp(rotatedAt);
        uint40 newUntil = uint40(bound(newUntilSeed, uint256(rotatedAt) + 1, T0 + HORIZON));
        vm.prank(ADMIN);
        issuers.rotateIssuerKey(AGENCY, ISSUER, NEXT_ISSUER, newUntil);

        uint64 at = _probeTime(rotatedAt, newUntil, oldFrom, pointSeed, delta, randomAt);
        (bool oldTrusted,) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, at);
        (bool newTrusted,) = issuers.isTrustedIssuer(NEXT_ISSUER, CIVIL_ID_TYPE, at);
        assertTrue(oldTrusted == (at >= oldFrom && at < rotatedAt), "old key trust after rotation");
        assertTrue(newTrusted == (at >= rotatedAt && at < newUntil), "new key trust after rotation");
        assertFalse(oldTrusted && newTrusted, "both keys trusted at once");
    }

    /// @notice Trust also requires the organisation to be active now and the type to be granted now.
    function testFuzz_organisationStatusGatesTrust(uint256 untilSeed, uint64 atSeed, uint16 steps) public {
        (uint40 validFrom, uint40 validUntil) = _addKey(ISSUER, 0, untilSeed);
        uint64 at = uint64(bound(atSeed, validFrom, validUntil - 1));
        (bool trusted,) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, at);
        assertTrue(trusted, "in-window key of an active organisation not trusted");

        // Walk a fuzzed path through suspend/reinstate/disallow/allow, ending with removal.
        OrgStatus status = OrgStatus.Active;
        bool typeAllowed = true;
        for (uint256 i = 0; i < 6; ++i) {
            uint256 step = (steps >> (i * 2)) & 3; // 3: no change
            if (step == 0 && status == OrgStatus.Active) {
                _govern(address(issuers), abi.encodeCall(IssuerRegistry.suspend, (AGENCY)));
                status = OrgStatus.Suspended;
            } else if (step == 1 && status == OrgStatus.Suspended) {
                _govern(address(issuers), abi.encodeCall(IssuerRegistry.reinstate, (AGENCY)));
                status = OrgStatus.Active;
            } else if (step == 2) {
                typeAllowed = !typeAllowed;
                _govern(
                    address(issuers), abi.encodeCall(IssuerRegistry.setCredentialType, (AGENCY, CIVIL_ID_TYPE, typeAllowed))
                );
            }
            (trusted,) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, at);
            assertTrue(trusted == (status == OrgStatus.Active && typeAllowed), "trust ignores organisation state");
        }
        _govern(address(issuers), abi.encodeCall(IssuerRegistry.remove, (AGENCY)));
        if (!typeAllowed) {
            _govern(address(issuers), abi.encodeCall(IssuerRegistry.setCredentialType, (AGENCY, CIVIL_ID_TYPE, true)));
        }
        (trusted,) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, at);
        assertFalse(trusted, "key of a removed organisation trusted");
    }

    /// @notice Windows must be non-empty and must not start before the key's registration (0 = now): an empty
    ///         or inverted window and a backdated start are refused with the effective window.
    /// @param mode 0: raw values; 1: start within 3 s of now (backdated by up to 3 s, or later), raw end;
    ///        2: start within 3 s of now and end within 3 s of the start (empty/inverted windows); 3: start
    ///        anywhere before now (backdated), raw end.
    function testFuzz_invalidWindowRejected(
        uint40 rawFrom,
        uint40 rawUntil,
        uint8 mode,
        int8 fromDelta,
        int8 untilDelta,
        uint32 registerDelay
    ) public {
        uint256 nowTs = T0 + registerDelay % (HORIZON / 4);
        vm.warp(nowTs);
        uint40 validFrom = rawFrom;
        uint40 validUntil = rawUntil;
        mode %= 4;
        if (mode == 1 || mode == 2) validFrom = uint40(uint256(int256(nowTs) + int256(fromDelta) % 4));
        if (mode == 2) validUntil = uint40(uint256(int256(uint256(validFrom)) + int256(untilDelta) % 4));
        if (mode == 3) validFrom = uint40(bound(rawFrom, 1, nowTs - 1));

        uint40 effectiveFrom = validFrom == 0 ? uint40(nowTs) : validFrom;
        bool backdated = effectiveFrom < nowTs;
        bool valid = !backdated && effectiveFrom < validUntil;
        if (mode == 3) assertTrue(backdated && !valid, "backdated start not classed invalid");
        vm.prank(ADMIN);
        if (!valid) vm.expectRevert(abi.encodeWithSelector(InvalidWindow.selector, effectiveFrom, validUntil));
        issuers.addIssuerKey(AGENCY, ISSUER, validFrom, validUntil);
        IssuerRegistry.IssuerKey memory key = issuers.issuerKey(ISSUER);
        if (valid) {
            assertEq(key.validFrom, effectiveFrom, "stored validFrom");
            assertEq(key.validUntil, validUntil, "stored validUntil");
            assertEq(key.addedAt, nowTs, "stored addedAt");
        } else {
            assertEq(key.agencyCode, 0, "refused key stored");
        }
    }

    /// @notice A key backdated by even one second is refused, whatever its end; from exactly now it is accepted.
    function testFuzz_backdatedKeyRefused(uint32 registerDelay, uint256 backSeed, uint256 untilSeed) public {
        uint256 nowTs = T0 + registerDelay % (HORIZON / 4);
        vm.warp(nowTs);
        uint40 validFrom = uint40(nowTs - bound(backSeed, 1, nowTs - 1));
        uint40 validUntil = uint40(bound(untilSeed, nowTs + 1, T0 + HORIZON));
        vm.prank(ADMIN);
        vm.expectRevert(abi.encodeWithSelector(InvalidWindow.selector, validFrom, validUntil));
        issuers.addIssuerKey(AGENCY, ISSUER, validFrom, validUntil);
        (bool trusted,) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, validFrom);
        assertFalse(trusted, "refused backdated key trusted");

        vm.prank(ADMIN);
        issuers.addIssuerKey(AGENCY, ISSUER, uint40(nowTs), validUntil);
        (trusted,) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, uint64(nowTs - 1));
        assertFalse(trusted, "key registered now trusts the second before");
        (trusted,) = issuers.isTrustedIssuer(ISSUER, CIVIL_ID_TYPE, uint64(nowTs));
        assertTrue(trusted, "key registered now not trusted now");
    }

    // ------------------------------------------------------------------ agency codes

    /// @notice Only 7-digit agency codes (1000000..9999999) are accredited; through the governor, the refusal is
    ///         passed on inside ProposalCallFailed.
    function testFuzz_agencyCodeValidation(uint32 rawCode, uint8 mode, int8 delta, bool centralAgency) public {
        // Two thirds of the runs probe within 3 of an edge of the valid range, the rest use any uint32.
        uint32 code = rawCode;
        if (mode % 3 != 0) {
            int256 edge = mode % 3 == 1 ? int256(1_000_000) : int256(9_999_999);
            code = uint32(uint256(edge + int256(delta) % 4));
        }
        vm.assume(code != AGENCY);
        OrgKind kind = centralAgency ? OrgKind.CentralAgency : OrgKind.LocalGovernment;
        bytes32[] memory types = new bytes32[](0);
        bytes memory call = abi.encodeCall(IssuerRegistry.accredit, (code, kind, ADMIN, types));
        bool valid = code >= 1_000_000 && code <= 9_999_999;

        uint256 id = governor.propose(address(issuers), call, PROPOSAL_LIFETIME, "accredit");
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ProposalCallFailed.selector, id, abi.encodeWithSelector(InvalidAgencyCode.selector, code)
                )
            );
        }
        governor.execute(id);

        IssuerRegistry.Organisation memory org = issuers.organisation(code);
        if (valid) {
            assertTrue(org.status == OrgStatus.Active, "valid code not accredited");
            assertTrue(org.kind == kind, "kind");
            assertEq(org.admin, ADMIN, "admin");
            uint32[] memory codes = issuers.agencyCodes();
            assertEq(codes[codes.length - 1], code, "code not listed");
        } else {
            assertTrue(org.status == OrgStatus.None, "invalid code accredited");
            assertEq(issuers.agencyCodes().length, 1, "invalid code listed");
        }
    }

    /// @notice Organisation kinds other than CentralAgency/LocalGovernment are refused (None explicitly,
    ///         out-of-range values already by ABI decoding).
    function testFuzz_orgKindValidation(uint8 kind, uint32 codeSeed) public {
        uint32 code = uint32(bound(codeSeed, 1_000_000, 9_999_999));
        vm.assume(code != AGENCY);
        bytes32[] memory types = new bytes32[](0);
        bytes memory call = abi.encodeWithSelector(IssuerRegistry.accredit.selector, code, kind, ADMIN, types);
        vm.prank(address(governor));
        (bool ok, bytes memory ret) = address(issuers).call(call);
        assertTrue(ok == (kind == 1 || kind == 2), "kind validation");
        if (kind == 0) {
            assertEq(keccak256(ret), keccak256(abi.encodeWithSelector(InvalidOrgKind.selector, 0)), "None kind error");
        }
    }

    // ------------------------------------------------------------------ helpers

    /// @dev Adds `issuer` now with a fuzzed window: validFrom 0 (= now) or from now on (small seeds land within
    ///      seconds of now, the registration edge), validUntil after validFrom. Returns the stored window.
    function _addKey(address issuer, uint256 fromSeed, uint256 untilSeed)
        private
        returns (uint40 validFrom, uint40 validUntil)
    {
        validFrom = fromSeed == 0 ? 0 : uint40(bound(fromSeed, block.timestamp, T0 + HORIZON / 2));
        uint40 effectiveFrom = validFrom == 0 ? uint40(block.timestamp) : validFrom;
        validUntil = uint40(bound(untilSeed, uint256(effectiveFrom) + 1, T0 + HORIZON));
        vm.prank(ADMIN);
        issuers.addIssuerKey(AGENCY, issuer, validFrom, validUntil);
        validFrom = effectiveFrom;
        IssuerRegistry.IssuerKey memory key = issuers.issuerKey(issuer);
        assertEq(key.validFrom, validFrom, "stored validFrom");
        assertEq(key.validUntil, validUntil, "stored validUntil");
    }

    /// @dev A probe time: mostly within a few seconds of a window edge or of the key's registration, sometimes
    ///      anywhere.
    function _probeTime(
        uint40 validFrom,
        uint40 validUntil,
        uint40 registeredAt,
        uint8 pointSeed,
        int16 delta,
        uint64 randomAt
    ) private pure returns (uint64) {
        uint256 mode = pointSeed % 4;
        if (mode == 3) return randomAt;
        int256 edge = int256(uint256(mode == 0 ? validFrom : mode == 1 ? validUntil : registeredAt));
        int256 at = edge + int256(delta) % 4; // edge - 3 .. edge + 3
        return at < 0 ? 0 : uint64(uint256(at));
    }
}
