import { getAddress, type Provider } from "ethers";
import { CivilIdError } from "../errors.js";
import { CredentialStatusRegistry__factory, IssuerRegistry__factory, type LedgerContracts } from "../chain/contracts.js";
import type { Deployment } from "../chain/deployment.js";
import { CredentialState, OrgStatus } from "../chain/codes.js";
import { ledgerNodeFromProvider, type LedgerNode } from "./ledger-node.js";
import { findRegistration, type Registration } from "./registration-log.js";
import { NodeQuorum, type QuorumOptions } from "./quorum.js";

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
  /**
   * keccak256 of the organisation's official name in the IssuerRegistry (ZeroHash: none set). Undefined when the view
   * does not carry names (an offline snapshot): the verifier then cannot check the name (see PresentationVerifier).
   */
  readonly organisationNameHash?: string;
}

/** One finished read of the agreed head: the block, or why no quorum answered. */
export type HeadReading = { readonly block: number } | { readonly error: unknown };

/**
 * The verifier's read-only view of the ledger. Two implementations: {@link OnlineLedgerView} reads the chain per
 * request; `LedgerIndex` (status/ledger-index.ts) answers from a local index rebuilt from events.
 */
export interface LedgerView {
  readonly chainId: number;
  readonly statusRegistry: string;
  credentialStatus(credentialId: bigint): Promise<StatusEntry>;
  /**
   * The status as it was at the end of block `blockNumber` (a document signature's anchoring block). Optional: a view
   * that keeps only the current state (the local index, an offline snapshot) cannot answer it, and a verifier then
   * refuses to date a signature by it rather than judge it by today's status.
   */
  credentialStatusAt?(credentialId: bigint, blockNumber: number): Promise<StatusEntry>;
  issuerTrust(issuer: string, credentialTypeHash: string, issuedAt: number): Promise<IssuerTrust>;
  /**
   * Optional answers from memory, without I/O (the local index): the same answers as `credentialStatus` and
   * `issuerTrust` whenever they return. A verifier takes them on its hot path (no promise per read) and, whenever
   * either throws (stale index, a binding digest awaiting its backfill), asks the asynchronous methods instead.
   */
  statusNow?(credentialId: bigint): StatusEntry;
  trustNow?(issuer: string, credentialTypeHash: string, issuedAt: number): IssuerTrust;
}

/** How a verifier reaches the ledger: several independent nodes (one per ministry) and how many must agree. */
export interface OnlineLedgerViewOptions {
  readonly deployment: Deployment;
  readonly nodes: readonly LedgerNode[];
  /** k of n (default a majority). See {@link NodeQuorum}. */
  readonly quorum?: number;
  /** Largest block span of one eth_getLogs (Besu caps it at 1,000 by default; a refusal halves it). Default 5 000. */
  readonly blocksPerQuery?: number;
  readonly onDissent?: QuorumOptions["onDissent"];
  readonly retryAfterMs?: number;
  /** Max credential digests remembered. Default 100 000. */
  readonly digestCacheSize?: number;
}


const statusIface = CredentialStatusRegistry__factory.createInterface();
const issuerIface = IssuerRegistry__factory.createInterface();

/**
 * Reads status and accreditation from the chain on every call, at one block that `quorum` nodes have, and accepts an
 * answer only when `quorum` nodes give it identically at that block (NodeQuorum): a single lying node (a forged
 * `eth_call`, a dropped or injected log, another chain) cannot make it accept a locked, revoked or unregistered
 * credential. The registration's binding digest comes from the CredentialRegistered log (paged over block ranges,
 * newest first, confirmed by the quorum) and is memoised with the hash of its block, which every later read
 * re-checks: after a reorg the entry is dropped and looked up again.
 *
 * `new OnlineLedgerView(ledger, provider)` is the single-node form (quorum 1 of 1, still checking the chain id and
 * deployment block hash of its node).
 */
export class OnlineLedgerView implements LedgerView {
  readonly chainId: number;
  readonly statusRegistry: string;
  readonly quorum: NodeQuorum;
  private readonly deployment: Deployment;
  private readonly blocksPerQuery: number;
  private readonly digestCacheSize: number;
  private readonly credentialDigests = new Map<bigint, Registration>();
  private headRead: Promise<number> | undefined;
  private readonly headListeners = new Set<(reading: HeadReading) => void>();

  constructor(options: OnlineLedgerViewOptions);
  constructor(ledger: LedgerContracts, provider: Provider, timeoutMs?: number);
  constructor(first: OnlineLedgerViewOptions | LedgerContracts, provider?: Provider, timeoutMs = 3_000) {
    const options: OnlineLedgerViewOptions =
      "nodes" in first ? first : { deployment: first.deployment, nodes: [ledgerNodeFromProvider(provider!, { timeoutMs })], quorum: 1 };
    this.deployment = options.deployment;
    this.quorum = new NodeQuorum({
      deployment: options.deployment,
      nodes: options.nodes,
      ...(options.quorum === undefined ? {} : { quorum: options.quorum }),
      ...(options.onDissent ? { onDissent: options.onDissent } : {}),
      ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
    });
    this.chainId = options.deployment.chainId;
    this.statusRegistry = getAddress(options.deployment.statusRegistry);
    this.blocksPerQuery = options.blocksPerQuery ?? 5_000;
    this.digestCacheSize = options.digestCacheSize ?? 100_000;
    if (!Number.isInteger(this.blocksPerQuery) || this.blocksPerQuery < 1) throw new CivilIdError("INVALID_INPUT", "blocksPerQuery must be >= 1.");
  }

  async credentialStatus(credentialId: bigint): Promise<StatusEntry> {
    const height = await this.agreedHead();
    const cached = this.credentialDigests.get(credentialId);
    const data = statusIface.encodeFunctionData("statusOf", [credentialId]);
    const { value: agreed } = await this.quorum.agree(
      `the status of credential ${credentialId}`,
      height,
      async (node) => {
        const [answer, cachedHash] = await Promise.all([node.call(this.statusRegistry, data, height), cached ? node.blockHash(cached.blockNumber) : undefined]);
        return { answer, cachedHash: cachedHash ?? "" };
      },
      (v) => `${v.answer}|${v.cachedHash}`,
    );
    const { registered, state, reason } = decodeStatus(agreed.answer);
    if (!registered) return { registered: false, state: CredentialState.Active, reason: 0, credentialDigest: undefined };
    let digest = cached && cached.blockHash === agreed.cachedHash ? cached.digest : undefined;
    if (digest === undefined) {
      this.credentialDigests.delete(credentialId); // absent, or its block is no longer canonical (reorg)
      const found = await findRegistration(this.quorum, this.statusRegistry, credentialId, this.deployment.deploymentBlock, height, this.blocksPerQuery);
      digest = found.digest;
      this.remember(credentialId, found);
    }
    return { registered, state, reason, credentialDigest: digest };
  }

  /**
   * The status at the end of block `blockNumber`, agreed by the quorum at that block (a historical `eth_call`: the
   * nodes must keep state that far back, e.g. Besu with `--data-storage-format=FOREST` or a Bonsai archive; a node that
   * cannot answer is skipped like a down node). The binding digest is the registration's, looked up up to that block.
   */
  async credentialStatusAt(credentialId: bigint, blockNumber: number): Promise<StatusEntry> {
    const head = await this.agreedHead();
    if (!Number.isSafeInteger(blockNumber) || blockNumber < this.deployment.deploymentBlock || blockNumber > head) {
      throw new CivilIdError("INVALID_INPUT", `Block ${blockNumber} is not between the deployment block ${this.deployment.deploymentBlock} and the agreed head ${head}.`);
    }
    const data = statusIface.encodeFunctionData("statusOf", [credentialId]);
    const { value } = await this.quorum.agree(`the status of credential ${credentialId} at block ${blockNumber}`, blockNumber, (node) => node.call(this.statusRegistry, data, blockNumber), (v) => v);
    const { registered, state, reason } = decodeStatus(value);
    if (!registered) return { registered: false, state: CredentialState.Active, reason: 0, credentialDigest: undefined };
    const found = await findRegistration(this.quorum, this.statusRegistry, credentialId, this.deployment.deploymentBlock, blockNumber, this.blocksPerQuery);
    return { registered, state, reason, credentialDigest: found.digest };
  }

  async issuerTrust(issuer: string, credentialTypeHash: string, issuedAt: number): Promise<IssuerTrust> {
    const height = await this.agreedHead();
    const registry = getAddress(this.deployment.issuerRegistry);
    const keyCall = issuerIface.encodeFunctionData("issuerKey", [getAddress(issuer)]);
    // Each node answers the whole chain of reads (key → its organisation → the type) at the same block.
    const { value: agreed } = await this.quorum.agree(
      `the trust of issuer ${issuer}`,
      height,
      async (node) => {
        const keyData = await node.call(registry, keyCall, height);
        const key = decodeOrThrow(() => issuerIface.decodeFunctionResult("issuerKey", keyData)[0] as { agencyCode: bigint; validFrom: bigint; validUntil: bigint; compromised: boolean });
        const agencyCode = Number(key.agencyCode);
        if (agencyCode === 0) return { keyData, orgData: "", typeData: "", nameData: "" };
        const [orgData, typeData, nameData] = await Promise.all([
          node.call(registry, issuerIface.encodeFunctionData("organisation", [agencyCode]), height),
          node.call(registry, issuerIface.encodeFunctionData("isCredentialTypeAllowed", [agencyCode, credentialTypeHash]), height),
          node.call(registry, issuerIface.encodeFunctionData("organisationNameHash", [agencyCode]), height),
        ]);
        return { keyData, orgData, typeData, nameData };
      },
      (v) => `${v.keyData}|${v.orgData}|${v.typeData}|${v.nameData}`,
    );
    const key = decodeOrThrow(() => issuerIface.decodeFunctionResult("issuerKey", agreed.keyData)[0] as { agencyCode: bigint; validFrom: bigint; validUntil: bigint; compromised: boolean });
    const agencyCode = Number(key.agencyCode);
    if (agencyCode === 0) {
      return { keyKnown: false, agencyCode: 0, compromised: false, inWindowAtIssuance: false, orgStatus: OrgStatus.None, typeAllowed: false };
    }
    const org = decodeOrThrow(() => issuerIface.decodeFunctionResult("organisation", agreed.orgData)[0] as { status: bigint });
    const typeAllowed = decodeOrThrow(() => issuerIface.decodeFunctionResult("isCredentialTypeAllowed", agreed.typeData)[0] as boolean);
    const organisationNameHash = decodeOrThrow(() => issuerIface.decodeFunctionResult("organisationNameHash", agreed.nameData)[0] as string);
    return {
      organisationNameHash,
      keyKnown: true,
      agencyCode,
      compromised: key.compromised,
      inWindowAtIssuance: issuedAt >= Number(key.validFrom) && issuedAt < Number(key.validUntil),
      orgStatus: Number(org.status) as OrgStatus,
      typeAllowed,
    };
  }

  /**
   * The head the quorum agrees on, read now: concurrent callers (the status and trust reads of one verification,
   * a gate's health probe) share one read, and every finished read is told to {@link onHeadRead}'s listeners.
   */
  agreedHead(): Promise<number> {
    this.headRead ??= this.quorum
      .head()
      .then(
        (block) => (this.announce({ block }), block),
        (error: unknown) => {
          this.announce({ error });
          throw error;
        },
      )
      .finally(() => {
        this.headRead = undefined;
      });
    return this.headRead;
  }

  /**
   * Calls `listener` after every head read this view makes (so a health probe need not read the head again). It runs
   * inside the read, before its callers resume: it must be quick and must not throw.
   */
  onHeadRead(listener: (reading: HeadReading) => void): () => void {
    this.headListeners.add(listener);
    return () => this.headListeners.delete(listener);
  }

  private announce(reading: HeadReading): void {
    for (const listener of this.headListeners) listener(reading);
  }

  private remember(credentialId: bigint, entry: Registration): void {
    if (this.credentialDigests.size >= this.digestCacheSize) {
      const oldest = this.credentialDigests.keys().next().value;
      if (oldest !== undefined) this.credentialDigests.delete(oldest);
    }
    this.credentialDigests.set(credentialId, entry);
  }
}

/** statusOf's (bool, uint8, uint8), decoded by slicing; a value outside the enum is a garbage answer, not a verdict. */
function decodeStatus(data: string): { registered: boolean; state: CredentialState; reason: number } {
  if (data.length !== 2 + 3 * 64) throw new CivilIdError("CHAIN_UNREACHABLE", "Status query: the nodes answered a malformed status.");
  const registered = BigInt("0x" + data.slice(2, 66));
  const state = BigInt("0x" + data.slice(66, 130));
  const reason = BigInt("0x" + data.slice(130, 194));
  if (registered > 1n || state > BigInt(CredentialState.Revoked) || reason > 31n) {
    throw new CivilIdError("CHAIN_UNREACHABLE", `Status query: the node answered an impossible status (state ${state}, reason ${reason}).`);
  }
  return { registered: registered === 1n, state: Number(state), reason: Number(reason) };
}

function decodeOrThrow<T>(decode: () => T): T {
  try {
    return decode();
  } catch (error) {
    throw new CivilIdError("CHAIN_UNREACHABLE", "The nodes answered data that does not decode as the registry's view (not our contract?).", { cause: error });
  }
}
