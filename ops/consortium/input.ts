/**
 * Validates the consortium input (untrusted JSON) and normalises it into a {@link ConsortiumConfig}: every problem
 * is collected and reported at once. Reads the node key files the input names (to derive public keys only).
 */
import { readFile } from "node:fs/promises";
import { isIP } from "node:net";
import path from "node:path";
import { computeAddress, getAddress, isAddress } from "ethers";
import { CivilIdError } from "../../sdk/errors.js";
import { isValidAgencyCode } from "../../sdk/chain/codes.js";
import {
  ACCOUNT_KEYS, DEFAULT_BESU_IMAGE, DEFAULT_CONFIG_DIR, DEFAULT_DATA_PATH, DEFAULT_GAS_LIMIT, DNS_LABEL, MINISTRY_KEYS, NAME_PATTERN,
  PUBLIC_CHAIN_IDS, RECOMMENDED_MIN_VALIDATORS, TOP_LEVEL_KEYS,
  type ConsortiumAccount, type ConsortiumConfig, type ValidatorNode,
} from "./config.js";
import { faultTolerance } from "./genesis.js";
import { normalisePublicKey, publicKeyOfNodeKey } from "./keys.js";

export interface ParseOptions {
  /** Directory that relative `nodeKeyFile` paths are resolved against (normally the input file's directory). */
  readonly baseDir?: string;
  /** Reads a key file (default: node:fs). Injected by tests. */
  readonly readKeyFile?: (file: string) => Promise<string>;
}

/**
 * Validates an untrusted input value and normalises it. Collects every problem and throws one
 * `CivilIdError("INVALID_INPUT")` that lists them all (also in `details.problems`).
 */
export async function parseConsortiumInput(value: unknown, options: ParseOptions = {}): Promise<ConsortiumConfig> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const problem = (where: string, why: string): void => {
    problems.push(`${where}: ${why}`);
  };
  const fail = (): never => {
    throw new CivilIdError(
      "INVALID_INPUT",
      `Invalid consortium input (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
      { details: { problems: [...problems] } },
    );
  };

  if (!isPlainObject(value)) {
    problem("input", "must be a JSON object");
    return fail();
  }
  for (const key of Object.keys(value)) {
    if (!TOP_LEVEL_KEYS.has(key)) problem(key, `unknown field (known: ${[...TOP_LEVEL_KEYS].filter((k) => k !== "$comment").join(", ")})`);
  }

  // --- chain parameters
  const chainId = integerField(value, "chainId", 1, Number.MAX_SAFE_INTEGER, problem);
  if (chainId !== undefined && PUBLIC_CHAIN_IDS.has(chainId)) {
    problem("chainId", `${chainId} is the chain id of ${PUBLIC_CHAIN_IDS.get(chainId)}; choose a private chain id`);
  }
  const blockPeriodSeconds = integerField(value, "blockPeriodSeconds", 1, 60, problem);
  const epochLength = integerField(value, "epochLength", 1, 1_000_000_000, problem);
  const requestTimeoutSeconds = integerField(value, "requestTimeoutSeconds", 1, 600, problem);
  if (
    blockPeriodSeconds !== undefined &&
    requestTimeoutSeconds !== undefined &&
    requestTimeoutSeconds < 2 * blockPeriodSeconds
  ) {
    warnings.push(
      `requestTimeoutSeconds (${requestTimeoutSeconds}) is below twice blockPeriodSeconds (${blockPeriodSeconds}); ` +
        "Besu recommends 2x the block period to avoid needless round changes.",
    );
  }
  let gasLimit = DEFAULT_GAS_LIMIT;
  if (value.gasLimit !== undefined) {
    const parsed = parseQuantity(value.gasLimit);
    if (parsed === undefined || parsed < 5000n || parsed > 0x7fffffffffffffffn) {
      problem("gasLimit", "must be an integer from 5000 to 2^63-1 (decimal or 0x-hex)");
    } else gasLimit = parsed;
  }
  if (value.minGasPrice !== undefined && value.minGasPrice !== 0) {
    problem("minGasPrice", "the consortium runs with free gas: only 0 is accepted (omit the field or set 0)");
  }
  let genesisTimestamp = 0;
  if (value.genesisTimestamp !== undefined) {
    genesisTimestamp = integerField(value, "genesisTimestamp", 0, 2 ** 40, problem) ?? 0;
  }
  const permissioning = { nodes: true, accounts: true };
  if (value.permissioning !== undefined) {
    if (!isPlainObject(value.permissioning)) problem("permissioning", "must be an object { nodes?: boolean, accounts?: boolean }");
    else {
      for (const key of Object.keys(value.permissioning)) {
        if (key !== "nodes" && key !== "accounts") problem(`permissioning.${key}`, "unknown field (known: nodes, accounts)");
      }
      for (const key of ["nodes", "accounts"] as const) {
        const v = value.permissioning[key];
        if (v === undefined) continue;
        if (typeof v !== "boolean") problem(`permissioning.${key}`, "must be true or false");
        else permissioning[key] = v;
      }
    }
  }
  if (!permissioning.nodes) warnings.push("Node permissioning is off: any node that knows an enode URL may join as a peer.");
  if (!permissioning.accounts) warnings.push("Account permissioning is off: any key may submit transactions to the nodes.");
  let discovery = false;
  if (value.discovery !== undefined) {
    if (typeof value.discovery !== "boolean") problem("discovery", "must be true or false");
    else discovery = value.discovery;
  }
  let besuImage = DEFAULT_BESU_IMAGE;
  if (value.besuImage !== undefined) {
    if (typeof value.besuImage !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,254}$/.test(value.besuImage)) {
      problem("besuImage", "must be a Docker image reference such as hyperledger/besu:24.12.2");
    } else besuImage = value.besuImage;
  }
  const paths = { data: DEFAULT_DATA_PATH, config: DEFAULT_CONFIG_DIR };
  if (value.paths !== undefined) {
    if (!isPlainObject(value.paths)) problem("paths", "must be an object { data?: string, config?: string }");
    else {
      for (const key of Object.keys(value.paths)) {
        if (key !== "data" && key !== "config") problem(`paths.${key}`, "unknown field (known: data, config)");
      }
      for (const key of ["data", "config"] as const) {
        const v = value.paths[key];
        if (v === undefined) continue;
        if (typeof v !== "string" || !path.posix.isAbsolute(v) || /["\\\n\r]/.test(v)) {
          problem(`paths.${key}`, "must be an absolute POSIX path without quotes or backslashes");
        } else paths[key] = path.posix.normalize(v).replace(/\/+$/, "") || "/";
      }
    }
  }

  // --- ministries / validators
  const nodes: ValidatorNode[] = [];
  if (!Array.isArray(value.ministries) || value.ministries.length === 0) {
    problem("ministries", "must be a non-empty list: QBFT needs at least one validator");
  } else {
    const readKeyFile = options.readKeyFile ?? ((file: string) => readFile(file, "utf8"));
    const parsed: { index: number; node: ValidatorNode }[] = [];
    for (const [index, raw] of value.ministries.entries()) {
      const result = await parseMinistry(raw, `ministries[${index}]`, options.baseDir ?? process.cwd(), readKeyFile);
      problems.push(...result.problems);
      if (result.node) parsed.push({ index, node: result.node });
    }
    checkUnique(parsed, (n) => n.name, "name", problem);
    checkUnique(parsed, (n) => String(n.agencyCode), "agencyCode", problem);
    checkUnique(parsed, (n) => n.address, "validator address (node key)", problem);
    // Every listening endpoint on a host must be distinct, across nodes and within one node.
    const endpoints = new Map<string, string>();
    for (const { index, node } of parsed) {
      for (const [kind, port] of listeningPorts(node)) {
        const key = `${node.host.toLowerCase()}:${port}`;
        const owner = `ministries[${index}].${kind}`;
        const other = endpoints.get(key);
        if (other !== undefined) problem(owner, `${key} is already used by ${other}`);
        else endpoints.set(key, owner);
      }
    }
    nodes.push(...parsed.map((p) => p.node));
    if (nodes.length === value.ministries.length && nodes.length < RECOMMENDED_MIN_VALIDATORS) {
      warnings.push(
        `Only ${nodes.length} validator${nodes.length === 1 ? "" : "s"}: QBFT tolerates floor((n-1)/3) = ` +
          `${faultTolerance(nodes.length)} faulty validators, so any outage stalls block production. ` +
          `Run at least ${RECOMMENDED_MIN_VALIDATORS} validators in production.`,
      );
    }
  }

  // --- accounts
  const accounts: ConsortiumAccount[] = [];
  const accountEntries: { index: number; node: ConsortiumAccount }[] = [];
  if (value.accounts !== undefined && !Array.isArray(value.accounts)) {
    problem("accounts", "must be a list of { name, address, balance? }");
  } else if (Array.isArray(value.accounts)) {
    for (const [i, raw] of value.accounts.entries()) {
      const where = `accounts[${i}]`;
      if (!isPlainObject(raw)) {
        problem(where, "must be an object { name, address, balance? }");
        continue;
      }
      for (const key of Object.keys(raw)) {
        if (!ACCOUNT_KEYS.has(key)) problem(`${where}.${key}`, "unknown field (known: name, address, balance)");
      }
      const name = typeof raw.name === "string" && raw.name.trim() !== "" && raw.name.length <= 64 ? raw.name.trim() : undefined;
      if (name === undefined) problem(`${where}.name`, "must be a non-empty string of at most 64 characters");
      const address = typeof raw.address === "string" && isAddress(raw.address) ? getAddress(raw.address) : undefined;
      if (address === undefined) problem(`${where}.address`, `${JSON.stringify(raw.address)} is not an address (0x + 40 hex digits, valid checksum if mixed case)`);
      else if (BigInt(address) === 0n) problem(`${where}.address`, "the zero address cannot send transactions");
      let balance = 0n;
      if (raw.balance !== undefined) {
        const parsed = typeof raw.balance === "string" ? parseQuantity(raw.balance) : undefined;
        if (parsed === undefined || parsed >= 1n << 256n) {
          problem(`${where}.balance`, "must be a wei amount as a decimal or 0x-hex string");
        } else balance = parsed;
      }
      if (name !== undefined && address !== undefined) accountEntries.push({ index: i, node: { name, address, balance } });
    }
    checkUnique(accountEntries, (a) => a.address, "address", problem, "accounts");
    accounts.push(...accountEntries.map((e) => e.node));
  }
  if (permissioning.accounts && accounts.length === 0 && problems.length === 0) {
    problem(
      "accounts",
      "account permissioning is on but no account is listed, so no transaction could ever be sent; list the " +
        "deployer, the ministries' governance accounts and every organisation's admin/operator accounts",
    );
  }

  if (problems.length > 0) return fail();
  return {
    chainId: chainId!,
    blockPeriodSeconds: blockPeriodSeconds!,
    epochLength: epochLength!,
    requestTimeoutSeconds: requestTimeoutSeconds!,
    gasLimit,
    genesisTimestamp,
    nodes,
    accounts,
    permissioning,
    discovery,
    besuImage,
    paths,
    warnings,
  };
}

async function parseMinistry(
  raw: unknown,
  where: string,
  baseDir: string,
  readKeyFile: (file: string) => Promise<string>,
): Promise<{ node?: ValidatorNode; problems: string[] }> {
  const problems: string[] = [];
  const problem = (at: string, why: string): void => {
    problems.push(`${at}: ${why}`);
  };
  if (!isPlainObject(raw)) {
    problem(where, "must be an object { name, agencyCode, nodePublicKey | nodeKeyFile, host, p2pPort, rpcPort, rpc }");
    return { problems };
  }
  const name = typeof raw.name === "string" && NAME_PATTERN.test(raw.name) ? raw.name : undefined;
  if (name === undefined) {
    problem(`${where}.name`, `${JSON.stringify(raw.name)} must be 1-32 lower-case letters, digits or '-' (not at either end)`);
  }
  const here = name === undefined ? where : `${where} (${name})`;
  for (const key of Object.keys(raw)) {
    if (!MINISTRY_KEYS.has(key)) problem(`${here}.${key}`, `unknown field (known: ${[...MINISTRY_KEYS].filter((k) => k !== "$comment").join(", ")})`);
  }

  let agencyCode: number | undefined;
  const codeText = typeof raw.agencyCode === "number" ? String(raw.agencyCode) : typeof raw.agencyCode === "string" ? raw.agencyCode.trim() : "";
  if (/^[1-9][0-9]{6}$/.test(codeText) && isValidAgencyCode(Number(codeText))) agencyCode = Number(codeText);
  else problem(`${here}.agencyCode`, `${JSON.stringify(raw.agencyCode)} is not an agency code: 7 digits, first digit non-zero (e.g. 1741000)`);

  // Key material: the enode id (public key) is needed for static-nodes and the node allowlist, and the
  // validator address is derived from it. An address alone is a hash of the key and cannot give the enode.
  let publicKey: string | undefined;
  if (raw.nodePublicKey !== undefined && raw.nodeKeyFile !== undefined) {
    problem(here, "give either nodePublicKey or nodeKeyFile, not both");
  } else if (raw.nodePublicKey !== undefined) {
    publicKey = normalisePublicKey(raw.nodePublicKey);
    if (publicKey === undefined) {
      problem(`${here}.nodePublicKey`, "is not a secp256k1 public key (128 hex digits as printed by `besu public-key export`)");
    }
  } else if (raw.nodeKeyFile !== undefined) {
    if (typeof raw.nodeKeyFile !== "string" || raw.nodeKeyFile.trim() === "") {
      problem(`${here}.nodeKeyFile`, "must be a file path");
    } else {
      const file = path.resolve(baseDir, raw.nodeKeyFile);
      let text: string | undefined;
      try {
        text = await readKeyFile(file);
      } catch (error) {
        problem(`${here}.nodeKeyFile`, `cannot read ${file}: ${(error as Error).message}`);
      }
      if (text !== undefined) {
        const key = publicKeyOfNodeKey(text);
        if (key.problem === "format") problem(`${here}.nodeKeyFile`, `${file} does not hold a Besu node key (0x + 64 hex digits)`);
        else if (key.problem === "invalid") problem(`${here}.nodeKeyFile`, `${file} holds an invalid secp256k1 private key`);
        else publicKey = key.publicKey;
      }
    }
  } else {
    problem(
      here,
      "needs the node's public key: nodePublicKey (from `besu public-key export`) or nodeKeyFile. A validatorAddress " +
        "alone is not enough: the enode URL in static-nodes and the node allowlist needs the public key",
    );
  }
  const address = publicKey === undefined ? undefined : computeAddress(`0x04${publicKey}`);
  if (raw.validatorAddress !== undefined) {
    if (typeof raw.validatorAddress !== "string" || !isAddress(raw.validatorAddress)) {
      problem(`${here}.validatorAddress`, `${JSON.stringify(raw.validatorAddress)} is not an address (0x + 40 hex digits, valid checksum if mixed case)`);
    } else if (address !== undefined && getAddress(raw.validatorAddress) !== address) {
      problem(
        `${here}.validatorAddress`,
        `${getAddress(raw.validatorAddress)} does not match the node key, whose address is ${address}`,
      );
    }
  }

  const host = typeof raw.host === "string" && isValidHost(raw.host.trim()) ? raw.host.trim() : undefined;
  if (host === undefined) problem(`${here}.host`, `${JSON.stringify(raw.host)} is not an IP address or DNS host name`);
  const p2pPort = portField(raw, "p2pPort", here, problem);
  const rpcPort = portField(raw, "rpcPort", here, problem);
  if (p2pPort !== undefined && p2pPort === rpcPort) problem(`${here}.rpcPort`, "must differ from p2pPort");
  if (typeof raw.rpc !== "boolean") problem(`${here}.rpc`, "must be true (serves JSON-RPC to SDK clients) or false (loopback only)");

  let rpcHostAllowlist: string[] | undefined;
  if (raw.rpcHostAllowlist !== undefined) {
    if (
      !Array.isArray(raw.rpcHostAllowlist) ||
      raw.rpcHostAllowlist.length === 0 ||
      !raw.rpcHostAllowlist.every((h) => typeof h === "string" && (h === "*" || isValidHost(h)))
    ) {
      problem(`${here}.rpcHostAllowlist`, "must be a non-empty list of host names, IP addresses or \"*\"");
    } else rpcHostAllowlist = [...new Set(raw.rpcHostAllowlist as string[])];
  }

  let metricsPort: number | undefined;
  if (raw.metricsPort !== undefined) metricsPort = portField(raw, "metricsPort", here, problem);
  if (raw.rpc === true && rpcPort === 65535) {
    problem(`${here}.rpcPort`, "must be at most 65534: the operator WebSocket listens on rpcPort + 1");
  }

  if (problems.length > 0) return { problems };
  const node: ValidatorNode = {
    name: name!,
    agencyCode: agencyCode!,
    publicKey: publicKey!,
    address: address!,
    host: host!,
    p2pPort: p2pPort!,
    rpcPort: rpcPort!,
    rpc: raw.rpc as boolean,
    rpcHostAllowlist: rpcHostAllowlist ?? [...new Set(["localhost", "127.0.0.1", host!])],
    metricsPort,
    enode: `enode://${publicKey}@${isIP(host!) === 6 ? `[${host}]` : host}:${p2pPort}`,
  };
  return { node, problems };
}

/** The ports a node listens on (all on its host): P2P, JSON-RPC, operator WebSocket, metrics. */
function listeningPorts(node: ValidatorNode): [string, number][] {
  const ports: [string, number][] = [
    ["p2pPort", node.p2pPort],
    ["rpcPort", node.rpcPort],
  ];
  if (node.rpc) ports.push(["rpcPort+1 (operator WebSocket)", node.rpcPort + 1]);
  if (node.metricsPort !== undefined) ports.push(["metricsPort", node.metricsPort]);
  return ports;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function integerField(
  obj: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  problem: (where: string, why: string) => void,
): number | undefined {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min || v > max) {
    problem(key, `${v === undefined ? "is required and" : `${JSON.stringify(v)}`} must be an integer from ${min} to ${max}`);
    return undefined;
  }
  return v;
}

function portField(
  obj: Record<string, unknown>,
  key: "p2pPort" | "rpcPort" | "metricsPort",
  where: string,
  problem: (where: string, why: string) => void,
): number | undefined {
  const v = obj[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 65535) {
    problem(`${where}.${key}`, `${JSON.stringify(v)} is not a TCP port (1-65535)`);
    return undefined;
  }
  return v;
}

function parseQuantity(v: unknown): bigint | undefined {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
  if (typeof v !== "string") return undefined;
  const s = v.trim();
  if (/^0x[0-9a-fA-F]{1,64}$/.test(s) || /^[0-9]{1,78}$/.test(s)) return BigInt(s);
  return undefined;
}

function isValidHost(host: string): boolean {
  if (isIP(host) !== 0) return true;
  if (host.length > 253) return false;
  const labels = host.split(".");
  return labels.every((l) => DNS_LABEL.test(l)) && !/^[0-9]+$/.test(labels[labels.length - 1]!);
}

function checkUnique<T>(
  entries: readonly { index: number; node: T }[],
  key: (item: T) => string,
  label: string,
  problem: (where: string, why: string) => void,
  list = "ministries",
): void {
  const seen = new Map<string, number>();
  for (const { index, node } of entries) {
    const k = key(node).toLowerCase();
    const first = seen.get(k);
    if (first !== undefined) {
      problem(`${list}[${index}]`, `duplicate ${label} ${JSON.stringify(key(node))} (also at ${list}[${first}])`);
    } else seen.set(k, index);
  }
}
