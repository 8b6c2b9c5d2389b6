import { Wallet, type HDNodeWallet, type Provider } from "ethers";
import { ES256KSigner } from "did-jwt";
import { createVerifiablePresentationJwt } from "did-jwt-vc";
import { getBytes } from "ethers";
import { deployFixture, CENTRAL_AGENCY } from "./fixture.js";
import { CachingDidResolver } from "../../../sdk/did/resolver.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { StatusClient } from "../../../sdk/status/client.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { deviceKeyJwk, draftCredential, issuerFromPrivateKey, signCredential, type CivilServantClaims } from "../../../sdk/credential/index.js";

export const HOLDER_SECRET = new Uint8Array(32).fill(7);

export function claimsFor(name: string, agencyCode = CENTRAL_AGENCY): CivilServantClaims {
  return {
    name,
    agencyCode,
    organisation: agencyCode === CENTRAL_AGENCY ? "행정안전부" : "서울특별시",
    department: "디지털정부국",
    position: "행정사무관",
    employeeRef: "E-" + name.length + "-2026",
  };
}

/**
 * A clock that follows the chain, for the SDK's injected `now` options: `now()` (ms, synchronous, as those options
 * expect) is the latest block's time as of the last `sync()`, plus `offsetMs`. Tests compare chain-signed times
 * (block timestamps in snapshots and status lists) with this clock, never with `Date.now()`: a chain's clock
 * drifts from the wall clock (automining runs it ahead; Hardhat starts every chain at the time the process
 * resolved its config, so chains created late in a long run start behind).
 */
export class ChainClock {
  private ms = 0;
  /** Added to the chain's time (e.g. to let time pass for one party only). */
  offsetMs = 0;

  constructor(private readonly provider: Provider) {}

  /** Reads the latest block; returns its timestamp (s) + 1, the earliest time the next block can carry. */
  async sync(): Promise<number> {
    const seconds = (await this.provider.getBlock("latest"))!.timestamp + 1;
    this.ms = seconds * 1000;
    return seconds;
  }

  readonly now = (): number => {
    if (this.ms === 0) throw new Error("ChainClock.now() before sync(): read the chain's time first.");
    return this.ms + this.offsetMs;
  };

  /** `now()` in whole seconds. */
  seconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

/**
 * A deployed, accredited consortium plus the pieces an end-to-end test needs: an issuer key with its private key
 * (added to CENTRAL_AGENCY), the registrar's StatusClient, a DID resolver and helpers to issue and present.
 */
export async function civilIdWorld() {
  const f = await deployFixture();
  const provider = f.ethers.provider;
  const chainId = Number((await provider.getNetwork()).chainId);
  const issuerWallet = Wallet.createRandom();
  const now = (await provider.getBlock("latest"))!.timestamp;
  await (await f.ledger.issuerRegistry.connect(f.actors.orgAdmin).addIssuerKey(CENTRAL_AGENCY, issuerWallet.address, 0, now + 365 * 86400)).wait();
  const issuer = issuerFromPrivateKey(chainId, issuerWallet.privateKey);
  const resolver = new CachingDidResolver({ provider, chainId, registry: f.ledger.deployment.didRegistry });
  const registrar = new StatusClient(f.ledger.statusRegistry.connect(f.actors.registrar));

  async function issueTo(holder: Wallet | HDNodeWallet, personId: string, claims = claimsFor("홍길동"), validitySeconds = 3 * 365 * 86400) {
    const holderDid = didForAddress(chainId, holder.address);
    // Chain time, not the wall clock: automining one block per transaction runs the chain ahead of Date.now().
    const t = (await provider.getBlock("latest"))!.timestamp;
    const draft = draftCredential(issuer, {
      chainId,
      statusRegistry: f.ledger.deployment.statusRegistry,
      holderDid,
      deviceKey: deviceKeyJwk(holder.signingKey.publicKey),
      claims,
      issuedAt: t,
      validUntil: t + validitySeconds,
    });
    const { credentialId, supersededId } = await registrar.register(holderReference(HOLDER_SECRET, personId), draft.digest);
    const jwt = await signCredential(issuer, draft, credentialId);
    return { jwt, credentialId, supersededId, holderDid, draft };
  }

  /** A presentation issued at `issuedAt` (s; default the wall clock, the holder's phone's clock). */
  async function present(holder: Wallet | HDNodeWallet, credentialJwt: string, challenge: string, audience: string, lifetimeSeconds = 60, issuedAt?: number) {
    const t = issuedAt ?? Math.floor(Date.now() / 1000);
    return createVerifiablePresentationJwt(
      {
        vp: { "@context": ["https://www.w3.org/2018/credentials/v1"], type: ["VerifiablePresentation"], verifiableCredential: [credentialJwt] },
        iat: t,
        exp: t + lifetimeSeconds,
      },
      { did: didForAddress(chainId, holder.address), signer: ES256KSigner(getBytes(holder.privateKey)), alg: "ES256K" },
      { challenge, domain: audience },
    );
  }

  return { ...f, provider, chainId, issuerWallet, issuer, resolver, registrar, issueTo, present, clock: new ChainClock(provider) };
}
