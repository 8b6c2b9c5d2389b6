import { getAddress, type Log, type Provider } from "ethers";
import { CivilIdError } from "../errors.js";
import type { Deployment } from "../chain/deployment.js";
import { CredentialStatusRegistry__factory, IssuerRegistry__factory } from "../chain/contracts.js";
import { CredentialState, OrgStatus, ReasonCode, SEQUENCE_BITS, agencyOfCredential, sequenceOfCredential } from "../chain/codes.js";
import type { IssuerTrust, LedgerView, StatusEntry } from "./ledger-view.js";

export interface LedgerIndexOptions {
  readonly provider: Provider;
  readonly deployment: Deployment;
  /** Blocks to wait before applying a block (0 on QBFT, which has immediate finality). */
  readonly confirmations?: number;
  /** Lookups refuse (INDEX_STALE) when the last successful sync is older than this (ms). Default 5 000. */
  readonly maxStalenessMs?: number;
  /** Block range of one eth_getLogs call during catch-up. Default 5 000. */
  readonly blocksPerQuery?: number;
  /** Clock (ms), injectable for tests. */
  readonly now?: () => number;
}

interface OrgRecord {
  status: OrgStatus;
  kind: number;
  admin: string;
  types: Set<string>;
}

interface KeyRecord {
  agencyCode: number;
  validFrom: number;
  validUntil: number;
  compromised: boolean;
}

/** Per-organisation credential table in flat typed arrays: 33 bytes per credential (1.2 M ≈ 40 MB). */
class CredentialTable {
  count = 0;
  status = new Uint8Array(64); // bit 7 registered, bits 0-1 state, bits 2-6 reason
  digests = new Uint8Array(64 * 32);

  register(sequence: number, digestHex: string): void {
    this.ensure(sequence + 1);
    this.status[sequence] = 0x80;
    this.digests.set(Buffer.from(digestHex.slice(2), "hex"), sequence * 32);
    if (sequence + 1 > this.count) this.count = sequence + 1;
  }

  setState(sequence: number, state: number, reason: number): void {
    if (sequence >= this.count || !(this.status[sequence]! & 0x80)) return; // never registered: nothing to change
    this.status[sequence] = 0x80 | (state & 3) | ((reason & 31) << 2);
  }

  get(sequence: number): StatusEntry | undefined {
    if (sequence >= this.count) return undefined;
    const byte = this.status[sequence]!;
    if (!(byte & 0x80)) return undefined;
    return {
      registered: true,
      state: (byte & 3) as CredentialState,
      reason: (byte >> 2) & 31,
      credentialDigest: "0x" + Buffer.from(this.digests.subarray(sequence * 32, sequence * 32 + 32)).toString("hex"),
    };
  }

  private ensure(size: number): void {
    if (size <= this.status.length) return;
    let n = this.status.length;
    while (n < size) n *= 2;
    const status = new Uint8Array(n);
    status.set(this.status);
    const digests = new Uint8Array(n * 32);
    digests.set(this.digests);
    this.status = status;
    this.digests = digests;
  }
}

const statusIface = CredentialStatusRegistry__factory.createInterface();
const issuerIface = IssuerRegistry__factory.createInterface();
const TOPIC = {
  registered: statusIface.getEvent("CredentialRegistered").topicHash,
  changed: statusIface.getEvent("CredentialStatusChanged").topicHash,
  changedBatch: statusIface.getEvent("CredentialsStatusChanged").topicHash,
  accredited: issuerIface.getEvent("OrganisationAccredited").topicHash,
  orgStatus: issuerIface.getEvent("OrganisationStatusChanged").topicHash,
  orgAdmin: issuerIface.getEvent("OrganisationAdminChanged").topicHash,
  typeSet: issuerIface.getEvent("CredentialTypeSet").topicHash,
  keyAdded: issuerIface.getEvent("IssuerKeyAdded").topicHash,
  keyRetired: issuerIface.getEvent("IssuerKeyRetired").topicHash,
};
const STATUS_TOPICS = new Set([TOPIC.registered, TOPIC.changed, TOPIC.changedBatch]);
const SEQUENCE_LIMIT = 2 ** 32; // typed-array tables index sequences as numbers

/**
 * A verifier's local index of credential status and issuer accreditation, rebuilt from contract events alone
 * and kept current by `sync()` (or `follow()`). Lookups are O(1) and never touch the network; they refuse with
 * INDEX_STALE once the last successful sync is older than `maxStalenessMs`, so a gate that lost its node stops
 * accepting instead of serving an old status. A reorg (the block hash at the synced height changed) triggers a
 * rebuild from the deployment block.
 */
export class LedgerIndex implements LedgerView {
  readonly chainId: number;
  readonly statusRegistry: string;
  private readonly issuerRegistry: string;
  private readonly provider: Provider;
  private readonly deployment: Deployment;
  private readonly confirmations: number;
  private readonly maxStalenessMs: number;
  private readonly blocksPerQuery: number;
  private readonly now: () => number;

  private tables = new Map<number, CredentialTable>();
  private orgs = new Map<number, OrgRecord>();
  private keys = new Map<string, KeyRecord>();
  private syncedBlock = -1;
  private syncedHash: string | undefined;
  private lastSyncAt = -Infinity;
  private syncing: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Number of full rebuilds caused by reorgs (observability). */
  reorgs = 0;

  constructor(options: LedgerIndexOptions) {
    this.provider = options.provider;
    this.deployment = options.deployment;
    this.chainId = options.deployment.chainId;
    this.statusRegistry = getAddress(options.deployment.statusRegistry);
    this.issuerRegistry = getAddress(options.deployment.issuerRegistry);
    this.confirmations = options.confirmations ?? 0;
    this.maxStalenessMs = options.maxStalenessMs ?? 5_000;
    this.blocksPerQuery = options.blocksPerQuery ?? 5_000;
    this.now = options.now ?? Date.now;
    if (!Number.isInteger(this.confirmations) || this.confirmations < 0) throw new CivilIdError("INVALID_INPUT", "confirmations must be >= 0.");
    if (!Number.isInteger(this.blocksPerQuery) || this.blocksPerQuery < 1) throw new CivilIdError("INVALID_INPUT", "blocksPerQuery must be >= 1.");
  }

  /** The last block applied to the index (-1 before the first sync). */
  get blockNumber(): number {
    return this.syncedBlock;
  }

  /** Milliseconds since the last successful sync. */
  get ageMs(): number {
    return this.now() - this.lastSyncAt;
  }

  /** Catches up to the head (minus confirmations). Concurrent calls share one sync. Returns the synced block. */
  sync(): Promise<number> {
    this.syncing ??= this.doSync().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  /** Syncs every `intervalMs` until `stop()`. Sync errors are reported to `onError` (the index then ages into INDEX_STALE). */
  follow(intervalMs: number, onError: (error: unknown) => void): void {
    this.stop();
    const tick = () => {
      this.sync().then(
        () => undefined,
        (error: unknown) => onError(error),
      ).finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  credentialStatus(credentialId: bigint): Promise<StatusEntry> {
    return settle(() => this.statusNow(credentialId));
  }

  issuerTrust(issuer: string, credentialTypeHash: string, issuedAt: number): Promise<IssuerTrust> {
    return settle(() => this.trustNow(issuer, credentialTypeHash, issuedAt));
  }

  /** Synchronous status lookup (O(1), no I/O); throws INDEX_STALE beyond the staleness bound. */
  statusNow(credentialId: bigint): StatusEntry {
    this.assertFresh();
    const sequence = sequenceOfCredential(credentialId);
    const table = this.tables.get(agencyOfCredential(credentialId));
    const entry = table && sequence < BigInt(SEQUENCE_LIMIT) ? table.get(Number(sequence)) : undefined;
    return entry ?? { registered: false, state: CredentialState.Active, reason: 0, credentialDigest: undefined };
  }

  /** Synchronous issuer-trust lookup (O(1), no I/O); throws INDEX_STALE beyond the staleness bound. */
  trustNow(issuer: string, credentialTypeHash: string, issuedAt: number): IssuerTrust {
    this.assertFresh();
    const key = this.keys.get(getAddress(issuer));
    if (!key) return { keyKnown: false, agencyCode: 0, compromised: false, inWindowAtIssuance: false, orgStatus: OrgStatus.None, typeAllowed: false };
    const org = this.orgs.get(key.agencyCode);
    return {
      keyKnown: true,
      agencyCode: key.agencyCode,
      compromised: key.compromised,
      inWindowAtIssuance: issuedAt >= key.validFrom && issuedAt < key.validUntil,
      orgStatus: org?.status ?? OrgStatus.None,
      typeAllowed: org?.types.has(credentialTypeHash.toLowerCase()) ?? false,
    };
  }

  /** Number of registered credentials known to the index. */
  credentialCount(): number {
    let n = 0;
    for (const table of this.tables.values()) n += table.count;
    return n;
  }

  private assertFresh(): void {
    const age = this.ageMs;
    if (!(age <= this.maxStalenessMs)) {
      throw new CivilIdError(
        "INDEX_STALE",
        `The local status index is ${Number.isFinite(age) ? `${Math.round(age)} ms` : "never"} synced (bound ${this.maxStalenessMs} ms); refusing until it syncs with a node.`,
      );
    }
  }

  private async doSync(): Promise<number> {
    const head = await this.provider.getBlockNumber();
    if (!Number.isSafeInteger(head) || head < 0) throw new CivilIdError("CHAIN_UNREACHABLE", `The node answered an invalid block number ${String(head)}.`);
    if (this.syncedBlock >= 0 && (await this.reorged())) {
      this.reset();
      this.reorgs += 1;
    }
    const target = head - this.confirmations;
    let from = this.syncedBlock < 0 ? this.deployment.deploymentBlock : this.syncedBlock + 1;
    // The range of one getLogs call: `blocksPerQuery`, halved whenever the node refuses a range as too large (nodes
    // cap the block span or the number of results of eth_getLogs), then grown back after each answered range.
    let span = this.blocksPerQuery;
    while (from <= target) {
      const to = Math.min(target, from + span - 1);
      // The hash of the last applied block moves with it, range by range: a sync failing half-way leaves a
      // (syncedBlock, syncedHash) pair that the next sync's reorg check can trust. It is read before the logs, so a
      // reorg between the two reads makes the next sync rebuild rather than keep logs of an abandoned branch.
      const block = await this.provider.getBlock(to);
      if (!block?.hash) throw new CivilIdError("CHAIN_UNREACHABLE", `The node did not return block ${to}.`);
      let logs: Log[];
      try {
        logs = await this.provider.getLogs({ address: [this.statusRegistry, this.issuerRegistry], fromBlock: from, toBlock: to });
      } catch (error) {
        if (to > from && isRangeTooLarge(error)) {
          span = Math.max(1, Math.floor((to - from + 1) / 2));
          continue;
        }
        throw error;
      }
      this.apply(logs, from, to);
      this.syncedBlock = to;
      this.syncedHash = block.hash;
      from = to + 1;
      span = Math.min(this.blocksPerQuery, span * 2);
    }
    this.lastSyncAt = this.now();
    return this.syncedBlock;
  }

  private async reorged(): Promise<boolean> {
    if (this.syncedHash === undefined) return false;
    const block = await this.provider.getBlock(this.syncedBlock);
    return !block || block.hash !== this.syncedHash;
  }

  private reset(): void {
    this.tables = new Map();
    this.orgs = new Map();
    this.keys = new Map();
    this.syncedBlock = -1;
    this.syncedHash = undefined;
  }

  /**
   * Applies one getLogs answer; validates first that the node returned what was asked (range, order, not removed),
   * so a refused answer leaves the index untouched.
   */
  private apply(logs: readonly Log[], from: number, to: number): void {
    let last = -1;
    for (const log of logs) {
      const position = log.blockNumber * 1_000_000 + log.index;
      if (log.blockNumber < from || log.blockNumber > to || position < last || log.removed) {
        throw new CivilIdError("CHAIN_UNREACHABLE", "The node returned logs outside the requested range or out of order; refusing them.");
      }
      last = position;
    }
    for (const log of logs) {
      const address = getAddress(log.address);
      if (address === this.statusRegistry && STATUS_TOPICS.has(log.topics[0]!)) this.applyStatus(log);
      else if (address === this.issuerRegistry) this.applyIssuer(log);
    }
  }

  private table(agencyCode: number): CredentialTable {
    let table = this.tables.get(agencyCode);
    if (!table) {
      table = new CredentialTable();
      this.tables.set(agencyCode, table);
    }
    return table;
  }

  private applyStatus(log: Log): void {
    const topic = log.topics[0];
    if (topic === TOPIC.registered) {
      // Hot path during catch-up (one per credential): decode by slicing instead of the generic ABI decoder.
      const id = BigInt(log.topics[1]!);
      const digest = "0x" + log.data.slice(2, 66);
      const superseded = BigInt("0x" + log.data.slice(66, 130));
      this.table(agencyOf(id)).register(sequenceOf(id), digest);
      if (superseded !== 0n) this.table(agencyOf(superseded)).setState(sequenceOf(superseded), CredentialState.Revoked, ReasonCode.SUPERSEDED_BY_REISSUE);
      return;
    }
    const parsed = statusIface.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) return;
    const state = Number(parsed.args.state);
    const reason = Number(parsed.args.reason);
    const ids: readonly bigint[] = parsed.name === "CredentialStatusChanged" ? [parsed.args.credentialId as bigint] : (parsed.args.credentialIds as bigint[]);
    for (const id of ids) this.table(agencyOf(id)).setState(sequenceOf(id), state, reason);
  }

  private applyIssuer(log: Log): void {
    const parsed = issuerIface.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) return;
    const a = parsed.args;
    switch (log.topics[0] ?? "") {
      case TOPIC.accredited:
        this.orgs.set(Number(a.agencyCode), { status: OrgStatus.Active, kind: Number(a.kind), admin: a.admin as string, types: new Set() });
        break;
      case TOPIC.orgStatus: {
        const org = this.orgs.get(Number(a.agencyCode));
        if (org) org.status = Number(a.newStatus);
        break;
      }
      case TOPIC.orgAdmin: {
        const org = this.orgs.get(Number(a.agencyCode));
        if (org) org.admin = a.newAdmin as string;
        break;
      }
      case TOPIC.typeSet: {
        const org = this.orgs.get(Number(a.agencyCode));
        const type = (a.credentialType as string).toLowerCase();
        if (org) {
          if (a.allowed) org.types.add(type);
          else org.types.delete(type);
        }
        break;
      }
      case TOPIC.keyAdded:
        this.keys.set(getAddress(a.issuer as string), {
          agencyCode: Number(a.agencyCode),
          validFrom: Number(a.validFrom),
          validUntil: Number(a.validUntil),
          compromised: false,
        });
        break;
      case TOPIC.keyRetired: {
        const key = this.keys.get(getAddress(a.issuer as string));
        if (key) {
          key.validUntil = Math.min(key.validUntil, Number(a.retiredAt));
          key.compromised ||= Boolean(a.compromised);
        }
        break;
      }
      default:
        break;
    }
  }
}

/**
 * Whether a failed eth_getLogs was refused for its size (geth: "query returned more than 10000 results"; Besu:
 * "Requested range exceeds maximum RPC range limit"; providers: "block range too large", "response size exceeded").
 */
function isRangeTooLarge(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${JSON.stringify((error as { info?: unknown }).info ?? "")}` : String(error);
  return /more than \d+ results|range (?:is )?too (?:large|wide)|exceeds? (?:the )?maximum|range limit|too many (?:results|logs)|response size|limit exceeded/i.test(text);
}

/** Runs a synchronous lookup with promise semantics (a throw becomes a rejection). */
function settle<T>(lookup: () => T): Promise<T> {
  try {
    return Promise.resolve(lookup());
  } catch (error) {
    return Promise.reject(error instanceof Error ? error : new Error(String(error)));
  }
}

function agencyOf(id: bigint): number {
  return Number(id >> SEQUENCE_BITS);
}

function sequenceOf(id: bigint): number {
  const sequence = sequenceOfCredential(id);
  if (sequence >= BigInt(SEQUENCE_LIMIT)) throw new CivilIdError("CHAIN_UNREACHABLE", `Credential sequence ${sequence} exceeds the index's range.`);
  return Number(sequence);
}
