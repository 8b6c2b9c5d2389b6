import { getAddress, type Provider } from "ethers";
import { CivilIdError } from "../errors.js";
import type { LedgerContracts } from "../chain/contracts.js";
import { toCivilIdError } from "../chain/errors.js";
import { CredentialState, OrgStatus } from "../chain/codes.js";

/** A credential's on-chain status entry as a verifier needs it. */
export interface StatusEntry {
  readonly registered: boolean;
  readonly state: CredentialState;
  readonly reason: number;
  /** The binding digest the entry was registered with (undefined if not registered). */
  readonly credentialDigest: string | undefined;
}

/** Everything a verifier needs to know about an issuer key's trust for one credential. */
export interface IssuerTrust {
  readonly keyKnown: boolean;
  readonly agencyCode: number;
  readonly compromised: boolean;
  /** The key's signing window covered the credential's issuance time. */
  readonly inWindowAtIssuance: boolean;
  readonly orgStatus: OrgStatus;
  readonly typeAllowed: boolean;
}

/**
 * The verifier's read-only view of the ledger. Two implementations: {@link OnlineLedgerView} reads the chain per
 * request; `LedgerIndex` (status/ledger-index.ts) answers from a local index rebuilt from events.
 */
export interface LedgerView {
  readonly chainId: number;
  readonly statusRegistry: string;
  credentialStatus(credentialId: bigint): Promise<StatusEntry>;
  issuerTrust(issuer: string, credentialTypeHash: string, issuedAt: number): Promise<IssuerTrust>;
}

/**
 * Reads status and accreditation from the chain on every call, each call bounded by `timeoutMs`. The
 * registration's subject digest comes from the (immutable) CredentialRegistered log and is memoised.
 */
export class OnlineLedgerView implements LedgerView {
  readonly chainId: number;
  readonly statusRegistry: string;
  private readonly credentialDigests = new Map<bigint, string>();

  constructor(
    private readonly ledger: LedgerContracts,
    private readonly provider: Provider,
    private readonly timeoutMs = 3_000,
  ) {
    this.chainId = ledger.deployment.chainId;
    this.statusRegistry = getAddress(ledger.deployment.statusRegistry);
  }

  async credentialStatus(credentialId: bigint): Promise<StatusEntry> {
    const [status, digest] = await Promise.all([
      this.call("Status query", () => this.ledger.statusRegistry.statusOf(credentialId)),
      this.credentialDigestOf(credentialId),
    ]);
    const [registered, state, reason] = status;
    // A value outside the enum decodes fine as a uint8: it is a garbage answer (infrastructure), not a verdict.
    if (state > BigInt(CredentialState.Revoked) || reason > 31n) {
      throw new CivilIdError("CHAIN_UNREACHABLE", `Status query: the node answered an impossible status (state ${state}, reason ${reason}).`);
    }
    return { registered, state: Number(state) as CredentialState, reason: Number(reason), credentialDigest: registered ? digest : undefined };
  }

  async issuerTrust(issuer: string, credentialTypeHash: string, issuedAt: number): Promise<IssuerTrust> {
    const key = await this.call("Issuer key query", () => this.ledger.issuerRegistry.issuerKey(issuer));
    const agencyCode = Number(key.agencyCode);
    if (agencyCode === 0) {
      return { keyKnown: false, agencyCode: 0, compromised: false, inWindowAtIssuance: false, orgStatus: OrgStatus.None, typeAllowed: false };
    }
    const [org, typeAllowed] = await Promise.all([
      this.call("Organisation query", () => this.ledger.issuerRegistry.organisation(agencyCode)),
      this.call("Credential type query", () => this.ledger.issuerRegistry.isCredentialTypeAllowed(agencyCode, credentialTypeHash)),
    ]);
    return {
      keyKnown: true,
      agencyCode,
      compromised: key.compromised,
      inWindowAtIssuance: issuedAt >= Number(key.validFrom) && issuedAt < Number(key.validUntil),
      orgStatus: Number(org.status) as OrgStatus,
      typeAllowed,
    };
  }

  private async credentialDigestOf(credentialId: bigint): Promise<string | undefined> {
    const known = this.credentialDigests.get(credentialId);
    if (known) return known;
    const registry = this.ledger.statusRegistry;
    const logs = await this.call("Registration log query", () =>
      registry.queryFilter(registry.filters.CredentialRegistered(credentialId), this.ledger.deployment.deploymentBlock),
    );
    const digest = logs[0]?.args.credentialDigest;
    if (typeof digest === "string") this.credentialDigests.set(credentialId, digest);
    return digest;
  }

  /** Bounds an RPC call in time; every failure becomes a typed CHAIN_UNREACHABLE (the verifier then refuses). */
  private async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new CivilIdError("CHAIN_UNREACHABLE", `${action} timed out after ${this.timeoutMs} ms; check the node.`)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([fn(), timeout]);
    } catch (error) {
      const typed = toCivilIdError(error, this.ledger.statusRegistry.interface, action);
      // A garbage RPC answer (undecodable) is an infrastructure failure, not a contract verdict.
      throw typed.code === "CONTRACT_REVERTED" && !(typed.details?.error) ? new CivilIdError("CHAIN_UNREACHABLE", typed.message, { cause: error }) : typed;
    } finally {
      clearTimeout(timer);
    }
  }
}
