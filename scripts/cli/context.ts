import { readFile } from "node:fs/promises";
import path from "node:path";
import { JsonRpcProvider, Wallet, getAddress, isAddress, type Provider, type Signer } from "ethers";
import { CivilIdError } from "../../sdk/errors.js";
import { deploymentPath, loadDeployment, type Deployment } from "../../sdk/chain/deployment.js";
import { connectLedger, type LedgerContracts } from "../../sdk/chain/contracts.js";
import { parseRpcUrls } from "../../sdk/status/gate-ledger.js";
import { readSecret } from "./secrets.js";
import { TrackedSigner, pollingIntervalFor, setPollingInterval, type TransactionTracker } from "./transactions.js";

export interface GlobalOptions {
  network: string;
  /** One JSON-RPC URL, or several comma-separated (one per independent node; see firstRpcUrl, verifier.ts). */
  rpcUrl?: string;
  /** k of the --rpc-url nodes that must agree on a verifier's reads (sdk/status/gate-ledger.ts). */
  quorum?: string;
  chainId?: string;
  deployments: string;
  dataDir: string;
  key?: string;
  gasPrice?: string;
  txTimeout: string;
  json: boolean;
  /** The config file's named network in use, if any (see config.ts). */
  namedNetwork?: string;
}

export interface ChainContext {
  readonly provider: Provider;
  readonly chainId: number;
  readonly embedded: boolean;
  readonly close: () => Promise<void>;
  /** Funded development signers (embedded network only). */
  readonly devSigners: readonly Signer[];
}

export const LOCALHOST = { url: "http://127.0.0.1:8545", chainId: 31337 };

/**
 * Connects to the chosen network: `embedded` (an in-process Hardhat network that lives for this one command),
 * `localhost` (a node started with `npm run node`), or `--rpc-url` + `--chain-id` (any JSON-RPC endpoint, e.g. a
 * ministry's Besu node). The node's chain id must match the one expected, or nothing is sent.
 */
export async function connectChain(options: GlobalOptions): Promise<ChainContext> {
  if (options.rpcUrl !== undefined || options.network === "localhost") {
    // Transactions and operator reads go to one node: the first of a comma-separated list (verifier commands read
    // from all of them through a quorum, commands/verifier.ts).
    const url = options.rpcUrl === undefined ? LOCALHOST.url : parseRpcUrls(options.rpcUrl)[0]!;
    if (!/^https?:\/\/[^\s]+$/.test(url)) throw new CivilIdError("INVALID_INPUT", `--rpc-url ${JSON.stringify(url)} is not an http(s) URL.`);
    const expected = options.chainId !== undefined ? parseChainId(options.chainId) : options.rpcUrl === undefined ? LOCALHOST.chainId : undefined;
    if (expected === undefined) throw new CivilIdError("INVALID_INPUT", "--rpc-url needs --chain-id (the chain the deployment file is for).");
    // No response cache (ethers keeps identical answers for 250 ms by default): on a chain that mines at once, a
    // second transaction of the same account would otherwise be given the nonce of the first.
    const provider = new JsonRpcProvider(url, expected, { staticNetwork: true, cacheTimeout: -1 });
    let actual: bigint;
    try {
      const answer: unknown = await provider.send("eth_chainId", []);
      if (typeof answer !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(answer)) throw new Error(`eth_chainId answered ${JSON.stringify(answer)}`);
      actual = BigInt(answer);
    } catch (error) {
      provider.destroy();
      throw new CivilIdError("CHAIN_UNREACHABLE", `Cannot reach the node at ${url}. Start it (npm run node) or check --rpc-url.`, { cause: error });
    }
    if (actual !== BigInt(expected)) {
      provider.destroy();
      throw new CivilIdError("CHAIN_ID_MISMATCH", `The node at ${url} is chain ${actual}, not ${expected}. Check --chain-id and --rpc-url.`);
    }
    // ethers polls every 4 s by default: on a 2-s chain a command would return seconds after its block.
    setPollingInterval(provider, await pollingIntervalFor(provider).catch(() => 1000));
    return { provider, chainId: expected, embedded: false, devSigners: [], close: () => Promise.resolve(provider.destroy()) };
  }
  if (options.network !== "embedded") {
    throw new CivilIdError("INVALID_INPUT", `Unknown --network ${JSON.stringify(options.network)}: use embedded, localhost, a network of mcid.config.json, or --rpc-url with --chain-id.`);
  }
  // Loaded lazily: only the embedded network needs Hardhat's runtime (and the project's hardhat.config.ts).
  const { network } = await import("hardhat");
  const connection = await network.create();
  const provider = connection.ethers.provider;
  const chainId = Number((await provider.getNetwork()).chainId);
  return { provider, chainId, embedded: true, devSigners: await connection.ethers.getSigners(), close: () => connection.close() };
}

/**
 * The chain id the options point at, without connecting (a phone creates its wallet offline): --chain-id, or 31337
 * for --network localhost. The embedded network lives for one command, so nothing can belong to it.
 */
export function expectedChainId(options: GlobalOptions): number {
  if (options.chainId !== undefined) return parseChainId(options.chainId);
  if (options.rpcUrl !== undefined) throw new CivilIdError("INVALID_INPUT", "--rpc-url needs --chain-id (the chain the deployment file is for).");
  if (options.network === "localhost") return LOCALHOST.chainId;
  throw new CivilIdError("INVALID_INPUT", "A wallet belongs to a chain that outlives this command: pass --network localhost (npm run node), or --chain-id.");
}

export function parseChainId(text: string): number {
  if (!/^[0-9]{1,15}$/.test(text) || Number(text) < 1) throw new CivilIdError("INVALID_INPUT", `--chain-id ${JSON.stringify(text)} is not a positive integer.`);
  return Number(text);
}

/** Loads the deployment for the connected chain, with advice for the embedded network. */
export async function loadLedger(options: GlobalOptions, chain: ChainContext, runner: Provider | Signer): Promise<LedgerContracts> {
  let deployment: Deployment;
  try {
    deployment = await loadDeployment(options.deployments, chain.chainId);
  } catch (error) {
    if (chain.embedded && error instanceof CivilIdError && error.code === "DEPLOYMENT_NOT_FOUND") {
      throw new CivilIdError(
        "DEPLOYMENT_NOT_FOUND",
        "The embedded network lives only inside one command, so it has no deployment to act on. Start a local node with `npm run node` and pass --network localhost (or --rpc-url/--chain-id for a consortium node).",
        { cause: error },
      );
    }
    throw error;
  }
  const code = await chain.provider.getCode(deployment.statusRegistry);
  if (code === "0x") {
    if (chain.embedded) {
      // The embedded network is chain 31337 too, so it finds the file of `npm run node`, but none of its contracts.
      throw new CivilIdError(
        "DEPLOYMENT_NOT_FOUND",
        "This command ran on the embedded network (no --network given), which lives only inside this one command and has no contracts. " +
          "For the node of `npm run node` pass --network localhost (or export MCID_NETWORK=localhost); for another node, --rpc-url and --chain-id.",
      );
    }
    throw new CivilIdError(
      "INVALID_DEPLOYMENT",
      `No contract at ${deployment.statusRegistry} on chain ${chain.chainId}, although ${deploymentPath(options.deployments, chain.chainId)} names it: ` +
        "the node was restarted or reset since that deployment. Deploy again (npm run node deploys on start; else mcid deploy), or point --deployments at this chain's file.",
    );
  }
  return connectLedger(deployment, runner);
}

/** An encrypted keystore file, read but not decrypted: its address is known without the password. */
export interface KeystoreFile {
  readonly file: string;
  readonly json: string;
  readonly address: string;
}

/** Reads an ethers JSON keystore and its address (no password needed). `flag` names the option in messages. */
export async function readKeystore(file: string, flag: string): Promise<KeystoreFile> {
  const resolved = path.resolve(file);
  let json: string;
  try {
    json = await readFile(resolved, "utf8");
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `${flag}: cannot read the keystore ${resolved}.`, { cause: error });
  }
  let address: unknown;
  try {
    address = (JSON.parse(json) as { address?: unknown }).address;
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `${flag}: ${resolved} is not a JSON keystore.`, { cause: error });
  }
  const hex = typeof address === "string" ? (address.startsWith("0x") ? address : `0x${address}`) : "";
  if (!isAddress(hex)) throw new CivilIdError("INVALID_INPUT", `${flag}: ${resolved} has no address field; is it an ethers JSON keystore?`);
  return { file: resolved, json, address: getAddress(hex) };
}

/** Decrypts a keystore with the password from `passwordEnv` or a prompt; refuses a wrong password clearly. */
export async function decryptKeystore(keystore: KeystoreFile, passwordEnv: string): Promise<Wallet> {
  const password = await readSecret(passwordEnv, `Password for ${path.basename(keystore.file)}: `);
  let wallet: Wallet;
  try {
    wallet = (await Wallet.fromEncryptedJson(keystore.json, password)) as Wallet;
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `Cannot open ${keystore.file}: wrong password (${passwordEnv}) or not an ethers JSON keystore.`, { cause: error });
  }
  if (wallet.address !== keystore.address) throw new CivilIdError("INVALID_INPUT", `${keystore.file}: the decrypted key is not the keystore's address ${keystore.address}.`);
  return wallet;
}

/** Opens the signer from an encrypted keystore file (password from MCID_KEY_PASSWORD or a prompt). */
export async function openSigner(options: GlobalOptions, chain: ChainContext, tracker: TransactionTracker): Promise<Signer> {
  if (!options.key) throw new CivilIdError("INVALID_INPUT", "This command sends a transaction: pass --key <keystore.json> (create one with `mcid key new`).");
  const gasPrice = options.gasPrice === undefined ? undefined : parseGasPrice(options.gasPrice);
  const wallet = await decryptKeystore(await readKeystore(options.key, "--key"), "MCID_KEY_PASSWORD");
  return new TrackedSigner(wallet.connect(chain.provider), tracker, gasPrice);
}

/** A funded development signer of the embedded network, tracked like any other. */
export function trackedSigner(signer: Signer, options: GlobalOptions, tracker: TransactionTracker): Signer {
  return new TrackedSigner(signer, tracker, options.gasPrice === undefined ? undefined : parseGasPrice(options.gasPrice));
}

function parseGasPrice(text: string): bigint {
  if (!/^[0-9]{1,30}$/.test(text)) throw new CivilIdError("INVALID_INPUT", `--gas-price ${JSON.stringify(text)} must be an integer number of wei (0 on a zero-gas consortium chain).`);
  return BigInt(text);
}

/** The flags that reach this chain again, for advice such as "check it later with …". */
export function chainFlags(options: GlobalOptions): string {
  if (options.rpcUrl !== undefined) return `--rpc-url ${options.rpcUrl} --chain-id ${options.chainId ?? "<id>"}`;
  if (options.namedNetwork !== undefined) return `--network ${options.namedNetwork}`;
  return options.network === "embedded" ? "" : `--network ${options.network}`;
}
