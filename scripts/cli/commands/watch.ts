import type { Command } from "commander";
import type { Interface, Log } from "ethers";
import { CivilIdError } from "../../../sdk/errors.js";
import { reasonName, CredentialState, OrgKind, OrgStatus } from "../../../sdk/chain/codes.js";
import type { LedgerContracts } from "../../../sdk/chain/contracts.js";
import { positiveInt } from "../parse.js";
import { run } from "../run.js";

function describe(ledger: LedgerContracts, log: Log): Record<string, unknown> | undefined {
  const d = ledger.deployment;
  for (const [address, contract] of [[d.statusRegistry, ledger.statusRegistry], [d.issuerRegistry, ledger.issuerRegistry], [d.governor, ledger.governor]] as const) {
    if (log.address.toLowerCase() !== address.toLowerCase()) continue;
    const parsed = (contract.interface as unknown as Interface).parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) return undefined;
    const args: Record<string, unknown> = {};
    parsed.fragment.inputs.forEach((input, i) => {
      const v: unknown = parsed.args[i];
      args[input.name] = input.name === "kind" ? OrgKind[Number(v)] : input.name === "state" ? CredentialState[Number(v)] : input.name === "reason" ? reasonName(Number(v)) : /Status$/.test(input.name) ? OrgStatus[Number(v)] : v;
    });
    return { block: log.blockNumber, tx: log.transactionHash, event: parsed.name, ...args };
  }
  return undefined;
}

export function registerWatch(program: Command): void {
  program
    .command("watch")
    .description("Follow status, accreditation and governance events live (Ctrl-C to stop)")
    .option("--from-block <n>", "start here (default: the deployment block)")
    .option("--once", "print the events up to the head and exit", false)
    .option("--interval <ms>", "poll interval", "1000")
    .addHelpText("after", "\nExample:\n  mcid watch --network localhost\n  mcid watch --network localhost --once --json")
    .action(run(async (ctx, o: { fromBlock?: string; once: boolean; interval: string }) => {
      const ledger = await ctx.ledger();
      const provider = (await ctx.chain()).provider;
      const interval = positiveInt(o.interval, "--interval", 600_000);
      let from = o.fromBlock !== undefined ? positiveInt(o.fromBlock, "--from-block") : ledger.deployment.deploymentBlock;
      const addresses = [ledger.deployment.statusRegistry, ledger.deployment.issuerRegistry, ledger.deployment.governor];
      const collected: Record<string, unknown>[] = [];
      let stop = false;
      process.once("SIGINT", () => (stop = true));
      while (!stop) {
        const head = await provider.getBlockNumber();
        if (head >= from) {
          for (let start = from; start <= head; start += 5000) {
            const logs = await provider.getLogs({ address: addresses, fromBlock: start, toBlock: Math.min(head, start + 4999) });
            for (const log of logs) {
              const event = describe(ledger, log);
              if (!event) continue;
              if (o.once && ctx.global.json) collected.push(event);
              else if (ctx.global.json) process.stdout.write(JSON.stringify(event, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
              else process.stdout.write(`#${String(event.block)} ${String(event.event)} ${Object.entries(event).filter(([k]) => !["block", "tx", "event"].includes(k)).map(([k, v]) => `${k}=${String(v)}`).join(" ")}\n`);
            }
          }
          from = head + 1;
        }
        if (o.once) break;
        await new Promise((r) => setTimeout(r, interval));
      }
      if (o.once && ctx.global.json) ctx.out.result({ ok: true, toBlock: from - 1, events: collected }, []);
      if (from < 0) throw new CivilIdError("CHAIN_UNREACHABLE", "No block seen.");
    }));
}
