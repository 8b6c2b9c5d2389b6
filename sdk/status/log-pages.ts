/**
 * One way to read a block range of logs from a node that caps eth_getLogs (Besu `--rpc-max-logs-range`, 1,000 blocks
 * by default; geth's 10,000-result cap; hosted providers' response sizes), shared by the issuer's look-ups
 * (sdk/status/registrations.ts, ethers contracts) and the verifier's index and quorum reads
 * (sdk/status/ledger-node.ts, raw logs): pages of at most `maxRange` blocks, oldest or newest first; a page the
 * node refuses as too large is asked again at half its size (one block refused is an error), and the page grows
 * back by doubling after each answer, up to `maxRange` and below any cap the node showed before.
 */
import { CivilIdError, describeValue } from "../errors.js";

/** Besu's default `--rpc-max-logs-range`: the largest page asked for unless told otherwise. */
export const DEFAULT_MAX_LOG_RANGE = 1000;

/**
 * Whether a failed eth_getLogs was refused for its size, anywhere in its cause chain (Besu: "Requested range exceeds
 * maximum RPC range limit"; geth: "query returned more than 10000 results"; providers: "block range too large",
 * "response size exceeded").
 */
export function isLogRangeRefusal(error: unknown): boolean {
  const seen = new Set<unknown>();
  const texts: string[] = [];
  for (let e: unknown = error; e !== undefined && e !== null && !seen.has(e); e = (e as { cause?: unknown }).cause) {
    seen.add(e);
    if (e instanceof Error) texts.push(e.message, describeValue((e as { info?: unknown }).info ?? ""), describeValue((e as { error?: unknown }).error ?? ""));
    else texts.push(typeof e === "string" ? e : describeValue(e));
  }
  return /more than \d+ results|range (?:is )?too (?:large|wide|big)|exceeds? (?:the )?maximum|range limit|too many (?:results|logs|blocks)|response size|limit exceeded/i.test(texts.join(" "));
}

/** Where a reader keeps the largest span a node refused, so later reads start below that node's cap. */
export interface RefusedSpanMemory {
  get(): number | undefined;
  refused(span: number): void;
}

export interface LogPagesOptions<T> {
  readonly fromBlock: number;
  readonly toBlock: number;
  /** Largest page (blocks). Default DEFAULT_MAX_LOG_RANGE. */
  readonly maxRange?: number;
  readonly order?: "oldest-first" | "newest-first";
  readonly fetch: (from: number, to: number) => Promise<readonly T[]>;
  /** Each answered page in turn; true stops the read. */
  readonly onPage: (logs: readonly T[], from: number, to: number) => boolean | void;
  readonly memory?: RefusedSpanMemory;
}

/** Reads [fromBlock, toBlock] page by page (see the module comment); an empty range reads nothing. */
export async function readLogPages<T>(options: LogPagesOptions<T>): Promise<void> {
  const maxRange = options.maxRange ?? DEFAULT_MAX_LOG_RANGE;
  if (!Number.isSafeInteger(maxRange) || maxRange < 1) throw new CivilIdError("INVALID_INPUT", `maxRange must be a positive integer (got ${maxRange}).`);
  const cap = () => {
    const refused = options.memory?.get();
    return refused === undefined ? maxRange : Math.max(1, Math.min(maxRange, Math.floor(refused / 2)));
  };
  const oldestFirst = (options.order ?? "oldest-first") === "oldest-first";
  let lo = options.fromBlock;
  let hi = options.toBlock;
  let span = cap();
  while (lo <= hi) {
    const from = oldestFirst ? lo : Math.max(lo, hi - span + 1);
    const to = oldestFirst ? Math.min(hi, lo + span - 1) : hi;
    let logs: readonly T[];
    try {
      logs = await options.fetch(from, to);
    } catch (error) {
      if (to > from && isLogRangeRefusal(error)) {
        options.memory?.refused(to - from + 1);
        span = Math.max(1, Math.floor((to - from + 1) / 2));
        continue;
      }
      throw error;
    }
    if (options.onPage(logs, from, to) === true) return;
    if (oldestFirst) lo = to + 1;
    else hi = from - 1;
    span = Math.min(cap(), span * 2);
  }
}
