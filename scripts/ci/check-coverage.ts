/**
 * CI gate: fails when Solidity line coverage of contracts/ (from Hardhat 3's `--coverage` lcov report) is below
 * the threshold, overall or in any single contract. Usage: tsx scripts/ci/check-coverage.ts [minPercent] [lcovFile]
 */
import { readFile } from "node:fs/promises";

const min = Number(process.argv[2] ?? "95");
const file = process.argv[3] ?? "coverage/lcov.info";
if (!Number.isFinite(min) || min <= 0 || min > 100) throw new Error(`Threshold ${process.argv[2]} is not a percentage.`);

const text = await readFile(file, "utf8").catch((error: unknown) => {
  throw new Error(`No coverage report at ${file}: run \`hardhat test --coverage\` first.`, { cause: error });
});
let current: string | undefined;
const files = new Map<string, { found: number; hit: number }>();
for (const line of text.split("\n")) {
  if (line.startsWith("SF:")) current = line.slice(3).trim();
  else if (current && line.startsWith("LF:")) files.set(current, { ...(files.get(current) ?? { hit: 0 }), found: Number(line.slice(3)) });
  else if (current && line.startsWith("LH:")) files.set(current, { ...(files.get(current) ?? { found: 0 }), hit: Number(line.slice(3)) });
}
const contracts = [...files].filter(([name]) => name.startsWith("contracts/"));
if (contracts.length === 0) throw new Error(`${file} has no contracts/ entries.`);
let found = 0;
let hit = 0;
const failures: string[] = [];
for (const [name, c] of contracts) {
  found += c.found;
  hit += c.hit;
  const pct = c.found === 0 ? 100 : (100 * c.hit) / c.found;
  process.stdout.write(`${pct.toFixed(2).padStart(7)} %  ${name}\n`);
  if (pct < min) failures.push(`${name} ${pct.toFixed(2)} %`);
}
const total = found === 0 ? 100 : (100 * hit) / found;
process.stdout.write(`${total.toFixed(2).padStart(7)} %  total (gate: >= ${min} % overall and per contract)\n`);
if (total < min || failures.length > 0) {
  process.stderr.write(`Solidity line coverage below ${min} %: ${failures.join(", ") || `total ${total.toFixed(2)} %`}\n`);
  process.exit(1);
}
