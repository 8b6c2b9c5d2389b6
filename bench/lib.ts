/**
 * Shared helpers of the benchmark harness: statistics, table printing, machine description, baseline artifacts.
 * Nothing here knows a result: every number printed is measured in the run that prints it.
 */
import os from "node:os";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";
import vm from "node:vm";

/** A Hardhat artifact (ABI + creation bytecode) shipped by an npm package. */
export interface Artifact {
  readonly contractName: string;
  readonly abi: readonly unknown[];
  readonly bytecode: string;
}

/** Loads one of the installed baseline artifacts (original ERC-1056 registry, EAS). */
export function loadArtifact(specifier: string): Artifact {
  // Read from the project's node_modules by path: the packages' "exports" maps do not expose their artifacts.
  const file = fileURLToPath(new URL(`../node_modules/${specifier}`, import.meta.url));
  const a = JSON.parse(readFileSync(file, "utf8")) as Artifact;
  if (!a.bytecode || a.bytecode === "0x") throw new Error(`${specifier} has no creation bytecode`);
  return a;
}

export const ARTIFACTS = {
  erc1056: "ethr-did-registry/artifacts/contracts/EthereumDIDRegistry.sol/EthereumDIDRegistry.json",
  easSchemaRegistry: "@ethereum-attestation-service/eas-contracts/artifacts/contracts/SchemaRegistry.sol/SchemaRegistry.json",
  eas: "@ethereum-attestation-service/eas-contracts/artifacts/contracts/EAS.sol/EAS.json",
} as const;

export function packageVersion(name: string): string {
  try {
    const file = fileURLToPath(new URL(`../node_modules/${name}/package.json`, import.meta.url));
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

/** Percentile (nearest-rank) of an unsorted sample; the sample is not modified. */
export function percentile(sample: readonly number[], p: number): number {
  if (sample.length === 0) return NaN;
  const sorted = [...sample].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function mean(sample: readonly number[]): number {
  return sample.length === 0 ? NaN : sample.reduce((s, x) => s + x, 0) / sample.length;
}

export function median(sample: readonly number[]): number {
  return percentile(sample, 50);
}

/** Formats an integer with thousands separators. */
export function int(n: number | bigint): string {
  return typeof n === "bigint" ? n.toLocaleString("en-US") : Math.round(n).toLocaleString("en-US");
}

export function fixed(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

export function ratio(ours: number, baseline: number, digits = 2): string {
  return Number.isFinite(ours) && Number.isFinite(baseline) && baseline !== 0 ? `${(ours / baseline).toFixed(digits)}×` : "n/a";
}

/** Prints a plain-text table (also valid Markdown) and returns it. */
export function table(title: string, header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    "| " + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(" | ") + " |";
  const sep = "|" + widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|") + "|";
  const text = [`\n### ${title}\n`, line(header), sep, ...rows.map(line)].join("\n");
  console.log(text);
  return text;
}

export interface MachineInfo {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  readonly hardhat: string;
  readonly ethers: string;
  readonly gitCommit: string;
}

export function machineInfo(): MachineInfo {
  let gitCommit = "unknown";
  try {
    gitCommit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim();
  } catch {
    // not a git checkout
  }
  return {
    nproc: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    hardhat: packageVersion("hardhat"),
    ethers: packageVersion("ethers"),
    gitCommit,
  };
}

/**
 * V8's full garbage collection, callable without starting node with --expose-gc: the flag is set at run time and
 * the `gc` function taken from a fresh context. The harness calls it between untimed set-up (the wallets' signing)
 * and a timed loop, so the set-up's garbage is not collected inside the measurement.
 */
const fullGc: () => void = (() => {
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
})();

export function collectGarbage(): void {
  fullGc();
}

/** Yields to the event loop's I/O phase (what a server does between two requests). */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Converts bigint values to strings so results serialise to JSON. */
export function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
}

/**
 * The hardfork every benchmark network runs: the consortium's Besu chain runs Cancun (hardhat.config.ts compiles
 * for it). Hardhat 3's default (Osaka) adds the EIP-7623 calldata floor and the EIP-7825 16.7 M per-transaction
 * gas cap, neither of which the production chain has.
 */
export const BENCH_HARDFORK = "cancun";

/**
 * The kernel's peak resident set of a process (VmHWM in /proc/<pid>/status), MB; undefined where /proc is absent.
 * Exact, unlike sampling process.memoryUsage() on a timer (which misses short peaks between samples). Read it in
 * the measured process itself ("self") or from its parent before it is reaped: after exec the high-water mark is
 * the new program's own (unlike getrusage's maxRSS of children, which includes the parent's RSS at fork).
 */
export function kernelPeakRssMB(pid: number | "self" = "self"): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined; // not Linux, or the process is gone: the caller keeps its sampled figure
  }
}
