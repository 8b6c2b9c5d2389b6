/**
 * The benchmark harness: `npm run bench` (full) or `npm run bench:quick` (< 1 minute, CI).
 *
 *   tsx bench/run.ts [--quick] [--only=gas,gate,scale,status,http [--merge]] [--n=<credentials for the scale section>] [--out=<file>]
 *
 * Prints five groups of tables (gas, gate verification, scale, status lists, the verifier service over HTTP) and writes every measurement, the
 * machine and the run's settings to bench/results/latest.json. The last line printed is one JSON object of the
 * run's named figures (bench/figures.ts), for machines. Every comparison runs its baseline in the same run on the same
 * machine. Quick mode asserts nothing about timing: it checks only that each section produced numbers and that the
 * results file was written.
 */
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { runGas } from "./gas.js";
import { runGate } from "./gate.js";
import { runScale } from "./scale.js";
import { runStatusLists } from "./status-lists.js";
import { runHttp } from "./http.js";
import { REQUIRED_FIGURES, collectFigures } from "./figures.js";
import { BENCH_HARDFORK, fixed, jsonSafe, machineInfo } from "./lib.js";

const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = new Set((args.find((a) => a.startsWith("--only="))?.slice(7) ?? "gas,gate,scale,status,http").split(","));
const nArg = args.find((a) => a.startsWith("--n="));
const here = path.dirname(fileURLToPath(import.meta.url));
const out = args.find((a) => a.startsWith("--out="))?.slice(6) ?? path.join(here, "results", "latest.json");

const machine = machineInfo();
const loadBefore = os.loadavg();
console.log(`# mobile-civil-id benchmarks (${quick ? "quick" : "full"} mode)`);
console.log(
  `machine: ${machine.nproc} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, node ${machine.node}, hardhat ${machine.hardhat}, ethers ${machine.ethers}, commit ${machine.gitCommit}`,
);
console.log(`load average at start: ${loadBefore.map((l) => fixed(l, 2)).join(" ")}${loadBefore[0]! > machine.nproc * 0.5 ? "  (WARNING: the machine is busy; absolute timings are inflated)" : ""}`);
console.log(`chain: Hardhat ${machine.hardhat} EDR, hardfork ${BENCH_HARDFORK}`);

const started = performance.now();
const sections: Record<string, unknown> = {};
const checks: { name: string; ok: boolean; why?: string }[] = [];

/** Every number reachable in a section's results must be finite (a NaN means a table has a hole). */
function allFinite(value: unknown, where = ""): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `${where} is ${value}`;
  if (Array.isArray(value)) {
    if (value.length === 0) return `${where} is empty`;
    for (let i = 0; i < value.length; i++) {
      const bad = allFinite(value[i], `${where}[${i}]`);
      if (bad) return bad;
    }
    return undefined;
  }
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k === "tables") continue;
      const bad = allFinite(v, where ? `${where}.${k}` : k);
      if (bad) return bad;
    }
  }
  return undefined;
}

async function section(name: string, title: string, run: () => Promise<{ tables: string[] }>) {
  if (!only.has(name)) return;
  console.log(`\n## ${title}`);
  const t0 = performance.now();
  const result = await run();
  const seconds = (performance.now() - t0) / 1000;
  console.log(`\n(${name}: ${fixed(seconds, 1)} s)`);
  const bad = allFinite(result);
  checks.push({ name: `${name}: every table has numbers`, ok: bad === undefined && result.tables.length > 0, ...(bad ? { why: bad } : {}) });
  sections[name] = { ...result, seconds, startedAt: new Date(Date.now() - seconds * 1000).toISOString(), loadAverageAfter: os.loadavg() };
}

try {
  await section("gas", "1. Gas per operation", () => runGas({ quick }));
  await section("gate", "2. Gate verification", () => runGate({ quick }));
  await section("scale", "3. Scale", () => runScale({ quick, ...(nArg ? { n: Number(nArg.slice(4)) } : {}) }));
  await section("status", "4. Standard status lists and offline snapshots", () => runStatusLists({ quick }));
  await section("http", "5. Verifier service over HTTP (loopback load run)", () => runHttp({ quick }));
} catch (error) {
  checks.push({ name: "sections ran to completion", ok: false, why: error instanceof Error ? (error.stack ?? error.message) : String(error) });
}

const figures = collectFigures({
  gas: sections.gas as never,
  gate: sections.gate as never,
  scale: sections.scale as never,
  statusLists: sections.status as never,
  http: sections.http as never,
});
if (only.has("gas") && only.has("gate") && only.has("scale")) {
  const missing = REQUIRED_FIGURES.filter((name) => figures[name] === null);
  checks.push({ name: "every named figure collected", ok: missing.length === 0, ...(missing.length > 0 ? { why: `missing: ${missing.join(", ")}` } : {}) });
}

const totalSeconds = (performance.now() - started) / 1000;
// --only=... --merge: replace just the re-run sections in an existing results file of the same mode.
let previous: { mode?: string; sections?: Record<string, unknown> } = {};
if (args.includes("--merge")) {
  try {
    previous = JSON.parse(readFileSync(out, "utf8")) as typeof previous;
  } catch {
    previous = {};
  }
  if (previous.mode !== (quick ? "quick" : "full")) previous = {};
}
const results = {
  format: "mobile-civil-id/bench@1",
  mode: quick ? "quick" : "full",
  finishedAt: new Date().toISOString(),
  totalSeconds,
  machine: { ...machine, loadAverageStart: loadBefore, loadAverageEnd: os.loadavg() },
  chain: { engine: `Hardhat ${machine.hardhat} EDR (in-process)`, hardfork: BENCH_HARDFORK },
  sections: { ...(previous.sections ?? {}), ...(jsonSafe(sections) as Record<string, unknown>) },
  figures,
  ...(Object.keys(previous.sections ?? {}).length > 0 ? { mergedSections: Object.keys(sections) } : {}),
};
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, JSON.stringify(results, null, 2) + "\n");
let written: boolean;
try {
  written = (JSON.parse(readFileSync(out, "utf8")) as { format?: string }).format === "mobile-civil-id/bench@1";
} catch {
  written = false; // unreadable or not JSON: reported as a failed check below
}
checks.push({ name: `results written to ${path.relative(process.cwd(), out)}`, ok: written });

console.log(`\nload average at end: ${os.loadavg().map((l) => fixed(l, 2)).join(" ")}; total ${fixed(totalSeconds, 1)} s`);
for (const c of checks) console.log(`${c.ok ? "ok" : "FAILED"}: ${c.name}${c.why ? ` — ${c.why}` : ""}`);
const failed = checks.filter((c) => !c.ok).length;
console.log(`bench: ${checks.length - failed} passed, ${failed} failed`);
// The last line: the named figures as one JSON object (null = that section did not run or its row is missing).
console.log(JSON.stringify({ format: "mobile-civil-id/bench-figures@1", mode: quick ? "quick" : "full", ...figures }));
// Hardhat's in-process networks keep handles open; exit explicitly once everything is written.
process.exit(failed === 0 ? 0 : 1);
