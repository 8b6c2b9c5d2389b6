#!/usr/bin/env node
/**
 * `mcid` — the command line of mobile-civil-id: thin over the SDK (no logic the SDK lacks). See docs/CLI.md.
 */
import { Command, CommanderError } from "commander";
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
import { registerServe } from "./commands/serve.js";

export function buildProgram(): Command {
  const program = new Command("mcid")
    .description("Mobile civil-servant ID: consortium ledger, issuance, wallet and verification")
    .option("--network <name>", "embedded (in-process, lives for one command) | localhost (npm run node)", process.env.MCID_NETWORK ?? "embedded")
    .option("--rpc-url <url>", "any JSON-RPC endpoint (with --chain-id), e.g. a ministry's Besu node")
    .option("--chain-id <id>", "chain id expected at --rpc-url")
    .option("--deployments <dir>", "where deployment files are", process.env.MCID_DEPLOYMENTS ?? "deployments")
    .option("--data-dir <dir>", "workflow database, verifier state, wallets", process.env.MCID_DATA_DIR ?? "data")
    .option("--key <keystore>", "encrypted keystore of the account that signs transactions (default MCID_KEY; password: MCID_KEY_PASSWORD or prompt)", process.env.MCID_KEY || undefined)
    .option("--gas-price <wei>", "fixed legacy gas price for transactions (0 on a zero-gas consortium chain)")
    .option("--json", "print one JSON object instead of text", false)
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
  registerServe(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
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
