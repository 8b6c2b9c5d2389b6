/**
 * `npm start`: the main job. Runs the whole story (scripts/story/story.ts) and exits non-zero if any step does not
 * behave as expected. By default on an embedded, in-process Hardhat network; with `--rpc-url <url>` against any
 * JSON-RPC node (e.g. `anvil --block-time 2`, a Besu node), with its real block times:
 *
 *   npm start -- --rpc-url http://127.0.0.1:8545
 *
 * On a node, the story's accounts are the node's own unlocked accounts (anvil, Hardhat) when it has at least ten,
 * otherwise accounts derived from the mnemonic in MCID_STORY_MNEMONIC (they must be funded, or the chain zero-gas).
 * It ends with one machine-readable JSON line of the run's figures (steps, gas, lock → first gate refusal).
 */
import { parseArgs } from "node:util";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, NonceManager, type Provider, type Signer } from "ethers";
import { pollingIntervalFor } from "./cli/transactions.js";
import { runStory } from "./story/story.js";

const STORY_ACCOUNTS = 10;
const USAGE = "usage: npm start [-- --rpc-url <http(s) URL of a JSON-RPC node>]   (without --rpc-url: an embedded Hardhat chain)";
const started = performance.now();

/** A newcomer's mistake (a wrong flag, no node at the URL) ends with one clear line and exit code 2, not a stack trace. */
function refuse(message: string): never {
  process.stderr.write(`npm start: ${message}\n${USAGE}\n`);
  process.exit(2);
}

let values: { "rpc-url"?: string | undefined; help?: boolean | undefined };
try {
  ({ values } = parseArgs({ options: { "rpc-url": { type: "string" }, help: { type: "boolean", short: "h" } }, strict: true, allowPositionals: false }));
} catch (error) {
  refuse(error instanceof Error ? error.message : String(error));
}
if (values.help === true) {
  process.stdout.write(`${USAGE}\nRuns the whole story of one ID and exits non-zero if any step misbehaves; see README.md, Quickstart.\n`);
  process.exit(0);
}

interface Chain {
  readonly name: string;
  readonly provider: Provider;
  readonly signers: Signer[];
  close(): Promise<void>;
}

/** A node at `url`: its unlocked accounts, or accounts of MCID_STORY_MNEMONIC; polling matched to its block time. */
async function nodeChain(url: string): Promise<Chain> {
  if (!/^https?:\/\/\S+$/.test(url)) refuse(`--rpc-url ${JSON.stringify(url)} is not an http(s) URL.`);
  const probe = new JsonRpcProvider(url, undefined, { staticNetwork: true });
  let chainId: bigint;
  try {
    chainId = (await probe.getNetwork()).chainId;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split("\n")[0] : String(error);
    refuse(`no JSON-RPC node answers at ${url} (${reason}). Start one first, e.g. ` +
      "`node_modules/.bin/anvil --block-time 2 --gas-price 0 --block-base-fee-per-gas 0 --chain-id 2026 &`, or run `npm run story:anvil`.");
  } finally {
    probe.destroy();
  }
  const provider = new JsonRpcProvider(url, chainId, { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = await pollingIntervalFor(provider);
  const accounts = (await provider.send("eth_accounts", [])) as string[];
  let signers: Signer[];
  if (accounts.length >= STORY_ACCOUNTS) {
    signers = await Promise.all(accounts.slice(0, STORY_ACCOUNTS).map((a) => provider.getSigner(a)));
  } else {
    const mnemonic = process.env.MCID_STORY_MNEMONIC;
    if (!mnemonic) refuse(`The node at ${url} has ${accounts.length} unlocked account(s); the story needs ${STORY_ACCOUNTS}: set MCID_STORY_MNEMONIC to a mnemonic of funded accounts.`);
    const phrase = Mnemonic.fromPhrase(mnemonic);
    signers = Array.from({ length: STORY_ACCOUNTS }, (_, i) => new NonceManager(HDNodeWallet.fromMnemonic(phrase, `m/44'/60'/0'/0/${i}`).connect(provider)));
  }
  return { name: `the node at ${url} (chain ${chainId}, polled every ${provider.pollingInterval} ms)`, provider, signers, close: () => Promise.resolve(provider.destroy()) };
}

async function embeddedChain(): Promise<Chain> {
  process.stdout.write("Starting the embedded Hardhat network…\n");
  const { network } = await import("hardhat");
  // Blocks may share a timestamp, so the embedded chain's clock follows the wall clock like a QBFT chain's does.
  const connection = await network.create({ override: { allowBlocksWithSameTimestamp: true } });
  return {
    name: "an embedded consortium chain",
    provider: connection.ethers.provider,
    signers: (await connection.ethers.getSigners()).slice(0, STORY_ACCOUNTS),
    close: () => connection.close(),
  };
}

const chain = values["rpc-url"] !== undefined ? await nodeChain(values["rpc-url"]) : await embeddedChain();
try {
  process.stdout.write(`mobile-civil-id — the life of a mobile civil-servant ID, on ${chain.name}\n`);
  const narrator = await runStory({ provider: chain.provider, signers: chain.signers, write: (line) => process.stdout.write(line + "\n") });
  const failed = narrator.failed;
  const gas = narrator.steps.reduce((a, s) => a + s.gasUsed, 0n);
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `\n${narrator.steps.length - failed.length}/${narrator.steps.length} steps behaved as expected; ` +
      `${gas.toLocaleString("en-US")} gas in all; ${seconds.toFixed(1)} s\n`,
  );
  process.stdout.write(JSON.stringify({ steps: narrator.steps.length, failed: failed.length, gas: Number(gas), seconds: Number(seconds.toFixed(1)), ...narrator.figures }) + "\n");
  if (failed.length > 0) {
    for (const f of failed) process.stderr.write(`FAILED: ${f.chapter} / ${f.title}: ${f.detail}\n`);
    process.exitCode = 1;
  }
} finally {
  await chain.close();
}
