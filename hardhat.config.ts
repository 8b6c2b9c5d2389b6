import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";

const require = createRequire(import.meta.url);

// No network access on the build machines: Hardhat cannot download solc, so compile with the exact solc-js
// build pinned in package.json ("solc": "0.8.28").
const SOLC_VERSION = "0.8.28";
const solcPath = require.resolve("solc/soljson.js");

const compilerSettings = {
  // Cancun: supported by Hyperledger Besu (the consortium's client) and the embedded Hardhat network.
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 10_000 },
  viaIR: true,
};

// `hardhat test --coverage` compiles instrumented copies of the contracts into their own artifacts and cache, so a
// coverage run neither overwrites the plain build (the gas targets, `npm start` and the story run on it) nor makes
// the next plain command compile everything again (a clean-clone CI run compiled three times, now twice). Same
// solc settings as the plain build (the legacy pipeline runs out of stack once instrumented; see PERFORMANCE.md).
const coverageRun = process.argv.includes("--coverage") || /^(true|1)$/i.test(process.env.HARDHAT_COVERAGE ?? "");

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    // `hardhat test mocha` (and the gas targets, `npm start`, the story) need only the contracts: without this it
    // also compiled the Solidity tests, about 4 times the contracts' own compile time. A coverage run keeps one job
    // for both: the instrumented contracts are compiled once, with the tests that import them.
    splitTestsCompilation: !coverageRun,
    profiles: {
      default: { version: SOLC_VERSION, path: solcPath, settings: compilerSettings },
      production: { version: SOLC_VERSION, path: solcPath, settings: compilerSettings },
    },
  },
  paths: {
    tests: { mocha: "test/ts", solidity: "test/sol" },
    ...(coverageRun ? { artifacts: "cache/coverage-build/artifacts", cache: "cache/coverage-build/cache" } : {}),
  },
  test: {
    solidity: {
      profiles: {
        // CI: at least 1,000 fuzz runs per fuzz test; invariant campaigns sized to keep the suite in minutes.
        default: { fuzz: { runs: 1000 }, invariant: { runs: 64, depth: 64 } },
        // `npm run test:nightly`: long campaigns, not part of CI.
        nightly: { fuzz: { runs: 20_000 }, invariant: { runs: 512, depth: 128 } },
      },
    },
  },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1" },
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
  },
});
