/**
 * Child process of the scale benchmark: a fresh gate process that builds the status index (LedgerIndex.sync over
 * JSON-RPC), so its time and memory are measured apart from the node serving the chain.
 * Usage: node --expose-gc --import tsx bench/scale-index.ts <url> <deployment.json> <blocksPerQuery> <lookups> <orgs.json> <transport>
 * transport "snapshot" (what a gate ships): the SDK's raw JSON-RPC node (fetch + JSON.parse, logs decoded by slicing),
 * status words read from state at one block, binding digests backfilled from logs in the background (timed apart);
 * "events": the same raw node replaying every status event; "ethers": event replay through ethers' JsonRpcProvider
 * (the previous design: per-log Log objects, checksums and a pure-JS UTF-8 decoder); "lean": that provider with a
 * native fetch + JSON.parse exchange (a diagnostic). Prints one JSON line with the measurements.
 *
 * Peak RSS is the kernel's high-water mark of this process's memory map (VmHWM in /proc/self/status, Linux): exact,
 * unlike a sampler that misses short peaks between two samples (the old sampler read 240 MB where the kernel saw
 * 301 MB). The exec'd child starts a fresh memory map, so the parent's memory is not inherited (getrusage's
 * maxRSS, in contrast, carries the high-water mark across exec).
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { JsonRpcProvider, Network, type Filter, type FilterByBlockHash, type JsonRpcPayload, type JsonRpcResult, type Log } from "ethers";
import { LedgerIndex } from "../sdk/status/ledger-index.js";
import { ledgerNodeFromUrl } from "../sdk/status/ledger-node.js";
import { parseDeployment } from "../sdk/chain/deployment.js";
import { makeCredentialId } from "../sdk/chain/codes.js";
import { kernelPeakRssMB } from "./lib.js";

const [url, deploymentFile, blocksArg, lookupsArg, orgsFile, transport] = process.argv.slice(2);
// "snapshot-state": a snapshot of state written without logs (the synthetic 1.2 M run): no backfill, no lookups.
const TRANSPORTS = ["snapshot", "snapshot-state", "events", "ethers", "lean"];
if (!url || !deploymentFile || !blocksArg || !lookupsArg || !orgsFile || transport === undefined || !TRANSPORTS.includes(transport)) {
  throw new Error(`usage: scale-index.ts <url> <deployment.json> <blocksPerQuery> <lookups> <orgs.json> <${TRANSPORTS.join("|")}>`);
}

// Memory is sampled (a timer every 10 ms, and after every JSON-RPC answer and every getLogs result, when the
// decoded response and its Log objects are alive). The kernel's maxRSS is not used: a spawned child inherits the
// parent's RSS at fork in its high-water mark, and the parent here holds the whole chain.
let peakHeap = 0;
let peakRss = 0;
let peakExternal = 0;
function sample(): void {
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  peakRss = Math.max(peakRss, m.rss);
  peakExternal = Math.max(peakExternal, m.external);
}

/** ethers' JsonRpcProvider, unchanged except for memory sampling after each answer. */
class SampledJsonRpcProvider extends JsonRpcProvider {
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const result = await super._send(payload);
    sample();
    return result;
  }
  override async getLogs(filter: Filter | FilterByBlockHash): Promise<Log[]> {
    const logs = await super.getLogs(filter);
    sample();
    return logs;
  }
}

/** The same provider with the HTTP exchange done by native fetch and JSON.parse (diagnostic transport). */
class LeanJsonRpcProvider extends SampledJsonRpcProvider {
  override async _send(payload: JsonRpcPayload | JsonRpcPayload[]): Promise<JsonRpcResult[]> {
    const response = await fetch(url!, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(payload) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = (await response.json()) as JsonRpcResult | JsonRpcResult[];
    sample();
    return Array.isArray(body) ? body : [body];
  }
}

const deployment = parseDeployment(JSON.parse(readFileSync(deploymentFile, "utf8")));
const orgs = JSON.parse(readFileSync(orgsFile, "utf8")) as { agencyCode: number; count: number }[];
const gc = (globalThis as { gc?: () => void }).gc;

gc?.();
const before = process.memoryUsage();
sample();
const sampler = setInterval(sample, 10);

const providerOptions = { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 } as const;
const provider =
  transport === "lean"
    ? new LeanJsonRpcProvider(url, Network.from(deployment.chainId), providerOptions)
    : new SampledJsonRpcProvider(url, Network.from(deployment.chainId), providerOptions);
const rawNode = ledgerNodeFromUrl(url, { timeoutMs: 120_000 });
const index =
  transport === "snapshot" || transport === "snapshot-state" || transport === "events"
    ? new LedgerIndex({ nodes: [rawNode], quorum: 1, deployment, blocksPerQuery: transport === "events" ? Number(blocksArg) : 5_000, maxStalenessMs: 3_600_000, catchUp: transport === "events" ? "events" : "snapshot" })
    : new LedgerIndex({ provider, deployment, blocksPerQuery: Number(blocksArg), maxStalenessMs: 3_600_000, catchUp: "events" });
const t0 = performance.now();
const head = await index.sync();
const syncMs = performance.now() - t0;
sample();
const catchUpPeakRssMB = kernelPeakRssMB() ?? Number.NaN;
const afterSync = process.memoryUsage();
// The background digest backfill (snapshot mode): timed apart; lookups are served (one look-up per id) meanwhile.
const b0 = performance.now();
if (transport !== "snapshot-state") await index.whenBackfilled();
const backfillMs = performance.now() - b0;
clearInterval(sampler);
sample();
const peakRssWithBackfillMB = kernelPeakRssMB() ?? Number.NaN;
gc?.();
const retained = process.memoryUsage();

// Lookup latency at this size: random registered ids across all organisations, each timed on its own.
const lookups = Number(lookupsArg);
const latUs: number[] = new Array<number>(lookups);
let registered = 0;
for (let i = 0; i < lookups; i++) {
  const org = orgs[(Math.random() * orgs.length) | 0]!;
  const id = makeCredentialId(org.agencyCode, BigInt((Math.random() * org.count) | 0));
  const a = process.hrtime.bigint();
  const entry = index.statusNow(id);
  latUs[i] = Number(process.hrtime.bigint() - a) / 1000;
  if (entry.registered) registered++;
}
latUs.sort((x, y) => x - y);

// The node's share: the same eth_getLogs ranges fetched again as raw bytes (no decoding, nothing applied).
const rawStart = performance.now();
let rawBytes = 0;
const bpq = Number(blocksArg);
for (let from = deployment.deploymentBlock; !transport.startsWith("snapshot") && from <= head; from += bpq) {
  const to = Math.min(head, from + bpq - 1);
  const body = JSON.stringify({
    jsonrpc: "2.0",
    id: 1,
    method: "eth_getLogs",
    params: [{ address: [deployment.statusRegistry, deployment.issuerRegistry], fromBlock: "0x" + from.toString(16), toBlock: "0x" + to.toString(16) }],
  });
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  rawBytes += (await response.arrayBuffer()).byteLength;
}
const nodeServeMs = performance.now() - rawStart;
const pct = (p: number) => latUs[Math.min(latUs.length - 1, Math.ceil((p / 100) * latUs.length) - 1)]!;
provider.destroy();

console.log(
  JSON.stringify({
    transport,
    blocksPerQuery: Number(blocksArg),
    head,
    credentials: index.credentialCount(),
    syncMs,
    backfillMs,
    catchUpPeakRssMB,
    peakRssWithBackfillMB,
    baselineRssMB: before.rss / 2 ** 20,
    baselineHeapMB: before.heapUsed / 2 ** 20,
    sampledPeakRssMB: peakRss / 2 ** 20,
    peakRssMB: catchUpPeakRssMB,
    rssAfterSyncMB: afterSync.rss / 2 ** 20,
    externalAfterSyncMB: afterSync.external / 2 ** 20,
    peakExternalMB: peakExternal / 2 ** 20,
    rssAfterGcMB: retained.rss / 2 ** 20,
    peakHeapMB: peakHeap / 2 ** 20,
    retainedHeapMB: retained.heapUsed / 2 ** 20,
    retainedArrayBuffersMB: retained.arrayBuffers / 2 ** 20,
    nodeServeMs,
    responseMB: rawBytes / 2 ** 20,
    lookups,
    lookupsRegistered: registered,
    lookupP50Us: pct(50),
    lookupP99Us: pct(99),
    lookupMaxUs: latUs[latUs.length - 1],
  }),
);
