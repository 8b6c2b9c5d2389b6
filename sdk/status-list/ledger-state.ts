/**
 * The ledger's state at one finalized block, as status lists and offline snapshots publish it: every
 * organisation's credential statuses (and binding digests, for offline gates), its accreditation, and every
 * issuer key with its window. Read from the contracts' views *at that block* (`blockTag`), so the whole state is
 * consistent with the block number and hash it carries; the event logs only enumerate what the views cannot
 * (issuer keys, credential types, binding digests — immutable once logged).
 */
import { getAddress, type Provider } from "ethers";
import { CivilIdError } from "../errors.js";
import type { LedgerContracts } from "../chain/contracts.js";
import { CredentialState, OrgKind, OrgStatus, makeCredentialId } from "../chain/codes.js";
import type { StatusEntry } from "../status/ledger-view.js";

export interface OrganisationState {
  readonly agencyCode: number;
  readonly kind: OrgKind;
  readonly status: OrgStatus;
  /** keccak256 ids (lower-case hex) of the credential types it may issue at the block. */
  readonly credentialTypes: readonly string[];
  /** Registered credentials (= its next sequence): sequences 0 … count-1. */
  readonly count: number;
  /** Per sequence: bits 0-1 the state, bits 2-6 the reason (the contract's status byte without its marker bit). */
  readonly statuses: Uint8Array;
  /** Per sequence the 32-byte binding digest (count × 32 bytes); absent when the state was read without digests. */
  readonly digests?: Uint8Array;
}

export interface IssuerKeyState {
  readonly issuer: string;
  readonly agencyCode: number;
  readonly validFrom: number;
  readonly validUntil: number;
  readonly compromised: boolean;
  /** The issuer DID's controller in the ERC-1056 DID registry at the block (the key itself unless changed). */
  readonly didOwner: string;
  /** Whether the issuer DID was deactivated in the DID registry at the block. */
  readonly didDeactivated: boolean;
}

export interface LedgerState {
  readonly chainId: number;
  readonly statusRegistry: string;
  readonly issuerRegistry: string;
  readonly blockNumber: number;
  readonly blockHash: string;
  /** The block's timestamp (unix s): the time the state was true. */
  readonly blockTimestamp: number;
  readonly organisations: readonly OrganisationState[];
  readonly keys: readonly IssuerKeyState[];
}

/** A synced status index that already holds the binding digests (e.g. `LedgerIndex`): read instead of the logs. */
export interface DigestSource {
  readonly blockNumber: number;
  statusNow(credentialId: bigint): StatusEntry;
}

export interface ReadLedgerStateOptions {
  readonly ledger: LedgerContracts;
  readonly provider: Provider;
  /** The block to read; default the head minus `confirmations`. */
  readonly blockNumber?: number;
  /** Blocks behind the head that count as final (0 on QBFT, which has immediate finality). Default 0. */
  readonly confirmations?: number;
  /**
   * Binding digests: "none" (status lists need none), "logs" (read CredentialRegistered logs up to the block), or a
   * synced index at or past the block (digests never change once registered, so a later index answers correctly).
   */
  readonly digests?: "none" | "logs" | DigestSource;
  /** Block span of one eth_getLogs call. Default 5 000. */
  readonly blocksPerQuery?: number;
  /** Reused across calls so each reads only the new blocks' logs (created with digests for `digests: "logs"`). */
  readonly enumerator?: LogEnumerator;
}

/** Words of 32 status bytes per statusWords call (the contract's MAX_STATUS_WORDS_PAGE). */
const WORDS_PER_PAGE = 2048;

export const BLOCK_HASH = /^0x[0-9a-f]{64}$/;

/** Reads the ledger state at a finalized block (see the module comment). */
export async function readLedgerState(options: ReadLedgerStateOptions): Promise<LedgerState> {
  const { ledger, provider } = options;
  const deployment = ledger.deployment;
  const head = await provider.getBlockNumber();
  const blockNumber = options.blockNumber ?? head - (options.confirmations ?? 0);
  if (!Number.isSafeInteger(blockNumber) || blockNumber < deployment.deploymentBlock || blockNumber > head) {
    throw new CivilIdError("INVALID_INPUT", `Block ${blockNumber} is not between the deployment block ${deployment.deploymentBlock} and the head ${head}.`);
  }
  const block = await provider.getBlock(blockNumber);
  if (!block?.hash || !BLOCK_HASH.test(block.hash)) throw new CivilIdError("CHAIN_UNREACHABLE", `The node did not return block ${blockNumber}.`);
  const at = { blockTag: blockNumber };
  const issuers = ledger.issuerRegistry;

  const agencyCodes = (await issuers.agencyCodes(at)).map(Number);
  const digestMode = options.digests ?? "none";
  const enumerated = options.enumerator ?? new LogEnumerator(ledger, provider, digestMode === "logs", options.blocksPerQuery);
  if (digestMode === "logs" && !enumerated.withDigests) throw new CivilIdError("INVALID_INPUT", "digests: \"logs\" needs an enumerator created with digests.");
  await enumerated.advance(blockNumber);
  const organisations: OrganisationState[] = [];
  for (const agencyCode of agencyCodes) {
    const org = await issuers.organisation(agencyCode, at);
    const candidates = [...(enumerated.types.get(agencyCode) ?? [])];
    const allowed = await Promise.all(candidates.map((t) => issuers.isCredentialTypeAllowed(agencyCode, t, at)));
    const { count, statuses } = await readStatuses(ledger, agencyCode, blockNumber);
    organisations.push({
      agencyCode,
      kind: Number(org.kind),
      status: Number(org.status),
      credentialTypes: candidates.filter((_, i) => allowed[i]).sort(),
      count,
      statuses,
    });
  }
  const keys: IssuerKeyState[] = [];
  for (const issuer of enumerated.keys) {
    const key = await issuers.issuerKey(issuer, at);
    if (Number(key.agencyCode) === 0) continue;
    const [didOwner, didDeactivated] = await Promise.all([ledger.didRegistry.identityOwner(issuer, at), ledger.didRegistry.deactivated(issuer, at)]);
    keys.push({
      issuer,
      agencyCode: Number(key.agencyCode),
      validFrom: Number(key.validFrom),
      validUntil: Number(key.validUntil),
      compromised: key.compromised,
      didOwner: getAddress(didOwner),
      didDeactivated,
    });
  }
  keys.sort((a, b) => (a.issuer < b.issuer ? -1 : 1));
  const withDigests =
    digestMode === "none" ? organisations
    : digestMode === "logs" ? attachDigests(organisations, enumerated.digests)
    : organisations.map((o) => ({ ...o, digests: digestsFromIndex(digestMode, o, blockNumber) }));
  return {
    chainId: deployment.chainId,
    statusRegistry: getAddress(deployment.statusRegistry),
    issuerRegistry: getAddress(deployment.issuerRegistry),
    blockNumber,
    blockHash: block.hash,
    blockTimestamp: block.timestamp,
    organisations: withDigests,
    keys,
  };
}

/** One organisation's status bytes at the block, paged through `statusWords`. */
async function readStatuses(ledger: LedgerContracts, agencyCode: number, blockNumber: number): Promise<{ count: number; statuses: Uint8Array }> {
  const at = { blockTag: blockNumber };
  const first = await ledger.statusRegistry.statusWords(agencyCode, 0, 0, at);
  const count = Number(first[0]);
  if (!Number.isSafeInteger(count) || count > 2 ** 32) throw new CivilIdError("CHAIN_UNREACHABLE", `Organisation ${agencyCode} reports ${count} credentials.`);
  const statuses = new Uint8Array(count);
  const words = Math.ceil(count / 32);
  for (let from = 0; from < words; from += WORDS_PER_PAGE) {
    const page = Math.min(WORDS_PER_PAGE, words - from);
    const [, values] = await ledger.statusRegistry.statusWords(agencyCode, from, page, at);
    if (values.length !== page) throw new CivilIdError("CHAIN_UNREACHABLE", `statusWords answered ${values.length} words, not ${page}.`);
    for (let w = 0; w < page; w++) {
      const bytes = Buffer.from(values[w]!.toString(16).padStart(64, "0"), "hex"); // big-endian: sequence 32w+i is byte 31-i
      const base = (from + w) * 32;
      for (let i = 0; i < 32 && base + i < count; i++) statuses[base + i] = bytes[31 - i]! & 0x7f;
    }
  }
  for (let s = 0; s < count; s++) {
    if ((statuses[s]! & 3) > Number(CredentialState.Revoked)) throw new CivilIdError("CHAIN_UNREACHABLE", `Organisation ${agencyCode}: impossible state at sequence ${s}.`);
  }
  return { count, statuses };
}

/**
 * What the views cannot enumerate, collected from the logs *incrementally*: issuer keys ever added, credential types
 * ever set per organisation and (when asked for) binding digests. Keep one per publisher and pass it to every
 * `readLedgerState`: each call then reads only the logs of the blocks since the previous one. The views at the block
 * decide what is true; a candidate here only says what to ask about (an extra one is harmless), and digests are
 * immutable once their registration is final.
 */
export class LogEnumerator {
  readonly keys = new Set<string>();
  readonly types = new Map<number, Set<string>>();
  readonly digests = new Map<bigint, string>();
  private scannedTo: number;

  constructor(
    private readonly ledger: LedgerContracts,
    private readonly provider: Provider,
    readonly withDigests: boolean,
    private readonly blocksPerQuery = 5_000,
  ) {
    this.scannedTo = ledger.deployment.deploymentBlock - 1;
  }

  /** Reads the logs of the blocks after the last one scanned, up to `blockNumber`. */
  async advance(blockNumber: number): Promise<void> {
    const issuerIface = this.ledger.issuerRegistry.interface;
    const keyAdded = issuerIface.getEvent("IssuerKeyAdded").topicHash;
    const typeSet = issuerIface.getEvent("CredentialTypeSet").topicHash;
    const registered = this.ledger.statusRegistry.interface.getEvent("CredentialRegistered").topicHash;
    const issuerRegistry = getAddress(this.ledger.deployment.issuerRegistry);
    const statusRegistry = getAddress(this.ledger.deployment.statusRegistry);
    for (let from = this.scannedTo + 1; from <= blockNumber; from += this.blocksPerQuery) {
      const to = Math.min(blockNumber, from + this.blocksPerQuery - 1);
      const logs = await this.provider.getLogs({
        address: this.withDigests ? [issuerRegistry, statusRegistry] : issuerRegistry,
        topics: [this.withDigests ? [keyAdded, typeSet, registered] : [keyAdded, typeSet]],
        fromBlock: from,
        toBlock: to,
      });
      for (const log of logs) {
        if (log.blockNumber < from || log.blockNumber > to || log.removed) throw new CivilIdError("CHAIN_UNREACHABLE", "The node returned logs outside the requested range.");
        const address = getAddress(log.address);
        const topic = log.topics[0];
        if (address === issuerRegistry && topic === keyAdded) this.keys.add(getAddress("0x" + log.topics[2]!.slice(26)));
        else if (address === issuerRegistry && topic === typeSet) {
          const agency = Number(BigInt(log.topics[1]!));
          let set = this.types.get(agency);
          if (!set) this.types.set(agency, (set = new Set()));
          set.add(log.topics[2]!.toLowerCase());
        } else if (address === statusRegistry && topic === registered) {
          this.digests.set(BigInt(log.topics[1]!), "0x" + log.data.slice(2, 66).toLowerCase());
        }
      }
      this.scannedTo = to;
    }
  }
}

function attachDigests(organisations: readonly OrganisationState[], digests: ReadonlyMap<bigint, string>): OrganisationState[] {
  return organisations.map((o) => {
    const table = new Uint8Array(o.count * 32);
    for (let s = 0; s < o.count; s++) {
      const digest = digests.get(makeCredentialId(o.agencyCode, BigInt(s)));
      if (!digest) throw new CivilIdError("CHAIN_UNREACHABLE", `No CredentialRegistered log for sequence ${s} of organisation ${o.agencyCode}.`);
      table.set(Buffer.from(digest.slice(2), "hex"), s * 32);
    }
    return { ...o, digests: table };
  });
}

function digestsFromIndex(index: DigestSource, o: OrganisationState, blockNumber: number): Uint8Array {
  if (index.blockNumber < blockNumber) {
    throw new CivilIdError("INDEX_STALE", `The index is at block ${index.blockNumber}, behind the snapshot block ${blockNumber}; sync it first.`);
  }
  const table = new Uint8Array(o.count * 32);
  for (let s = 0; s < o.count; s++) {
    const entry = index.statusNow(makeCredentialId(o.agencyCode, BigInt(s)));
    if (!entry.registered || !entry.credentialDigest) {
      throw new CivilIdError("CHAIN_UNREACHABLE", `The index has no binding digest for sequence ${s} of organisation ${o.agencyCode}.`);
    }
    table.set(Buffer.from(entry.credentialDigest.slice(2), "hex"), s * 32);
  }
  return table;
}

/**
 * The state at the next finalized block, cheaply when nothing happened: if no status, issuer or DID registry log
 * was emitted after `previous` (every state change of the contracts emits one) and `previous`'s block is still on
 * the chain, the state is `previous` at the new block (two or three calls instead of a full read); otherwise a
 * full `readLedgerState`. Lists must be re-signed at every block even then: their block time is what verifiers
 * judge staleness by.
 */
export async function advanceLedgerState(previous: LedgerState | undefined, options: ReadLedgerStateOptions & { readonly blockNumber: number }): Promise<LedgerState> {
  const { ledger, provider, blockNumber } = options;
  if (!previous || previous.chainId !== ledger.deployment.chainId || blockNumber <= previous.blockNumber) return readLedgerState(options);
  const [still, block, logs] = await Promise.all([
    provider.getBlock(previous.blockNumber),
    provider.getBlock(blockNumber),
    provider.getLogs({
      address: [ledger.deployment.statusRegistry, ledger.deployment.issuerRegistry, ledger.deployment.didRegistry],
      fromBlock: previous.blockNumber + 1,
      toBlock: blockNumber,
    }),
  ]);
  if (still?.hash !== previous.blockHash || logs.length > 0 || !block?.hash || !BLOCK_HASH.test(block.hash)) return readLedgerState(options);
  await options.enumerator?.advance(blockNumber); // keeps the enumerator's window contiguous
  return { ...previous, blockNumber, blockHash: block.hash, blockTimestamp: block.timestamp };
}
