import { CivilIdError } from "../errors.js";
import type { Deployment } from "../chain/deployment.js";
import { LedgerIndex, type LedgerIndexOptions } from "./ledger-index.js";
import { ledgerNodeFromUrl, type LedgerNode } from "./ledger-node.js";
import { OnlineLedgerView } from "./ledger-view.js";
import type { DissentEvent } from "./quorum.js";

/**
 * How a gate (or any verifier) reaches the ledger: one JSON-RPC URL per ministry's node and how many must agree.
 * This is the shape the CLI's `--rpc-url a,b,c --quorum k` and the services' configuration map onto.
 */
export interface GateLedgerConfig {
  readonly deployment: Deployment;
  /** One URL per independent node, e.g. ["https://rpc.mois.go.kr", "https://rpc.moef.go.kr", "https://rpc.mpm.go.kr"]. */
  readonly rpcUrls: readonly string[];
  /** k of n; default a majority (⌊n/2⌋+1). 1 is single-node trust: allowed, but one lying node then decides. */
  readonly quorum?: number;
  /** Bound of each JSON-RPC request (ms). Default 3 000. */
  readonly timeoutMs?: number;
  /** Told about each node whose answer differed from the agreed one (alert that ministry's operators). */
  readonly onDissent?: (event: DissentEvent) => void;
}

/** Splits and validates a comma-separated URL list (CLI flag, environment variable); refuses duplicates. */
export function parseRpcUrls(list: string): string[] {
  const urls = list.split(",").map((u) => u.trim()).filter((u) => u.length > 0);
  if (urls.length === 0) throw new CivilIdError("INVALID_INPUT", "Give at least one node URL (comma-separated for several nodes).");
  if (new Set(urls).size !== urls.length) throw new CivilIdError("INVALID_INPUT", "The node URLs must be distinct (one per independent node).");
  return urls;
}

/** The nodes of a config (validated URLs, each request bounded by `timeoutMs`). */
export function gateNodes(config: GateLedgerConfig): LedgerNode[] {
  return config.rpcUrls.map((url) => ledgerNodeFromUrl(url, { timeoutMs: config.timeoutMs ?? 3_000 }));
}

/** An online view reading every verification from `quorum` agreeing nodes. */
export function onlineGateLedger(config: GateLedgerConfig): OnlineLedgerView {
  return new OnlineLedgerView({
    deployment: config.deployment,
    nodes: gateNodes(config),
    ...(config.quorum === undefined ? {} : { quorum: config.quorum }),
    ...(config.onDissent ? { onDissent: config.onDissent } : {}),
  });
}

/** A local index fed only by what `quorum` nodes agree on (call `sync()` or `follow()` before serving). */
export function indexedGateLedger(config: GateLedgerConfig, options: Omit<LedgerIndexOptions, "deployment" | "nodes" | "provider" | "quorum" | "onDissent"> = {}): LedgerIndex {
  return new LedgerIndex({
    ...options,
    deployment: config.deployment,
    nodes: gateNodes(config),
    ...(config.quorum === undefined ? {} : { quorum: config.quorum }),
    ...(config.onDissent ? { onDissent: config.onDissent } : {}),
  });
}
