import type { Command } from "commander";
import type { LedgerContracts } from "../../sdk/chain/contracts.js";
import { connectChain, loadLedger, openSigner, type ChainContext, type GlobalOptions } from "./context.js";
import { Output } from "./output.js";

/** What every command gets: the global options, the output, and lazily opened chain resources. */
export interface CommandContext {
  readonly global: GlobalOptions;
  readonly out: Output;
  chain(): Promise<ChainContext>;
  /** The deployment's contracts, read-only. */
  ledger(): Promise<LedgerContracts>;
  /** The deployment's contracts connected to the --key signer. */
  signedLedger(): Promise<LedgerContracts>;
}

/**
 * Wraps a command action: builds its context, runs it, prints errors in the chosen format, sets the exit code and
 * closes the chain connection (the embedded network or the RPC provider) whatever happened.
 */
export function run<O>(action: (ctx: CommandContext, opts: O, args: string[]) => Promise<number | void>) {
  return async function (this: Command, ...params: unknown[]): Promise<void> {
    const command = params[params.length - 1] as Command;
    const global = command.optsWithGlobals<GlobalOptions>();
    const out = new Output(Boolean(global.json));
    let chain: ChainContext | undefined;
    const ctx: CommandContext = {
      global,
      out,
      chain: async () => (chain ??= await connectChain(global)),
      ledger: async () => loadLedger(global, await ctx.chain(), (await ctx.chain()).provider),
      signedLedger: async () => {
        const c = await ctx.chain();
        return loadLedger(global, c, await openSigner(global, c));
      },
    };
    try {
      const code = await action(ctx, command.opts() as O, params.slice(0, -2).filter((p): p is string => typeof p === "string"));
      process.exitCode = code ?? 0;
    } catch (error) {
      process.exitCode = out.error(error);
    } finally {
      if (chain) await chain.close();
    }
  };
}
