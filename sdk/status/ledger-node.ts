import type { Provider } from "ethers";
import { CivilIdError } from "../errors.js";
import { isLogRangeRefusal, readLogPages } from "./log-pages.js";

/**
 * One log as the JSON-RPC node sent it, kept as strings (lower-case hex) instead of ethers `Log` objects: catch-up
 * handles a log per credential, and per-log object formatting, address checksums and UTF-8 decoding dominated it.
 */
export interface RawLog {
  readonly address: string;
  readonly topics: readonly string[];
  readonly data: string;
  readonly blockNumber: number;
  readonly blockHash: string;
  readonly logIndex: number;
  readonly removed: boolean;
}

export interface LogQuery {
  readonly address: readonly string[];
  /** Positional topic filters (null = any; an array = any of). */
  readonly topics?: readonly (string | readonly string[] | null)[];
  readonly fromBlock: number;
  readonly toBlock: number;
}

/**
 * The few JSON-RPC reads a verifier needs from one consortium node. Every answer is untrusted: it is shape-checked
 * here and cross-checked against other nodes by {@link NodeQuorum}.
 */
export interface LedgerNode {
  /** For logs and error messages (an URL without credentials, or a given name). */
  readonly name: string;
  chainId(): Promise<number>;
  blockNumber(): Promise<number>;
  /** The hash of block `height` (lower case), or undefined if the node does not have it (yet). */
  blockHash(height: number): Promise<string | undefined>;
  getLogs(query: LogQuery): Promise<RawLog[]>;
  /** eth_call at block `height`; returns the raw return data. */
  call(to: string, data: string, height: number): Promise<string>;
}

const HEX = /^0x[0-9a-f]*$/;
const HASH = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-f]{40}$/;

function invalid(node: string, what: string): never {
  throw new CivilIdError("CHAIN_UNREACHABLE", `Node ${node} answered an invalid ${what}; check the node.`);
}

function quantity(node: string, value: unknown, what: string): number {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{1,14}$/.test(value)) invalid(node, what);
  return Number.parseInt(value, 16);
}

const hexOf = (n: number) => "0x" + n.toString(16);

/** Validates one raw JSON-RPC log object (strings, as the wire format has them). */
export function rawLogFrom(node: string, value: unknown): RawLog {
  if (typeof value !== "object" || value === null) invalid(node, "log");
  const v = value as Record<string, unknown>;
  const address = typeof v.address === "string" ? v.address.toLowerCase() : "";
  const data = typeof v.data === "string" ? v.data.toLowerCase() : "";
  const blockHash = typeof v.blockHash === "string" ? v.blockHash.toLowerCase() : "";
  const topics = Array.isArray(v.topics) ? v.topics.map((t) => (typeof t === "string" ? t.toLowerCase() : "")) : [];
  if (!ADDRESS.test(address) || !HEX.test(data) || data.length % 2 !== 0 || !HASH.test(blockHash) || topics.length > 4 || !topics.every((t) => HASH.test(t))) {
    invalid(node, "log");
  }
  return {
    address,
    topics,
    data,
    blockHash,
    blockNumber: quantity(node, v.blockNumber, "log block number"),
    logIndex: quantity(node, v.logIndex, "log index"),
    removed: v.removed === true,
  };
}

type Send = (method: string, params: readonly unknown[]) => Promise<unknown>;

/** A {@link LedgerNode} over a raw JSON-RPC `send` function. */
class JsonRpcLedgerNode implements LedgerNode {
  constructor(readonly name: string, private readonly send: Send, private readonly timeoutMs: number) {}

  async chainId(): Promise<number> {
    return quantity(this.name, await this.request("eth_chainId", []), "chain id");
  }

  async blockNumber(): Promise<number> {
    return quantity(this.name, await this.request("eth_blockNumber", []), "block number");
  }

  async blockHash(height: number): Promise<string | undefined> {
    const block = await this.request("eth_getBlockByNumber", [hexOf(height), false]);
    if (block === null || block === undefined) return undefined;
    const hash = (block as { hash?: unknown }).hash;
    const number = (block as { number?: unknown }).number;
    if (typeof hash !== "string" || !HASH.test(hash.toLowerCase()) || quantity(this.name, number, "block number") !== height) invalid(this.name, "block");
    return hash.toLowerCase();
  }

  async getLogs(query: LogQuery): Promise<RawLog[]> {
    const filter: Record<string, unknown> = { address: query.address, fromBlock: hexOf(query.fromBlock), toBlock: hexOf(query.toBlock) };
    if (query.topics) filter.topics = query.topics;
    const answer = await this.request("eth_getLogs", [filter]);
    if (!Array.isArray(answer)) invalid(this.name, "getLogs answer");
    return answer.map((log) => rawLogFrom(this.name, log));
  }

  async call(to: string, data: string, height: number): Promise<string> {
    const answer = await this.request("eth_call", [{ to, data }, hexOf(height)]);
    if (typeof answer !== "string" || !HEX.test(answer.toLowerCase())) invalid(this.name, "eth_call answer");
    return answer.toLowerCase();
  }

  /** Bounds the exchange in time; a transport failure or timeout is CHAIN_UNREACHABLE, a node error keeps its text. */
  private async request(method: string, params: readonly unknown[]): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new CivilIdError("CHAIN_UNREACHABLE", `${method} to ${this.name} timed out after ${this.timeoutMs} ms.`)), this.timeoutMs);
    });
    try {
      return await Promise.race([this.send(method, params), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** An error answer of a JSON-RPC node (kept apart from transport failures: "range too large" is one). */
export class JsonRpcNodeError extends Error {
  constructor(message: string, readonly rpcCode: number) {
    super(message);
    this.name = "JsonRpcNodeError";
  }
}

/**
 * A node reached over HTTP(S) with native fetch and JSON.parse (no ethers provider: no per-log objects, no JS UTF-8
 * decoder). `timeoutMs` bounds every request (default 3 000).
 */
export function ledgerNodeFromUrl(url: string, options: { timeoutMs?: number; name?: string } = {}): LedgerNode {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `${JSON.stringify(url)} is not a node URL (http://host:port).`, { cause: error });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new CivilIdError("INVALID_INPUT", `Node URL ${url} must be http(s).`);
  const name = options.name ?? `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  let id = 0;
  const send: Send = async (method, params) => {
    let response: Response;
    try {
      response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }) });
    } catch (error) {
      throw new CivilIdError("CHAIN_UNREACHABLE", `${method} to ${name} failed: ${error instanceof Error ? error.message : String(error)}.`, { cause: error });
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new CivilIdError("CHAIN_UNREACHABLE", `${method} to ${name}: HTTP ${response.status} without a JSON-RPC body.`, { cause: error });
    }
    const b = body as { result?: unknown; error?: { message?: unknown; code?: unknown } };
    if (b && typeof b === "object" && b.error) throw new JsonRpcNodeError(`${name}: ${String(b.error.message)}`, Number(b.error.code));
    if (!b || typeof b !== "object" || !("result" in b)) throw new CivilIdError("CHAIN_UNREACHABLE", `${method} to ${name}: not a JSON-RPC answer.`);
    return b.result;
  };
  return new JsonRpcLedgerNode(name, send, options.timeoutMs ?? 3_000);
}

/**
 * A node behind an ethers provider (Hardhat's in-process network, a JsonRpcProvider, a test's faulty wrapper): its
 * typed methods, re-shaped to the wire format and validated like fetched answers. For gates at scale prefer
 * {@link ledgerNodeFromUrl}, which skips ethers' per-log objects.
 */
export function ledgerNodeFromProvider(provider: Provider, options: { timeoutMs?: number; name?: string } = {}): LedgerNode {
  return new JsonRpcLedgerNode(options.name ?? "provider", (method, params) => viaProviderMethods(provider, method, params), options.timeoutMs ?? 3_000);
}

/** Maps the JSON-RPC methods used above onto a provider without `send` (answers re-shaped to the wire format). */
async function viaProviderMethods(provider: Provider, method: string, params: readonly unknown[]): Promise<unknown> {
  switch (method) {
    case "eth_chainId":
      return hexOf(Number((await provider.getNetwork()).chainId));
    case "eth_blockNumber":
      return hexOf(await provider.getBlockNumber());
    case "eth_getBlockByNumber": {
      const block = await provider.getBlock(Number.parseInt(params[0] as string, 16));
      return block ? { hash: block.hash, number: hexOf(block.number) } : null;
    }
    case "eth_getLogs": {
      const f = params[0] as { address: string[]; topics?: (string | string[] | null)[]; fromBlock: string; toBlock: string };
      const logs = await provider.getLogs({ address: f.address, topics: f.topics, fromBlock: Number.parseInt(f.fromBlock, 16), toBlock: Number.parseInt(f.toBlock, 16) });
      return logs.map((l) => ({ address: l.address, topics: l.topics, data: l.data, blockNumber: hexOf(l.blockNumber), blockHash: l.blockHash, logIndex: hexOf(l.index), removed: l.removed }));
    }
    case "eth_call": {
      const [tx, tag] = params as [{ to: string; data: string }, string];
      return provider.call({ to: tx.to, data: tx.data, blockTag: Number.parseInt(tag, 16) });
    }
    default:
      throw new CivilIdError("INVALID_INPUT", `Unsupported method ${method}.`);
  }
}

/** Whether a failed eth_getLogs was refused for its size: the one rule of sdk/status/log-pages.ts. */
export const isRangeTooLarge = isLogRangeRefusal;

/** The largest block span each node refused to serve in one eth_getLogs (so later queries start below its cap). */
const refusedSpans = new WeakMap<LedgerNode, number>();

/** The span to ask `node` for: `wanted`, capped below the smallest span the node refused before. */
export function spanFor(node: LedgerNode, wanted: number): number {
  const refused = refusedSpans.get(node);
  return refused === undefined ? wanted : Math.max(1, Math.min(wanted, Math.floor(refused / 2)));
}

/** Records that `node` refused a range of `span` blocks as too large. */
export function noteRefusedSpan(node: LedgerNode, span: number): void {
  refusedSpans.set(node, Math.min(span, refusedSpans.get(node) ?? Infinity));
}

/**
 * eth_getLogs over [fromBlock, toBlock] in pages of at most `span` blocks, newest page first or oldest first
 * (sdk/status/log-pages.ts), remembering per node the spans it refused. `onPage` returns true to stop early.
 */
export async function pagedLogs(
  node: LedgerNode,
  query: LogQuery,
  span: number,
  order: "oldest-first" | "newest-first",
  onPage: (logs: RawLog[], from: number, to: number) => boolean | void,
): Promise<void> {
  await readLogPages<RawLog>({
    fromBlock: query.fromBlock,
    toBlock: query.toBlock,
    maxRange: span,
    order,
    fetch: (fromBlock, toBlock) => node.getLogs({ ...query, fromBlock, toBlock }),
    onPage: (logs, from, to) => onPage(logs as RawLog[], from, to),
    memory: { get: () => refusedSpans.get(node), refused: (refused) => noteRefusedSpan(node, refused) },
  });
}
