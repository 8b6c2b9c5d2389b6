import { expect } from "chai";
import fc from "fast-check";
import { ZeroAddress, ZeroHash, toBeHex, type ContractTransactionResponse } from "ethers";
import { CENTRAL_AGENCY, LOCAL_GOV, governed } from "../helpers/fixture.js";
import { useFixture, holderRef, jwtDigest, mined, registerMany, type Fixture } from "../helpers/ledger-test.js";
import {
  CredentialState,
  OperatorRole,
  OrgStatus,
  ReasonCode,
  makeCredentialId,
  type ReasonValue,
} from "../../../sdk/chain/codes.js";
import { CredentialStatusRegistry__factory } from "../../../sdk/chain/contracts.js";
import { packCredentialIds } from "../../../sdk/chain/batches.js";

const { Active, Locked, Revoked } = CredentialState;
/** The single status-change event of each target state (one event per transition). */
const STATUS_EVENT = { [Active]: "CredentialUnlocked", [Locked]: "CredentialLocked", [Revoked]: "CredentialRevoked" } as const;
const ALL_REASONS = Object.values(ReasonCode) as ReasonValue[];
/** Codes the contract must refuse whatever the action: unknown, beyond 5 bits, beyond 6 bits, max uint8. */
const OUT_OF_RANGE_REASONS = [10, 31, 32, 63, 64, 255];
const LOCK_OR_REVOKE: readonly number[] = [1, 2, 3, 4, 6, 7, 8];
const UNLOCK: readonly number[] = [8, 9];
/**
 * First storage slot of the `_statusWords` array (operators 0, _orgs 1, latestCredentialOf 2; issuerRegistry is
 * immutable): word `id >> 5` is at slot 3 + (id >> 5).
 */
const STATUS_WORDS_SLOT = 3n;
const MARKER_BIT = 0x80n;
/** Bit 7 of byte 31: all 32 sequences of the word are registered. */
const FULL_BIT = 1n << 255n;

const central = (sequence: number | bigint) => makeCredentialId(CENTRAL_AGENCY, BigInt(sequence));
const local = (sequence: number | bigint) => makeCredentialId(LOCAL_GOV, BigInt(sequence));

async function expectStatus(f: Fixture, id: bigint, state: CredentialState, reason: number, registered = true) {
  const s = await f.ledger.statusRegistry.statusOf(id);
  expect([s.registered, Number(s.state), Number(s.reason)], `status of ${id}`).to.deep.equal([registered, state, reason]);
}

/** Raw storage word holding the status byte of `id` (32 credentials per word). */
async function statusWord(f: Fixture, id: bigint): Promise<bigint> {
  return BigInt(await f.ethers.provider.getStorage(await f.ledger.statusRegistry.getAddress(), STATUS_WORDS_SLOT + (id >> 5n)));
}

function statusByte(state: CredentialState, reason: number, marker = false): bigint {
  return BigInt(state) | (BigInt(reason) << 2n) | (marker ? MARKER_BIT : 0n);
}

describe("CredentialStatusRegistry", function () {
  const fx = useFixture();
  const reg = () => fx.f.ledger.statusRegistry;
  const a = () => fx.f.actors;

  describe("deployment", function () {
    it("is bound to the consortium's issuer registry and exposes MAX_BATCH", async function () {
      expect(await reg().issuerRegistry()).to.equal(await fx.f.ledger.issuerRegistry.getAddress());
      expect(await reg().MAX_BATCH()).to.equal(2000n);
    });

    it("refuses a zero issuer registry", async function () {
      const factory = new CredentialStatusRegistry__factory(a().deployer);
      await expect(factory.deploy(ZeroAddress)).to.be.revertedWithCustomError(factory, "ZeroAddress");
    });
  });

  describe("setOperator", function () {
    it("lets the organisation admin set, change and clear an operator", async function () {
      const op = a().outsider.address;
      const byAdmin = reg().connect(a().orgAdmin);
      await expect(byAdmin.setOperator(op, CENTRAL_AGENCY, OperatorRole.Registrar))
        .to.emit(reg(), "OperatorSet").withArgs(op, CENTRAL_AGENCY, OperatorRole.Registrar);
      expect(await reg().operators(op)).to.deep.equal([BigInt(CENTRAL_AGENCY), BigInt(OperatorRole.Registrar)]);

      await expect(byAdmin.setOperator(op, CENTRAL_AGENCY, OperatorRole.LockOnly))
        .to.emit(reg(), "OperatorSet").withArgs(op, CENTRAL_AGENCY, OperatorRole.LockOnly);
      await expect(reg().connect(a().outsider).register(holderRef(1), jwtDigest(1)))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(op, OperatorRole.LockOnly);

      await expect(byAdmin.setOperator(op, CENTRAL_AGENCY, OperatorRole.None))
        .to.emit(reg(), "OperatorSet").withArgs(op, CENTRAL_AGENCY, OperatorRole.None);
      expect(await reg().operators(op)).to.deep.equal([0n, 0n]);
    });

    it("a cleared operator can no longer register or change statuses", async function () {
      await mined(reg().connect(a().registrar).register(holderRef(1), jwtDigest(1)));
      await mined(reg().connect(a().orgAdmin).setOperator(a().registrar.address, CENTRAL_AGENCY, OperatorRole.None));
      await mined(reg().connect(a().orgAdmin).setOperator(a().helpDesk.address, CENTRAL_AGENCY, OperatorRole.None));
      await expect(reg().connect(a().registrar).register(holderRef(2), jwtDigest(2)))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().registrar.address, OperatorRole.None);
      await expect(reg().connect(a().registrar).revoke(central(0), ReasonCode.LEFT_SERVICE))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().registrar.address, OperatorRole.None);
      await expect(reg().connect(a().helpDesk).lock(central(0), ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().helpDesk.address, OperatorRole.None);
    });

    it("refuses a zero operator and agency code 0", async function () {
      await expect(reg().connect(a().orgAdmin).setOperator(ZeroAddress, CENTRAL_AGENCY, OperatorRole.Registrar))
        .to.be.revertedWithCustomError(reg(), "ZeroAddress");
      await expect(reg().connect(a().orgAdmin).setOperator(a().outsider.address, 0, OperatorRole.Registrar))
        .to.be.revertedWithCustomError(reg(), "InvalidAgencyCode").withArgs(0);
    });

    it("refuses anyone but that organisation's admin", async function () {
      const op = a().outsider.address;
      for (const caller of [a().outsider, a().localAdmin, a().registrar, a().members[0]!]) {
        await expect(reg().connect(caller).setOperator(op, CENTRAL_AGENCY, OperatorRole.Registrar))
          .to.be.revertedWithCustomError(reg(), "NotOrgAdmin").withArgs(CENTRAL_AGENCY, caller.address);
      }
      // An unknown organisation has no admin at all.
      await expect(reg().connect(a().orgAdmin).setOperator(op, 2_000_000, OperatorRole.Registrar))
        .to.be.revertedWithCustomError(reg(), "NotOrgAdmin").withArgs(2_000_000, a().orgAdmin.address);
    });

    it("an operator of another organisation can be neither taken over nor cleared by a second organisation", async function () {
      const op = a().registrar.address; // Registrar of CENTRAL_AGENCY
      for (const role of [OperatorRole.Registrar, OperatorRole.LockOnly, OperatorRole.None]) {
        await expect(reg().connect(a().localAdmin).setOperator(op, LOCAL_GOV, role))
          .to.be.revertedWithCustomError(reg(), "OperatorOfOtherOrganisation").withArgs(op, CENTRAL_AGENCY);
      }
      // Once its own organisation cleared it, another organisation may take it on.
      await mined(reg().connect(a().orgAdmin).setOperator(op, CENTRAL_AGENCY, OperatorRole.None));
      await expect(reg().connect(a().localAdmin).setOperator(op, LOCAL_GOV, OperatorRole.Registrar))
        .to.emit(reg(), "OperatorSet").withArgs(op, LOCAL_GOV, OperatorRole.Registrar);
      expect(await reg().connect(a().registrar).register.staticCall(holderRef(1), jwtDigest(1))).to.equal(local(0));
    });

    it("follows the admin recorded in the issuer registry", async function () {
      const issuers = fx.f.ledger.issuerRegistry;
      await mined(issuers.connect(a().orgAdmin).transferOrganisationAdmin(CENTRAL_AGENCY, a().outsider.address));
      await expect(reg().connect(a().orgAdmin).setOperator(a().members[0]!.address, CENTRAL_AGENCY, OperatorRole.LockOnly))
        .to.be.revertedWithCustomError(reg(), "NotOrgAdmin").withArgs(CENTRAL_AGENCY, a().orgAdmin.address);
      await expect(reg().connect(a().outsider).setOperator(a().members[0]!.address, CENTRAL_AGENCY, OperatorRole.LockOnly))
        .to.emit(reg(), "OperatorSet").withArgs(a().members[0]!.address, CENTRAL_AGENCY, OperatorRole.LockOnly);
    });
  });

  describe("register", function () {
    it("registers an Active credential with the next id of the caller's organisation", async function () {
      const r = reg().connect(a().registrar);
      expect(await r.register.staticCall(holderRef(1), jwtDigest(1))).to.equal(central(0));
      await expect(r.register(holderRef(1), jwtDigest(1)))
        .to.emit(reg(), "CredentialRegistered").withArgs(central(0), holderRef(1), jwtDigest(1), 0);
      await expect(r.register(holderRef(2), jwtDigest(2)))
        .to.emit(reg(), "CredentialRegistered").withArgs(central(1), holderRef(2), jwtDigest(2), 0);
      expect(await reg().nextSequence(CENTRAL_AGENCY)).to.equal(2n);
      expect(await reg().nextSequence(LOCAL_GOV)).to.equal(0n);
      expect(await reg().latestCredentialOf(holderRef(1))).to.equal(central(0));
      await expectStatus(fx.f, central(0), Active, ReasonCode.NONE);
      expect(await reg().isActive(central(1))).to.equal(true);
      // Each organisation has its own id range.
      await expect(reg().connect(a().localRegistrar).register(holderRef(3), jwtDigest(3)))
        .to.emit(reg(), "CredentialRegistered").withArgs(local(0), holderRef(3), jwtDigest(3), 0);
    });

    it("refuses callers that are not Registrar", async function () {
      await expect(reg().connect(a().outsider).register(holderRef(1), jwtDigest(1)))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().outsider.address, OperatorRole.None);
      await expect(reg().connect(a().helpDesk).register(holderRef(1), jwtDigest(1)))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().helpDesk.address, OperatorRole.LockOnly);
      await expect(reg().connect(a().orgAdmin).register(holderRef(1), jwtDigest(1)))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().orgAdmin.address, OperatorRole.None);
    });

    it("refuses a zero holder reference", async function () {
      await expect(reg().connect(a().registrar).register(ZeroHash, jwtDigest(1)))
        .to.be.revertedWithCustomError(reg(), "InvalidHolderRef");
    });

    for (const [from, setup] of [
      ["Active", async (_f: Fixture) => {}],
      ["Locked", async (f: Fixture) => mined(f.ledger.statusRegistry.connect(f.actors.helpDesk).lock(central(0), ReasonCode.LOST_DEVICE))],
    ] as const) {
      it(`supersedes the holder's ${from} credential of the same organisation (one device)`, async function () {
        const r = reg().connect(a().registrar);
        await mined(r.register(holderRef(1), jwtDigest(1)));
        await setup(fx.f);
        await expect(r.register(holderRef(1), jwtDigest(2)))
          .to.emit(reg(), "CredentialRegistered").withArgs(central(1), holderRef(1), jwtDigest(2), central(0));
        await expectStatus(fx.f, central(0), Revoked, ReasonCode.SUPERSEDED_BY_REISSUE);
        await expectStatus(fx.f, central(1), Active, ReasonCode.NONE);
        expect(await reg().latestCredentialOf(holderRef(1))).to.equal(central(1));
      });
    }

    it("supersedes nothing when the previous credential was already revoked, keeping its reason", async function () {
      const r = reg().connect(a().registrar);
      await mined(r.register(holderRef(1), jwtDigest(1)));
      await mined(r.revoke(central(0), ReasonCode.DEVICE_REPLACED));
      await expect(r.register(holderRef(1), jwtDigest(2)))
        .to.emit(reg(), "CredentialRegistered").withArgs(central(1), holderRef(1), jwtDigest(2), 0);
      await expectStatus(fx.f, central(0), Revoked, ReasonCode.DEVICE_REPLACED);
    });

    it("refuses a holder with a live credential of another organisation, until its issuer revokes it", async function () {
      await mined(reg().connect(a().registrar).register(holderRef(1), jwtDigest(1)));
      const byLocal = reg().connect(a().localRegistrar);
      await expect(byLocal.register(holderRef(1), jwtDigest(2)))
        .to.be.revertedWithCustomError(reg(), "HolderActiveElsewhere").withArgs(holderRef(1), central(0));
      await mined(reg().connect(a().helpDesk).lock(central(0), ReasonCode.LOST_DEVICE));
      await expect(byLocal.register(holderRef(1), jwtDigest(2)))
        .to.be.revertedWithCustomError(reg(), "HolderActiveElsewhere").withArgs(holderRef(1), central(0));
      await expect(byLocal.registerBatch([holderRef(2), holderRef(1)], [jwtDigest(3), jwtDigest(2)]))
        .to.be.revertedWithCustomError(reg(), "HolderActiveElsewhere").withArgs(holderRef(1), central(0));

      // The transfer path: the old organisation revokes, then the new one registers.
      await mined(reg().connect(a().registrar).revoke(central(0), ReasonCode.LEFT_SERVICE));
      await expect(byLocal.register(holderRef(1), jwtDigest(2)))
        .to.emit(reg(), "CredentialRegistered").withArgs(local(0), holderRef(1), jwtDigest(2), 0);
      expect(await reg().latestCredentialOf(holderRef(1))).to.equal(local(0));
      await expectStatus(fx.f, central(0), Revoked, ReasonCode.LEFT_SERVICE);
      // ...and the first organisation now meets the same refusal.
      await expect(reg().connect(a().registrar).register(holderRef(1), jwtDigest(4)))
        .to.be.revertedWithCustomError(reg(), "HolderActiveElsewhere").withArgs(holderRef(1), local(0));
    });

    it("a suspended or removed organisation registers nothing; a reinstated one registers again", async function () {
      const issuers = fx.f.ledger.issuerRegistry;
      const target = await issuers.getAddress();
      const calls = {
        suspend: issuers.interface.encodeFunctionData("suspend", [CENTRAL_AGENCY]),
        reinstate: issuers.interface.encodeFunctionData("reinstate", [CENTRAL_AGENCY]),
        remove: issuers.interface.encodeFunctionData("remove", [CENTRAL_AGENCY]),
      };
      const govern = async (fn: keyof typeof calls) => mined(governed(fx.f.ledger, a().members, target, calls[fn]));
      const r = reg().connect(a().registrar);

      await govern("suspend");
      await expect(r.register(holderRef(1), jwtDigest(1)))
        .to.be.revertedWithCustomError(reg(), "InvalidOrgStatus").withArgs(CENTRAL_AGENCY, OrgStatus.Suspended);
      await expect(r.registerBatch([holderRef(1)], [jwtDigest(1)]))
        .to.be.revertedWithCustomError(reg(), "InvalidOrgStatus").withArgs(CENTRAL_AGENCY, OrgStatus.Suspended);

      await govern("reinstate");
      await expect(r.register(holderRef(1), jwtDigest(1))).to.emit(reg(), "CredentialRegistered");

      await govern("remove");
      await expect(r.register(holderRef(2), jwtDigest(2)))
        .to.be.revertedWithCustomError(reg(), "InvalidOrgStatus").withArgs(CENTRAL_AGENCY, OrgStatus.Removed);
      // Status changes stay possible: the removed organisation must still be able to revoke what it issued.
      await expect(r.revoke(central(0), ReasonCode.ADMINISTRATIVE))
        .to.emit(reg(), "CredentialRevoked").withArgs(central(0), ReasonCode.ADMINISTRATIVE, a().registrar.address);
    });

    it("a suspended organisation's help desk can still lock (lost phones are reported at any time)", async function () {
      await mined(reg().connect(a().registrar).register(holderRef(1), jwtDigest(1)));
      const issuers = fx.f.ledger.issuerRegistry;
      await mined(governed(fx.f.ledger, a().members, await issuers.getAddress(),
        issuers.interface.encodeFunctionData("suspend", [CENTRAL_AGENCY])));
      await expect(reg().connect(a().helpDesk).lock(central(0), ReasonCode.LOST_DEVICE))
        .to.emit(reg(), "CredentialLocked").withArgs(central(0), ReasonCode.LOST_DEVICE, a().helpDesk.address);
    });
  });

  describe("registerBatch", function () {
    it("registers consecutive ids across a status-word boundary, all Active", async function () {
      const r = reg().connect(a().registrar);
      await mined(r.register(holderRef("first"), jwtDigest("first"))); // sequence 0
      const refs = Array.from({ length: 40 }, (_, i) => holderRef(i));
      const digests = Array.from({ length: 40 }, (_, i) => jwtDigest(i));
      expect(await r.registerBatch.staticCall(refs, digests)).to.equal(central(1));
      const tx = r.registerBatch(refs, digests);
      for (const i of [0, 30, 31, 39]) {
        await expect(tx).to.emit(reg(), "CredentialRegistered").withArgs(central(1 + i), refs[i], digests[i], 0);
      }
      expect(await reg().nextSequence(CENTRAL_AGENCY)).to.equal(41n);
      const ids = Array.from({ length: 41 }, (_, i) => central(i));
      const [registered, states, reasons] = await reg().statusesOf(ids);
      expect(registered).to.deep.equal(ids.map(() => true));
      expect(states.map(Number)).to.deep.equal(ids.map(() => Active));
      expect(reasons.map(Number)).to.deep.equal(ids.map(() => 0));
      expect(await reg().isActive(central(41))).to.equal(false);
    });

    it("a holder listed twice: the later entry supersedes the earlier one", async function () {
      const r = reg().connect(a().registrar);
      await expect(r.registerBatch([holderRef(1), holderRef(2), holderRef(1)], [jwtDigest(1), jwtDigest(2), jwtDigest(3)]))
        .to.emit(reg(), "CredentialRegistered").withArgs(central(2), holderRef(1), jwtDigest(3), central(0));
      await expectStatus(fx.f, central(0), Revoked, ReasonCode.SUPERSEDED_BY_REISSUE);
      await expectStatus(fx.f, central(1), Active, ReasonCode.NONE);
      await expectStatus(fx.f, central(2), Active, ReasonCode.NONE);
    });

    it("refuses empty, mismatched and oversized batches", async function () {
      const r = reg().connect(a().registrar);
      await expect(r.registerBatch([], [])).to.be.revertedWithCustomError(reg(), "InvalidBatch").withArgs(0);
      await expect(r.registerBatch([holderRef(1), holderRef(2)], [jwtDigest(1)]))
        .to.be.revertedWithCustomError(reg(), "InvalidBatch").withArgs(2);
      await expect(r.registerBatch([holderRef(1)], [jwtDigest(1), jwtDigest(2)]))
        .to.be.revertedWithCustomError(reg(), "InvalidBatch").withArgs(1);
      const big = Array.from({ length: 2001 }, (_, i) => holderRef(i));
      await expect(r.registerBatch(big, big)).to.be.revertedWithCustomError(reg(), "InvalidBatch").withArgs(2001);
    });

    it("is all-or-nothing", async function () {
      const r = reg().connect(a().registrar);
      await expect(r.registerBatch([holderRef(1), holderRef(2), ZeroHash], [jwtDigest(1), jwtDigest(2), jwtDigest(3)]))
        .to.be.revertedWithCustomError(reg(), "InvalidHolderRef");
      expect(await reg().nextSequence(CENTRAL_AGENCY)).to.equal(0n);
      expect(await reg().latestCredentialOf(holderRef(1))).to.equal(0n);
      await expectStatus(fx.f, central(0), Active, 0, false);
    });

    it("refuses callers that are not Registrar", async function () {
      await expect(reg().connect(a().helpDesk).registerBatch([holderRef(1)], [jwtDigest(1)]))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().helpDesk.address, OperatorRole.LockOnly);
      await expect(reg().connect(a().outsider).registerBatch([holderRef(1)], [jwtDigest(1)]))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().outsider.address, OperatorRole.None);
    });
  });

  describe("lock / unlock / revoke", function () {
    beforeEach(async function () {
      await registerMany(reg().connect(a().registrar), 3, "c"); // central(0..2)
      await mined(reg().connect(a().localRegistrar).register(holderRef("local"), jwtDigest("local"))); // local(0)
    });

    it("locks (LockOnly or Registrar), unlocks and revokes with events and stored reasons", async function () {
      await expect(reg().connect(a().helpDesk).lock(central(0), ReasonCode.LOST_DEVICE))
        .to.emit(reg(), "CredentialLocked").withArgs(central(0), ReasonCode.LOST_DEVICE, a().helpDesk.address);
      await expectStatus(fx.f, central(0), Locked, ReasonCode.LOST_DEVICE);
      expect(await reg().isActive(central(0))).to.equal(false);

      await expect(reg().connect(a().registrar).lock(central(1), ReasonCode.PIN_LOCKOUT))
        .to.emit(reg(), "CredentialLocked").withArgs(central(1), ReasonCode.PIN_LOCKOUT, a().registrar.address);

      await expect(reg().connect(a().registrar).unlock(central(0), ReasonCode.FOUND_DEVICE))
        .to.emit(reg(), "CredentialUnlocked").withArgs(central(0), ReasonCode.FOUND_DEVICE, a().registrar.address);
      await expectStatus(fx.f, central(0), Active, ReasonCode.FOUND_DEVICE);
      expect(await reg().isActive(central(0))).to.equal(true);

      await expect(reg().connect(a().registrar).revoke(central(1), ReasonCode.KEY_COMPROMISE))
        .to.emit(reg(), "CredentialRevoked").withArgs(central(1), ReasonCode.KEY_COMPROMISE, a().registrar.address);
      await expectStatus(fx.f, central(1), Revoked, ReasonCode.KEY_COMPROMISE);
      await expectStatus(fx.f, central(2), Active, ReasonCode.NONE);
    });

    it("enforces the role of each action", async function () {
      const h = reg().connect(a().helpDesk);
      await mined(h.lock(central(0), ReasonCode.LOST_DEVICE));
      await expect(h.unlock(central(0), ReasonCode.FOUND_DEVICE))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().helpDesk.address, OperatorRole.LockOnly);
      await expect(h.revoke(central(1), ReasonCode.LEFT_SERVICE))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().helpDesk.address, OperatorRole.LockOnly);
      const o = reg().connect(a().outsider);
      for (const call of [
        () => o.lock(central(1), ReasonCode.LOST_DEVICE),
        () => o.unlock(central(0), ReasonCode.FOUND_DEVICE),
        () => o.revoke(central(1), ReasonCode.LEFT_SERVICE),
      ]) {
        await expect(call()).to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().outsider.address, OperatorRole.None);
      }
      // The organisation admin is not an operator unless it made itself one.
      await expect(reg().connect(a().orgAdmin).lock(central(1), ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().orgAdmin.address, OperatorRole.None);
    });

    it("touches only its own organisation's credentials", async function () {
      await expect(reg().connect(a().helpDesk).lock(local(0), ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "WrongOrganisation").withArgs(local(0), CENTRAL_AGENCY);
      await expect(reg().connect(a().registrar).revoke(local(0), ReasonCode.LEFT_SERVICE))
        .to.be.revertedWithCustomError(reg(), "WrongOrganisation").withArgs(local(0), CENTRAL_AGENCY);
      await expect(reg().connect(a().localRegistrar).lock(central(0), ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "WrongOrganisation").withArgs(central(0), LOCAL_GOV);
      // An id of no organisation at all.
      await expect(reg().connect(a().registrar).lock(5n, ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "WrongOrganisation").withArgs(5n, CENTRAL_AGENCY);
    });

    it("refuses ids not yet registered, even inside an already-used status word", async function () {
      await expect(reg().connect(a().helpDesk).lock(central(3), ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "UnknownCredential").withArgs(central(3));
      await expect(reg().connect(a().registrar).unlock(central(3), ReasonCode.FOUND_DEVICE))
        .to.be.revertedWithCustomError(reg(), "UnknownCredential").withArgs(central(3));
      const farAway = central((1n << 40n) - 1n); // the largest sequence
      await expect(reg().connect(a().registrar).revoke(farAway, ReasonCode.LEFT_SERVICE))
        .to.be.revertedWithCustomError(reg(), "UnknownCredential").withArgs(farAway);
    });

    describe("state machine", function () {
      type Action = "lock" | "unlock" | "revoke";
      const reasonFor: Record<Action, number> = { lock: ReasonCode.LOST_DEVICE, unlock: ReasonCode.FOUND_DEVICE, revoke: ReasonCode.LEFT_SERVICE };
      const target: Record<Action, CredentialState> = { lock: Locked, unlock: Active, revoke: Revoked };
      // from-state -> action -> allowed?
      const table: [CredentialState, Action, boolean][] = [
        [Active, "lock", true], [Active, "unlock", false], [Active, "revoke", true],
        [Locked, "lock", false], [Locked, "unlock", true], [Locked, "revoke", true],
        [Revoked, "lock", false], [Revoked, "unlock", false], [Revoked, "revoke", false],
      ];
      for (const [from, action, allowed] of table) {
        it(`${CredentialState[from]} --${action}--> ${allowed ? CredentialState[target[action]] : "refused"}`, async function () {
          const r = reg().connect(a().registrar);
          if (from === Locked) await mined(r.lock(central(1), ReasonCode.PIN_LOCKOUT));
          if (from === Revoked) await mined(r.revoke(central(1), ReasonCode.APP_DELETED));
          const fromReason = from === Locked ? ReasonCode.PIN_LOCKOUT : from === Revoked ? ReasonCode.APP_DELETED : 0;
          const tx = r[action](central(1), reasonFor[action]);
          if (allowed) {
            await expect(tx).to.emit(reg(), STATUS_EVENT[target[action]])
              .withArgs(central(1), reasonFor[action], a().registrar.address);
            await expectStatus(fx.f, central(1), target[action], reasonFor[action]);
          } else {
            await expect(tx).to.be.revertedWithCustomError(reg(), "InvalidTransition").withArgs(central(1), from, target[action]);
            await expectStatus(fx.f, central(1), from, fromReason);
          }
          // Neighbours in the same status word never move.
          await expectStatus(fx.f, central(0), Active, 0);
          await expectStatus(fx.f, central(2), Active, 0);
        });
      }

      it("Active -> Locked -> Active -> Locked -> Revoked, then final", async function () {
        const r = reg().connect(a().registrar);
        await mined(r.lock(central(0), ReasonCode.LOST_DEVICE));
        await mined(r.unlock(central(0), ReasonCode.ADMINISTRATIVE));
        await expectStatus(fx.f, central(0), Active, ReasonCode.ADMINISTRATIVE);
        await mined(r.lock(central(0), ReasonCode.PIN_LOCKOUT));
        await mined(r.revoke(central(0), ReasonCode.LEFT_SERVICE));
        await expectStatus(fx.f, central(0), Revoked, ReasonCode.LEFT_SERVICE);
        for (const action of ["lock", "unlock", "revoke"] as const) {
          await expect(r[action](central(0), reasonFor[action]))
            .to.be.revertedWithCustomError(reg(), "InvalidTransition").withArgs(central(0), Revoked, target[action]);
        }
      });
    });

    describe("reason codes", function () {
      const cases: [string, readonly number[], (f: Fixture, reason: number) => Promise<ContractTransactionResponse>][] = [
        ["lock", LOCK_OR_REVOKE, (f, r) => f.ledger.statusRegistry.connect(f.actors.helpDesk).lock(central(0), r)],
        ["revoke", LOCK_OR_REVOKE, (f, r) => f.ledger.statusRegistry.connect(f.actors.registrar).revoke(central(0), r)],
        ["unlock", UNLOCK, (f, r) => f.ledger.statusRegistry.connect(f.actors.registrar).unlock(central(0), r)],
        ["lockBatch", LOCK_OR_REVOKE, (f, r) => f.ledger.statusRegistry.connect(f.actors.helpDesk).lockBatch([central(0)], r)],
        ["revokeBatch", LOCK_OR_REVOKE, (f, r) => f.ledger.statusRegistry.connect(f.actors.registrar).revokeBatch([central(0)], r)],
        ["unlockBatch", UNLOCK, (f, r) => f.ledger.statusRegistry.connect(f.actors.registrar).unlockBatch([central(0)], r)],
      ];
      for (const [name, allowed, call] of cases) {
        it(`${name} accepts exactly ${allowed.join(", ")}`, async function () {
          if (name.startsWith("unlock")) await mined(reg().connect(a().helpDesk).lock(central(0), ReasonCode.LOST_DEVICE));
          const snapshot = await fx.f.networkHelpers.takeSnapshot();
          for (const reason of [...ALL_REASONS, ...OUT_OF_RANGE_REASONS]) {
            if (allowed.includes(reason)) {
              await mined(call(fx.f, reason));
              expect(Number((await reg().statusOf(central(0))).reason), `reason ${reason}`).to.equal(reason);
              await snapshot.restore();
            } else {
              await expect(call(fx.f, reason), `reason ${reason}`).to.be.revertedWithCustomError(reg(), "InvalidReason").withArgs(reason);
            }
          }
        });
      }
    });
  });

  describe("batch status changes", function () {
    beforeEach(async function () {
      await registerMany(reg().connect(a().registrar), 70, "b"); // central(0..69): words 0, 1 and 2 of the organisation
      await mined(reg().connect(a().localRegistrar).register(holderRef("local"), jwtDigest("local")));
    });

    it("lockBatch, unlockBatch and revokeBatch change every listed credential and emit one event", async function () {
      const ids = [central(3), central(31), central(32), central(33), central(64)];
      await expect(reg().connect(a().helpDesk).lockBatch(ids, ReasonCode.LOST_DEVICE))
        .to.emit(reg(), "CredentialsStatusChanged").withArgs(packCredentialIds(ids), Locked, ReasonCode.LOST_DEVICE, a().helpDesk.address);
      for (const id of ids) await expectStatus(fx.f, id, Locked, ReasonCode.LOST_DEVICE);
      for (const id of [central(2), central(4), central(30), central(34), central(63), central(65)]) {
        await expectStatus(fx.f, id, Active, 0);
      }
      const unlockIds = [central(31), central(3)];
      await expect(reg().connect(a().registrar).unlockBatch(unlockIds, ReasonCode.FOUND_DEVICE))
        .to.emit(reg(), "CredentialsStatusChanged").withArgs(packCredentialIds(unlockIds), Active, ReasonCode.FOUND_DEVICE, a().registrar.address);
      await expectStatus(fx.f, central(31), Active, ReasonCode.FOUND_DEVICE);
      // Revoke a mix of Active and Locked credentials.
      const revokeIds = [central(31), central(32), central(0)];
      await expect(reg().connect(a().registrar).revokeBatch(revokeIds, ReasonCode.LEFT_SERVICE))
        .to.emit(reg(), "CredentialsStatusChanged").withArgs(packCredentialIds(revokeIds), Revoked, ReasonCode.LEFT_SERVICE, a().registrar.address);
      for (const id of revokeIds) await expectStatus(fx.f, id, Revoked, ReasonCode.LEFT_SERVICE);
      await expectStatus(fx.f, central(33), Locked, ReasonCode.LOST_DEVICE);
    });

    it("unsorted ids that revisit status words are all applied", async function () {
      const ids = [central(0), central(40), central(1), central(65), central(41), central(2), central(66)];
      await mined(reg().connect(a().helpDesk).lockBatch(ids, ReasonCode.PIN_LOCKOUT));
      const all = Array.from({ length: 70 }, (_, i) => central(i));
      const [, states] = await reg().statusesOf(all);
      const locked = new Set(ids);
      expect(states.map(Number)).to.deep.equal(all.map((id) => (locked.has(id) ? Locked : Active)));
    });

    it("refuses duplicates (the second change of the same id is an invalid transition), atomically", async function () {
      await expect(reg().connect(a().helpDesk).lockBatch([central(5), central(6), central(5)], ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "InvalidTransition").withArgs(central(5), Locked, Locked);
      await expect(reg().connect(a().registrar).revokeBatch([central(40), central(5), central(40)], ReasonCode.LEFT_SERVICE))
        .to.be.revertedWithCustomError(reg(), "InvalidTransition").withArgs(central(40), Revoked, Revoked);
      for (const id of [central(5), central(6), central(40)]) await expectStatus(fx.f, id, Active, 0);
    });

    it("refuses a batch mixing organisations, atomically", async function () {
      await expect(reg().connect(a().helpDesk).lockBatch([central(1), local(0), central(2)], ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "WrongOrganisation").withArgs(local(0), CENTRAL_AGENCY);
      await expectStatus(fx.f, central(1), Active, 0);
    });

    it("refuses a batch with an unknown id or a forbidden transition, atomically", async function () {
      await expect(reg().connect(a().helpDesk).lockBatch([central(1), central(2), central(70)], ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "UnknownCredential").withArgs(central(70));
      await mined(reg().connect(a().registrar).revoke(central(3), ReasonCode.LEFT_SERVICE));
      await expect(reg().connect(a().helpDesk).lockBatch([central(1), central(3)], ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "InvalidTransition").withArgs(central(3), Revoked, Locked);
      await expect(reg().connect(a().registrar).unlockBatch([central(1)], ReasonCode.FOUND_DEVICE))
        .to.be.revertedWithCustomError(reg(), "InvalidTransition").withArgs(central(1), Active, Active);
      await expectStatus(fx.f, central(1), Active, 0);
      await expectStatus(fx.f, central(2), Active, 0);
    });

    it("refuses empty and oversized batches before anything else", async function () {
      for (const fn of ["lockBatch", "unlockBatch", "revokeBatch"] as const) {
        // Even an outsider gets InvalidBatch first: the length check costs nothing.
        await expect(reg().connect(a().outsider)[fn]([], ReasonCode.ADMINISTRATIVE))
          .to.be.revertedWithCustomError(reg(), "InvalidBatch").withArgs(0);
        const oversized = Array.from({ length: 2001 }, (_, i) => central(i));
        await expect(reg().connect(a().registrar)[fn](oversized, ReasonCode.ADMINISTRATIVE))
          .to.be.revertedWithCustomError(reg(), "InvalidBatch").withArgs(2001);
      }
      await expect(reg().statusesOf(Array.from({ length: 2001 }, (_, i) => central(i))))
        .to.be.revertedWithCustomError(reg(), "InvalidBatch").withArgs(2001);
    });

    it("enforces roles on batches", async function () {
      await expect(reg().connect(a().helpDesk).unlockBatch([central(1)], ReasonCode.FOUND_DEVICE))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().helpDesk.address, OperatorRole.LockOnly);
      await expect(reg().connect(a().helpDesk).revokeBatch([central(1)], ReasonCode.LEFT_SERVICE))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().helpDesk.address, OperatorRole.LockOnly);
      await expect(reg().connect(a().outsider).lockBatch([central(1)], ReasonCode.LOST_DEVICE))
        .to.be.revertedWithCustomError(reg(), "NotAuthorised").withArgs(a().outsider.address, OperatorRole.None);
    });

    it("accepts exactly MAX_BATCH ids", async function () {
      await registerMany(reg().connect(a().registrar), 2000 - 70, "max");
      const ids = Array.from({ length: 2000 }, (_, i) => central(i));
      await mined(reg().connect(a().helpDesk).lockBatch(ids, ReasonCode.ADMINISTRATIVE));
      const [, states] = await reg().statusesOf(ids);
      expect(states.every((s) => Number(s) === Locked)).to.equal(true);
    });
  });

  describe("status views", function () {
    it("an unregistered id is never active, even when its status bits read Active in a primed word", async function () {
      await mined(reg().connect(a().registrar).register(holderRef(1), jwtDigest(1)));
      expect(await statusWord(fx.f, central(1))).to.equal(MARKER_BIT); // same word as central(0), primed
      await expectStatus(fx.f, central(1), Active, 0, false);
      expect(await reg().isActive(central(1))).to.equal(false);
      expect(await reg().isActive(local(0))).to.equal(false);
      expect(await reg().isActive(0n)).to.equal(false);
      const [registered] = await reg().statusesOf([central(0), central(1), 0n]);
      expect(registered).to.deep.equal([true, false, false]);
      const empty = await reg().statusesOf([]);
      expect([...empty[0], ...empty[1], ...empty[2]]).to.deep.equal([]);
    });
  });

  describe("statusWords (snapshot reads)", function () {
    it("returns the organisation's packed words and registered count, matching statusOf byte for byte", async function () {
      await registerMany(reg().connect(a().registrar), 40, "sw"); // central(0..39): words 0 and 1
      await mined(reg().connect(a().helpDesk).lock(central(3), ReasonCode.LOST_DEVICE));
      await mined(reg().connect(a().registrar).revoke(central(33), ReasonCode.LEFT_SERVICE));
      const [count, words] = await reg().statusWords(CENTRAL_AGENCY, 0, 3);
      expect(count).to.equal(40n);
      expect(words).to.have.length(3);
      expect(words[0]).to.equal(await statusWord(fx.f, central(0)));
      expect(words[1]).to.equal(await statusWord(fx.f, central(32)));
      expect(words[2]).to.equal(0n); // nothing registered there yet
      for (const [id, state, reason] of [[3, Locked, ReasonCode.LOST_DEVICE], [33, Revoked, ReasonCode.LEFT_SERVICE], [4, Active, 0]] as const) {
        const byte = (words[id >> 5]! >> BigInt((id & 31) * 8)) & 0x7fn;
        expect(byte, `credential ${id}`).to.equal(statusByte(state, reason));
      }
      const [, fromSecond] = await reg().statusWords(CENTRAL_AGENCY, 1, 1);
      expect(fromSecond).to.deep.equal([words[1]]);
      const [otherCount, otherWords] = await reg().statusWords(LOCAL_GOV, 0, 1);
      expect([otherCount, otherWords]).to.deep.equal([0n, [0n]]);
    });

    it("refuses pages above MAX_STATUS_WORDS_PAGE and word indexes beyond the sequence space", async function () {
      const max = await reg().MAX_STATUS_WORDS_PAGE();
      expect((await reg().statusWords(CENTRAL_AGENCY, 0, max))[1]).to.have.length(Number(max));
      await expect(reg().statusWords(CENTRAL_AGENCY, 0, max + 1n))
        .to.be.revertedWithCustomError(reg(), "InvalidBatch").withArgs(max + 1n);
      await expect(reg().statusWords(CENTRAL_AGENCY, (1n << 35n), 1n))
        .to.be.revertedWithCustomError(reg(), "InvalidBatch");
    });

    it("answers zero words for agency codes whose ids would not fit uint64 (2^24 and above), at the edge of the words array", async function () {
      await registerMany(reg().connect(a().registrar), 1, "edge");
      for (const agency of [1n << 24n, (1n << 32n) - 1n]) {
        const [count, words] = await reg().statusWords(agency, (1n << 35n) - 1n, 2n);
        expect([count, words], `agency ${agency}`).to.deep.equal([0n, [0n, 0n]]);
      }
      // The largest agency code that fits uint64 ids reads the array's last word without running past it.
      const [, last] = await reg().statusWords((1n << 24n) - 1n, (1n << 35n) - 1n, 1n);
      expect(last).to.deep.equal([0n]);
    });
  });

  describe("packing: 32 credentials per storage word", function () {
    beforeEach(async function () {
      await registerMany(reg().connect(a().registrar), 96, "p"); // central(0..95): exactly 3 words
    });

    it("primes each word with the marker bit of its first credential and marks it full with its last", async function () {
      for (const word of [0, 1, 2]) expect(await statusWord(fx.f, central(word * 32)), `word ${word}`).to.equal(MARKER_BIT | FULL_BIT);
      expect(await statusWord(fx.f, central(96))).to.equal(0n);
      await registerMany(reg().connect(a().registrar), 31, "q"); // central(96..126): word 3 primed, not full
      expect(await statusWord(fx.f, central(96))).to.equal(MARKER_BIT);
      await mined(reg().connect(a().registrar).register(holderRef("q-last"), jwtDigest("q-last"))); // central(127)
      expect(await statusWord(fx.f, central(96))).to.equal(MARKER_BIT | FULL_BIT);
    });

    it("in a word that is not full, a status change still checks the counter (unregistered ids of the newest word)", async function () {
      await registerMany(reg().connect(a().registrar), 5, "n"); // central(96..100): word 3 not full
      const h = reg().connect(a().helpDesk);
      await expect(h.lock(central(101), ReasonCode.LOST_DEVICE)).to.be.revertedWithCustomError(reg(), "UnknownCredential").withArgs(central(101));
      await expect(h.lock(central(127), ReasonCode.LOST_DEVICE)).to.be.revertedWithCustomError(reg(), "UnknownCredential").withArgs(central(127));
      await expect(h.lock(central(100), ReasonCode.LOST_DEVICE)).to.emit(reg(), "CredentialLocked");
    });

    it("writes exactly the status byte of the changed id and keeps the marker bit", async function () {
      const h = reg().connect(a().helpDesk);
      await mined(h.lock(central(32), ReasonCode.ADMINISTRATIVE)); // first of word 1: shares its byte with the marker
      await mined(h.lock(central(63), ReasonCode.PIN_LOCKOUT)); // last of word 1
      await mined(reg().connect(a().registrar).revoke(central(33), ReasonCode.KEY_COMPROMISE));
      const expected =
        statusByte(Locked, ReasonCode.ADMINISTRATIVE, true) |
        (statusByte(Revoked, ReasonCode.KEY_COMPROMISE) << 8n) |
        (statusByte(Locked, ReasonCode.PIN_LOCKOUT) << (31n * 8n)) |
        FULL_BIT;
      expect(toBeHex(await statusWord(fx.f, central(32)), 32)).to.equal(toBeHex(expected, 32));
      await mined(reg().connect(a().registrar).unlock(central(32), ReasonCode.FOUND_DEVICE));
      expect((await statusWord(fx.f, central(32))) & 0xffn).to.equal(statusByte(Active, ReasonCode.FOUND_DEVICE, true));
      await expectStatus(fx.f, central(32), Active, ReasonCode.FOUND_DEVICE); // the marker never leaks into the reason
      expect(await statusWord(fx.f, central(0))).to.equal(MARKER_BIT | FULL_BIT);
      expect(await statusWord(fx.f, central(64))).to.equal(MARKER_BIT | FULL_BIT);
    });

    it("changing id k never changes ids k-1 and k+1, across word boundaries", async function () {
      const snapshot = await fx.f.networkHelpers.takeSnapshot();
      for (const k of [1, 30, 31, 32, 33, 62, 63, 64, 94]) {
        for (const [action, state] of [["lock", Locked], ["revoke", Revoked]] as const) {
          await mined(reg().connect(a().registrar)[action](central(k), ReasonCode.DEVICE_REPLACED));
          await expectStatus(fx.f, central(k), state, ReasonCode.DEVICE_REPLACED);
          await expectStatus(fx.f, central(k - 1), Active, 0);
          await expectStatus(fx.f, central(k + 1), Active, 0);
          await snapshot.restore();
        }
      }
    });

    it("matches a reference model under random operation sequences (property)", async function () {
      this.timeout(60_000);
      const snapshot = await fx.f.networkHelpers.takeSnapshot();
      const N = 96;
      const ids = Array.from({ length: N }, (_, i) => central(i));
      const actionArb = fc.record({
        action: fc.constantFrom("lock", "unlock", "revoke", "lockBatch", "revokeBatch"),
        seqs: fc.uniqueArray(fc.integer({ min: 0, max: N - 1 }), { minLength: 1, maxLength: 6 }),
        reasonIndex: fc.nat(),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 8 }), async (ops) => {
          await snapshot.restore();
          const model = ids.map(() => ({ state: Active as CredentialState, reason: 0 }));
          for (const op of ops) {
            const to = op.action.startsWith("lock") ? Locked : op.action === "unlock" ? Active : Revoked;
            const allowedReasons = to === Active ? UNLOCK : LOCK_OR_REVOKE;
            const reason = allowedReasons[op.reasonIndex % allowedReasons.length]!;
            const seqs = op.action.endsWith("Batch") ? op.seqs : op.seqs.slice(0, 1);
            const legal = seqs.every((s) => {
              const from = model[s]!.state;
              return to === Locked ? from === Active : to === Active ? from === Locked : from !== Revoked;
            });
            const r = reg().connect(a().registrar);
            const tx =
              op.action === "lockBatch" ? r.lockBatch(seqs.map(central), reason)
              : op.action === "revokeBatch" ? r.revokeBatch(seqs.map(central), reason)
              : r[op.action as "lock" | "unlock" | "revoke"](central(seqs[0]!), reason);
            if (legal) {
              await mined(tx);
              for (const s of seqs) model[s] = { state: to, reason };
            } else {
              await expect(tx).to.be.revertedWithCustomError(reg(), "InvalidTransition");
            }
          }
          const [registered, states, reasons] = await reg().statusesOf(ids);
          expect(registered.every(Boolean)).to.equal(true);
          expect(states.map(Number)).to.deep.equal(model.map((m) => m.state));
          expect(reasons.map(Number)).to.deep.equal(model.map((m) => m.reason));
        }),
        { numRuns: 25, seed: 20240611 },
      );
    });
  });
});
