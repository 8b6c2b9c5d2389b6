/**
 * ERC-1056 compatibility under an attacker's sequences: the unmodified ethr-did-resolver must follow owner
 * rotations (two in one block, history by block), keep a pre-rotation signature of the old owner powerless, and
 * report a deactivation made by a rotated owner's signed write — after which nothing, signed or direct, revives the
 * DID. Documents are compared exactly at explicit block versions (see test/ts/interop/ethr-did-resolver.test.ts).
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { ZeroAddress, toUtf8Bytes } from "ethers";
import { Resolver, type DIDResolutionResult, type ResolverRegistry } from "did-resolver";
import { getResolver } from "ethr-did-resolver";
import { DIDRegistry__factory, type DIDRegistry } from "../../../sdk/chain/contracts.js";
import { didRegistryDomain, encodeDidAttributeName, signChangeOwner, signSetAttribute, type Eip712Domain } from "../../../sdk/did/signed-writes.js";
import { mined } from "../helpers/ledger-test.js";

const CHAIN_ID = 31337;
const DAY = 86_400n;
const MESSAGING_ATTR = encodeDidAttributeName("did/svc/MessagingService");

describe("adversarial: ERC-1056 rotations and deactivation, read by the unmodified ethr-did-resolver", function () {
  let conn: Awaited<ReturnType<typeof network.create>>;
  let registry: DIDRegistry;
  let resolver: Resolver;
  let domain: Eip712Domain;
  let identity: HardhatEthersSigner, ownerB: HardhatEthersSigner, ownerC: HardhatEthersSigner, attacker: HardhatEthersSigner, relayer: HardhatEthersSigner;
  let did: string;

  before(async function () {
    conn = await network.create();
    const signers = await conn.ethers.getSigners();
    [identity, ownerB, ownerC, attacker, relayer] = [signers[1]!, signers[2]!, signers[3]!, signers[4]!, signers[5]!];
    registry = await new DIDRegistry__factory(signers[0]!).deploy();
    await registry.waitForDeployment();
    domain = didRegistryDomain(CHAIN_ID, await registry.getAddress());
    const options = { networks: [{ name: "civil", chainId: CHAIN_ID, registry: await registry.getAddress(), provider: conn.ethers.provider }] } as unknown as Parameters<typeof getResolver>[0];
    resolver = new Resolver(getResolver(options) as unknown as ResolverRegistry);
    did = `did:ethr:0x7a69:${identity.address}`;
  });
  after(async function () {
    await conn?.close();
  });

  async function resolveAt(block: number): Promise<DIDResolutionResult> {
    const result = await resolver.resolve(`${did}?versionId=${block}`);
    expect(result.didResolutionMetadata.error, result.didResolutionMetadata.message).to.equal(undefined);
    return result;
  }
  const controllerOf = (result: DIDResolutionResult) => result.didDocument?.verificationMethod?.find((m) => m.id === `${did}#controller`)?.blockchainAccountId;
  const deadline = async () => BigInt((await conn.ethers.provider.getBlock("latest"))!.timestamp + 3600);

  it("two rotations in one block (A→B, B→C): the resolver names C from that block on and A before it", async function () {
    const before = await conn.ethers.provider.getBlockNumber();
    // A's signed hand-over to the attacker, made now and never relayed: it must die with A's ownership.
    const stale = await signChangeOwner(identity, domain, { identity: identity.address, newOwner: attacker.address }, { nonce: await registry.nonce(identity.address), deadline: await deadline() });
    await conn.provider.request({ method: "evm_setAutomine", params: [false] });
    try {
      const first = await registry.connect(identity).changeOwner(identity.address, ownerB.address);
      const second = await registry.connect(ownerB).changeOwner(identity.address, ownerC.address, { nonce: await ownerB.getNonce() });
      await conn.networkHelpers.mine();
      const [r1, r2] = [await first.wait(), await second.wait()];
      expect(r1!.blockNumber).to.equal(r2!.blockNumber);
    } finally {
      await conn.provider.request({ method: "evm_setAutomine", params: [true] });
    }
    await conn.networkHelpers.mine();
    const now = await conn.ethers.provider.getBlockNumber();
    expect(controllerOf(await resolveAt(now))).to.equal(`eip155:${CHAIN_ID}:${ownerC.address}`);
    expect(controllerOf(await resolveAt(before))).to.equal(`eip155:${CHAIN_ID}:${identity.address}`);
    expect(await registry.identityOwner(identity.address)).to.equal(ownerC.address);

    // The old owner's pre-rotation signature is powerless, relayed by anyone; so are its direct writes.
    await expect(registry.connect(relayer).changeOwnerSigned(identity.address, stale.v, stale.r, stale.s, attacker.address, stale.deadline))
      .to.be.revertedWithCustomError(registry, "InvalidSigner").withArgs(identity.address, ownerC.address);
    await expect(registry.connect(identity).changeOwner(identity.address, attacker.address))
      .to.be.revertedWithCustomError(registry, "NotIdentityOwner").withArgs(identity.address, identity.address);
  });

  it("a deactivation by the rotated owner's signed write is reported; no later write, signed or direct, revives the DID", async function () {
    expect(await registry.identityOwner(identity.address)).to.equal(ownerC.address); // from the previous test
    const write = await signSetAttribute(ownerC, domain, { identity: identity.address, name: MESSAGING_ATTR, value: toUtf8Bytes("https://msg.example.gov.kr"), validity: DAY }, { nonce: (await registry.nonce(ownerC.address)) + 1n, deadline: await deadline() });
    const off = await signChangeOwner(ownerC, domain, { identity: identity.address, newOwner: ZeroAddress }, { nonce: await registry.nonce(ownerC.address), deadline: await deadline() });
    const receipt = await mined(registry.connect(relayer).changeOwnerSigned(identity.address, off.v, off.r, off.s, ZeroAddress, off.deadline));
    await conn.networkHelpers.mine();
    const result = await resolveAt(await conn.ethers.provider.getBlockNumber());
    expect(result.didDocumentMetadata.deactivated).to.equal(true);
    expect(result.didDocumentMetadata.versionId).to.equal(String(receipt.blockNumber));
    expect(result.didDocument?.verificationMethod).to.deep.equal([]);
    // The owner's next-nonce signature, made before the deactivation, is refused for the deactivation itself.
    await expect(registry.connect(relayer).setAttributeSigned(identity.address, write.v, write.r, write.s, MESSAGING_ATTR, toUtf8Bytes("https://msg.example.gov.kr"), DAY, write.deadline))
      .to.be.revertedWithCustomError(registry, "IdentityDeactivated").withArgs(identity.address);
    for (const [who, target] of [[ownerC, ownerC], [identity, identity]] as const) {
      await expect(registry.connect(who).changeOwner(identity.address, target.address))
        .to.be.revertedWithCustomError(registry, "IdentityDeactivated").withArgs(identity.address);
    }
    expect(await registry.identityOwner(identity.address)).to.equal(ZeroAddress);
  });
});
