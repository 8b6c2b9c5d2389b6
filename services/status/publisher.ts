import { createHash } from "node:crypto";
import type { Provider, SigningKey } from "ethers";
import type { LedgerContracts } from "../../sdk/chain/contracts.js";
import {
  buildBundle,
  LogEnumerator,
  advanceLedgerState,
  buildSnapshot,
  signSnapshot,
  type BundleEntry,
  type DigestSource,
  type LedgerSnapshotDocument,
  type LedgerState,
} from "../../sdk/status-list/index.js";

/** One published document with what its caching headers need. */
export interface Published {
  readonly body: string;
  /** Strong entity tag (quoted SHA-256 of the body, base64url). */
  readonly etag: string;
  /** When this version was built (ms since the epoch), for Last-Modified. */
  readonly modifiedAt: number;
}

export interface PublishedSet {
  readonly blockNumber: number;
  readonly blockHash: string;
  readonly ttlSeconds: number;
  readonly lists: ReadonlyMap<number, Published>;
  readonly cosignatures: ReadonlyMap<number, Published>;
  readonly bundle: Published;
  readonly snapshot: Published | undefined;
}

export interface StatusListPublisherOptions {
  readonly ledger: LedgerContracts;
  readonly provider: Provider;
  /** Public base URL of the status service (the lists' `sub`: `<baseUri>/status-lists/<agencyCode>`). */
  readonly baseUri: () => string;
  /** Each organisation's status signing key (one of its accredited issuer keys). */
  readonly signers: ReadonlyMap<number, SigningKey>;
  /** Consortium members co-signing every list (each checks the list against the state it read). */
  readonly coSigners?: readonly SigningKey[];
  /** Members signing the offline ledger snapshot; none = no snapshot published. */
  readonly snapshotSigners?: readonly SigningKey[];
  /**
   * Where the snapshot's binding digests come from: a synced index (33 bytes per credential, the production choice)
   * or the logs (kept in a map: fine for small deployments and tests). An index with `sync()` is synced before
   * each rebuild. Default "logs".
   */
  readonly digests?: "logs" | (DigestSource & { sync?(): Promise<number> });
  readonly confirmations?: number;
  readonly ttlSeconds?: number;
  readonly validitySeconds?: number;
  readonly now?: () => number;
}

function published(body: string, modifiedAt: number): Published {
  return { body, etag: `"${createHash("sha256").update(body).digest("base64url")}"`, modifiedAt };
}

/**
 * Builds and re-signs every organisation's status list, the national bundle and (optionally) the offline ledger
 * snapshot at each new finalized block. Readers always see one complete set: a new set replaces the old one only
 * once fully built, and a failed rebuild keeps serving the previous set (its `exp` and `mcid_ledger` block tell
 * verifiers how old it is).
 */
export class StatusListPublisher {
  private current: PublishedSet | undefined;
  /** The ledger state of the current set: the next block's state starts from it when nothing changed. */
  private state: LedgerState | undefined;
  private building: Promise<PublishedSet> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  /** Keys, types (and digests from the logs) found so far: each rebuild reads only the new blocks' logs. */
  private readonly enumerator: LogEnumerator;

  constructor(private readonly options: StatusListPublisherOptions) {
    this.now = options.now ?? Date.now;
    const digestsFromLogs = (options.snapshotSigners?.length ?? 0) > 0 && (options.digests ?? "logs") === "logs";
    this.enumerator = new LogEnumerator(options.ledger, options.provider, digestsFromLogs);
  }

  /** The set being served (undefined before the first build). */
  get set(): PublishedSet | undefined {
    return this.current;
  }

  /** Rebuilds if the finalized block moved (concurrent calls share one build). Returns the set now served. */
  refresh(): Promise<PublishedSet> {
    this.building ??= this.rebuild().finally(() => {
      this.building = undefined;
    });
    return this.building;
  }

  /** Refreshes every `intervalMs` (≈ the block time) until `stop()`; failures go to `onError`. */
  follow(intervalMs: number, onError: (error: unknown) => void): void {
    this.stop();
    const tick = () => {
      this.refresh()
        .then(() => undefined, onError)
        .finally(() => {
          if (this.timer !== undefined) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async rebuild(): Promise<PublishedSet> {
    const o = this.options;
    const head = await o.provider.getBlockNumber();
    const target = head - (o.confirmations ?? 0);
    if (this.current && this.current.blockNumber >= target) return this.current;
    const wantSnapshot = (o.snapshotSigners?.length ?? 0) > 0;
    // An index that supplies the digests is synced first, so it covers the block being published.
    if (wantSnapshot && typeof o.digests === "object" && o.digests.sync) await o.digests.sync();
    const state = await advanceLedgerState(this.state, {
      ledger: o.ledger,
      provider: o.provider,
      blockNumber: target,
      digests: wantSnapshot ? (o.digests ?? "logs") : "none",
      enumerator: this.enumerator,
    });
    this.state = state;
    this.current = this.publish(state);
    return this.current;
  }

  private publish(state: LedgerState): PublishedSet {
    const o = this.options;
    const t = this.now();
    const issuedAt = Math.floor(t / 1000);
    const ttlSeconds = o.ttlSeconds ?? 60;
    const bundle = buildBundle(state, o.signers, {
      baseUri: o.baseUri(),
      issuedAt,
      ttlSeconds,
      ...(o.validitySeconds === undefined ? {} : { validitySeconds: o.validitySeconds }),
      ...(o.coSigners ? { coSigners: o.coSigners } : {}),
    });
    const lists = new Map<number, Published>();
    const cosignatures = new Map<number, Published>();
    for (const entry of bundle.lists as BundleEntry[]) {
      lists.set(entry.agency_code, published(entry.token, t));
      cosignatures.set(entry.agency_code, published(JSON.stringify({ signatures: entry.cosignatures }), t));
    }
    let snapshot: LedgerSnapshotDocument | undefined;
    if ((o.snapshotSigners?.length ?? 0) > 0) {
      snapshot = buildSnapshot(state);
      for (const member of o.snapshotSigners!) snapshot = signSnapshot(snapshot, member, issuedAt);
    }
    return {
      blockNumber: state.blockNumber,
      blockHash: state.blockHash,
      ttlSeconds,
      lists,
      cosignatures,
      bundle: published(JSON.stringify(bundle), t),
      snapshot: snapshot ? published(JSON.stringify(snapshot), t) : undefined,
    };
  }
}
