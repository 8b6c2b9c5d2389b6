/**
 * Transactions as an operator sees them: the hash printed as soon as the node has it, "waiting for block…" while it
 * is not mined, and a bound (--tx-timeout) after which the command stops with the command that checks the outcome
 * later, instead of waiting silently and forever on a node that died or stopped mining. Sent transactions are also
 * kept in `<data-dir>/transactions.sqlite`, so a retried command and `mcid status` see what is still pending.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { NonceManager, type JsonRpcProvider, type Provider, type Signer, type TransactionRequest, type TransactionResponse } from "ethers";
import { CliError, EXIT, type Output } from "./output.js";

/** Half the node's recent mean block time, between 100 ms and 4 s: ethers' 4 s default would return seconds late. */
export async function pollingIntervalFor(provider: Provider): Promise<number> {
  const head = await provider.getBlock("latest");
  const back = head && head.number > 0 ? await provider.getBlock(Math.max(0, head.number - 10)) : null;
  if (!head || !back || head.number === back.number) return 500;
  const blockMs = ((head.timestamp - back.timestamp) * 1000) / (head.number - back.number);
  return Math.round(Math.min(4000, Math.max(100, blockMs / 2)));
}

export function setPollingInterval(provider: Provider, ms: number): void {
  if ("pollingInterval" in provider) (provider as JsonRpcProvider).pollingInterval = ms;
}

export interface SentTransaction {
  readonly hash: string;
  readonly chainId: number;
  readonly from: string;
  /** What the transaction does, e.g. `lock`, and the credentials it is about (for `mcid status`). */
  readonly action: string;
  readonly credentialIds: readonly string[];
  readonly sentAt: string;
}

/** The journal of sent transactions of this data directory (one SQLite file, safe for concurrent commands). */
export class TransactionJournal {
  private readonly db: DatabaseSync;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.db = new DatabaseSync(path.join(dataDir, "transactions.sqlite"));
    this.db.exec("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000;");
    this.db.exec(`CREATE TABLE IF NOT EXISTS sent (
      hash TEXT PRIMARY KEY, chain_id INTEGER NOT NULL, from_address TEXT NOT NULL, action TEXT NOT NULL,
      credential_ids TEXT NOT NULL, sent_at TEXT NOT NULL, settled INTEGER NOT NULL DEFAULT 0)`);
  }

  record(tx: SentTransaction): void {
    this.db.prepare("INSERT OR IGNORE INTO sent (hash, chain_id, from_address, action, credential_ids, sent_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(tx.hash, tx.chainId, tx.from, tx.action, JSON.stringify(tx.credentialIds), tx.sentAt);
  }

  settle(hash: string): void {
    this.db.prepare("UPDATE sent SET settled = 1 WHERE hash = ?").run(hash);
  }

  /** Unsettled transactions of a chain that touch a credential. */
  unsettled(chainId: number, credentialId?: string): SentTransaction[] {
    const rows = this.db.prepare("SELECT hash, chain_id, from_address, action, credential_ids, sent_at FROM sent WHERE chain_id = ? AND settled = 0 ORDER BY sent_at")
      .all(chainId) as { hash: string; chain_id: number; from_address: string; action: string; credential_ids: string; sent_at: string }[];
    return rows
      .map((r) => ({ hash: r.hash, chainId: r.chain_id, from: r.from_address, action: r.action, credentialIds: JSON.parse(r.credential_ids) as string[], sentAt: r.sent_at }))
      .filter((t) => credentialId === undefined || t.credentialIds.includes(credentialId));
  }

  close(): void {
    this.db.close();
  }
}

/** Where a journaled transaction is now, asked of the node. */
export async function transactionState(provider: Provider, hash: string): Promise<{ state: "pending" | "mined" | "failed" | "unknown"; blockNumber: number | null }> {
  const receipt = await provider.getTransactionReceipt(hash);
  if (receipt) return { state: receipt.status === 1 ? "mined" : "failed", blockNumber: receipt.blockNumber };
  const tx = await provider.getTransaction(hash);
  return { state: tx ? "pending" : "unknown", blockNumber: null };
}

export interface TrackerOptions {
  readonly out: Output;
  readonly provider: Provider;
  readonly chainId: number;
  readonly timeoutMs: number;
  /** How to reach this chain again, for the "check it later" advice (e.g. `--network localhost`). */
  readonly chainFlags: string;
  readonly journal?: () => TransactionJournal;
  /** Called when a transaction is not mined in time: the command is then ended with this error. */
  readonly onTimeout: (error: CliError) => void;
}

/**
 * Follows the transactions a command sends: prints each hash at once, progress while waiting, and ends the command
 * (`onTimeout`) when one is not mined within the timeout.
 */
export class TransactionTracker {
  private readonly inFlight = new Map<string, { timer: NodeJS.Timeout; ticker: NodeJS.Timeout; poll: NodeJS.Timeout }>();
  /** What the next transaction is about (set by the command before it sends). */
  purpose: { action: string; credentialIds: readonly string[] } | undefined;

  constructor(private readonly options: TrackerOptions) {}

  /** Hashes sent and not mined yet. */
  get pending(): string[] {
    return [...this.inFlight.keys()];
  }

  /** The advice for a hash whose outcome is not known. */
  checkLater(hash: string): string {
    return `mcid tx ${hash} ${this.options.chainFlags}`.trim();
  }

  sent(tx: TransactionResponse): void {
    const { out, provider, timeoutMs } = this.options;
    const started = Date.now();
    out.note(`Transaction ${tx.hash} sent; waiting for its block…`);
    const purpose = this.purpose;
    if (purpose && this.options.journal) {
      this.options.journal().record({ hash: tx.hash, chainId: this.options.chainId, from: tx.from, action: purpose.action, credentialIds: purpose.credentialIds, sentAt: new Date().toISOString() });
    }
    const ticker = setInterval(() => {
      out.note(`  waiting for block… ${Math.round((Date.now() - started) / 1000)} s (${tx.hash})`);
    }, 10_000);
    const timer = setTimeout(() => {
      this.forget(tx.hash);
      this.options.onTimeout(new CliError("TRANSACTION_PENDING",
        `Transaction ${tx.hash} was sent but not mined within ${Math.round(timeoutMs / 1000)} s: the node may be down or not producing blocks. ` +
          `It may still be mined; do not send it again before checking: ${this.checkLater(tx.hash)}`,
        EXIT.PENDING, { txHash: tx.hash }));
    }, timeoutMs);
    // Its own receipt polling (not a provider subscription, which would outlive the command's provider): unref'd
    // timers, so a command whose work is done never waits for them.
    const interval = "pollingInterval" in provider ? Number((provider as JsonRpcProvider).pollingInterval) : 1000;
    const poll = setInterval(() => {
      provider.getTransactionReceipt(tx.hash).then((receipt) => {
        if (!receipt || !this.inFlight.has(tx.hash)) return;
        this.forget(tx.hash);
        if (purpose && this.options.journal) this.options.journal().settle(tx.hash);
        out.note(`  mined in block ${receipt.blockNumber}${receipt.status === 1 ? "" : " (reverted)"} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      }, () => undefined); // the node is away: the timeout speaks for it
    }, Math.max(100, interval));
    for (const t of [ticker, poll]) t.unref();
    this.inFlight.set(tx.hash, { timer, ticker, poll });
  }

  private forget(hash: string): void {
    const entry = this.inFlight.get(hash);
    if (!entry) return;
    clearTimeout(entry.timer);
    clearInterval(entry.ticker);
    clearInterval(entry.poll);
    this.inFlight.delete(hash);
  }

  /** Stops every timer (the command ended). */
  close(): void {
    for (const hash of [...this.inFlight.keys()]) this.forget(hash);
  }
}

/**
 * The command's signer: one nonce sequence per command (two transactions of one command never share a nonce), an
 * optional fixed legacy gas price (Besu QBFT consortium chains run with gas price 0), and every sent transaction
 * reported to the tracker.
 */
export class TrackedSigner extends NonceManager {
  constructor(signer: Signer, private readonly tracker: TransactionTracker, private readonly gasPrice: bigint | undefined) {
    super(signer);
  }

  override connect(provider: Provider | null): TrackedSigner {
    return new TrackedSigner(this.signer.connect(provider), this.tracker, this.gasPrice);
  }

  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const response = await super.sendTransaction(this.gasPrice === undefined ? tx : { ...tx, type: 0, gasPrice: this.gasPrice });
    this.tracker.sent(response);
    return response;
  }
}
