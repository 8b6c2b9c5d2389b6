import type { Command } from "commander";
import { Interface, ZeroHash, id, toUtf8String, type Log, type Provider } from "ethers";
import { CIVIL_SERVANT_ID_TYPE, CredentialState, OrgStatus, credentialTypeId, reasonName } from "../../../sdk/chain/codes.js";
import { iso, kindName, operatorRoleName } from "../names.js";
import type { LedgerContracts } from "../../../sdk/chain/contracts.js";
import { unpackCredentialIds } from "../../../sdk/chain/batches.js";
import { loadLedger } from "../context.js";
import { describeError } from "../output.js";
import { positiveInt } from "../parse.js";
import { run, type CommandContext } from "../run.js";

/** One event as `watch` prints it: names for enums, ISO 8601 for times, decimal strings for ids, no raw bytes. */
export interface WatchedEvent {
  readonly block: number;
  readonly time: string;
  readonly tx: string;
  readonly contract: "governor" | "issuer-registry" | "status-registry" | "did-registry";
  readonly event: string;
  readonly args: Record<string, string | boolean | string[]>;
}

const KNOWN_TYPES: Record<string, string> = { [credentialTypeId(CIVIL_SERVANT_ID_TYPE).toLowerCase()]: CIVIL_SERVANT_ID_TYPE };
/** AccessControl role hashes, by name (an operator reads GOVERNANCE_ROLE, not 0x71840dc4…). */
const ROLE_HASHES: Record<string, string> = Object.fromEntries(
  ["DEFAULT_ADMIN_ROLE", "GOVERNANCE_ROLE"].map((name) => [name === "DEFAULT_ADMIN_ROLE" ? ZeroHash : id(name), name]),
);
const TIME_FIELDS = /^(validFrom|validUntil|expiresAt|retiredAt|.*At)$/;

function enumName(names: Record<number, string>, value: unknown): string {
  return (names[Number(value)] ?? `unknown(${String(value)})`).toLowerCase();
}

function bytes32Text(value: string): string {
  try {
    const text = toUtf8String(value).replace(/\0+$/, "");
    if (/^[\x20-\x7e]+$/.test(text)) return text;
  } catch {
    // not text: shown as hex below
  }
  return value;
}

/** Decodes a log of the deployment's contracts into a {@link WatchedEvent} (without its time, added per block). */
export class EventDescriber {
  private readonly contracts: { address: string; name: WatchedEvent["contract"]; iface: Interface }[];
  /** The interfaces a governance proposal may call, to show what it does instead of its calldata. */
  private readonly targets: Interface[];

  constructor(private readonly ledger: LedgerContracts) {
    const d = ledger.deployment;
    const iface = (c: { interface: unknown }) => c.interface as Interface;
    this.contracts = [
      { address: d.statusRegistry, name: "status-registry", iface: iface(ledger.statusRegistry) },
      { address: d.issuerRegistry, name: "issuer-registry", iface: iface(ledger.issuerRegistry) },
      { address: d.governor, name: "governor", iface: iface(ledger.governor) },
      { address: d.didRegistry, name: "did-registry", iface: iface(ledger.didRegistry) },
    ];
    this.targets = [iface(ledger.issuerRegistry), iface(ledger.governor), iface(ledger.statusRegistry)];
  }

  get addresses(): string[] {
    return this.contracts.map((c) => c.address);
  }

  describe(log: Log): Omit<WatchedEvent, "time"> | undefined {
    const contract = this.contracts.find((c) => c.address.toLowerCase() === log.address.toLowerCase());
    if (!contract) return undefined;
    const parsed = contract.iface.parseLog({ topics: [...log.topics], data: log.data });
    if (!parsed) return undefined;
    const args: Record<string, string | boolean | string[]> = {};
    parsed.fragment.inputs.forEach((input, i) => {
      const v: unknown = parsed.args[i];
      const name = input.name;
      if (name === "kind") args[name] = kindName(v);
      else if (name === "state") args[name] = enumName(CredentialState, v);
      else if (name === "reason") args[name] = reasonName(Number(v));
      else if (name === "role" || name === "previousAdminRole" || name === "newAdminRole") {
        args[name] = input.type === "bytes32" ? (ROLE_HASHES[String(v)] ?? String(v)) : operatorRoleName(v);
      }
      else if (/Status$/.test(name)) args[name] = enumName(OrgStatus, v);
      else if (name === "credentialType") args[name] = KNOWN_TYPES[String(v).toLowerCase()] ?? String(v);
      else if (name === "data" && input.type === "bytes") args.call = this.call(String(v));
      else if (name === "packedIds" && input.type === "bytes") args.credentialIds = unpackCredentialIds(String(v)).map(String);
      else if (input.type === "bytes32" && name === "name") args[name] = bytes32Text(String(v));
      else if (input.type === "bytes") args[name] = `${(String(v).length - 2) / 2} bytes`;
      else if (TIME_FIELDS.test(name) && /^uint/.test(input.type)) args[name] = Number(v) === 0 ? "none" : iso(Number(v));
      else if (Array.isArray(v)) args[name] = v.map((x) => String(x));
      else if (typeof v === "boolean") args[name] = v;
      else args[name] = String(v);
    });
    return { block: log.blockNumber, tx: log.transactionHash, contract: contract.name, event: parsed.name, args };
  }

  /** What a proposal's calldata does, e.g. `accredit(1741000, 1, 0xAd…, [..])`, never the raw bytes. */
  private call(data: string): string {
    for (const iface of this.targets) {
      try {
        const tx = iface.parseTransaction({ data });
        if (tx) return `${tx.name}(${tx.args.map((a: unknown) => (Array.isArray(a) ? `[${a.map((x) => KNOWN_TYPES[String(x).toLowerCase()] ?? String(x)).join(", ")}]` : String(a))).join(", ")})`;
      } catch {
        // not this contract's function: try the next
      }
    }
    return `unknown call (${(data.length - 2) / 2} bytes)`;
  }
}

export function eventLine(e: WatchedEvent): string {
  const args = Object.entries(e.args).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(",") : String(v)}`).join(" ");
  return `${e.time} #${e.block} ${e.event} ${args}`;
}

/** Block times, fetched once per block. */
class BlockTimes {
  private readonly cache = new Map<number, string>();
  constructor(private readonly provider: Provider) {}
  async of(block: number): Promise<string> {
    let time = this.cache.get(block);
    if (time === undefined) {
      const b = await this.provider.getBlock(block);
      time = b ? new Date(b.timestamp * 1000).toISOString() : "unknown";
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(block, time);
    }
    return time;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function registerWatch(program: Command): void {
  program
    .command("watch")
    .description("Follow status, accreditation, governance and DID events live (Ctrl-C to stop); reconnects when the node restarts")
    .option("--from-block <n>", "start here (default: the deployment block)")
    .option("--once", "print the events up to the head and exit", false)
    .option("--interval <ms>", "poll interval (default: half the chain's block time)")
    .addHelpText("after", "\n--json prints one JSON object per line (NDJSON), one per event.\n\nExample:\n  mcid watch --network localhost\n  mcid watch --network localhost --once --json | jq .event")
    .action(run(async (ctx, o: { fromBlock?: string; once: boolean; interval?: string }) => watch(ctx, o)));
}

async function watch(ctx: CommandContext, o: { fromBlock?: string; once: boolean; interval?: string }): Promise<void> {
  const chain = await ctx.chain();
  let ledger = await ctx.ledger();
  const provider = chain.provider;
  const interval = o.interval !== undefined ? positiveInt(o.interval, "--interval", 600_000) : ("pollingInterval" in provider ? Number(provider.pollingInterval) : 1000);
  let describer = new EventDescriber(ledger);
  const times = new BlockTimes(provider);
  let from = o.fromBlock !== undefined ? positiveInt(o.fromBlock, "--from-block") : ledger.deployment.deploymentBlock;
  let anchor: { number: number; hash: string } | undefined;
  let stop = false;
  ctx.interruptible = false;
  const onSigint = () => (stop = true);
  process.once("SIGINT", onSigint);
  let failures = 0;
  try {
    while (!stop) {
      try {
        // A restarted development node starts a new chain: the deployment block is gone or different, or the head
        // went back. The deployment file is then read again (npm run node rewrites it) and followed from its start.
        if (anchor !== undefined) {
          const [seen, headNow] = await Promise.all([provider.getBlock(anchor.number), provider.getBlockNumber()]);
          if (seen?.hash !== anchor.hash || headNow < from - 1) {
            ledger = await loadLedger(ctx.global, chain, provider);
            describer = new EventDescriber(ledger);
            from = ledger.deployment.deploymentBlock;
            ctx.out.note(`The node's chain changed (a restart or a reorganisation): following the deployment again from block ${from}.`);
            anchor = undefined;
          }
        }
        if (anchor === undefined) {
          const block = await provider.getBlock(ledger.deployment.deploymentBlock);
          if (block?.hash) anchor = { number: block.number, hash: block.hash };
        }
        const head = await provider.getBlockNumber();
        for (let start = from; start <= head; start += 5000) {
          const to = Math.min(head, start + 4999);
          const logs = await provider.getLogs({ address: describer.addresses, fromBlock: start, toBlock: to });
          for (const log of logs) {
            const event = describer.describe(log);
            if (!event) continue;
            const full: WatchedEvent = { ...event, time: await times.of(log.blockNumber) };
            process.stdout.write((ctx.global.json ? JSON.stringify(full) : eventLine(full)) + "\n");
          }
          from = to + 1;
        }
        if (failures > 0) ctx.out.note(`Reconnected to the node at block ${head}.`);
        failures = 0;
        if (o.once) break;
        await sleep(interval);
      } catch (error) {
        if (o.once) throw error;
        failures++;
        const wait = Math.min(10_000, 1000 * 2 ** Math.min(failures - 1, 4));
        const { code, message } = describeError(error);
        ctx.out.note(`${failures === 1 ? "Lost the node" : "Still no node"} (${code}: ${message}); retrying in ${wait / 1000} s (Ctrl-C to stop).`);
        await sleep(wait);
      }
    }
  } finally {
    process.off("SIGINT", onSigint);
  }
}
