/**
 * Child process of the scale benchmark: a fresh gate process that builds the status index from events alone
 * (LedgerIndex.sync over JSON-RPC), so its time and memory are measured apart from the node serving the chain.
 * Usage: node --expose-gc --import tsx bench/scale-index.ts <url> <deployment.json> <blocksPerQuery> <lookups> <orgs.json> <transport>
 * transport "ethers": ethers' JsonRpcProvider as is (what the SDK uses); "lean": the same provider class whose
 * HTTP exchange is native fetch + JSON.parse (a diagnostic: ethers decodes every response body with a pure-JS
 * UTF-8 decoder, which dominates catch-up time and peak memory). Prints one JSON line with the measurements.
 */
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { JsonRpcProvider, Network, type Filter, type FilterByBlockHash, type JsonRpcPayload, type JsonRpcResult, type Log } from "ethers";
import { LedgerIndex } from "../sdk/status/ledger-index.js";
import { parseDeployment } from "../sdk/chain/deployment.js";
import { makeCredentialId } from "../sdk/chain/codes.js";
import { kernelPeakRssMB } from "./lib.js";

const [url, deploymentFile, blocksArg, lookupsArg, orgsFile, transport] = process.argv.slice(2);
if (!url || !deploymentFile || !blocksArg || !lookupsArg || !orgsFile || (transport !== "ethers" && transport !== "lean")) {
  throw new Error("usage: scale-index.ts <url> <deployment.json> <blocksPerQuery> <lookups> <orgs.json> <ethers|lean>");
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
const index = new LedgerIndex({ provider, deployment, blocksPerQuery: Number(blocksArg), maxStalenessMs: 3_600_000 });
const t0 = performance.now();
const head = await index.sync();
const syncMs = performance.now() - t0;
clearInterval(sampler);
sample();
const afterSync = process.memoryUsage();
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
  const entry = await index.credentialStatus(id);
  latUs[i] = Number(process.hrtime.bigint() - a) / 1000;
  if (entry.registered) registered++;
}
latUs.sort((x, y) => x - y);

// The node's share: the same eth_getLogs ranges fetched again as raw bytes (no decoding, nothing applied).
const rawStart = performance.now();
let rawBytes = 0;
const bpq = Number(blocksArg);
for (let from = deployment.deploymentBlock; from <= head; from += bpq) {
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
    baselineRssMB: before.rss / 2 ** 20,
    baselineHeapMB: before.heapUsed / 2 ** 20,
    // The kernel's exact high-water mark of this process (sampling alone under-reads short peaks).
    peakRssMB: Math.max(peakRss / 2 ** 20, kernelPeakRssMB() ?? 0),
    sampledPeakRssMB: peakRss / 2 ** 20,
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
