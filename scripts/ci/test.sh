#!/usr/bin/env bash
# `npm test`: lint, the gas targets and the whole suite with the Solidity coverage gate, as two lanes that run at
# the same time (the build machines have 2 cores; solc-js compiles on one):
#
#   main lane      plain build (contracts only) → solhint → tsc ‖ eslint → tsc (web) → gas targets
#                  → the process-driving suites (spawned CLI, browsers, the main job) on the plain build
#                  [→ with --story: the main job's story on anvil, beside those suites]
#   coverage lane  a scratch copy of the sources (.tmp/coverage-run) → instrumented build (contracts and the
#                  Solidity tests) → the Solidity tests and every other mocha suite, with coverage → the 95 % gate
#
# Why a scratch copy: the SDK deploys through the typechain factories in types/, which carry the bytecode of
# whichever build ran last; the instrumented build in the same tree would swap them under the main lane's
# type-check and tests. In the copy, each lane has its own artifacts/, cache/ and types/ (the copy keeps them
# between runs, so a second `npm test` compiles nothing). The coverage report is copied back to coverage/.
#
# Each step's output is kept in .tmp/ci-logs/<step>.log and printed whole when the step ends (parallel steps never
# interleave), followed by its wall and CPU seconds. A failing step fails the run: its lane stops, the other lane
# finishes, and the summary lists every failed step with its log.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
# Node 22 (the project's pinned one, in node_modules/.bin) first, as under npm: Hardhat refuses the machines' Node 20.
export PATH="$repo/node_modules/.bin:$PATH"
story=false
for arg in "$@"; do
  case "$arg" in
    --story) story=true ;;
    *) echo "usage: scripts/ci/test.sh [--story]" >&2; exit 2 ;;
  esac
done

logs=$repo/.tmp/ci-logs
rm -rf "$logs" && mkdir -p "$logs"
: >"$logs/failed"
: >"$logs/times"
: >"$logs/flaky"
run_start=$(date +%s%N)

# The suites that drive separate processes (the CLI, browsers, `npm start`) against a node of the test process.
# They run on the plain build: instrumentation only slows them, and the contract suites, the Solidity tests and
# the in-process SDK and service suites reach the coverage gate without them (docs/PERFORMANCE.md, "6. CI time").
# Every other mocha suite, including any new one, runs in the coverage lane.
plain_suites=(test/ts/cli/*.test.ts test/ts/browser/*.test.ts test/ts/main-job.test.ts)

# The children's user + system seconds from the second line of `times` (e.g. "1m2.300s 0m3.100s").
cpu_seconds() { awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); printf "%.1f", u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "$1"; }
seconds() { awk -v ns="$1" 'BEGIN { printf "%.1f", ns / 1e9 }'; }

# step NAME COMMAND... — runs COMMAND with its output in NAME.log; prints the log and the times when it ends.
step() {
  local name=$1; shift
  local log=$logs/$name.log start rc wall cpu
  start=$(date +%s%N)
  (
    "$@"
    rc=$?
    # CPU seconds of everything the command ran (children are reaped, so their time is counted here).
    # (`times` into a file first: in a pipeline it would run in a subshell of its own, with no children.)
    times >"$log.times"
    cpu_seconds "$log.times" >"$log.cpu"
    exit $rc
  ) </dev/null >"$log" 2>&1
  rc=$?
  wall=$(seconds $(($(date +%s%N) - start)))
  cpu=$(cat "$log.cpu" 2>/dev/null || echo "?")
  local verdict=ok
  [ "$rc" -eq 0 ] || verdict="FAILED (exit $rc)"
  (
    flock 9
    printf '\n── step %s\n' "$name"
    cat "$log"
    printf '── step %s: %s, %s s wall, %s s CPU\n' "$name" "$verdict" "$wall" "$cpu"
    printf '%-22s %-8s %7s s wall %7s s CPU\n' "$name" "${verdict%% *}" "$wall" "$cpu" >>"$logs/times"
    [ "$rc" -eq 0 ] || echo "$name" >>"$logs/failed"
  ) 9>"$logs/.print-lock"
  return "$rc"
}

hardhat=$repo/node_modules/.bin/hardhat

# The process-driving suites, and the tests among them that failed once more: they depend on the OS scheduling
# processes, browsers and ports beside a busy coverage lane, and one unlucky moment should not hide a round's work.
# A test that passes on its retry is reported as FLAKY at the end of the run (never silently); one that fails twice
# fails the step. The in-process suites (coverage lane) get no retry.
plain_suites_once_retried() {
  "$hardhat" test mocha --no-compile "${plain_suites[@]}" && return 0
  local first=$logs/mocha-plain.first-run.log pattern expected
  cp "$logs/mocha-plain.log" "$first"
  pattern=$(node "$repo/scripts/ci/failed-tests.mjs" grep "$first") || return 1
  expected=$(node "$repo/scripts/ci/failed-tests.mjs" count "$first") || return 1
  printf '\n── mocha-plain: the %s failed test(s) once more (--grep %s)\n' "$expected" "$pattern"
  local retry=$logs/mocha-plain.retry.log passed
  "$hardhat" test mocha --no-compile --grep "$pattern" "${plain_suites[@]}" 2>&1 | tee "$retry"
  [ "${PIPESTATUS[0]}" -eq 0 ] || return 1
  # A pattern that matched fewer tests than failed would pass vacuously: the retry must have run them all.
  passed=$(sed -n 's/^ *\([0-9]\+\) passing.*/\1/p' "$retry" | tail -n 1)
  if [ "${passed:-0}" -lt "$expected" ]; then
    echo "── mocha-plain: the retry ran ${passed:-0} test(s), not the $expected that failed: the first run's failures stand"
    return 1
  fi
  node "$repo/scripts/ci/failed-tests.mjs" summary "$first" >"$logs/flaky"
}

main_lane() {
  step build "$hardhat" build --quiet --no-tests || return
  step solhint "$repo/node_modules/.bin/solhint" --noPoster --max-warnings 0 'contracts/**/*.sol' || return
  # tsc and eslint read types/, written by the build above; nothing in this lane rebuilds it afterwards
  # (HARDHAT_NO_TYPECHAIN: the later `hardhat test` and `npm start` compile nothing, and leave types/ alone).
  step eslint "$repo/node_modules/.bin/eslint" --max-warnings 0 . &
  local eslint=$!
  step tsc "$repo/node_modules/.bin/tsc" --noEmit -p . && step tsc-web "$repo/node_modules/.bin/tsc" --noEmit -p web
  local tsc_rc=$?
  wait "$eslint" && [ "$tsc_rc" -eq 0 ] || return 1
  export HARDHAT_NO_TYPECHAIN=true
  step gas npm run --silent test:gas || return
  local story_pid=""
  if $story; then
    step story-anvil npm run --silent story:anvil &
    story_pid=$!
  fi
  step mocha-plain plain_suites_once_retried
  local rc=$?
  if [ -n "$story_pid" ]; then wait "$story_pid" || rc=1; fi
  return "$rc"
}

# The scratch copy: the tracked and untracked-but-not-ignored files of this tree (as in a clean clone with local
# edits), node_modules linked; the copy's own build outputs are kept, stale sources are not.
prepare_copy() {
  local copy=$repo/.tmp/coverage-run
  mkdir -p "$copy"
  find "$copy" -mindepth 1 -maxdepth 1 ! -name artifacts ! -name cache ! -name types ! -name node_modules -exec rm -rf {} +
  if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$repo" ls-files -z --cached --others --exclude-standard | (cd "$repo" && tar --null --ignore-failed-read -cf - -T -) | tar -xf - -C "$copy"
  else
    tar -C "$repo" --exclude=./node_modules --exclude=./artifacts --exclude=./cache --exclude=./types --exclude=./coverage \
      --exclude=./.tmp --exclude=./dist --exclude=./data -cf - . | tar -xf - -C "$copy"
  fi
  [ -e "$copy/node_modules" ] || ln -s "$repo/node_modules" "$copy/node_modules"
}

coverage_lane() {
  local copy=$repo/.tmp/coverage-run
  step coverage-copy prepare_copy || return
  cd "$copy" || return
  step build-coverage "$hardhat" build --quiet --coverage || return
  local files=() f skip p
  for f in test/sol/**/*.t.sol test/ts/**/*.test.ts; do
    skip=false
    for p in "${plain_suites[@]}"; do [ "$f" = "$p" ] && skip=true; done
    $skip || files+=("$f")
  done
  # Not --no-compile: the coverage metadata comes from the build's instrumentation pass (a cache hit here).
  step test-coverage "$hardhat" test --coverage --grep-exclude @gas-target "${files[@]}" || return
  rm -rf "$repo/coverage" && cp -r coverage "$repo/coverage"
  step coverage-gate "$repo/node_modules/.bin/tsx" scripts/ci/check-coverage.ts 95
}

shopt -s globstar nullglob
main_lane &
main=$!
coverage_lane &
coverage=$!
# A lane that stops outside a step (e.g. a missing directory) fails the run too.
wait "$main" || [ -s "$logs/failed" ] || echo "main lane (exit status without a failed step)" >>"$logs/failed"
wait "$coverage" || [ -s "$logs/failed" ] || echo "coverage lane (exit status without a failed step)" >>"$logs/failed"

if [ -s "$logs/failed" ]; then
  # Each failed step's failures again, after every step's output: mocha's "N failing" section when there is one,
  # else the log's last 60 lines.
  while read -r name; do
    log=$logs/$name.log
    [ -f "$log" ] || continue
    printf '\n── failures of step %s\n' "$name"
    if grep -qE '^ *[0-9]+ failing' "$log"; then sed -n '/^ *[0-9]\+ failing/,$p' "$log" | head -n 400; else tail -n 60 "$log"; fi
  done <"$logs/failed"
fi
printf '\n── npm test: step times (%s s wall in all)\n' "$(seconds $(($(date +%s%N) - run_start)))"
cat "$logs/times"
if [ -s "$logs/flaky" ]; then
  printf '\nFLAKY: failed once, passed on the retry (mocha-plain; the first run is in .tmp/ci-logs/mocha-plain.first-run.log):\n'
  cat "$logs/flaky"
fi
if [ -s "$logs/failed" ]; then
  # Last, in a few lines, which tests failed and why (a CI page may keep only the end of the output).
  while read -r name; do
    log=$logs/$name.log
    grep -qE '^ *[0-9]+ failing' "$log" 2>/dev/null || continue
    printf '\n%s:\n' "$name"
    node "$repo/scripts/ci/failed-tests.mjs" summary "$log"
  done <"$logs/failed"
  printf '\nFAILED: %s (logs in .tmp/ci-logs/)\n' "$(paste -sd' ' "$logs/failed")" >&2
  exit 1
fi
