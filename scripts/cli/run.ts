import type { Command } from "commander";
import type { Signer } from "ethers";
import type { LedgerContracts } from "../../sdk/chain/contracts.js";
import { resolveGlobalOptions } from "./config.js";
import { chainFlags, connectChain, loadLedger, openSigner, type ChainContext, type GlobalOptions } from "./context.js";
import { CliError, EXIT, Interrupted, Output } from "./output.js";
import { duration } from "./parse.js";
import { TransactionJournal, TransactionTracker } from "./transactions.js";

/** What every command gets: the global options, the output, and lazily opened chain resources. */
export interface CommandContext {
  readonly global: GlobalOptions;
  readonly out: Output;
  chain(): Promise<ChainContext>;
  /** The deployment's contracts, read-only. */
  ledger(): Promise<LedgerContracts>;
  /** The --key signer: its transactions are printed, followed and bounded by --tx-timeout. */
  signer(): Promise<Signer>;
  /** The deployment's contracts connected to the --key signer. */
  signedLedger(): Promise<LedgerContracts>;
  /** Follows the transactions this command sends. */
  tracker(): Promise<TransactionTracker>;
  /** The journal of sent transactions in --data-dir (opened on first use). */
  journal(): TransactionJournal;
  /** Set by a command that ends on Ctrl-C by itself (watch): Ctrl-C then does not abort it. */
  interruptible: boolean;
}

/**
 * Wraps a command action: builds its context, runs it, prints errors in the chosen format, sets the exit code and
 * closes the chain connection (the embedded network or the RPC provider) whatever happened. Ctrl-C and a
 * transaction that is not mined in time end the command with their own exit codes (130, 5) and say what was sent.
 */
export function run<O>(action: (ctx: CommandContext, opts: O, args: string[]) => Promise<number | void>) {
  return async function (this: Command, ...params: unknown[]): Promise<void> {
    const command = params[params.length - 1] as Command;
    const global = command.optsWithGlobals<GlobalOptions>();
    const out = new Output(Boolean(global.json));
    let chain: ChainContext | undefined;
    let tracker: TransactionTracker | undefined;
    let journal: TransactionJournal | undefined;
    let signer: Promise<Signer> | undefined;
    // Ctrl-C, or a transaction not mined in time, ends the command while its work may still be waiting.
    let abort!: (error: Error) => void;
    const aborted = new Promise<never>((_resolve, reject) => (abort = reject));
    aborted.catch(() => undefined);
    const ctx: CommandContext = {
      global,
      out,
      interruptible: true,
      chain: async () => (chain ??= await connectChain(ctx.global)),
      tracker: async () => {
        const c = await ctx.chain();
        tracker ??= new TransactionTracker({
          out, provider: c.provider, chainId: c.chainId, chainFlags: chainFlags(ctx.global), journal: () => ctx.journal(),
          timeoutMs: duration(ctx.global.txTimeout, "--tx-timeout") * 1000, onTimeout: abort,
        });
        return tracker;
      },
      journal: () => (journal ??= new TransactionJournal(ctx.global.dataDir)),
      // Opened once per command: the password is asked at most once.
      signer: async () => (signer ??= openSigner(ctx.global, await ctx.chain(), await ctx.tracker())),
      ledger: async () => loadLedger(ctx.global, await ctx.chain(), (await ctx.chain()).provider),
      signedLedger: async () => loadLedger(ctx.global, await ctx.chain(), await ctx.signer()),
    };
    const onSigint = () => {
      if (!ctx.interruptible) return;
      const pending = tracker?.pending ?? [];
      abort(pending.length === 0 ? new Interrupted() : new CliError("INTERRUPTED",
        `Interrupted while waiting for ${pending.join(", ")}: sent, so it may still be mined. Check before retrying: ${tracker!.checkLater(pending[0]!)}`,
        EXIT.INTERRUPTED, { txHashes: pending }));
    };
    process.on("SIGINT", onSigint);
    let abandoned = false;
    try {
      (ctx as { global: GlobalOptions }).global = resolveGlobalOptions(command);
      const work = action(ctx, command.opts() as O, params.slice(0, -2).flat().filter((p): p is string => typeof p === "string"));
      const code = await Promise.race([work, aborted]);
      process.exitCode = code ?? 0;
    } catch (error) {
      abandoned = error instanceof CliError && (error.exit === EXIT.PENDING || error.exit === EXIT.INTERRUPTED);
      process.exitCode = out.error(error);
    } finally {
      process.off("SIGINT", onSigint);
      tracker?.close();
      journal?.close();
      if (chain) await chain.close();
    }
    // The abandoned work (a wait on a dead node, a prompt) would keep the process alive: end it here.
    if (abandoned) process.exit(process.exitCode);
  };
}
