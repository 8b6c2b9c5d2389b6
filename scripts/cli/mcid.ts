#!/usr/bin/env node
/**
 * `mcid` — the command line of mobile-civil-id: thin over the SDK (no logic the SDK lacks). See docs/CLI.md.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { CONFIG_FILE } from "./config.js";
import { EXIT } from "./output.js";
import { registerDeploy } from "./commands/deploy.js";
import { registerGovernance } from "./commands/governance.js";
import { registerOrg } from "./commands/org.js";
import { registerStatus } from "./commands/status.js";
import { registerKeys } from "./commands/keys.js";
import { registerWatch } from "./commands/watch.js";
import { registerIssuance } from "./commands/issuance.js";
import { registerWallet } from "./commands/wallet.js";
import { registerVerifier } from "./commands/verifier.js";
import { registerAnchor } from "./commands/anchor.js";
import { registerServe } from "./commands/serve.js";

/** The package's version, for `mcid --version`. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** A global option with its environment variable (shown in every command's help). */
function globalOption(flags: string, description: string, env?: string, defaultValue?: string | boolean): Option {
  const option = new Option(flags, description);
  if (env !== undefined) option.env(env);
  if (defaultValue !== undefined) option.default(defaultValue);
  return option;
}

export function buildProgram(): Command {
  const program = new Command("mcid")
    .description("Mobile civil-servant ID: consortium ledger, issuance, wallet and verification")
    .version(version(), "-V, --version", "print the version of mcid")
    .addOption(globalOption("--network <name>", "embedded (in-process, lives for one command) | localhost (npm run node) | a network of mcid.config.json", "MCID_NETWORK", "embedded"))
    .addOption(globalOption("--rpc-url <urls>", "any JSON-RPC endpoint (with --chain-id), e.g. a ministry's Besu node; comma-separated for several independent nodes (verifier commands read from --quorum of them, transactions go to the first)", "MCID_RPC_URL"))
    .addOption(globalOption("--quorum <k>", "how many of the --rpc-url nodes must agree on every ledger read of a verifier command (default: a majority)", "MCID_QUORUM"))
    .addOption(globalOption("--chain-id <id>", "chain id expected at --rpc-url", "MCID_CHAIN_ID"))
    .addOption(globalOption("--config <file>", `named networks (default ./${CONFIG_FILE} if it exists)`, "MCID_CONFIG"))
    .addOption(globalOption("--deployments <dir>", "where deployment files are", "MCID_DEPLOYMENTS", "deployments"))
    .addOption(globalOption("--data-dir <dir>", "workflow databases, verifier state, wallets, files with personal data", "MCID_DATA_DIR", "data"))
    .addOption(globalOption("--key <keystore>", "encrypted keystore of the account that signs transactions (password: MCID_KEY_PASSWORD or prompt)", "MCID_KEY"))
    .addOption(globalOption("--gas-price <wei>", "fixed legacy gas price for transactions (0 on a zero-gas consortium chain)", "MCID_GAS_PRICE"))
    .addOption(globalOption("--tx-timeout <duration>", "how long to wait for a transaction's block before stopping with exit 5 (the transaction may still be mined)", "MCID_TX_TIMEOUT", "120s"))
    .addOption(globalOption("--json", "print one JSON object instead of text (watch: one per line)", undefined, false))
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError()
    .exitOverride();
  registerDeploy(program);
  registerGovernance(program);
  registerOrg(program);
  registerStatus(program);
  registerKeys(program);
  registerWatch(program);
  registerIssuance(program);
  registerWallet(program);
  registerVerifier(program);
  registerAnchor(program);
  registerServe(program);
  return program;
}

/**
 * Piped into `head` (or any reader that stops early), stdout closes: that ends the command quietly, as for any
 * Unix tool, instead of an EPIPE stack trace.
 */
function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

export async function main(argv: string[]): Promise<void> {
  quietOnClosedPipe();
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return;
    }
    throw error;
  }
}

await main(process.argv);
