/**
 * Several real, independent EVM nodes for the ledger-trust tests: anvil processes fed the same signed transactions
 * with the same block timestamps (so they end with identical block hashes, like a consortium's ministries' nodes),
 * and an HTTP proxy that can lie in front of any of them. Every process started here is stopped by `stopAll()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { HDNodeWallet, JsonRpcProvider, Network, Transaction, Wallet, type TransactionRequest, type TransactionResponse } from "ethers";

const ANVIL = path.resolve("node_modules/.bin/anvil");
const MNEMONIC = "test test test test test test test test test test test junk";
const running = new Set<ChildProcess>();
const servers = new Set<http.Server>();

export interface AnvilNode {
  readonly url: string;
  stop(): Promise<void>;
}

/** Starts an anvil node on a free port with a fixed genesis timestamp (identical genesis across nodes). */
export async function startAnvil(options: { chainId: number; genesisTimestamp: number }): Promise<AnvilNode> {
  const child = spawn(ANVIL, ["--port", "0", "--chain-id", String(options.chainId), "--timestamp", String(options.genesisTimestamp), "--gas-price", "0", "--block-base-fee-per-gas", "0", "--accounts", "10",
    // Coverage-instrumented contracts outgrow EIP-170's 24 KiB (see test/ts/helpers/anvil.ts).
    "--disable-code-size-limit"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`anvil did not start: ${out}`)), 20_000);
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /Listening on ([\d.]+):(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        child.stdout!.removeAllListeners("data");
        child.stdout!.resume();
        resolve(`http://${match[1]}:${match[2]}`);
      }
    });
    child.stderr!.resume();
    child.once("exit", (code) => reject(new Error(`anvil exited with ${code}: ${out}`)));
  });
  return {
    url,
    stop: () => stopProcess(child),
  };
}

function stopProcess(child: ChildProcess): Promise<void> {
  running.delete(child);
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  // SIGTERM, not SIGKILL: node_modules/.bin/anvil is a Node launcher that forwards SIGTERM to the anvil binary; a
  // SIGKILL would kill only the launcher and orphan the node (whose open pipes then keep this test process alive).
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
}

/** Stops every node and proxy this module started. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(stopProcess));
  // Keep-alive connections to the proxies would hold their close() open: end them.
  await Promise.all([...servers].map((s) => new Promise<void>((resolve) => {
    s.close(() => resolve());
    s.closeAllConnections();
  })));
  servers.clear();
}
process.once("exit", () => {
  for (const child of running) child.kill("SIGTERM");
});

export async function rpc(url: string, method: string, params: readonly unknown[] = []): Promise<unknown> {
  const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  const body = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

/**
 * Sends every transaction to all nodes of a consortium with the same block timestamp (anvil mines one block per
 * transaction), so the nodes stay identical. A paused node receives nothing until `resume()` replays what it missed
 * (a lagging node).
 */
export class Consortium {
  private clock: number;
  private readonly paused = new Map<string, { timestamp: number; raw: string }[]>();

  constructor(readonly urls: readonly string[], readonly chainId: number, startTimestamp: number) {
    this.clock = startTimestamp;
  }

  /** A signer (anvil's default account `index`) whose transactions reach every node. */
  signer(index: number): MirrorSigner {
    const provider = new JsonRpcProvider(this.urls[0], Network.from(this.chainId), { staticNetwork: true, pollingInterval: 20, cacheTimeout: -1 });
    const key = HDNodeWallet.fromPhrase(MNEMONIC, undefined, `m/44'/60'/0'/0/${index}`).privateKey;
    return new MirrorSigner(key, provider, this);
  }

  pause(url: string): void {
    if (url === this.urls[0]) throw new Error("the first node is the signers' node; pause another");
    this.paused.set(url, this.paused.get(url) ?? []);
  }

  /** Replays what a paused node missed, in order, with the same timestamps. */
  async resume(url: string): Promise<void> {
    const missed = this.paused.get(url) ?? [];
    this.paused.delete(url);
    for (const { timestamp, raw } of missed) await this.deliver(url, timestamp, raw);
  }

  async broadcast(raw: string): Promise<void> {
    const timestamp = ++this.clock;
    // The first node last: the signer's provider then sees the transaction mined everywhere that is not paused.
    for (const url of [...this.urls.slice(1), this.urls[0]!]) {
      const queue = this.paused.get(url);
      if (queue) queue.push({ timestamp, raw });
      else await this.deliver(url, timestamp, raw);
    }
  }

  /** Mines `count` empty blocks on every node, one second apart (one by one: anvil_mine's timestamps differ per node). */
  async mineEmpty(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const timestamp = ++this.clock;
      await Promise.all(this.urls.filter((url) => !this.paused.has(url)).map((url) => rpc(url, "evm_mine", [timestamp])));
    }
  }

  private async deliver(url: string, timestamp: number, raw: string): Promise<void> {
    await rpc(url, "evm_setNextBlockTimestamp", [timestamp]);
    await rpc(url, "eth_sendRawTransaction", [raw]);
  }
}

/** A wallet whose transactions are broadcast to every node of its consortium. */
export class MirrorSigner extends Wallet {
  constructor(key: string, provider: JsonRpcProvider, private readonly consortium: Consortium) {
    super(key, provider);
  }

  override connect(provider: JsonRpcProvider): MirrorSigner {
    return new MirrorSigner(this.privateKey, provider, this.consortium);
  }

  override async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const populated = await this.populateTransaction({ ...tx, gasLimit: tx.gasLimit ?? 15_000_000, type: 2, maxFeePerGas: 0n, maxPriorityFeePerGas: 0n });
    delete populated.from;
    const raw = await this.signTransaction(populated);
    await this.consortium.broadcast(raw);
    const response = await (this.provider as JsonRpcProvider).getTransaction(Transaction.from(raw).hash!);
    if (!response) throw new Error("the first node does not know the transaction it was sent");
    return response;
  }
}

type Json = { jsonrpc: "2.0"; id: unknown; method: string; params: unknown[] };
type Answer = { jsonrpc: "2.0"; id: unknown; result?: unknown; error?: { code: number; message: string } };

/**
 * A JSON-RPC proxy in front of one node. `tamper` may rewrite each answer (or replace it): a lying endpoint.
 * `down()` makes it refuse connections' requests with a transport failure (socket destroyed).
 */
export class RpcProxy {
  tamper: ((request: Json, answer: Answer) => Answer) | undefined;
  private isDown = false;
  private constructor(private readonly server: http.Server, readonly url: string) {}

  static async start(target: string): Promise<RpcProxy> {
    const holder: { proxy?: RpcProxy } = {};
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        void (async () => {
          if (holder.proxy!.isDown) {
            res.destroy();
            return;
          }
          const request = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Json;
          const response = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
          let answer = (await response.json()) as Answer;
          if (holder.proxy!.tamper && !Array.isArray(request)) answer = holder.proxy!.tamper(request, answer);
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(answer));
        })().catch(() => res.destroy());
      });
    });
    servers.add(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
    holder.proxy = new RpcProxy(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return holder.proxy;
  }

  down(isDown = true): void {
    this.isDown = isDown;
  }

  /** Honest again. */
  reset(): void {
    this.tamper = undefined;
    this.isDown = false;
  }
}
