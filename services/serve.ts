import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { JsonRpcProvider, type Provider } from "ethers";
import { z } from "zod";
import { loadDeployment, type Deployment } from "../sdk/chain/deployment.js";
import { CivilIdError } from "../sdk/errors.js";
import { SERVICES } from "./catalog.js";
import { listenConfigSchema, loadConfig, startServices, type ListenConfig, type RunningServices } from "./common/index.js";
import { seedDemoConsortium } from "./demo-consortium.js";
import type { DemoConsortium, ServeEnvironment } from "./environment.js";
import { walletPageUrl } from "./wallet/service.js";

/** What `npm run serve` / `mcid serve` accept (flags; the rest comes from the configuration file and MCID_* variables). */
export interface ServeOptions {
  /** Seed one invited request and print a ready credential offer (embedded chain only). */
  readonly demo?: boolean;
  /** JSON configuration file: one section per service (`issuer`, `verifier`, `login`), plus `dataDir`. */
  readonly configFile?: string;
  /** Production: any JSON-RPC endpoint, with its chain id and the folder of deployment files. */
  readonly rpcUrl?: string;
  readonly chainId?: number;
  readonly deployments?: string;
  readonly dataDir?: string;
  /** Listen address for every service (default 127.0.0.1). */
  readonly host?: string;
  /** Start only these services (default: all). */
  readonly only?: readonly string[];
  readonly logLevel?: string;
  readonly env?: Record<string, string | undefined>;
}

export interface ServeHandle {
  readonly running: RunningServices;
  /** The one line `--json` prints: base URL per service, page URLs (`gate`, …), chain id and, in demo mode, a ready offer. */
  readonly ready: Record<string, unknown>;
  /** The web pages' URLs by name (also in `ready`). */
  readonly pages: Record<string, string>;
  close(): Promise<void>;
}

const serveConfigSchema = z
  .object({ dataDir: z.string().min(1).optional(), logLevel: z.string().optional() })
  .loose();

const LISTEN_KEYS = Object.keys(listenConfigSchema.shape);

function listenSection(section: unknown, host: string | undefined): ListenConfig {
  const raw = typeof section === "object" && section !== null ? (section as Record<string, unknown>) : {};
  const picked = Object.fromEntries(Object.entries(raw).filter(([k]) => LISTEN_KEYS.includes(k)));
  return loadConfig(listenConfigSchema, { overrides: { ...picked, ...(host === undefined ? {} : { host }) } });
}

/**
 * Starts the services: on the embedded Hardhat chain (in this process, with a seeded development consortium)
 * unless `rpcUrl` is given, in which case against that node and the deployment file of its chain.
 */
export async function startServe(options: ServeOptions): Promise<ServeHandle> {
  const env = options.env ?? process.env;
  const config = loadConfig(serveConfigSchema, { ...(options.configFile === undefined ? {} : { file: options.configFile }), env });
  const definitions = options.only === undefined ? SERVICES : SERVICES.filter((s) => options.only!.includes(s.name));
  if (options.only !== undefined) {
    const unknown = options.only.filter((n) => !SERVICES.some((s) => s.name === n));
    if (unknown.length > 0) throw new CivilIdError("INVALID_INPUT", `Unknown service ${unknown.join(", ")}: choose from ${SERVICES.map((s) => s.name).join(", ")}.`);
  }
  const closers: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close();
    closers.length = 0;
  };
  try {
    let provider: Provider;
    let chainId: number;
    let deployment: Deployment;
    let demo: DemoConsortium | undefined;
    let dataDir: string;
    if (options.rpcUrl === undefined) {
      // Loaded lazily: only the embedded chain needs Hardhat's runtime.
      const { network } = await import("hardhat");
      const connection = await network.create({ override: { allowBlocksWithSameTimestamp: true } });
      closers.push(() => connection.close());
      provider = connection.ethers.provider;
      chainId = Number((await provider.getNetwork()).chainId);
      const seeded = await seedDemoConsortium(provider, await connection.ethers.getSigners());
      deployment = seeded.ledger.deployment;
      demo = seeded.demo;
      // The embedded chain lives as long as this process: so do its databases.
      dataDir = await mkdtemp(path.join(tmpdir(), "mcid-serve-"));
      closers.push(() => rm(dataDir, { recursive: true, force: true }));
    } else {
      if (options.demo === true) throw new CivilIdError("INVALID_INPUT", "--demo seeds the embedded chain; it cannot be combined with --rpc-url.");
      if (options.chainId === undefined) throw new CivilIdError("INVALID_INPUT", "--rpc-url needs --chain-id (the chain the deployment file belongs to).");
      const rpc = new JsonRpcProvider(options.rpcUrl, options.chainId, { staticNetwork: true });
      closers.push(() => Promise.resolve(rpc.destroy()));
      // Asked of the node itself: a static network's getNetwork() only echoes the chain id it was given.
      let answered: unknown;
      try {
        answered = await rpc.send("eth_chainId", []);
      } catch (error) {
        throw new CivilIdError("CHAIN_UNREACHABLE", `No JSON-RPC node answers at ${options.rpcUrl} (${error instanceof Error ? error.message.split("\n")[0] : String(error)}): check the URL and that the node is running.`, { cause: error });
      }
      const actual = typeof answered === "string" && /^0x[0-9a-f]+$/i.test(answered) ? Number(BigInt(answered)) : Number.NaN;
      if (actual !== options.chainId) throw new CivilIdError("CHAIN_ID_MISMATCH", `${options.rpcUrl} serves chain ${Number.isNaN(actual) ? String(answered) : actual}, not ${options.chainId}: check --rpc-url and --chain-id.`);
      provider = rpc;
      chainId = options.chainId;
      deployment = await loadDeployment(options.deployments ?? "deployments", chainId);
      dataDir = options.dataDir ?? config.dataDir ?? path.join("data", "services");
    }
    const serveEnv: ServeEnvironment = {
      provider, chainId, deployment, dataDir, config, logLevel: options.logLevel ?? config.logLevel ?? "info",
      demo: options.rpcUrl === undefined ? demo : undefined,
    };
    const running = await startServices(definitions, serveEnv, (name) => listenSection(config[name], options.host));
    closers.push(() => running.close());
    const pages = await running.pages();
    const ready: Record<string, unknown> = { ...running.urls, ...pages, chainId };
    if (options.demo === true) ready.demo = await running.demo();
    // The holder PWA's page (in demo mode opening the demo offer), not the bare origin of its service.
    if (running.urls.wallet !== undefined) {
      const offer = (ready.demo as { credentialOfferUri?: unknown } | undefined)?.credentialOfferUri;
      ready.wallet = walletPageUrl(running.urls.wallet, typeof offer === "string" ? offer : undefined);
      pages.wallet = ready.wallet as string;
    }
    return { running, ready, pages, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
