import { expect } from "chai";
import { network } from "hardhat";
import { anyValue } from "@nomicfoundation/hardhat-ethers-chai-matchers/withArgs";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { AbiCoder, TypedDataEncoder, ZeroAddress, ZeroHash, hexlify, keccak256, toUtf8Bytes, type ContractTransactionResponse, type Signer } from "ethers";
import { DIDRegistry__factory, type DIDRegistry } from "../../../sdk/chain/contracts.js";
import {
  DID_REGISTRY_EIP712,
  didRegistryDomain,
  encodeDidAttributeName,
  readEip712Domain,
  signAddDelegate,
  signChangeOwner,
  signRevokeAttribute,
  signRevokeDelegate,
  signSetAttribute,
  type DidWriteSignature,
  type DidWriteType,
  type Eip712Domain,
} from "../../../sdk/did/signed-writes.js";
import { highS, mined } from "../helpers/ledger-test.js";

const VERI_KEY = encodeDidAttributeName("veriKey");
const SIG_AUTH = encodeDidAttributeName("sigAuth");
const PUB_KEY = encodeDidAttributeName("did/pub/Secp256k1/veriKey/hex");
const SERVICE = encodeDidAttributeName("did/svc/MessagingService");
const DAY = 86_400n;
const UINT64_MAX = (1n << 64n) - 1n;
const KINDS: readonly DidWriteType[] = ["ChangeOwner", "AddDelegate", "RevokeDelegate", "SetAttribute", "RevokeAttribute"];

/** Every argument any of the five writes takes; each write uses its own subset. */
interface Fields {
  identity: string;
  newOwner: string;
  delegateType: string;
  delegate: string;
  validity: bigint;
  name: string;
  value: string;
}
const SIGNED_FIELDS: Record<DidWriteType, readonly (keyof Fields)[]> = {
  ChangeOwner: ["identity", "newOwner"],
  AddDelegate: ["identity", "delegateType", "delegate", "validity"],
  RevokeDelegate: ["identity", "delegateType", "delegate"],
  SetAttribute: ["identity", "name", "value", "validity"],
  RevokeAttribute: ["identity", "name", "value"],
};
/** A different value for each field, to show that the signature binds it. */
const ALTERED: { [K in keyof Fields]: (f: Fields) => Fields[K] } = {
  identity: () => "0x000000000000000000000000000000000000dEaD",
  newOwner: () => "0x000000000000000000000000000000000000bEEF",
  delegateType: (f) => (f.delegateType === VERI_KEY ? SIG_AUTH : VERI_KEY),
  delegate: () => "0x000000000000000000000000000000000000bEEF",
  validity: (f) => f.validity + 1n,
  name: (f) => (f.name === SERVICE ? PUB_KEY : SERVICE),
  value: (f) => f.value + "00",
};

function directWrite(registry: DIDRegistry, kind: DidWriteType, f: Fields): Promise<ContractTransactionResponse> {
  switch (kind) {
    case "ChangeOwner": return registry.changeOwner(f.identity, f.newOwner);
    case "AddDelegate": return registry.addDelegate(f.identity, f.delegateType, f.delegate, f.validity);
    case "RevokeDelegate": return registry.revokeDelegate(f.identity, f.delegateType, f.delegate);
    case "SetAttribute": return registry.setAttribute(f.identity, f.name, f.value, f.validity);
    case "RevokeAttribute": return registry.revokeAttribute(f.identity, f.name, f.value);
  }
}

function signWrite(signer: Signer, domain: Eip712Domain, kind: DidWriteType, f: Fields, nonce: bigint, deadline: bigint) {
  const auth = { nonce, deadline };
  switch (kind) {
    case "ChangeOwner": return signChangeOwner(signer, domain, f, auth);
    case "AddDelegate": return signAddDelegate(signer, domain, f, auth);
    case "RevokeDelegate": return signRevokeDelegate(signer, domain, f, auth);
    case "SetAttribute": return signSetAttribute(signer, domain, f, auth);
    case "RevokeAttribute": return signRevokeAttribute(signer, domain, f, auth);
  }
}

type Vrs = { v: number; r: string; s: string };

function relayWrite(registry: DIDRegistry, kind: DidWriteType, f: Fields, sig: Vrs, deadline: bigint): Promise<ContractTransactionResponse> {
  const { v, r, s } = sig;
  switch (kind) {
    case "ChangeOwner": return registry.changeOwnerSigned(f.identity, v, r, s, f.newOwner, deadline);
    case "AddDelegate": return registry.addDelegateSigned(f.identity, v, r, s, f.delegateType, f.delegate, f.validity, deadline);
    case "RevokeDelegate": return registry.revokeDelegateSigned(f.identity, v, r, s, f.delegateType, f.delegate, deadline);
    case "SetAttribute": return registry.setAttributeSigned(f.identity, v, r, s, f.name, f.value, f.validity, deadline);
    case "RevokeAttribute": return registry.revokeAttributeSigned(f.identity, v, r, s, f.name, f.value, deadline);
  }
}

/** Asserts the exact ERC-1056 event of `kind` mined at block time `ts`. */
async function expectWriteEvent(
  registry: DIDRegistry, tx: Promise<ContractTransactionResponse>, kind: DidWriteType, f: Fields, ts: bigint, previousChange: bigint,
) {
  switch (kind) {
    case "ChangeOwner":
      return expect(tx).to.emit(registry, "DIDOwnerChanged").withArgs(f.identity, f.newOwner, previousChange);
    case "AddDelegate":
      return expect(tx).to.emit(registry, "DIDDelegateChanged").withArgs(f.identity, f.delegateType, f.delegate, ts + f.validity, previousChange);
    case "RevokeDelegate":
      return expect(tx).to.emit(registry, "DIDDelegateChanged").withArgs(f.identity, f.delegateType, f.delegate, ts, previousChange);
    case "SetAttribute":
      return expect(tx).to.emit(registry, "DIDAttributeChanged").withArgs(f.identity, f.name, f.value, ts + f.validity, previousChange);
    case "RevokeAttribute":
      return expect(tx).to.emit(registry, "DIDAttributeChanged").withArgs(f.identity, f.name, f.value, 0n, previousChange);
  }
}

const delegateKey = (delegateType: string) => keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32"], [delegateType]));

describe("DIDRegistry", function () {
  let conn: Awaited<ReturnType<typeof network.create>>;
  let registry: DIDRegistry;
  let domain: Eip712Domain;
  let deployer: HardhatEthersSigner, identity: HardhatEthersSigner, other: HardhatEthersSigner;
  let outsider: HardhatEthersSigner, relayer: HardhatEthersSigner, delegate: HardhatEthersSigner;
  let snapshot: Awaited<ReturnType<typeof conn.networkHelpers.takeSnapshot>>;

  const time = () => conn.networkHelpers.time;
  /** Pins the next block's timestamp so event arguments are exact. */
  const nextTs = async (): Promise<bigint> => {
    const ts = (await time().latest()) + 10;
    await time().setNextBlockTimestamp(ts);
    return BigInt(ts);
  };
  const fieldsFor = (id: string): Fields => ({
    identity: id,
    newOwner: id, // the owner re-asserts itself: a real write that leaves control unchanged (replay tests rely on it)
    delegateType: SIG_AUTH,
    delegate: delegate.address,
    validity: DAY,
    name: SERVICE,
    value: hexlify(toUtf8Bytes("https://msg.example.gov.kr/did")),
  });
  const farDeadline = async () => BigInt(await time().latest()) + 3600n;

  before(async function () {
    conn = await network.create();
    [deployer, identity, other, outsider, relayer, delegate] = (await conn.ethers.getSigners()) as [
      HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner, HardhatEthersSigner,
    ];
    registry = await new DIDRegistry__factory(deployer).deploy();
    await registry.waitForDeployment();
    domain = await readEip712Domain(registry, DID_REGISTRY_EIP712);
    snapshot = await conn.networkHelpers.takeSnapshot();
  });
  beforeEach(async function () {
    await snapshot.restore();
  });

  describe("views and domain", function () {
    it("an untouched identity owns itself and has no history", async function () {
      expect(await registry.identityOwner(identity.address)).to.equal(identity.address);
      expect(await registry.owners(identity.address)).to.equal(ZeroAddress);
      expect(await registry.changed(identity.address)).to.equal(0n);
      expect(await registry.deactivated(identity.address)).to.equal(false);
      expect(await registry.nonce(identity.address)).to.equal(0n);
      expect(await registry.validDelegate(identity.address, SIG_AUTH, delegate.address)).to.equal(false);
    });

    it("exposes the EIP-712 domain the SDK signs with (ERC-5267 and domainSeparator agree)", async function () {
      const chainId = (await conn.ethers.provider.getNetwork()).chainId;
      expect(domain).to.deep.equal(didRegistryDomain(chainId, await registry.getAddress()));
      expect(await registry.domainSeparator()).to.equal(TypedDataEncoder.hashDomain(domain));
    });
  });

  describe("direct and signed writes", function () {
    for (const kind of KINDS) {
      for (const path of ["direct", "signed"] as const) {
        it(`${kind} (${path}) emits the ERC-1056 event and chains previousChange`, async function () {
          const f = fieldsFor(identity.address);
          // A first write so that previousChange is non-zero.
          await mined(registry.connect(identity).setAttribute(identity.address, PUB_KEY, "0x01", DAY));
          const first = await registry.changed(identity.address);
          const ts = await nextTs();
          const tx = path === "direct"
            ? directWrite(registry.connect(identity), kind, f)
            : signWrite(identity, domain, kind, f, 0n, await farDeadline()).then((sig) =>
                relayWrite(registry.connect(relayer), kind, f, sig, sig.deadline));
          await expectWriteEvent(registry, tx, kind, f, ts, first);
          const receipt = await (await tx).wait();
          expect(await registry.changed(identity.address)).to.equal(BigInt(receipt!.blockNumber));
          expect(await registry.nonce(identity.address)).to.equal(path === "signed" ? 1n : 0n);
          if (kind === "AddDelegate") {
            expect(await registry.delegates(identity.address, delegateKey(f.delegateType), f.delegate)).to.equal(ts + DAY);
            expect(await registry.validDelegate(identity.address, f.delegateType, f.delegate)).to.equal(true);
          }
        });
      }
    }

    it("changeOwner hands control over: the new owner writes and signs, the identity key no longer does", async function () {
      await expect(registry.connect(identity).changeOwner(identity.address, other.address))
        .to.emit(registry, "DIDOwnerChanged").withArgs(identity.address, other.address, 0n);
      expect(await registry.identityOwner(identity.address)).to.equal(other.address);
      expect(await registry.owners(identity.address)).to.equal(other.address);

      const f = fieldsFor(identity.address);
      await expect(registry.connect(identity).setAttribute(identity.address, f.name, f.value, DAY))
        .to.be.revertedWithCustomError(registry, "NotIdentityOwner").withArgs(identity.address, identity.address);
      const byIdentityKey = await signWrite(identity, domain, "SetAttribute", f, 0n, await farDeadline());
      await expect(relayWrite(registry.connect(relayer), "SetAttribute", f, byIdentityKey, byIdentityKey.deadline))
        .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(identity.address, other.address);

      // The new owner signs with its own nonce.
      const byOwner = await signWrite(other, domain, "SetAttribute", f, 0n, await farDeadline());
      await expect(relayWrite(registry.connect(relayer), "SetAttribute", f, byOwner, byOwner.deadline))
        .to.emit(registry, "DIDAttributeChanged");
      expect(await registry.nonce(other.address)).to.equal(1n);
      expect(await registry.nonce(identity.address)).to.equal(0n);
      await expect(registry.connect(other).changeOwner(identity.address, outsider.address))
        .to.emit(registry, "DIDOwnerChanged").withArgs(identity.address, outsider.address, anyValue);
    });

    it("the nonce belongs to the signer, shared by all identities it owns (ERC-1056)", async function () {
      await mined(registry.connect(identity).changeOwner(identity.address, other.address));
      await mined(registry.connect(outsider).changeOwner(outsider.address, other.address));
      const deadline = await farDeadline();
      const forIdentity = await signWrite(other, domain, "SetAttribute", fieldsFor(identity.address), 0n, deadline);
      const forOutsider = await signWrite(other, domain, "SetAttribute", fieldsFor(outsider.address), 0n, deadline);
      await mined(relayWrite(registry.connect(relayer), "SetAttribute", fieldsFor(identity.address), forIdentity, deadline));
      await expect(relayWrite(registry.connect(relayer), "SetAttribute", fieldsFor(outsider.address), forOutsider, deadline))
        .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(anyValue, other.address);
    });

    it("delegates expire at validTo (exclusive) and revocation ends them at once", async function () {
      const ts = await nextTs();
      await mined(registry.connect(identity).addDelegate(identity.address, VERI_KEY, delegate.address, 100n));
      const validAt = async (t: bigint) => {
        await time().setNextBlockTimestamp(t);
        await conn.networkHelpers.mine();
        return registry.validDelegate(identity.address, VERI_KEY, delegate.address, { blockTag: "latest" });
      };
      const snap = await conn.networkHelpers.takeSnapshot();
      expect(await validAt(ts + 99n)).to.equal(true);
      expect(await validAt(ts + 100n)).to.equal(false);
      await snap.restore();
      // Another type or delegate is not valid.
      expect(await registry.validDelegate(identity.address, SIG_AUTH, delegate.address)).to.equal(false);
      expect(await registry.validDelegate(identity.address, VERI_KEY, other.address)).to.equal(false);
      const revokedAt = await nextTs();
      await mined(registry.connect(identity).revokeDelegate(identity.address, VERI_KEY, delegate.address));
      expect(await registry.delegates(identity.address, delegateKey(VERI_KEY), delegate.address)).to.equal(revokedAt);
      expect(await registry.validDelegate(identity.address, VERI_KEY, delegate.address)).to.equal(false);
    });

    for (const kind of ["AddDelegate", "SetAttribute"] as const) {
      for (const path of ["direct", "signed"] as const) {
        it(`${kind} (${path}) requires 0 < validity <= 2^64-1`, async function () {
          for (const validity of [0n, UINT64_MAX + 1n, (1n << 256n) - 1n]) {
            const f = { ...fieldsFor(identity.address), validity };
            const tx = path === "direct"
              ? directWrite(registry.connect(identity), kind, f)
              : signWrite(identity, domain, kind, f, 0n, await farDeadline()).then((s) => relayWrite(registry.connect(relayer), kind, f, s, s.deadline));
            await expect(tx).to.be.revertedWithCustomError(registry, "InvalidValidity").withArgs(validity);
          }
          const ts = await nextTs();
          const f = { ...fieldsFor(identity.address), validity: UINT64_MAX };
          await expectWriteEvent(registry, directWrite(registry.connect(identity), kind, f), kind, f, ts, 0n);
        });
      }
    }
  });

  describe("refusals, on both paths", function () {
    for (const kind of KINDS) {
      describe(kind, function () {
        it("refuses anyone but the owner (NotIdentityOwner / InvalidSigner)", async function () {
          const f = fieldsFor(identity.address);
          await expect(directWrite(registry.connect(outsider), kind, f))
            .to.be.revertedWithCustomError(registry, "NotIdentityOwner").withArgs(identity.address, outsider.address);
          const sig = await signWrite(outsider, domain, kind, f, 0n, await farDeadline());
          await expect(relayWrite(registry.connect(relayer), kind, f, sig, sig.deadline))
            .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(outsider.address, identity.address);
          // The owner cannot relay someone else's signature as its own either: what counts is who signed.
          await expect(relayWrite(registry.connect(identity), kind, f, sig, sig.deadline))
            .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(outsider.address, identity.address);
        });

        it("accepts the deadline second itself and refuses one second later (SignatureExpired)", async function () {
          const f = fieldsFor(identity.address);
          const deadline = BigInt(await time().latest()) + 100n;
          const sig = await signWrite(identity, domain, kind, f, 0n, deadline);
          const snap = await conn.networkHelpers.takeSnapshot();
          await time().setNextBlockTimestamp(deadline);
          await mined(relayWrite(registry.connect(relayer), kind, f, sig, deadline));
          await snap.restore();
          await time().setNextBlockTimestamp(deadline + 1n);
          await expect(relayWrite(registry.connect(relayer), kind, f, sig, deadline))
            .to.be.revertedWithCustomError(registry, "SignatureExpired").withArgs(deadline, deadline + 1n);
        });

        it("refuses a replayed signature (the nonce moved on)", async function () {
          const f = fieldsFor(identity.address);
          const sig = await signWrite(identity, domain, kind, f, 0n, await farDeadline());
          await mined(relayWrite(registry.connect(relayer), kind, f, sig, sig.deadline));
          await expect(relayWrite(registry.connect(relayer), kind, f, sig, sig.deadline))
            .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(anyValue, identity.address);
          // A signature made for the stale nonce also fails; one for the current nonce succeeds.
          const stale = await signWrite(identity, domain, kind, f, 0n, await farDeadline());
          await expect(relayWrite(registry.connect(relayer), kind, f, stale, stale.deadline))
            .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(anyValue, identity.address);
          const fresh = await signWrite(identity, domain, kind, f, 1n, await farDeadline());
          await mined(relayWrite(registry.connect(relayer), kind, f, fresh, fresh.deadline));
          expect(await registry.nonce(identity.address)).to.equal(2n);
        });

        it("refuses a signature for a future nonce", async function () {
          const f = fieldsFor(identity.address);
          const sig = await signWrite(identity, domain, kind, f, 1n, await farDeadline());
          await expect(relayWrite(registry.connect(relayer), kind, f, sig, sig.deadline))
            .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(anyValue, identity.address);
        });

        it("refuses high-s, zero and malformed signatures (OpenZeppelin ECDSA)", async function () {
          const f = fieldsFor(identity.address);
          const sig = await signWrite(identity, domain, kind, f, 0n, await farDeadline());
          const flipped = highS(sig);
          await expect(relayWrite(registry.connect(relayer), kind, f, flipped, sig.deadline))
            .to.be.revertedWithCustomError(registry, "ECDSAInvalidSignatureS").withArgs(flipped.s);
          for (const bad of [
            { v: 0, r: ZeroHash, s: ZeroHash },
            { v: 27, r: ZeroHash, s: ZeroHash },
            { v: 0, r: sig.r, s: sig.s }, // recovery id outside {27, 28}
            { v: 29, r: sig.r, s: sig.s },
          ]) {
            await expect(relayWrite(registry.connect(relayer), kind, f, bad, sig.deadline), JSON.stringify(bad))
              .to.be.revertedWithCustomError(registry, "ECDSAInvalidSignature");
          }
          // None of the refusals consumed the nonce: the genuine signature still works.
          await mined(relayWrite(registry.connect(relayer), kind, f, sig, sig.deadline));
        });

        it("binds every signed field (a relayer cannot alter any argument)", async function () {
          const f = fieldsFor(identity.address);
          const sig = await signWrite(identity, domain, kind, f, 0n, await farDeadline());
          for (const field of SIGNED_FIELDS[kind]) {
            const altered = { ...f, [field]: ALTERED[field](f) };
            // Altering the identity asks another identity's owner, which is that identity itself.
            const expectedOwner = field === "identity" ? altered.identity : identity.address;
            await expect(relayWrite(registry.connect(relayer), kind, altered, sig, sig.deadline), field)
              .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(anyValue, expectedOwner);
          }
          await expect(relayWrite(registry.connect(relayer), kind, f, sig, sig.deadline + 1n), "deadline")
            .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(anyValue, identity.address);
          // A signature of another write type with the same field values is not accepted either.
          const otherKind = kind === "ChangeOwner" ? "RevokeAttribute" : "ChangeOwner";
          const foreign = await signWrite(identity, domain, otherKind, f, 0n, sig.deadline);
          await expect(relayWrite(registry.connect(relayer), kind, f, foreign, sig.deadline))
            .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(anyValue, identity.address);
        });

        it("a deactivated DID refuses the write on both paths (IdentityDeactivated)", async function () {
          const f = fieldsFor(identity.address);
          // Signed (for the right nonce) while still live, relayed after deactivation.
          const sig = await signWrite(identity, domain, kind, f, 0n, await farDeadline());
          await mined(registry.connect(identity).changeOwner(identity.address, ZeroAddress));
          for (const caller of [identity, outsider]) {
            await expect(directWrite(registry.connect(caller), kind, f))
              .to.be.revertedWithCustomError(registry, "IdentityDeactivated").withArgs(identity.address);
          }
          await expect(relayWrite(registry.connect(relayer), kind, f, sig, sig.deadline))
            .to.be.revertedWithCustomError(registry, "IdentityDeactivated").withArgs(identity.address);
        });
      });
    }
  });

  describe("deactivation", function () {
    for (const path of ["direct", "signed"] as const) {
      it(`changeOwner to the zero address (${path}) deactivates for good`, async function () {
        // Deactivating through a delegated owner: the registry must not fall back to the identity key.
        await mined(registry.connect(identity).changeOwner(identity.address, other.address));
        const f = { ...fieldsFor(identity.address), newOwner: ZeroAddress };
        const tx = path === "direct"
          ? directWrite(registry.connect(other), "ChangeOwner", f)
          : signWrite(other, domain, "ChangeOwner", f, 0n, await farDeadline()).then((s) =>
              relayWrite(registry.connect(relayer), "ChangeOwner", f, s, s.deadline));
        await expect(tx).to.emit(registry, "DIDOwnerChanged").withArgs(identity.address, ZeroAddress, anyValue);
        expect(await registry.deactivated(identity.address)).to.equal(true);
        expect(await registry.identityOwner(identity.address)).to.equal(ZeroAddress);
        for (const caller of [identity, other]) {
          await expect(registry.connect(caller).changeOwner(identity.address, caller.address))
            .to.be.revertedWithCustomError(registry, "IdentityDeactivated").withArgs(identity.address);
        }
      });
    }

    it("a deactivated identity has no valid delegate (they could never be revoked any more); the events stay", async function () {
      await mined(registry.connect(identity).addDelegate(identity.address, VERI_KEY, other.address, 86_400));
      expect(await registry.validDelegate(identity.address, VERI_KEY, other.address)).to.equal(true);
      await mined(registry.connect(identity).changeOwner(identity.address, ZeroAddress));
      expect(await registry.validDelegate(identity.address, VERI_KEY, other.address)).to.equal(false);
      // The stored validity is untouched (the ERC-1056 getter and the DIDDelegateChanged history are unchanged).
      expect(await registry.delegates(identity.address, keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32"], [VERI_KEY])), other.address)).to.be.greaterThan(0n);
      await expect(registry.connect(identity).revokeDelegate(identity.address, VERI_KEY, other.address))
        .to.be.revertedWithCustomError(registry, "IdentityDeactivated").withArgs(identity.address);
    });
  });

  describe("replay across deployments and chains", function () {
    const sigFor = async (d: Eip712Domain): Promise<DidWriteSignature> =>
      signWrite(identity, d, "SetAttribute", fieldsFor(identity.address), 0n, await farDeadline());

    it("a signature for one DIDRegistry fails on a second deployment on the same chain", async function () {
      const second = await new DIDRegistry__factory(deployer).deploy();
      await second.waitForDeployment();
      const f = fieldsFor(identity.address);
      const forFirst = await sigFor(domain);
      await expect(relayWrite(second.connect(relayer), "SetAttribute", f, forFirst, forFirst.deadline))
        .to.be.revertedWithCustomError(second, "InvalidSigner").withArgs(anyValue, identity.address);
      const forSecond = await sigFor(await readEip712Domain(second, DID_REGISTRY_EIP712));
      await expect(relayWrite(second.connect(relayer), "SetAttribute", f, forSecond, forSecond.deadline))
        .to.emit(second, "DIDAttributeChanged");
      await expect(relayWrite(registry.connect(relayer), "SetAttribute", f, forFirst, forFirst.deadline))
        .to.emit(registry, "DIDAttributeChanged");
    });

    it("a signature for chain 31337 fails on chain 4242 at the same registry address", async function () {
      const otherChain = await network.create({ override: { chainId: 4242 } });
      expect((await otherChain.ethers.provider.getNetwork()).chainId).to.equal(4242n);
      const [otherDeployer, , , , otherRelayer] = await otherChain.ethers.getSigners();
      const twin = await new DIDRegistry__factory(otherDeployer!).deploy();
      await twin.waitForDeployment();
      // Same deployer, same nonce: same address. Only the chain id differs between the two domains.
      expect(await twin.getAddress()).to.equal(await registry.getAddress());
      const twinDomain = await readEip712Domain(twin, DID_REGISTRY_EIP712);
      expect(twinDomain).to.deep.equal({ ...domain, chainId: 4242n });

      const f = fieldsFor(identity.address);
      const deadline = BigInt((await otherChain.ethers.provider.getBlock("latest"))!.timestamp) + 3600n;
      const forLocal = await signWrite(identity, domain, "SetAttribute", f, 0n, deadline);
      await expect(relayWrite(twin.connect(otherRelayer!), "SetAttribute", f, forLocal, deadline))
        .to.be.revertedWithCustomError(twin, "InvalidSigner").withArgs(anyValue, identity.address);
      const forTwin = await signWrite(identity, twinDomain, "SetAttribute", f, 0n, deadline);
      await expect(relayWrite(twin.connect(otherRelayer!), "SetAttribute", f, forTwin, deadline))
        .to.emit(twin, "DIDAttributeChanged");
      // ...and the chain-4242 signature is worthless here.
      await expect(relayWrite(registry.connect(relayer), "SetAttribute", f, forTwin, deadline))
        .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(anyValue, identity.address);
    });
  });
});
