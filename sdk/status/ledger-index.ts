import { ZeroHash, getAddress, type Provider } from "ethers";
import { readFile } from "node:fs/promises";
import { CivilIdError, isCivilIdError } from "../errors.js";
import type { Deployment } from "../chain/deployment.js";
import { CredentialStatusRegistry__factory, DIDRegistry__factory, IssuerRegistry__factory } from "../chain/contracts.js";
import { CredentialState, OrgStatus, ReasonCode, SEQUENCE_BITS, agencyOfCredential, sequenceOfCredential } from "../chain/codes.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import type { IssuerTrust, LedgerView, StatusEntry } from "./ledger-view.js";
import { isRangeTooLarge, ledgerNodeFromProvider, noteRefusedSpan, spanFor, type LedgerNode, type LogQuery, type RawLog } from "./ledger-node.js";
import { NodeQuorum, type QuorumOptions } from "./quorum.js";
import { REGISTERED_TOPIC, findRegistration, logsFingerprint } from "./registration-log.js";

export interface LedgerIndexOptions {
  readonly deployment: Deployment;
  /** One node (the single-node form; quorum 1 of 1). Give `nodes` instead for quorum reads. */
  readonly provider?: Provider;
  /** One node per ministry; every getLogs range, block hash and state snapshot is accepted only when `quorum` agree. */
  readonly nodes?: readonly LedgerNode[];
  /** k of n (default a majority of `nodes`). */
  readonly quorum?: number;
  readonly onDissent?: QuorumOptions["onDissent"];
  /** A failed node is skipped for this long (ms). Default 5 000. */
  readonly retryAfterMs?: number;
  /** Blocks to wait before applying a block (0 on QBFT, which has immediate finality). */
  readonly confirmations?: number;
  /** Lookups refuse (INDEX_STALE) when the last successful sync is older than this (ms). Default 5 000. */
  readonly maxStalenessMs?: number;
  /** Largest block range of one eth_getLogs call. Default 5 000 (halved on a node's range refusal). */
  readonly blocksPerQuery?: number;
  /**
   * How a new index catches up: "snapshot" (default) reads the status words of every organisation from state at one
   * block and follows events from there, backfilling binding digests from logs in the background; "events" replays
   * every status event from the deployment block (small chains, tests).
   */
  readonly catchUp?: "snapshot" | "events";
  /** Persist the index here (atomically, after catch-up and then at most every `persistEveryMs`); resume from it. */
  readonly stateFile?: string;
  /** Default 10 000. */
  readonly persistEveryMs?: number;
  /**
   * While following, compare the index's status state with the nodes' packed status words (`verifyAgainstState`) this
   * often (ms); a difference discards the index, which rebuilds from state at the next sync. 0 disables. Default
   * 300 000 (at 1.2 M credentials one check reads ≈ 38,000 words from each node).
   */
  readonly stateCheckEveryMs?: number;
  /** Reports background failures (digest backfill, persistence, state check); they never make a lookup answer wrongly. */
  readonly onBackgroundError?: (error: unknown) => void;
  /** Clock (ms), injectable for tests. */
  readonly now?: () => number;
}

interface OrgRecord {
  status: OrgStatus;
  kind: number;
  admin: string;
  types: Set<string>;
  /** keccak256 of the official name (OrganisationNameSet); ZeroHash until governance sets one. */
  nameHash: string;
}

interface KeyRecord {
  agencyCode: number;
  validFrom: number;
  validUntil: number;
  compromised: boolean;
}

/** The owner of a DID that changed it in the DID registry (null: deactivated). Identities absent own themselves. */
type DidOwner = string | null;

const REGISTERED = 0x80;
const DIGEST_KNOWN = 0x01;

/**
 * Per-organisation credential table in flat typed arrays: 34 bytes per credential (1.2 M ≈ 41 MB). Status bytes use
 * the contract's layout (bits 0-1 state, 2-6 reason) with bit 7 meaning "registered".
 */
class CredentialTable {
  count = 0;
  status = new Uint8Array(64);
  flags = new Uint8Array(64);
  /** Allocated with the first digest: a snapshot serves status before any digest is known (32 of its 34 bytes). */
  digests: Uint8Array | undefined;

  register(sequence: number, digestHex: string): void {
    this.ensure(sequence + 1);
    this.status[sequence] = REGISTERED;
    this.setDigest(sequence, digestHex);
    if (sequence + 1 > this.count) this.count = sequence + 1;
  }

  setDigest(sequence: number, digestHex: string): void {
    if (sequence >= this.status.length) return;
    this.digests ??= new Uint8Array(this.status.length * 32);
    this.digests.set(Buffer.from(digestHex.slice(2, 66), "hex"), sequence * 32);
    this.flags[sequence]! |= DIGEST_KNOWN;
  }

  setState(sequence: number, state: number, reason: number): void {
    if (sequence >= this.count || !(this.status[sequence]! & REGISTERED)) return; // never registered: nothing to change
    this.status[sequence] = REGISTERED | (state & 3) | ((reason & 31) << 2);
  }

  /** Loads `count` credentials' status bytes from packed status words (32 per word, lowest sequence lowest byte). */
  loadWords(count: number, wordsHex: string, firstWord: number): void {
    this.ensure(count);
    if (count > this.count) this.count = count;
    const words = Buffer.from(wordsHex, "hex");
    const end = Math.min(count, (firstWord + words.length / 32) * 32);
    for (let sequence = firstWord * 32; sequence < end; sequence++) {
      const w = sequence - firstWord * 32;
      this.status[sequence] = REGISTERED | (words[(w & ~31) + 31 - (w & 31)]! & 0x7f);
    }
  }

  /** The status bytes as the contract's words would pack them (for the cross-check against another node's state). */
  packedByte(sequence: number): number {
    return this.status[sequence]! & 0x7f;
  }

  get(sequence: number): (StatusEntry & { digestKnown: boolean }) | undefined {
    if (sequence >= this.count) return undefined;
    const byte = this.status[sequence]!;
    if (!(byte & REGISTERED)) return undefined;
    const digestKnown = (this.flags[sequence]! & DIGEST_KNOWN) !== 0;
    return {
      registered: true,
      state: (byte & 3) as CredentialState,
      reason: (byte >> 2) & 31,
      // A view of the 32 bytes, not a copy (this runs on every tap).
      credentialDigest: digestKnown && this.digests ? "0x" + Buffer.from(this.digests.buffer, this.digests.byteOffset + sequence * 32, 32).toString("hex") : undefined,
      digestKnown,
    };
  }

  ensure(size: number): void {
    if (size <= this.status.length) return;
    let n = this.status.length;
    while (n < size) n *= 2;
    const grow = (a: Uint8Array, factor: number) => {
      const b = new Uint8Array(n * factor);
      b.set(a);
      return b;
    };
    this.status = grow(this.status, 1);
    this.flags = grow(this.flags, 1);
    if (this.digests) this.digests = grow(this.digests, 32);
  }
}

const statusIface = CredentialStatusRegistry__factory.createInterface();
const issuerIface = IssuerRegistry__factory.createInterface();
const didIface = DIDRegistry__factory.createInterface();
const topic = (iface: { getEvent(name: string): { topicHash: string } | null }, name: string) => iface.getEvent(name)!.topicHash.toLowerCase();
const TOPIC = {
  registered: REGISTERED_TOPIC,
  locked: topic(statusIface, "CredentialLocked"),
  unlocked: topic(statusIface, "CredentialUnlocked"),
  revoked: topic(statusIface, "CredentialRevoked"),
  changedBatch: topic(statusIface, "CredentialsStatusChanged"),
  accredited: topic(issuerIface, "OrganisationAccredited"),
  orgStatus: topic(issuerIface, "OrganisationStatusChanged"),
  orgAdmin: topic(issuerIface, "OrganisationAdminChanged"),
  typeSet: topic(issuerIface, "CredentialTypeSet"),
  keyAdded: topic(issuerIface, "IssuerKeyAdded"),
  keyRetired: topic(issuerIface, "IssuerKeyRetired"),
  orgName: topic(issuerIface, "OrganisationNameSet"),
  didOwner: topic(didIface, "DIDOwnerChanged"),
};
const ISSUER_TOPICS = [TOPIC.accredited, TOPIC.orgStatus, TOPIC.orgAdmin, TOPIC.typeSet, TOPIC.keyAdded, TOPIC.keyRetired, TOPIC.orgName];
const SEQUENCE_LIMIT = 2 ** 32; // typed-array tables index sequences as numbers
const WORDS_PAGE = 2048; // CredentialStatusRegistry.MAX_STATUS_WORDS_PAGE
const FIRST_PAGE = 128;
const FIRST_SPAN = 16; // blocks of the first getLogs of a catch-up; nextSpan grows it
const TARGET_LOGS_PER_PAGE = 2_000; // keeps one getLogs answer (and its parse, ≈ 1.2 MB of JSON) small during backfill
// @2: organisations carry their name hash (an @1 file is rebuilt, since it never saw OrganisationNameSet).
const STATE_FORMAT = "mobile-civil-id/ledger-index@2";

/**
 * A verifier's local index of credential status, issuer accreditation and issuer DID ownership, kept current by
 * `sync()` (or `follow()`). Lookups are O(1) and never touch the network (except a binding digest the background
 * backfill has not reached yet: one quorum look-up); they refuse with INDEX_STALE once the last successful sync is
 * older than `maxStalenessMs`, so a gate that lost its nodes stops accepting instead of serving an old status.
 *
 * Trust: every getLogs range, block hash and state snapshot the index applies is agreed by `quorum` nodes at the same
 * block (NodeQuorum): a node that drops or injects a log, or serves another chain, is outvoted or stops the index
 * (LEDGER_DISAGREEMENT), never applied. A reorg (the agreed hash of the synced block changed) triggers a rebuild.
 */
export class LedgerIndex implements LedgerView {
  readonly chainId: number;
  readonly statusRegistry: string;
  readonly quorum: NodeQuorum;
  private readonly issuerRegistry: string;
  private readonly didRegistry: string;
  private readonly deployment: Deployment;
  private readonly confirmations: number;
  private readonly maxStalenessMs: number;
  private readonly blocksPerQuery: number;
  private readonly catchUp: "snapshot" | "events";
  private readonly stateFile: string | undefined;
  private readonly persistEveryMs: number;
  private readonly stateCheckEveryMs: number;
  private lastStateCheckAt = -Infinity;
  private checkingState = false;
  private readonly onBackgroundError: (error: unknown) => void;
  private readonly now: () => number;

  private tables = new Map<number, CredentialTable>();
  private orgs = new Map<number, OrgRecord>();
  private keys = new Map<string, KeyRecord>();
  private didOwners = new Map<string, DidOwner>();
  private syncedBlock = -1;
  private syncedHash: string | undefined;
  /** Registrations at or below this block have their digests in the tables; above it, up to `snapshotBlock`, not yet. */
  private backfilledTo = Infinity;
  private snapshotBlock = -1;
  private backfilling: Promise<void> | undefined;
  private generation = 0;
  private lastSyncAt = -Infinity;
  private lastPersistAt = -Infinity;
  private persisting: Promise<void> = Promise.resolve();
  private restored = false;
  private syncing: Promise<number> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Number of full rebuilds caused by reorgs (observability). */
  reorgs = 0;

  constructor(options: LedgerIndexOptions) {
    this.deployment = options.deployment;
    const nodes = options.nodes ?? (options.provider ? [ledgerNodeFromProvider(options.provider)] : []);
    this.quorum = new NodeQuorum({
      deployment: options.deployment,
      nodes,
      quorum: options.quorum ?? (options.nodes ? Math.floor(nodes.length / 2) + 1 : 1),
      ...(options.onDissent ? { onDissent: options.onDissent } : {}),
      ...(options.retryAfterMs === undefined ? {} : { retryAfterMs: options.retryAfterMs }),
      ...(options.now ? { now: options.now } : {}),
    });
    this.chainId = options.deployment.chainId;
    this.statusRegistry = getAddress(options.deployment.statusRegistry);
    this.issuerRegistry = getAddress(options.deployment.issuerRegistry);
    this.didRegistry = getAddress(options.deployment.didRegistry);
    this.confirmations = options.confirmations ?? 0;
    this.maxStalenessMs = options.maxStalenessMs ?? 5_000;
    this.blocksPerQuery = options.blocksPerQuery ?? 5_000;
    this.catchUp = options.catchUp ?? "snapshot";
    this.stateFile = options.stateFile;
    this.persistEveryMs = options.persistEveryMs ?? 10_000;
    this.stateCheckEveryMs = options.stateCheckEveryMs ?? 300_000;
    this.onBackgroundError = options.onBackgroundError ?? (() => undefined);
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

  /** Whether every binding digest up to the snapshot block is local (lookups then never make a request). */
  get backfilled(): boolean {
    return this.backfilledTo >= this.snapshotBlock;
  }

  /** Catches up to the head (minus confirmations). Concurrent calls share one sync. Returns the synced block. */
  sync(): Promise<number> {
    this.syncing ??= this.doSync().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  /** Resolves once the background digest backfill is complete (it restarts after a rebuild). */
  async whenBackfilled(): Promise<void> {
    while (this.backfilling) await this.backfilling;
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

  /** Stops following; the background backfill stops at its next page. */
  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  async credentialStatus(credentialId: bigint): Promise<StatusEntry> {
    const entry = this.lookup(credentialId);
    if (!entry.registered || entry.credentialDigest !== undefined) return entry;
    // Registered before the snapshot and not reached by the backfill yet: one quorum look-up of its log.
    const generation = this.generation;
    const found = await findRegistration(this.quorum, this.statusRegistry, credentialId, this.deployment.deploymentBlock, this.snapshotBlock, this.blocksPerQuery);
    if (generation === this.generation) this.tables.get(agencyOfCredential(credentialId))?.setDigest(Number(sequenceOfCredential(credentialId)), found.digest);
    return { ...entry, credentialDigest: found.digest };
  }

  issuerTrust(issuer: string, credentialTypeHash: string, issuedAt: number): Promise<IssuerTrust> {
    return settle(() => this.trustNow(issuer, credentialTypeHash, issuedAt));
  }

  /**
   * Synchronous status lookup (O(1), no I/O); throws INDEX_STALE beyond the staleness bound, and also while this
   * credential's binding digest awaits the backfill (`credentialStatus` then looks it up).
   */
  statusNow(credentialId: bigint): StatusEntry {
    const entry = this.lookup(credentialId);
    if (entry.registered && entry.credentialDigest === undefined) {
      throw new CivilIdError("INDEX_STALE", `The binding digest of credential ${credentialId} is not backfilled yet; use credentialStatus(), which looks it up.`);
    }
    return entry;
  }

  /** Synchronous issuer-trust lookup (O(1), no I/O); throws INDEX_STALE beyond the staleness bound. */
  trustNow(issuer: string, credentialTypeHash: string, issuedAt: number): IssuerTrust {
    this.assertFresh();
    // Keys are held checksummed; a checksummed `issuer` (what the credential parser gives) hits without a keccak
    // (getAddress costs ~12 µs, 2 % of a repeat tap); any other spelling is normalised first.
    const key = this.keys.get(issuer) ?? this.keys.get(getAddress(issuer));
    if (!key) return { keyKnown: false, agencyCode: 0, compromised: false, inWindowAtIssuance: false, orgStatus: OrgStatus.None, typeAllowed: false };
    const org = this.orgs.get(key.agencyCode);
    return {
      keyKnown: true,
      agencyCode: key.agencyCode,
      compromised: key.compromised,
      inWindowAtIssuance: issuedAt >= key.validFrom && issuedAt < key.validUntil,
      orgStatus: org?.status ?? OrgStatus.None,
      typeAllowed: org?.types.has(credentialTypeHash.toLowerCase()) ?? false,
      organisationNameHash: org?.nameHash ?? ZeroHash,
    };
  }

  /**
   * The controller of an identity in the DID registry as of the synced block: its own address unless it changed
   * owner, null once deactivated (throws INDEX_STALE beyond the staleness bound). A gate's DID resolver answers issuer
   * DIDs from this without a request (see `IndexedDidResolver`).
   */
  didOwnerNow(identity: string): string | null {
    this.assertFresh();
    const address = getAddress(identity);
    const owner = this.didOwners.get(address.toLowerCase());
    return owner === undefined ? address : owner;
  }

  /** Whether `address` was ever registered as an organisation's issuer key (throws INDEX_STALE beyond the bound). */
  isIssuerKeyNow(address: string): boolean {
    this.assertFresh();
    return this.keys.has(getAddress(address));
  }

  /** Number of registered credentials known to the index. */
  credentialCount(): number {
    let n = 0;
    for (const table of this.tables.values()) n += table.count;
    return n;
  }

  /**
   * Compares every organisation's status state the index holds with the packed status words `quorum` nodes serve at
   * the synced block (the index derived its state from events; this catches a dropped log an honest-looking node
   * left out). Throws LEDGER_DISAGREEMENT on any difference. Returns the number of credentials compared.
   */
  async verifyAgainstState(): Promise<number> {
    const height = this.syncedBlock;
    if (height < 0) throw new CivilIdError("INDEX_STALE", "The index has not synced yet.");
    const generation = this.generation;
    const state = await this.readStatusState(height);
    if (generation !== this.generation || height !== this.syncedBlock) throw new CivilIdError("INDEX_STALE", "The index moved while being verified; verify again.");
    let compared = 0;
    const agencies = new Set([...state.keys(), ...[...this.tables].filter(([, t]) => t.count > 0).map(([a]) => a)]);
    for (const agency of agencies) {
      const words = state.get(agency) ?? { count: 0, words: "" };
      const table = this.tables.get(agency);
      const count = table?.count ?? 0;
      if (count !== words.count) throw disagreement(`organisation ${agency}: the index holds ${count} credentials, the nodes' state ${words.count}`);
      const bytes = Buffer.from(words.words, "hex");
      for (let sequence = 0; sequence < count; sequence++) {
        const byte = bytes[Math.floor(sequence / 32) * 32 + 31 - (sequence % 32)]! & 0x7f;
        if (byte !== table!.packedByte(sequence)) throw disagreement(`credential sequence ${sequence} of organisation ${agency} differs from the nodes' state at block ${height}`);
      }
      compared += count;
    }
    return compared;
  }

  private lookup(credentialId: bigint): StatusEntry {
    this.assertFresh();
    const sequence = sequenceOfCredential(credentialId);
    const table = this.tables.get(agencyOfCredential(credentialId));
    const entry = table && sequence < BigInt(SEQUENCE_LIMIT) ? table.get(Number(sequence)) : undefined;
    if (!entry) return { registered: false, state: CredentialState.Active, reason: 0, credentialDigest: undefined };
    return { registered: true, state: entry.state, reason: entry.reason, credentialDigest: entry.credentialDigest };
  }

  private assertFresh(): void {
    const age = this.ageMs;
    if (!(age <= this.maxStalenessMs)) {
      throw new CivilIdError(
        "INDEX_STALE",
        `The local status index is ${Number.isFinite(age) ? `${Math.round(age)} ms` : "never"} synced (bound ${this.maxStalenessMs} ms); refusing until it syncs with its nodes.`,
      );
    }
  }

  private async doSync(): Promise<number> {
    if (!this.restored) {
      this.restored = true;
      await this.restore();
    }
    const head = await this.quorum.head();
    if (this.syncedBlock >= 0 && (await this.reorged())) {
      this.reset();
      this.reorgs += 1;
    }
    const target = head - this.confirmations;
    if (this.syncedBlock < 0 && this.catchUp === "snapshot" && target >= this.deployment.deploymentBlock) {
      await this.takeSnapshot(target);
    }
    let from = this.syncedBlock < 0 ? this.deployment.deploymentBlock : this.syncedBlock + 1;
    const address = [this.statusRegistry, this.issuerRegistry, this.didRegistry];
    // The range of one getLogs call: `blocksPerQuery`, halved whenever a node refuses a range as too large, then grown
    // back after each answered range. The range's end block hash comes with the agreed answer, so a sync failing
    // half-way leaves a (syncedBlock, syncedHash) pair that the next sync's reorg check can trust.
    let span = Math.min(this.blocksPerQuery, FIRST_SPAN);
    while (from <= target) {
      const to = Math.min(target, from + this.spanOverNodes(span) - 1);
      const answer = await this.agreedLogs({ address, fromBlock: from, toBlock: to });
      if (answer === "too-large") {
        span = Math.max(1, Math.floor((to - from + 1) / 2));
        continue;
      }
      this.apply(answer.value, from, to);
      this.syncedBlock = to;
      this.syncedHash = answer.blockHash;
      span = nextSpan(span, this.blocksPerQuery, answer.value.length, to - from + 1);
      from = to + 1;
    }
    this.lastSyncAt = this.now();
    if (this.stateFile && this.now() - this.lastPersistAt >= this.persistEveryMs) this.persistInBackground();
    if (this.timer !== undefined && this.stateCheckEveryMs > 0 && this.now() - this.lastStateCheckAt >= this.stateCheckEveryMs) this.checkStateInBackground();
    return this.syncedBlock;
  }

  /** The periodic state cross-check of a following index: on a disagreement the index is discarded and rebuilt. */
  private checkStateInBackground(): void {
    if (this.checkingState) return;
    this.checkingState = true;
    this.lastStateCheckAt = this.now();
    const generation = this.generation;
    this.verifyAgainstState()
      .catch((error: unknown) => {
        if (isCivilIdError(error, "LEDGER_DISAGREEMENT") && generation === this.generation) this.reset();
        this.onBackgroundError(error);
      })
      .finally(() => {
        this.checkingState = false;
      });
  }

  /** The span every usable node accepts (nodes remember the spans they refused). */
  private spanOverNodes(span: number): number {
    return Math.min(...this.quorum.nodes.map((node) => spanFor(node, span)));
  }

  /** Logs of a range agreed by the quorum, or "too-large" when a node refused the range for its size. */
  private async agreedLogs(query: LogQuery): Promise<{ value: RawLog[]; blockHash: string } | "too-large"> {
    let refused = false;
    try {
      return await this.quorum.agree(`logs of blocks ${query.fromBlock}..${query.toBlock}`, query.toBlock, async (node) => {
        try {
          return await node.getLogs(query);
        } catch (error) {
          if (query.toBlock > query.fromBlock && isRangeTooLarge(error)) {
            noteRefusedSpan(node, query.toBlock - query.fromBlock + 1);
            refused = true;
          }
          throw error;
        }
      }, logsFingerprint, { hashFirst: true });
    } catch (error) {
      if (refused && !isCivilIdError(error, "LEDGER_DISAGREEMENT")) return "too-large";
      throw error;
    }
  }

  private async reorged(): Promise<boolean> {
    if (this.syncedHash === undefined) return false;
    try {
      const { blockHash } = await this.quorum.agree(`the hash of block ${this.syncedBlock}`, this.syncedBlock, () => Promise.resolve(""), () => "");
      return blockHash !== this.syncedHash;
    } catch (error) {
      // The synced block is gone from the nodes (a reorg to a shorter chain): rebuild. Anything else is a failure.
      if (isCivilIdError(error, "CHAIN_UNREACHABLE") && /lagging/.test(error.message) && (await this.quorum.head()) < this.syncedBlock) return true;
      throw error;
    }
  }

  private reset(): void {
    this.tables = new Map();
    this.orgs = new Map();
    this.keys = new Map();
    this.didOwners = new Map();
    this.syncedBlock = -1;
    this.syncedHash = undefined;
    this.backfilledTo = Infinity;
    this.snapshotBlock = -1;
    this.generation += 1;
    this.lastSyncAt = -Infinity; // INDEX_STALE until the rebuild completes, never "not registered" from empty tables
  }

  /**
   * Catch-up from state: the status words of every accredited organisation at `height` (agreed by the quorum, page by
   * page), the issuer registry's and DID registry's events up to `height` (few), then the digests in the background.
   */
  private async takeSnapshot(height: number): Promise<void> {
    // The block's hash first: if the chain reorganises while the state is read, the next sync sees another hash there.
    const { blockHash: snapshotHash } = await this.quorum.agree(`the hash of block ${height}`, height, () => Promise.resolve(""), () => "");
    const state = await this.readStatusState(height);
    for (const [agency, { count, words }] of state) if (count > 0) this.table(agency).loadWords(count, words, 0);
    let from = this.deployment.deploymentBlock;
    let span = Math.min(this.blocksPerQuery, FIRST_SPAN);
    while (from <= height) {
      const to = Math.min(height, from + this.spanOverNodes(span) - 1);
      const answer = await this.agreedLogs({ address: [this.issuerRegistry, this.didRegistry], topics: [[...ISSUER_TOPICS, TOPIC.didOwner]], fromBlock: from, toBlock: to });
      if (answer === "too-large") {
        span = Math.max(1, Math.floor((to - from + 1) / 2));
        continue;
      }
      this.apply(answer.value, from, to);
      span = nextSpan(span, this.blocksPerQuery, answer.value.length, to - from + 1);
      from = to + 1;
    }
    this.syncedBlock = height;
    this.syncedHash = snapshotHash;
    this.snapshotBlock = height;
    this.backfilledTo = this.deployment.deploymentBlock - 1;
    this.startBackfill();
  }

  /** Every organisation's (registeredCount, packed words) at `height`, each read agreed by the quorum. */
  private async readStatusState(height: number): Promise<Map<number, { count: number; words: string }>> {
    const { value: codesData } = await this.quorum.agree(`the accredited organisations at block ${height}`, height,
      (node) => node.call(this.issuerRegistry, issuerIface.encodeFunctionData("agencyCodes"), height), (v) => v);
    const agencies = decodeUintArray(codesData, "agencyCodes");
    // Organisations removed from the registry's list may still hold credentials the index learned from events.
    for (const [agency, table] of this.tables) if (table.count > 0 && !agencies.includes(agency)) agencies.push(agency);
    const state = new Map<number, { count: number; words: string }>();
    const readWords = async (agency: number, from: number, count: number) => {
      const { value } = await this.quorum.agree(`status words ${from}.. of organisation ${agency} at block ${height}`, height,
        (node) => node.call(this.statusRegistry, statusIface.encodeFunctionData("statusWords", [agency, from, count]), height), (v) => v, { reuseBlockHash: true });
      const decoded = decodeStatusWords(value);
      if (decoded.words.length !== count * 64) throw new CivilIdError("CHAIN_UNREACHABLE", "The nodes answered a status-words page of the wrong size.");
      return decoded;
    };
    // One call per organisation in the common case: the first page (FIRST_PAGE words = 4,096 credentials) brings the
    // organisation's count with it; larger organisations page on.
    const firsts = await mapLimit(agencies, 8, (agency) => readWords(agency, 0, FIRST_PAGE));
    const pages: { agency: number; from: number; count: number }[] = [];
    agencies.forEach((agency, i) => {
      const { count, words } = firsts[i]!;
      const needed = Math.ceil(count / 32);
      state.set(agency, { count, words: words.slice(0, Math.min(needed, FIRST_PAGE) * 64) });
      for (let w = FIRST_PAGE; w < needed; w += WORDS_PAGE) pages.push({ agency, from: w, count: Math.min(WORDS_PAGE, needed - w) });
    });
    const rest = await mapLimit(pages, 8, (page) => readWords(page.agency, page.from, page.count));
    pages.forEach((page, i) => {
      const entry = state.get(page.agency)!;
      if (rest[i]!.count !== entry.count) throw new CivilIdError("CHAIN_UNREACHABLE", "The nodes answered different credential counts at one block.");
      entry.words += rest[i]!.words;
    });
    return state;
  }

  /** Backfills binding digests of credentials registered up to the snapshot block, oldest first, in the background. */
  private startBackfill(): void {
    const generation = this.generation;
    const run = async () => {
      // Ranges never wider than the chain's average registration density allows for TARGET_LOGS_PER_PAGE logs: empty
      // pages (the set-up blocks before a bulk issuance) must not grow the range into one answer of the whole burst.
      const registered = this.credentialCount();
      const blocks = Math.max(1, this.snapshotBlock - this.deployment.deploymentBlock + 1);
      const maxSpan = Math.max(1, Math.min(this.blocksPerQuery, Math.floor((TARGET_LOGS_PER_PAGE * blocks) / Math.max(1, registered))));
      let span = Math.min(maxSpan, FIRST_SPAN);
      while (generation === this.generation && this.backfilledTo < this.snapshotBlock) {
        const from = this.backfilledTo + 1;
        const to = Math.min(this.snapshotBlock, from + this.spanOverNodes(span) - 1);
        const answer = await this.agreedLogs({ address: [this.statusRegistry], topics: [REGISTERED_TOPIC], fromBlock: from, toBlock: to });
        if (generation !== this.generation) return;
        if (answer === "too-large") {
          span = Math.max(1, Math.floor((to - from + 1) / 2));
          continue;
        }
        checkRange(answer.value, from, to);
        for (const log of answer.value) {
          if (log.address !== this.statusRegistry.toLowerCase() || log.topics[0] !== REGISTERED_TOPIC || log.data.length < 130) continue;
          const id = BigInt(log.topics[1]!);
          this.tables.get(agencyOf(id))?.setDigest(sequenceOf(id), log.data);
        }
        this.backfilledTo = to;
        span = nextSpan(span, maxSpan, answer.value.length, to - from + 1);
      }
    };
    this.backfilling = run()
      .catch((error: unknown) => this.onBackgroundError(error))
      .finally(() => {
        this.backfilling = undefined;
        if (generation === this.generation && this.backfilledTo < this.snapshotBlock && this.timer !== undefined) this.startBackfill();
      });
  }

  /**
   * Applies one agreed getLogs answer; validates first that it is what was asked (range, order, not removed), so a
   * refused answer leaves the index untouched.
   */
  private apply(logs: readonly RawLog[], from: number, to: number): void {
    checkRange(logs, from, to);
    const status = this.statusRegistry.toLowerCase();
    const issuer = this.issuerRegistry.toLowerCase();
    const did = this.didRegistry.toLowerCase();
    for (const log of logs) {
      if (log.address === status) this.applyStatus(log);
      else if (log.address === issuer) this.applyIssuer(log);
      else if (log.address === did && log.topics[0] === TOPIC.didOwner) this.applyDidOwner(log);
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

  /** Fixed-layout events decoded by slicing (no ABI coder, no per-log objects beyond the raw log). */
  private applyStatus(log: RawLog): void {
    const t = log.topics[0];
    const d = log.data;
    if (t === TOPIC.registered) {
      if (log.topics.length !== 3 || d.length !== 2 + 2 * 64) throw malformed("CredentialRegistered");
      const id = BigInt(log.topics[1]!);
      const superseded = BigInt("0x" + d.slice(66, 130));
      this.table(agencyOf(id)).register(sequenceOf(id), "0x" + d.slice(2, 66));
      if (superseded !== 0n) this.table(agencyOf(superseded)).setState(sequenceOf(superseded), CredentialState.Revoked, ReasonCode.SUPERSEDED_BY_REISSUE);
    } else if (t === TOPIC.locked || t === TOPIC.unlocked || t === TOPIC.revoked) {
      // One event per transition (the new state is topic 0): data (uint8 reason, address operator); id indexed.
      if (log.topics.length !== 2 || d.length !== 2 + 2 * 64) throw malformed("CredentialLocked/Unlocked/Revoked");
      const id = BigInt(log.topics[1]!);
      const state = t === TOPIC.locked ? CredentialState.Locked : t === TOPIC.unlocked ? CredentialState.Active : CredentialState.Revoked;
      this.table(agencyOf(id)).setState(sequenceOf(id), state, smallUint(d, 0));
    } else if (t === TOPIC.changedBatch) {
      // data (bytes packedIds, uint8 state, uint8 reason); operator indexed: offset (0x60), state, reason, byte
      // length 8n, then the ids, 8 bytes each, big-endian, zero-padded to a whole word.
      if (log.topics.length !== 2 || d.length < 2 + 4 * 64 || smallUint(d, 0) !== 96) throw malformed("CredentialsStatusChanged");
      const state = smallUint(d, 1);
      const reason = smallUint(d, 2);
      const bytes = smallUint(d, 3);
      if (bytes % 8 !== 0 || d.length !== 2 + (4 + Math.ceil(bytes / 32)) * 64) throw malformed("CredentialsStatusChanged");
      const start = 2 + 4 * 64;
      const end = start + bytes * 2;
      if (!/^0*$/.test(d.slice(end))) throw malformed("CredentialsStatusChanged");
      for (let at = start; at < end; at += 16) {
        const id = BigInt("0x" + d.slice(at, at + 16));
        this.table(agencyOf(id)).setState(sequenceOf(id), state, reason);
      }
    }
  }

  private applyIssuer(log: RawLog): void {
    const parsed = issuerIface.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) return;
    const a = parsed.args;
    switch (log.topics[0] ?? "") {
      case TOPIC.accredited:
        this.orgs.set(Number(a.agencyCode), { status: OrgStatus.Active, kind: Number(a.kind), admin: a.admin as string, types: new Set(), nameHash: ZeroHash });
        break;
      case TOPIC.orgName: {
        const org = this.orgs.get(Number(a.agencyCode));
        if (org) org.nameHash = (a.nameHash as string).toLowerCase();
        break;
      }
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

  /** DIDOwnerChanged(address indexed identity, address owner, uint256 previousChange); owner 0 = deactivated. */
  private applyDidOwner(log: RawLog): void {
    if (log.topics.length !== 2 || log.data.length !== 2 + 2 * 64) throw malformed("DIDOwnerChanged");
    const identity = "0x" + log.topics[1]!.slice(26);
    const owner = "0x" + log.data.slice(26, 66);
    if (this.didOwners.get(identity) === null) return; // deactivation is final
    this.didOwners.set(identity, /^0x0{40}$/.test(owner) ? null : getAddress(owner));
  }

  // ------------------------------------------------------------------ persistence

  private persistInBackground(): void {
    this.lastPersistAt = this.now();
    this.persist().catch((error: unknown) => this.onBackgroundError(error));
  }

  /**
   * Writes the index to `stateFile` atomically (temp file + rename): a JSON header (deployment identity, synced block
   * and hash, organisations, keys, DID owners) then, per organisation, its status bytes, flags and digests. Writes are
   * serialised, each taking the state as of its turn, so the file on disk is never older than a write that finished.
   */
  persist(): Promise<void> {
    if (!this.stateFile) return Promise.reject(new CivilIdError("INVALID_INPUT", "The index has no stateFile to persist to."));
    const job = this.persisting.then(() => this.writeState(this.stateFile!));
    this.persisting = job.catch(() => undefined);
    return job;
  }

  private async writeState(file: string): Promise<void> {
    if (this.syncedBlock < 0) return;
    const tables = [...this.tables].map(([agency, t]) => ({ agency, count: t.count, digests: t.digests !== undefined }));
    const header = {
      format: STATE_FORMAT,
      chainId: this.chainId,
      statusRegistry: this.statusRegistry,
      deploymentBlock: this.deployment.deploymentBlock,
      syncedBlock: this.syncedBlock,
      syncedHash: this.syncedHash,
      snapshotBlock: this.snapshotBlock,
      backfilledTo: Number.isFinite(this.backfilledTo) ? this.backfilledTo : null,
      orgs: [...this.orgs].map(([code, o]) => ({ code, status: o.status, kind: o.kind, admin: o.admin, types: [...o.types], nameHash: o.nameHash })),
      keys: [...this.keys].map(([issuer, k]) => ({ issuer, ...k })),
      didOwners: [...this.didOwners],
      tables,
    };
    const head = Buffer.from(JSON.stringify(header), "utf8");
    const parts: Uint8Array[] = [uint32(head.length), head];
    for (const [, t] of this.tables) {
      parts.push(t.status.subarray(0, t.count), t.flags.subarray(0, t.count));
      if (t.digests) parts.push(t.digests.subarray(0, t.count * 32));
    }
    await writeFileAtomic(file, Buffer.concat(parts));
  }

  /** Loads `stateFile` if present and consistent; trusted only once the quorum confirms its synced block's hash. */
  private async restore(): Promise<void> {
    if (!this.stateFile) return;
    let bytes: Buffer;
    try {
      bytes = await readFile(this.stateFile);
    } catch {
      return; // no state yet: a fresh catch-up
    }
    let header: PersistedHeader;
    let offset: number;
    try {
      const length = bytes.readUInt32BE(0);
      header = JSON.parse(bytes.subarray(4, 4 + length).toString("utf8")) as PersistedHeader;
      offset = 4 + length;
    } catch (error) {
      this.onBackgroundError(new CivilIdError("INVALID_INPUT", `${this.stateFile} is not an index state file; rebuilding.`, { cause: error }));
      return;
    }
    if (header.format !== STATE_FORMAT || header.chainId !== this.chainId || header.statusRegistry !== this.statusRegistry || header.deploymentBlock !== this.deployment.deploymentBlock) {
      this.onBackgroundError(new CivilIdError("INVALID_INPUT", `${this.stateFile} belongs to another deployment; rebuilding.`));
      return;
    }
    const { blockHash } = await this.quorum.agree(`the hash of block ${header.syncedBlock}`, header.syncedBlock, () => Promise.resolve(""), () => "").catch(() => ({ blockHash: "" }));
    if (blockHash !== header.syncedHash) {
      this.onBackgroundError(new CivilIdError("INVALID_INPUT", `${this.stateFile}: block ${header.syncedBlock} is no longer ${header.syncedHash} on the nodes; rebuilding.`));
      return;
    }
    const tables = new Map<number, CredentialTable>();
    for (const { agency, count, digests } of header.tables) {
      const t = new CredentialTable();
      t.ensure(count);
      t.status.set(bytes.subarray(offset, offset + count));
      offset += count;
      t.flags.set(bytes.subarray(offset, offset + count));
      offset += count;
      if (digests) {
        t.digests = new Uint8Array(t.status.length * 32);
        t.digests.set(bytes.subarray(offset, offset + count * 32));
        offset += count * 32;
      }
      t.count = count;
      tables.set(agency, t);
    }
    if (offset !== bytes.length) {
      this.onBackgroundError(new CivilIdError("INVALID_INPUT", `${this.stateFile} is truncated; rebuilding.`));
      return;
    }
    this.tables = tables;
    this.orgs = new Map(header.orgs.map((o) => [o.code, { status: o.status, kind: o.kind, admin: o.admin, types: new Set(o.types), nameHash: o.nameHash }]));
    this.keys = new Map(header.keys.map((k) => [k.issuer, { agencyCode: k.agencyCode, validFrom: k.validFrom, validUntil: k.validUntil, compromised: k.compromised }]));
    this.didOwners = new Map(header.didOwners);
    this.syncedBlock = header.syncedBlock;
    this.syncedHash = header.syncedHash;
    this.snapshotBlock = header.snapshotBlock;
    this.backfilledTo = header.backfilledTo ?? Infinity;
    if (this.backfilledTo < this.snapshotBlock) this.startBackfill();
  }
}

interface PersistedHeader {
  format: string;
  chainId: number;
  statusRegistry: string;
  deploymentBlock: number;
  syncedBlock: number;
  syncedHash: string;
  snapshotBlock: number;
  backfilledTo: number | null;
  orgs: { code: number; status: OrgStatus; kind: number; admin: string; types: string[]; nameHash: string }[];
  keys: ({ issuer: string } & KeyRecord)[];
  didOwners: [string, DidOwner][];
  tables: { agency: number; count: number; digests: boolean }[];
}

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * The next getLogs range: twice the last after an answer, but aiming at TARGET_LOGS_PER_PAGE logs per answer, so a
 * dense chain (1,000 registrations a block after a bulk issuance) is read in small ranges and a sparse one in large.
 */
function nextSpan(span: number, max: number, logs: number, blocks: number): number {
  const perBlock = logs / blocks;
  const dense = perBlock > 0 ? Math.floor(TARGET_LOGS_PER_PAGE / perBlock) : Infinity;
  return Math.max(1, Math.min(max, span * 2, dense));
}

/** Validates a getLogs answer against what was asked: range, order, not removed. */
function checkRange(logs: readonly RawLog[], from: number, to: number): void {
  let last = -1;
  for (const log of logs) {
    const position = log.blockNumber * 1_000_000 + log.logIndex;
    if (log.blockNumber < from || log.blockNumber > to || position < last || log.removed) {
      throw new CivilIdError("CHAIN_UNREACHABLE", "The node returned logs outside the requested range or out of order; refusing them.");
    }
    last = position;
  }
}

/** The `i`-th 32-byte word of ABI data as a small number (event fields that are uint8 / offsets / lengths). */
function smallUint(data: string, i: number): number {
  const word = data.slice(2 + i * 64, 2 + (i + 1) * 64);
  if (word.length !== 64 || !/^0{48}/.test(word)) throw malformed("status event");
  return Number.parseInt(word.slice(48), 16);
}

/** (uint64 registeredCount, uint256[] words): count, offset 0x40, length, words; words returned as one hex string. */
function decodeStatusWords(data: string): { count: number; words: string } {
  if (data.length < 2 + 3 * 64) throw new CivilIdError("CHAIN_UNREACHABLE", "statusWords: a malformed answer.");
  const count = smallUint(data, 0);
  const offset = smallUint(data, 1);
  const n = smallUint(data, 2);
  if (offset !== 64 || data.length !== 2 + (3 + n) * 64) throw new CivilIdError("CHAIN_UNREACHABLE", "statusWords: a malformed answer.");
  return { count, words: data.slice(2 + 3 * 64) };
}

/** A uint[] return value (agencyCodes). */
function decodeUintArray(data: string, what: string): number[] {
  if (data.length < 2 + 2 * 64) throw new CivilIdError("CHAIN_UNREACHABLE", `${what}: a malformed answer.`);
  const offset = smallUint(data, 0);
  const n = smallUint(data, 1);
  if (offset !== 32 || data.length !== 2 + (2 + n) * 64) throw new CivilIdError("CHAIN_UNREACHABLE", `${what}: a malformed answer.`);
  return Array.from({ length: n }, (_, i) => smallUint(data, 2 + i));
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function malformed(event: string): CivilIdError {
  return new CivilIdError("CHAIN_UNREACHABLE", `The nodes returned a ${event} log that does not have the contract's layout; refusing it.`);
}

function disagreement(why: string): CivilIdError {
  return new CivilIdError("LEDGER_DISAGREEMENT", `The index's status state disagrees with the nodes' state: ${why}. Rebuild the index and check the nodes.`);
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
