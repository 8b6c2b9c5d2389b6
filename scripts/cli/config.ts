/**
 * The configuration file `mcid.config.json` (in the working directory, or the file named by --config / MCID_CONFIG):
 * named networks, like Hardhat's or Foundry's, so an operator types `--network sejong` instead of an RPC URL, a
 * chain id and a deployment directory on every command.
 *
 *   { "defaultNetwork": "sejong",
 *     "networks": { "sejong": { "rpcUrl": "https://besu.mois.go.kr:8545", "chainId": 2026, "deployments": "deployments", "gasPrice": "0" } } }
 *
 * A verifier (gate) names several independent nodes instead, and how many must agree (docs/CONSORTIUM.md):
 *
 *     "gate": { "rpcUrls": ["https://rpc.mois.go.kr", "https://rpc.moef.go.kr", "https://rpc.mpm.go.kr"], "quorum": 2, "chainId": 2026 }
 *
 * Precedence, per option: the command line, then its environment variable, then the named network, then the
 * built-in default.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { CivilIdError } from "../../sdk/errors.js";
import type { GlobalOptions } from "./context.js";

export const CONFIG_FILE = "mcid.config.json";

export interface NetworkConfig {
  /** One node (or give `rpcUrls`). */
  readonly rpcUrl?: string;
  /** Several independent nodes: verifier commands read from `quorum` of them, transactions go to the first. */
  readonly rpcUrls?: readonly string[];
  /** k of `rpcUrls` (default a majority). */
  readonly quorum?: number;
  readonly chainId: number;
  readonly deployments?: string;
  readonly dataDir?: string;
  readonly gasPrice?: string;
  readonly txTimeout?: string;
}

export interface CliConfig {
  readonly file: string;
  readonly defaultNetwork?: string;
  readonly networks: Readonly<Record<string, NetworkConfig>>;
}

const BUILT_IN = new Set(["embedded", "localhost"]);
const NETWORK_KEYS = new Set(["rpcUrl", "rpcUrls", "quorum", "chainId", "deployments", "dataDir", "gasPrice", "txTimeout"]);

/** Reads and validates the config file; a missing default file is no config, a missing named one an error. */
export function readConfig(explicit: string | undefined): CliConfig | undefined {
  const file = path.resolve(explicit ?? CONFIG_FILE);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if (explicit === undefined && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new CivilIdError("INVALID_INPUT", `Cannot read the config file ${file}.`, { cause: error });
  }
  const fail = (why: string): never => {
    throw new CivilIdError("INVALID_INPUT", `${file}: ${why} (see docs/CLI.md, "Configuration file").`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    fail("not valid JSON");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("not a JSON object");
  const { defaultNetwork, networks = {}, ...rest } = json as Record<string, unknown>;
  if (Object.keys(rest).length > 0) fail(`unknown key(s) ${Object.keys(rest).join(", ")}; use defaultNetwork and networks`);
  if (typeof networks !== "object" || networks === null || Array.isArray(networks)) fail("networks must be an object of named networks");
  const out: Record<string, NetworkConfig> = {};
  for (const [name, value] of Object.entries(networks as Record<string, unknown>)) {
    if (!/^[a-z0-9][a-z0-9-]{0,31}$/.test(name) || BUILT_IN.has(name)) fail(`network name ${JSON.stringify(name)}: lower-case letters, digits and hyphens, not embedded or localhost`);
    if (typeof value !== "object" || value === null) fail(`networks.${name} must be an object`);
    const v = value as Record<string, unknown>;
    const unknown = Object.keys(v).filter((k) => !NETWORK_KEYS.has(k));
    if (unknown.length > 0) fail(`networks.${name}: unknown key(s) ${unknown.join(", ")}`);
    const isUrl = (u: unknown) => typeof u === "string" && /^https?:\/\/[^\s,]+$/.test(u);
    if ((v.rpcUrl === undefined) === (v.rpcUrls === undefined)) fail(`networks.${name} needs exactly one of rpcUrl (one node) and rpcUrls (several nodes)`);
    if (v.rpcUrl !== undefined && !isUrl(v.rpcUrl)) fail(`networks.${name}.rpcUrl must be an http(s) URL`);
    if (v.rpcUrls !== undefined) {
      if (!Array.isArray(v.rpcUrls) || v.rpcUrls.length === 0 || !v.rpcUrls.every(isUrl)) fail(`networks.${name}.rpcUrls must be a non-empty array of http(s) URLs`);
      if (new Set(v.rpcUrls as string[]).size !== (v.rpcUrls as string[]).length) fail(`networks.${name}.rpcUrls must be distinct (one per independent node)`);
    }
    if (v.quorum !== undefined) {
      const n = Array.isArray(v.rpcUrls) ? v.rpcUrls.length : 1;
      if (!Number.isSafeInteger(v.quorum) || (v.quorum as number) < 1 || (v.quorum as number) > n) fail(`networks.${name}.quorum must be an integer from 1 to the number of nodes (${n})`);
    }
    if (!Number.isSafeInteger(v.chainId) || (v.chainId as number) < 1) fail(`networks.${name}.chainId must be a positive integer`);
    for (const k of ["deployments", "dataDir", "gasPrice", "txTimeout"] as const) {
      if (v[k] !== undefined && typeof v[k] !== "string") fail(`networks.${name}.${k} must be a string`);
    }
    out[name] = v as unknown as NetworkConfig;
  }
  if (defaultNetwork !== undefined && (typeof defaultNetwork !== "string" || (!BUILT_IN.has(defaultNetwork) && !(defaultNetwork in out)))) {
    fail(`defaultNetwork ${JSON.stringify(defaultNetwork)} is not embedded, localhost or one of its networks`);
  }
  return { file, ...(defaultNetwork === undefined ? {} : { defaultNetwork: defaultNetwork as string }), networks: out };
}

/**
 * The global options of a command with the config file applied: a named network fills the options the operator
 * gave neither on the command line nor in the environment.
 */
export function resolveGlobalOptions(command: Command): GlobalOptions {
  const options = command.optsWithGlobals<GlobalOptions & { config?: string }>();
  const config = readConfig(options.config);
  const root = rootOf(command);
  const given = (name: string) => {
    const source = root.getOptionValueSource(name);
    return source === "cli" || source === "env";
  };
  let name = options.network;
  if (!given("network") && config?.defaultNetwork !== undefined) name = config.defaultNetwork;
  const resolved: GlobalOptions = { ...options, network: name };
  if (BUILT_IN.has(name)) return resolved;
  const network = config?.networks[name];
  if (network === undefined) {
    throw new CivilIdError("INVALID_INPUT", `Unknown --network ${JSON.stringify(name)}: use embedded, localhost${config ? `, ${Object.keys(config.networks).join(", ")} (${config.file})` : ", or define it in mcid.config.json"}; or --rpc-url with --chain-id.`);
  }
  return {
    ...resolved,
    namedNetwork: name,
    rpcUrl: given("rpcUrl") ? options.rpcUrl : network.rpcUrls?.join(",") ?? network.rpcUrl,
    quorum: given("quorum") || network.quorum === undefined ? options.quorum : String(network.quorum),
    chainId: given("chainId") ? options.chainId : String(network.chainId),
    deployments: given("deployments") || network.deployments === undefined ? options.deployments : path.resolve(path.dirname(config!.file), network.deployments),
    dataDir: given("dataDir") || network.dataDir === undefined ? options.dataDir : path.resolve(path.dirname(config!.file), network.dataDir),
    gasPrice: given("gasPrice") ? options.gasPrice : network.gasPrice,
    txTimeout: given("txTimeout") || network.txTimeout === undefined ? options.txTimeout : network.txTimeout,
  };
}

function rootOf(command: Command): Command {
  let c = command;
  while (c.parent) c = c.parent;
  return c;
}
