/**
 * Unmodified did-jwt-vc + ethr-did-resolver, configured only by chain id (as an integrator or Veramo would),
 * verify our credentials and presentations on chain 31337 (even number of hex digits, 0x7a69) and on chain 2026
 * (odd: 0x7ea, which a zero-padded 0x07ea spelling hid behind our own resolver).
 */
import { expect } from "chai";
import { network } from "hardhat";
import { Wallet } from "ethers";
import { verifyCredential, verifyPresentation } from "did-jwt-vc";
import { Resolver } from "did-resolver";
import { getResolver } from "ethr-did-resolver";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import { makeCredentialId } from "../../../sdk/chain/codes.js";
import { deviceKeyJwk, issueCredentialJwt, issuerFromPrivateKey } from "../../../sdk/credential/index.js";
import { didForAddress, ethrNetworkName, parseEthrDid } from "../../../sdk/did/did.js";
import { CachingDidResolver } from "../../../sdk/did/resolver.js";
import { es256kSigner, signPresentation } from "../../../sdk/protocol/index.js";

describe("interop: unmodified did-jwt-vc + ethr-did-resolver configured by chain id", function () {
  for (const chainId of [31337, 2026]) {
    it(`verifies our credential and presentation on chain ${chainId} (network ${ethrNetworkName(chainId)})`, async () => {
      const connection = await network.create({ override: { chainId } });
      try {
        const [deployer, m1] = await connection.ethers.getSigners();
        const ledger = await deployConsortium(deployer!, { members: [m1!.address], threshold: 1 });
        const issuerKey = Wallet.createRandom();
        const holder = Wallet.createRandom();
        const issuer = issuerFromPrivateKey(chainId, issuerKey.privateKey);
        expect(issuer.did).to.equal(`did:ethr:0x${chainId.toString(16)}:${issuerKey.address}`);
        expect(parseEthrDid(issuer.did).chainId).to.equal(BigInt(chainId));
        const t = Math.floor(Date.now() / 1000) - 60;
        const jwt = await issueCredentialJwt(issuer, {
          chainId, statusRegistry: ledger.deployment.statusRegistry, holderDid: didForAddress(chainId, holder.address),
          deviceKey: deviceKeyJwk(holder.signingKey.publicKey),
          claims: { name: "홍길동", agencyCode: 1741000, organisation: "행정안전부", department: "디지털정부국", position: "행정사무관", employeeRef: "E-1" },
          issuedAt: t, validUntil: t + 86_400, credentialId: makeCredentialId(1741000, 0n),
        });
        // Exactly what an integrator writes: chain id, registry, provider. No network name of ours.
        const plain = new Resolver(getResolver({ networks: [{ chainId, registry: ledger.deployment.didRegistry, provider: connection.ethers.provider as never }] }) as never);
        const verified = await verifyCredential(jwt, plain);
        expect(verified.issuer).to.equal(issuer.did);

        const vp = await signPresentation({ holder: didForAddress(chainId, holder.address), signer: es256kSigner(holder.privateKey), credential: jwt, challenge: "n-1", audience: "gate:1", now: t + 60 });
        const presented = await verifyPresentation(vp, plain, { challenge: "n-1", domain: "gate:1" });
        expect(presented.issuer).to.equal(didForAddress(chainId, holder.address));

        // Our resolver answers the same, and knows no second spelling.
        const ours = new CachingDidResolver({ provider: connection.ethers.provider, chainId, registry: ledger.deployment.didRegistry });
        expect((await ours.resolve(issuer.did)).didDocument?.id).to.equal(issuer.did);
        if (chainId === 2026) {
          const padded = issuer.did.replace(":0x7ea:", ":0x07ea:");
          expect((await ours.resolve(padded)).didResolutionMetadata.error).to.equal("unknownNetwork");
        }
      } finally {
        await connection.close();
      }
    });
  }
});
