/**
 * The unmodified `ethr-did-resolver` resolves `did:ethr` DIDs against our DIDRegistry: same read functions,
 * events and `changed`/`previousChange` chaining as the reference ERC-1056 registry.
 *
 * Time: for `latest` the resolver judges validity against the wall clock, while an automining test chain runs
 * ahead of it (one second per block). To compare documents exactly we resolve at an explicit `versionId` (a block
 * number), for which the resolver uses that block's own timestamp as "now"; `resolveNow` mines one empty block
 * first so that changes made in the previous block (e.g. a revocation, validTo = its block time) are in the past.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { Wallet, ZeroAddress, hexlify, toUtf8Bytes } from "ethers";
import {
  Resolver,
  type DIDDocument,
  type DIDResolutionResult,
  type ResolverRegistry,
  type Service,
  type VerificationMethod,
} from "did-resolver";
import { getResolver } from "ethr-did-resolver";
import { DIDRegistry__factory, type DIDRegistry } from "../../../sdk/chain/contracts.js";
import { DID_REGISTRY_EIP712, encodeDidAttributeName, readEip712Domain, signSetAttribute } from "../../../sdk/did/signed-writes.js";
import { mined } from "../helpers/ledger-test.js";

const CHAIN_ID = 31337;
const CHAIN_HEX = "0x7a69";
const DAY = 86_400n;
const VERI_KEY = encodeDidAttributeName("veriKey");
const SIG_AUTH = encodeDidAttributeName("sigAuth");
const PUB_KEY_ATTR = encodeDidAttributeName("did/pub/Secp256k1/veriKey/hex");
const MESSAGING_ATTR = encodeDidAttributeName("did/svc/MessagingService");
const LD_CONTEXT = [
  "https://www.w3.org/ns/did/v1",
  "https://w3id.org/security/suites/secp256k1recovery-2020/v2",
  "https://w3id.org/security/v3-unstable",
];
const ENDPOINT = "https://msg.example.gov.kr/did";
/** A key published as a DID attribute (fixed, so the expected document is fixed too). */
const PUBLISHED_KEY = new Wallet("0x" + "11".repeat(32)).signingKey.compressedPublicKey;

describe("interop: unmodified ethr-did-resolver against DIDRegistry", function () {
  let conn: Awaited<ReturnType<typeof network.create>>;
  let registry: DIDRegistry;
  let resolver: Resolver;
  let identity: HardhatEthersSigner, newOwner: HardhatEthersSigner, veriDelegate: HardhatEthersSigner;
  let authDelegate: HardhatEthersSigner, relayer: HardhatEthersSigner;
  let snapshot: Awaited<ReturnType<typeof conn.networkHelpers.takeSnapshot>>;
  let did: string;

  before(async function () {
    conn = await network.create();
    const signers = await conn.ethers.getSigners();
    const deployer = signers[0]!;
    [identity, newOwner, veriDelegate, authDelegate, relayer] = [signers[1]!, signers[2]!, signers[3]!, signers[4]!, signers[5]!];
    registry = await new DIDRegistry__factory(deployer).deploy();
    await registry.waitForDeployment();
    // ethr-did-resolver ships CommonJS declarations (ethers' CJS types, did-resolver 5) while this project is ESM
    // (ethers' ESM types, did-resolver 4). At runtime its ESM build uses the same ethers module and the
    // DIDResolver contract is the same; only the duplicated declarations differ, hence the two casts.
    const options = {
      networks: [{ name: "civil", chainId: CHAIN_ID, registry: await registry.getAddress(), provider: conn.ethers.provider }],
    } as unknown as Parameters<typeof getResolver>[0];
    resolver = new Resolver(getResolver(options) as unknown as ResolverRegistry);
    did = `did:ethr:${CHAIN_HEX}:${identity.address}`;
    snapshot = await conn.networkHelpers.takeSnapshot();
  });
  beforeEach(async function () {
    await snapshot.restore();
  });

  /** Resolves `didUrl` as of a new block mined after everything so far. */
  async function resolveNow(didUrl = did): Promise<DIDResolutionResult> {
    await conn.networkHelpers.mine();
    return resolveAt(await conn.ethers.provider.getBlockNumber(), didUrl);
  }
  async function resolveAt(block: number, didUrl = did): Promise<DIDResolutionResult> {
    const result = await resolver.resolve(`${didUrl}?versionId=${block}`);
    expect(result.didResolutionMetadata.error, result.didResolutionMetadata.message).to.equal(undefined);
    return result;
  }

  const controllerMethod = (id: string, controller: string): VerificationMethod => ({
    id: `${id}#controller`,
    type: "EcdsaSecp256k1RecoveryMethod2020",
    controller: id,
    blockchainAccountId: `eip155:${CHAIN_ID}:${controller}`,
  });
  const delegateMethod = (id: string, n: number, delegate: string): VerificationMethod => ({
    id: `${id}#delegate-${n}`,
    type: "EcdsaSecp256k1RecoveryMethod2020",
    controller: id,
    blockchainAccountId: `eip155:${CHAIN_ID}:${delegate}`,
  });
  const document = (id: string, parts: Partial<DIDDocument> & { controller?: string }): DIDDocument => {
    const { controller, verificationMethod = [], authentication = [], assertionMethod = [], service } = parts;
    return {
      id,
      verificationMethod: [controllerMethod(id, controller ?? identity.address), ...verificationMethod],
      authentication: [`${id}#controller`, ...authentication],
      assertionMethod: [`${id}#controller`, ...assertionMethod],
      ...(service ? { service } : {}),
      "@context": LD_CONTEXT,
    };
  };
  const asIdentity = () => registry.connect(identity);

  it("an untouched identity resolves to its controller-only document, by chain id and by network name", async function () {
    const byHex = await resolver.resolve(did); // `latest`: no history to judge against the clock
    expect(byHex.didDocument).to.deep.equal(document(did, {}));
    expect(byHex.didDocumentMetadata).to.deep.equal({});
    const named = `did:ethr:civil:${identity.address}`;
    expect((await resolver.resolve(named)).didDocument).to.deep.equal(document(named, {}));
  });

  it("owner change: the controller becomes the new owner", async function () {
    const receipt = await mined(asIdentity().changeOwner(identity.address, newOwner.address));
    const result = await resolveNow();
    expect(result.didDocument).to.deep.equal(document(did, { controller: newOwner.address }));
    const block = await conn.ethers.provider.getBlock(receipt.blockNumber);
    expect(result.didDocumentMetadata).to.deep.equal({
      versionId: String(receipt.blockNumber),
      updated: new Date(block!.timestamp * 1000).toISOString().replace(".000", ""),
    });
  });

  it("delegates (veriKey, sigAuth) appear as verification methods and disappear when revoked", async function () {
    await mined(asIdentity().addDelegate(identity.address, VERI_KEY, veriDelegate.address, DAY));
    const added = await mined(asIdentity().addDelegate(identity.address, SIG_AUTH, authDelegate.address, DAY));
    expect((await resolveNow()).didDocument).to.deep.equal(
      document(did, {
        verificationMethod: [delegateMethod(did, 1, veriDelegate.address), delegateMethod(did, 2, authDelegate.address)],
        authentication: [`${did}#delegate-2`], // sigAuth signs and authenticates
        assertionMethod: [`${did}#delegate-1`, `${did}#delegate-2`],
      }),
    );
    // The latest (wall-clock) resolution agrees while nothing was revoked.
    expect((await resolver.resolve(did)).didDocument).to.deep.equal((await resolveNow()).didDocument);

    const revoked = await mined(asIdentity().revokeDelegate(identity.address, VERI_KEY, veriDelegate.address));
    expect((await resolveNow()).didDocument).to.deep.equal(
      document(did, {
        verificationMethod: [delegateMethod(did, 2, authDelegate.address)],
        authentication: [`${did}#delegate-2`],
        assertionMethod: [`${did}#delegate-2`],
      }),
    );
    // History: as of the block that added the sigAuth delegate, both delegates were there.
    const past = await resolveAt(added.blockNumber);
    expect(past.didDocument!.verificationMethod).to.have.length(3);
    expect(past.didDocumentMetadata.versionId).to.equal(String(added.blockNumber));
    expect(past.didDocumentMetadata.nextVersionId).to.equal(String(revoked.blockNumber));
  });

  it("a delegate past its validity is no longer listed", async function () {
    await mined(asIdentity().addDelegate(identity.address, VERI_KEY, veriDelegate.address, 60n));
    await conn.networkHelpers.time.increase(61);
    expect((await resolveNow()).didDocument).to.deep.equal(document(did, {}));
  });

  it("attributes: a public key and a service endpoint (set directly and by signed relay), then revoked", async function () {
    await mined(asIdentity().setAttribute(identity.address, PUB_KEY_ATTR, PUBLISHED_KEY, DAY));
    // The service is published through the EIP-712 path, relayed by a third party.
    const domain = await readEip712Domain(registry, DID_REGISTRY_EIP712);
    const value = hexlify(toUtf8Bytes(ENDPOINT));
    const deadline = BigInt(await conn.networkHelpers.time.latest()) + 600n;
    const sig = await signSetAttribute(identity, domain, { identity: identity.address, name: MESSAGING_ATTR, value, validity: DAY }, { nonce: 0n, deadline });
    await mined(registry.connect(relayer).setAttributeSigned(identity.address, sig.v, sig.r, sig.s, MESSAGING_ATTR, value, DAY, deadline));

    const key: VerificationMethod = {
      id: `${did}#delegate-1`,
      type: "EcdsaSecp256k1VerificationKey2019",
      controller: did,
      publicKeyHex: PUBLISHED_KEY.slice(2),
    };
    const service: Service = { id: `${did}#service-1`, type: "MessagingService", serviceEndpoint: ENDPOINT };
    expect((await resolveNow()).didDocument).to.deep.equal(
      document(did, { verificationMethod: [key], assertionMethod: [key.id], service: [service] }),
    );

    await mined(asIdentity().revokeAttribute(identity.address, MESSAGING_ATTR, value));
    expect((await resolveNow()).didDocument).to.deep.equal(document(did, { verificationMethod: [key], assertionMethod: [key.id] }));
    await mined(asIdentity().revokeAttribute(identity.address, PUB_KEY_ATTR, PUBLISHED_KEY));
    expect((await resolveNow()).didDocument).to.deep.equal(document(did, {}));
  });

  it("a JSON service endpoint is returned as an object", async function () {
    const endpoint = { uri: ENDPOINT, accept: ["didcomm/v2"] };
    await mined(asIdentity().setAttribute(identity.address, MESSAGING_ATTR, toUtf8Bytes(JSON.stringify(endpoint)), DAY));
    expect((await resolveNow()).didDocument!.service).to.deep.equal([{ id: `${did}#service-1`, type: "MessagingService", serviceEndpoint: endpoint }]);
  });

  it("after an owner change, the new owner's writes are resolved too", async function () {
    await mined(asIdentity().changeOwner(identity.address, newOwner.address));
    await mined(registry.connect(newOwner).addDelegate(identity.address, SIG_AUTH, authDelegate.address, DAY));
    expect((await resolveNow()).didDocument).to.deep.equal(
      document(did, {
        controller: newOwner.address,
        verificationMethod: [delegateMethod(did, 1, authDelegate.address)],
        authentication: [`${did}#delegate-1`],
        assertionMethod: [`${did}#delegate-1`],
      }),
    );
  });

  it("deactivation (owner set to 0x0) is reported and empties the document", async function () {
    await mined(asIdentity().addDelegate(identity.address, SIG_AUTH, authDelegate.address, DAY));
    await mined(asIdentity().setAttribute(identity.address, MESSAGING_ATTR, toUtf8Bytes(ENDPOINT), DAY));
    const receipt = await mined(asIdentity().changeOwner(identity.address, ZeroAddress));
    const result = await resolveNow();
    expect(result.didDocumentMetadata.deactivated).to.equal(true);
    expect(result.didDocumentMetadata.versionId).to.equal(String(receipt.blockNumber));
    expect(result.didDocument).to.deep.equal({
      id: did,
      verificationMethod: [],
      authentication: [],
      assertionMethod: [],
      "@context": LD_CONTEXT,
    });
    // ...and stays so: the registry refuses any further write that could revive it.
    await expect(asIdentity().changeOwner(identity.address, identity.address))
      .to.be.revertedWithCustomError(registry, "IdentityDeactivated").withArgs(identity.address);
    expect((await resolver.resolve(did)).didDocumentMetadata.deactivated).to.equal(true);
  });
});
