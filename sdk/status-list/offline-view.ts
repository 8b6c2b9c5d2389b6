/**
 * The offline gate's LedgerView: answers status and issuer trust from the latest signed ledger snapshot
 * (snapshot.ts) instead of a node. It shows the snapshot's age, refuses every look-up (INDEX_STALE, so the
 * verifier refuses fail-closed) once the snapshot's block is older than the configured bound, and accepts a newer
 * snapshot from any source — a file, a USB stick, another gate — because it checks the signatures of the
 * consortium members it was configured to trust, never where the bytes came from. It refuses a tampered or
 * wrongly signed snapshot, one of another chain, an older one (rollback) and a different one at the same block
 * (fork), keeping the one it has.
 */
import { readFile } from "node:fs/promises";
import type { DIDResolutionResult, Resolvable } from "did-resolver";
import { getAddress } from "ethers";
import { parseEthrDid } from "../did/did.js";
import { CivilIdError } from "../errors.js";
import { CredentialState, OrgStatus, agencyOfCredential, sequenceOfCredential } from "../chain/codes.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import type { IssuerTrust, LedgerView, StatusEntry } from "../status/ledger-view.js";
import { StatusListError } from "./errors.js";
import type { IssuerKeyState, LedgerState, OrganisationState } from "./ledger-state.js";
import { verifySnapshot, type LedgerSnapshotDocument } from "./snapshot.js";

export interface OfflineLedgerViewOptions {
  readonly chainId: number;
  readonly statusRegistry: string;
  /** Consortium member addresses whose signatures this gate trusts. */
  readonly trustedSigners: readonly string[];
  /** Distinct trusted signatures a snapshot needs (k of the members). */
  readonly threshold: number;
  /** Look-ups refuse once the snapshot's block is older than this (ms). */
  readonly maxStalenessMs: number;
  /** Allowed clock difference with the chain (ms): a snapshot from further in the future is refused. Default 120 000. */
  readonly clockSkewMs?: number;
  /** Where the current snapshot is kept, so a restarted gate resumes from it (written atomically). */
  readonly file?: string;
  readonly now?: () => number;
}

export interface SnapshotInfo {
  readonly blockNumber: number;
  readonly blockHash: string;
  /** The block's time (ms since the epoch). */
  readonly blockTime: number;
  readonly signers: readonly string[];
}

const NOT_REGISTERED: StatusEntry = { registered: false, state: CredentialState.Active, reason: 0, credentialDigest: undefined };
const UNKNOWN_KEY: IssuerTrust = { keyKnown: false, agencyCode: 0, compromised: false, inWindowAtIssuance: false, orgStatus: OrgStatus.None, typeAllowed: false };

export class OfflineLedgerView implements LedgerView {
  readonly chainId: number;
  readonly statusRegistry: string;
  private readonly options: OfflineLedgerViewOptions;
  private readonly now: () => number;
  private state: LedgerState | undefined;
  private info: SnapshotInfo | undefined;
  private orgs = new Map<number, OrganisationState>();
  private keys = new Map<string, IssuerKeyState>();

  constructor(options: OfflineLedgerViewOptions) {
    if (!Number.isInteger(options.threshold) || options.threshold < 1 || options.threshold > options.trustedSigners.length) {
      throw new CivilIdError("INVALID_INPUT", `threshold must be between 1 and the ${options.trustedSigners.length} trusted signers.`);
    }
    if (!(options.maxStalenessMs > 0)) throw new CivilIdError("INVALID_INPUT", "maxStalenessMs must be positive.");
    this.options = options;
    this.chainId = options.chainId;
    this.statusRegistry = getAddress(options.statusRegistry);
    this.now = options.now ?? Date.now;
  }

  /** The current snapshot (undefined before the first), for display. */
  get snapshot(): SnapshotInfo | undefined {
    return this.info;
  }

  /** The issuer keys of the current snapshot (to check status lists and bundles offline, see statusSigners). */
  get issuerKeys(): readonly IssuerKeyState[] {
    return [...this.keys.values()];
  }

  /** Age of the current snapshot's state (ms; Infinity before the first): show it on the gate's screen. */
  get ageMs(): number {
    return this.info ? this.now() - this.info.blockTime : Infinity;
  }

  /**
   * Verifies and installs a snapshot (document or its JSON text). Returns the snapshot now in use. Refuses
   * (SNAPSHOT_REFUSED) and keeps the current one when it is tampered, wrongly signed, of another chain, older than
   * the current one (ROLLBACK) or another one at the same block (FORK). The same snapshot again is a no-op.
   */
  async install(input: LedgerSnapshotDocument | string): Promise<SnapshotInfo> {
    const verified = verifySnapshot(input, {
      trusted: this.options.trustedSigners,
      threshold: this.options.threshold,
      chainId: this.chainId,
      statusRegistry: this.statusRegistry,
    });
    const next = verified.state;
    const blockTime = next.blockTimestamp * 1000;
    if (blockTime > this.now() + (this.options.clockSkewMs ?? 120_000)) {
      throw new StatusListError("SNAPSHOT_REFUSED", "NOT_YET_VALID", "The snapshot's block is in the future: check this gate's clock.");
    }
    const current = this.state;
    if (current) {
      if (next.blockNumber < current.blockNumber) {
        throw new StatusListError("SNAPSHOT_REFUSED", "ROLLBACK", `The snapshot is of block ${next.blockNumber}, older than the current ${current.blockNumber}: refused.`);
      }
      if (next.blockNumber === current.blockNumber) {
        if (next.blockHash !== current.blockHash) {
          throw new StatusListError("SNAPSHOT_REFUSED", "FORK", `The snapshot has another hash for block ${next.blockNumber} than the current one: refused; report it to the consortium.`);
        }
        return this.info!;
      }
    }
    if (this.options.file) {
      const text = typeof input === "string" ? input : JSON.stringify(input);
      await writeFileAtomic(this.options.file, text);
    }
    this.activate(next, verified.signers);
    return this.info!;
  }

  /** Installs the snapshot kept in `options.file` (at start-up) or read from another file (a USB stick). */
  async installFile(file = this.options.file): Promise<SnapshotInfo> {
    if (!file) throw new CivilIdError("INVALID_INPUT", "No snapshot file configured.");
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      throw new StatusListError("SNAPSHOT_REFUSED", "UNAVAILABLE", `The snapshot file ${file} cannot be read.`, { cause: error });
    }
    return this.install(text);
  }

  /**
   * Fetches and installs a snapshot over HTTP — the status service's `/ledger-snapshot`, or another gate that
   * serves its file. The transport is not trusted (plain HTTP on a building LAN is fine): the signatures are.
   */
  async installFromUrl(url: string, options: { readonly timeoutMs?: number; readonly maxBytes?: number } = {}): Promise<SnapshotInfo> {
    const maxBytes = options.maxBytes ?? 512 * 1024 * 1024;
    let text: string;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 60_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const declared = Number(response.headers.get("content-length") ?? "0");
      if (declared > maxBytes) throw new Error(`${declared} bytes, more than the ${maxBytes} accepted`);
      text = await response.text();
    } catch (error) {
      throw new StatusListError("SNAPSHOT_REFUSED", "UNAVAILABLE", `No snapshot could be fetched from ${url} (${error instanceof Error ? error.message : String(error)}); the current one stays.`, { cause: error });
    }
    if (text.length > maxBytes) throw new StatusListError("SNAPSHOT_REFUSED", "MALFORMED", `The snapshot from ${url} is larger than ${maxBytes} bytes.`);
    return this.install(text);
  }

  credentialStatus(credentialId: bigint): Promise<StatusEntry> {
    try {
      this.assertFresh();
      const org = this.orgs.get(agencyOfCredential(credentialId));
      const sequence = sequenceOfCredential(credentialId);
      if (!org || sequence >= BigInt(org.count)) return Promise.resolve(NOT_REGISTERED);
      const s = Number(sequence);
      const byte = org.statuses[s]!;
      const digest = "0x" + Buffer.from(org.digests!.subarray(s * 32, s * 32 + 32)).toString("hex");
      return Promise.resolve({ registered: true, state: (byte & 3), reason: (byte >> 2) & 31, credentialDigest: digest });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  issuerTrust(issuer: string, credentialTypeHash: string, issuedAt: number): Promise<IssuerTrust> {
    try {
      this.assertFresh();
      const key = this.keys.get(getAddress(issuer));
      if (!key) return Promise.resolve(UNKNOWN_KEY);
      const org = this.orgs.get(key.agencyCode);
      return Promise.resolve({
        keyKnown: true,
        agencyCode: key.agencyCode,
        compromised: key.compromised,
        inWindowAtIssuance: issuedAt >= key.validFrom && issuedAt < key.validUntil,
        orgStatus: org?.status ?? OrgStatus.None,
        typeAllowed: org?.credentialTypes.includes(credentialTypeHash.toLowerCase()) ?? false,
      });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private activate(state: LedgerState, signers: readonly string[]): void {
    this.state = state;
    this.orgs = new Map(state.organisations.map((o) => [o.agencyCode, o]));
    this.keys = new Map(state.keys.map((k) => [getAddress(k.issuer), k]));
    this.info = { blockNumber: state.blockNumber, blockHash: state.blockHash, blockTime: state.blockTimestamp * 1000, signers };
  }

  /**
   * A DID resolver for the issuer DIDs the snapshot knows, so the gate verifies issuer signatures offline too: the
   * document ethr-did-resolver would build for a DID whose only change is its owner (the snapshot's `didOwner`),
   * refused for unknown, deactivated or other-chain DIDs. DID-registry delegates and
   * attributes are not carried (issuer DIDs sign with their controller key).
   */
  resolver(): Resolvable {
    return {
      resolve: (didUrl: string): Promise<DIDResolutionResult> => {
        const did = didUrl.split(/[#?/]/)[0]!;
        let key: IssuerKeyState | undefined;
        try {
          // No freshness check here: a stale snapshot's look-ups refuse (INDEX_STALE) right after the signature check.
          const parsed = parseEthrDid(did);
          if (parsed.chainId === BigInt(this.chainId)) key = this.keys.get(parsed.address);
        } catch (error) {
          return Promise.resolve(notFound(error instanceof Error ? error.message : String(error)));
        }
        if (!key) return Promise.resolve(notFound(`${did} is not an issuer DID of the snapshot.`));
        if (key.didDeactivated) return Promise.resolve({ didResolutionMetadata: { contentType: "application/did+ld+json" }, didDocumentMetadata: { deactivated: true }, didDocument: null });
        return Promise.resolve(ethrDocument(did, this.chainId, key.didOwner));
      },
    };
  }

  private assertFresh(): void {
    const age = this.ageMs;
    if (!(age <= this.options.maxStalenessMs)) {
      throw new CivilIdError(
        "INDEX_STALE",
        this.info
          ? `The offline snapshot (block ${this.info.blockNumber}) is ${Math.round(age / 1000)} s old, beyond the bound of ${Math.round(this.options.maxStalenessMs / 1000)} s: load a newer signed snapshot.`
          : "No signed ledger snapshot is loaded: load one (file, USB, another gate).",
      );
    }
  }
}

function notFound(message: string): DIDResolutionResult {
  return { didResolutionMetadata: { error: "notFound", message }, didDocumentMetadata: {}, didDocument: null };
}

/** The document ethr-did-resolver returns for a did:ethr controlled by `owner` with no other registry changes. */
function ethrDocument(did: string, chainId: number, owner: string): DIDResolutionResult {
  return {
    didResolutionMetadata: { contentType: "application/did+ld+json" },
    didDocumentMetadata: {},
    didDocument: {
      "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/secp256k1recovery-2020/v2"],
      id: did,
      verificationMethod: [
        { id: `${did}#controller`, type: "EcdsaSecp256k1RecoveryMethod2020", controller: did, blockchainAccountId: `eip155:${chainId}:${owner}` },
      ],
      authentication: [`${did}#controller`],
      assertionMethod: [`${did}#controller`],
    },
  };
}
