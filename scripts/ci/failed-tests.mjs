#!/usr/bin/env node
// The failed tests of a mocha (spec reporter) log, for scripts/ci/test.sh:
//   node scripts/ci/failed-tests.mjs summary <log>   each failure's titles and the first line of its error, briefly
//   node scripts/ci/failed-tests.mjs count <log>     how many tests failed
//   node scripts/ci/failed-tests.mjs grep <log>      one regular expression matching exactly the failed tests' full
//                                                    titles (mocha --grep), for the one retry of the process-driving
//                                                    suites; exit 1 when the log lists no failure
// A failed hook stands for its suite: `"before all" hook for "t"` retries t, `"before all" hook` the whole suite.
import { readFileSync } from "node:fs";

const [mode, file] = process.argv.slice(2);
if (!["summary", "grep", "count"].includes(mode ?? "") || file === undefined) {
  process.stderr.write("usage: failed-tests.mjs summary|count|grep <mocha log>\n");
  process.exit(2);
}
// Colour codes off (a terminal run of the same log).
// eslint-disable-next-line no-control-regex -- the escape character is what is matched
const lines = readFileSync(file, "utf8").replace(/\x1b\[[0-9;]*m/g, "").split("\n");
// The last run's failures (a retried step's log holds two runs).
const start = lines.findLastIndex((l) => /^\s*\d+ failing\s*$/.test(l));

/** @type {{ titles: string[], error: string }[]} */
const failures = [];
if (start >= 0) {
  for (let i = start + 1; i < lines.length; i++) {
    const head = /^\s*\d+\) (.*)$/.exec(lines[i]);
    if (!head) continue;
    // Title lines run from "N) first" to the first line ending with ":" (the test's own title, or the hook's).
    const titles = [head[1].trim()];
    let j = i;
    while (!titles[titles.length - 1].endsWith(":") && j + 1 < lines.length && lines[j + 1].trim() !== "") titles.push(lines[++j].trim());
    titles[titles.length - 1] = titles[titles.length - 1].replace(/:$/, "");
    let error = "";
    for (let k = j + 1; k < lines.length && !/^\s*\d+\) /.test(lines[k]); k++) {
      if (lines[k].trim() !== "") {
        error = lines[k].trim().slice(0, 200);
        break;
      }
    }
    failures.push({ titles, error });
    i = j;
  }
}

const escape = (s) => s.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
/**
 * The full title mocha's --grep matches (the suites' and the test's titles joined by spaces) as an anchored pattern;
 * a suite's own hook matches every test of the suite (the pattern is a prefix).
 */
function pattern(titles) {
  const last = titles[titles.length - 1];
  const hook = /^"[^"]+" hook(?: for "(.*)")?(?: in "(.*)")?$/.exec(last);
  if (hook && hook[1] === undefined) return `^${escape(titles.slice(0, -1).join(" "))} `;
  return `^${escape([...titles.slice(0, -1), hook ? hook[1] : last].join(" "))}$`;
}

if (mode === "summary") {
  for (const f of failures.slice(0, 8)) process.stdout.write(`  ✗ ${f.titles.join(" › ")}\n      ${f.error}\n`);
  if (failures.length > 8) process.stdout.write(`  … and ${failures.length - 8} more (the step's log above)\n`);
} else if (mode === "count") {
  process.stdout.write(`${failures.length}\n`);
} else {
  // Nothing to retry by title: no failure listed, or a Solidity test's ("N) Contract#test", no mocha titles).
  if (failures.length === 0 || failures.some((f) => /^\S+#\S+$/.test(f.titles[0]))) process.exit(1);
  process.stdout.write(failures.map((f) => pattern(f.titles)).join("|") + "\n");
}
