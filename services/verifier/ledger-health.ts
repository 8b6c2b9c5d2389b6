/**
 * The gate's view of its own ledger connection, for the kiosk's health strip and the fail-closed rule "never green
 * on doubt": the head the verifier's node quorum agrees on, read at least every `intervalMs`. Staleness is the local
 * time since the last read a quorum answered (not the block's timestamp: an idle consortium chain may mint no block
 * for a while and is still current). Beyond `maxStalenessMs`, or when the last read failed, the health is not "ok"
 * and the verifier refuses every presentation with INDEX_STALE or LEDGER_UNAVAILABLE instead of judging it on a
 * view it cannot vouch for.
 *
 * One head reading for both: given the verifier's own ledger view (`head`), every head read a verification makes
 * counts as a probe, and the timer reads the head itself only when no read finished within the last interval, so a
 * busy gate does not ask its nodes for the same head twice (once per tap, once per probe).
 */
import type { HeadReading } from "../../sdk/status/ledger-view.js";
import type { NodeQuorum } from "../../sdk/status/quorum.js";
import type { RefusalCode } from "../../sdk/verifier/results.js";
// The API shape is declared once, where the gate page can import it too.
import type { LedgerHealth, LedgerHealthState } from "../../web/common/ledger-health.js";

/** Where the head is read when it is shared with the verifier's own reads (OnlineLedgerView). */
export interface SharedHead {
  agreedHead(): Promise<number>;
  onHeadRead(listener: (reading: HeadReading) => void): () => void;
}

export interface LedgerHealthOptions {
  /** The nodes (described in the health) and how many must agree. */
  readonly quorum: NodeQuorum;
  /** The verifier's ledger view, whose head reads are shared; default: the probe reads `quorum.head()` itself. */
  readonly head?: SharedHead;
  /** Probe interval (ms). Default 1 000. */
  readonly intervalMs?: number;
  /** Staleness bound (ms). Default 10 000. */
  readonly maxStalenessMs?: number;
  /** Local monotonic-enough clock for staleness (ms). Default Date.now. */
  readonly clock?: () => number;
}

export class LedgerHealthMonitor {
  private readonly quorum: NodeQuorum;
  private readonly head: SharedHead | undefined;
  private readonly intervalMs: number;
  private readonly maxStalenessMs: number;
  private readonly clock: () => number;
  private block = -1;
  private lastOkAt: number | undefined;
  private lastError: string | undefined;
  /** When the last head read finished, ours or a verification's (performance.now(): the timer's clock, not `clock`). */
  private lastReadAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private probing: Promise<LedgerHealth> | undefined;
  private readonly listeners = new Set<(health: LedgerHealth) => void>();

  constructor(options: LedgerHealthOptions) {
    this.quorum = options.quorum;
    this.head = options.head;
    this.intervalMs = options.intervalMs ?? 1_000;
    this.maxStalenessMs = options.maxStalenessMs ?? 10_000;
    this.clock = options.clock ?? Date.now;
    if (!(this.intervalMs >= 50)) throw new Error("ledger health: intervalMs must be >= 50");
    if (!(this.maxStalenessMs >= this.intervalMs)) throw new Error("ledger health: maxStalenessMs must be at least the probe interval");
  }

  /** One probe now (concurrent callers share it, and it joins a head read already on its way); never throws. */
  probe(): Promise<LedgerHealth> {
    this.probing ??= (this.head?.agreedHead() ?? this.quorum.head())
      .then(
        (block) => this.record({ block }),
        (error: unknown) => this.record({ error }),
      )
      .finally(() => {
        this.probing = undefined;
      });
    return this.probing;
  }

  /** A finished head read, the probe's or a verification's: the health it gives is told to the listeners. */
  private record(reading: HeadReading): LedgerHealth {
    this.lastReadAt = performance.now();
    if ("block" in reading) {
      this.block = Math.max(this.block, reading.block);
      this.lastOkAt = this.clock();
      this.lastError = undefined;
    } else {
      const { error } = reading;
      this.lastError = error instanceof Error ? error.message.slice(0, 300) : String(error).slice(0, 300);
    }
    const health = this.current();
    for (const listener of this.listeners) listener(health);
    return health;
  }

  /**
   * Keeps the health current until `stop()`: a probe whenever no head read finished for `intervalMs` (with a
   * shared head, the verifications' reads count).
   */
  start(): void {
    if (this.timer !== undefined) return;
    // A read the probe itself made is recorded by the probe (it may have joined a verification's read).
    this.unsubscribe = this.head?.onHeadRead((reading) => {
      if (this.probing === undefined) this.record(reading);
    });
    // The probe never keeps a process alive by itself (the service's server does, while it listens).
    const tick = () => {
      if (this.timer === undefined) return;
      const idleFor = this.lastReadAt === undefined ? Infinity : performance.now() - this.lastReadAt;
      if (idleFor < this.intervalMs) {
        this.timer = setTimeout(tick, this.intervalMs - idleFor).unref();
        return;
      }
      void this.probe().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Called after every probe with the new health (the kiosk's live stream). Returns the unsubscribe function. */
  subscribe(listener: (health: LedgerHealth) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  current(): LedgerHealth {
    const t = this.clock();
    const staleness = this.lastOkAt === undefined ? null : t - this.lastOkAt;
    const nodes = this.quorum.describe();
    const state: LedgerHealthState =
      this.lastError !== undefined || staleness === null ? "unavailable" : staleness > this.maxStalenessMs ? "stale" : "ok";
    return {
      state,
      block: this.block,
      stalenessMs: staleness,
      maxStalenessMs: this.maxStalenessMs,
      nodesUsable: nodes.filter((n) => n.usable).length,
      nodesTotal: nodes.length,
      quorum: this.quorum.quorum,
      syncedAt: this.lastOkAt === undefined ? null : new Date(this.lastOkAt).toISOString(),
      ...(this.lastError === undefined ? {} : { lastError: this.lastError }),
    };
  }

  /**
   * The refusal a presentation gets while the health is not ok (undefined when it is): the verifier never judges
   * on a ledger view it cannot vouch for. Before the first probe has finished, it waits for it (a service that
   * just started is not refused for being new).
   */
  async refusal(): Promise<{ code: RefusalCode; detail: string } | undefined> {
    const health = this.lastOkAt === undefined && this.lastError === undefined ? await this.probe() : this.current();
    if (health.state === "ok") return undefined;
    if (health.state === "stale") {
      return { code: "INDEX_STALE", detail: `The gate last heard a quorum of ledger nodes ${Math.round((health.stalenessMs ?? 0) / 1000)} s ago (bound ${Math.round(health.maxStalenessMs / 1000)} s): refusing until it is current.` };
    }
    return { code: "LEDGER_UNAVAILABLE", detail: `No quorum of ledger nodes answers (${health.nodesUsable} of ${health.nodesTotal} usable, ${health.quorum} needed): refusing.` };
  }
}
