/**
 * Harness of the spawned-CLI tests: a Hardhat JSON-RPC node in this process on a free port with the consortium
 * deployed (as `npm run node` does), development keystores at a low scrypt cost, and `mcid()` that runs the CLI
 * in its own process against it the way an operator does, with secrets only in the child's environment.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { fileURLToPath, pathToFileURL } from "node:url";
import { network } from "hardhat";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, encryptKeystoreJson, type JsonRpcSigner } from "ethers";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import { saveDeployment } from "../../../sdk/chain/deployment.js";
import type { LedgerContracts } from "../../../sdk/chain/contracts.js";
import { CIVIL_SERVANT_ID_TYPE, OperatorRole, OrgKind, credentialTypeId } from "../../../sdk/chain/codes.js";

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const NODE = path.join(REPO, "node_modules", ".bin", "node");

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick, released at once): "no node there"
 * for refusal tests, or a port to start a node on later.
 */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The CLI as JavaScript, built once per test process with esbuild from scripts/cli/mcid.ts (dependencies stay in
 * node_modules), started by an entry that first runs bin/sqlite-notice.js as the launcher does (a dynamic import
 * after it: bundled, node:sqlite would load before the filter). A command spawned through `bin/mcid.js` resolves and
 * transpiles some 200 TypeScript modules through tsx first: about 0.7 s of CPU per spawn, against 0.4 s for this
 * build, over some 90 spawns per CI run. Split into chunks (esbuild `splitting`), so what the CLI imports lazily
 * (`serve`'s services: fastify, the OpenID4VC libraries) stays out of every other command's start-up, as it does
 * under tsx; one file would hoist those packages' imports to the top. The launcher itself (tsx, signals, the pty
 * prompts) stays tested by spawning it: operator.test.ts and walkthrough.test.ts. Written to a directory of this
 * process (two levels below the repository, as scripts/cli/ is: the CLI finds package.json by
 * `../../package.json`), removed when the process exits; the entry is written last, so a half-written build is
 * never run.
 */
let cliBuild: Promise<string> | undefined;
function builtCli(): Promise<string> {
  cliBuild ??= (async () => {
    const { build } = await import("esbuild");
    const dir = path.join(REPO, "cache", `cli-test-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    await build({
      entryPoints: { cli: path.join(REPO, "scripts", "cli", "mcid.ts") }, bundle: true, splitting: true, platform: "node", format: "esm",
      target: "node22", packages: "external", outdir: dir, outExtension: { ".js": ".mjs" }, logLevel: "warning",
    });
    const notice = pathToFileURL(path.join(REPO, "bin", "sqlite-notice.js")).href;
    const partial = path.join(dir, "mcid.mjs.tmp");
    writeFileSync(partial, `import { hideSqliteNotice } from ${JSON.stringify(notice)};\nhideSqliteNotice();\nawait import("./cli.mjs");\n`);
    renameSync(partial, path.join(dir, "mcid.mjs"));
    return path.join(dir, "mcid.mjs");
  })();
  return cliBuild;
}

// Node's on-disk compile cache for every process the CLI suites spawn (they inherit this environment): each spawned
// command parses and compiles the same ethers, did-jwt, fastify… modules; from the second spawn on, V8 reads them
// from cache/ (about 0.2–0.3 s of CPU less per command). Node keeps the cache consistent across processes.
process.env.NODE_COMPILE_CACHE ??= path.join(REPO, "cache", "node-compile-cache");

export const CENTRAL = 1741000; // 행정안전부: e-사람
export const LOCAL = 6110000; //   서울특별시: 차세대 인사랑
export const DEV_PASSWORD = "dev-password";
export const PIN = "482915";

/** The accounts of `npm run node`, by role (Hardhat's well-known mnemonic, same order), plus an outsider. */
export const ROLES = [
  "deployer", "ministry-1", "ministry-2", "ministry-3", "ministry-4", "org-admin-central", "org-admin-local", "registrar-central",
  "help-desk-central", "registrar-local", "issuer-central", "issuer-local", "outsider",
] as const;
export type Role = (typeof ROLES)[number];

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** stdout parsed, when it is one JSON object. */
  readonly json: Record<string, unknown> | undefined;
}

export interface CliChain {
  readonly url: string;
  /** Temporary root: deployments/, data/, keys/ and the tests' files. */
  readonly dir: string;
  readonly deployments: string;
  readonly dataDir: string;
  readonly keyFile: Record<Role, string>;
  readonly address: Record<Role, string>;
  readonly holderSecretFile: string;
  readonly provider: JsonRpcProvider;
  readonly ledger: LedgerContracts;
  signer(role: Role): Promise<JsonRpcSigner>;
  /** Flags that point a command at this chain and its files. */
  readonly flags: readonly string[];
  close(): Promise<void>;
}

/**
 * Starts the node, deploys (4 ministries, threshold 3) and writes the deployment file and keystores. With
 * `accredit`, both organisations are accredited with their operators and issuer keys, directly through the SDK.
 */
export async function startCliChain(options: { accredit?: boolean } = {}): Promise<CliChain> {
  const dir = mkdtempSync(path.join(tmpdir(), "mcid-cli-"));
  const server = await network.createServer({ network: "default", override: { allowBlocksWithSameTimestamp: true } }, "127.0.0.1", 0);
  const { address: host, port } = await server.listen();
  const url = `http://${host}:${port}`;
  const provider = new JsonRpcProvider(url, 31337, { staticNetwork: true, cacheTimeout: -1 });
  const signer = (role: Role) => provider.getSigner(ROLES.indexOf(role));
  const members = await Promise.all(([1, 2, 3, 4] as const).map((i) => signer(ROLES[i]).then((s) => s.getAddress())));
  const ledger = await deployConsortium(await signer("deployer"), { members, threshold: 3 });
  const deployments = path.join(dir, "deployments");
  await saveDeployment(deployments, ledger.deployment);

  const mnemonic = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
  const keyFile = {} as Record<Role, string>;
  const address = {} as Record<Role, string>;
  mkdirSync(path.join(dir, "keys"));
  await Promise.all(ROLES.map(async (role, i) => {
    const wallet = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
    keyFile[role] = path.join(dir, "keys", `${role}.json`);
    address[role] = wallet.address;
    const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, DEV_PASSWORD, { scrypt: { N: 1 << 10 } });
    writeFileSync(keyFile[role], json, { mode: 0o600 });
  }));
  const holderSecretFile = path.join(dir, "keys", "holder-secret.hex");
  writeFileSync(holderSecretFile, randomBytes(32).toString("hex") + "\n", { mode: 0o600 });

  if (options.accredit) {
    const type = credentialTypeId(CIVIL_SERVANT_ID_TYPE);
    const registry = ledger.issuerRegistry;
    const target = await registry.getAddress();
    for (const [code, kind, admin] of [[CENTRAL, OrgKind.CentralAgency, "org-admin-central"], [LOCAL, OrgKind.LocalGovernment, "org-admin-local"]] as const) {
      const data = registry.interface.encodeFunctionData("accredit", [code, kind, address[admin], [type]]);
      const governor = ledger.governor;
      await (await governor.connect(await signer("ministry-1")).propose(target, data, 3600, "accredit")).wait();
      const id = await governor.proposalCount();
      for (const m of ["ministry-2", "ministry-3"] as const) await (await governor.connect(await signer(m)).approve(id)).wait();
      await (await governor.connect(await signer("ministry-1")).execute(id)).wait();
    }
    const until = (await provider.getBlock("latest"))!.timestamp + 365 * 86_400;
    const central = await signer("org-admin-central");
    const local = await signer("org-admin-local");
    await (await registry.connect(central).addIssuerKey(CENTRAL, address["issuer-central"], 0, until)).wait();
    await (await registry.connect(local).addIssuerKey(LOCAL, address["issuer-local"], 0, until)).wait();
    await (await ledger.statusRegistry.connect(central).setOperator(address["registrar-central"], CENTRAL, OperatorRole.Registrar)).wait();
    await (await ledger.statusRegistry.connect(central).setOperator(address["help-desk-central"], CENTRAL, OperatorRole.LockOnly)).wait();
    await (await ledger.statusRegistry.connect(local).setOperator(address["registrar-local"], LOCAL, OperatorRole.Registrar)).wait();
  }

  const dataDir = path.join(dir, "data");
  return {
    url, dir, deployments, dataDir, keyFile, address, holderSecretFile, provider,
    ledger: { ...ledger, statusRegistry: ledger.statusRegistry.connect(provider), issuerRegistry: ledger.issuerRegistry.connect(provider), governor: ledger.governor.connect(provider) },
    signer,
    flags: ["--rpc-url", url, "--chain-id", "31337", "--deployments", deployments, "--data-dir", dataDir],
    close: async () => {
      provider.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface MCidOptions {
  /** Extra environment (secrets); the parent's MCID_* variables are never passed on. */
  readonly env?: Record<string, string>;
  /** Written to the child's standard input. */
  readonly input?: string;
  /** Append the chain's flags (default true); a flag the arguments already give is not appended. */
  readonly chain?: boolean;
  readonly cwd?: string;
  /** Called with the child process once spawned (to signal it), and with its output as it comes. */
  readonly onSpawn?: (child: ChildProcess) => void;
  readonly onOutput?: (stdout: string, stderr: string) => void;
  /** Kill the child after this many ms (default 60 000). */
  readonly timeoutMs?: number;
}

/** Runs `mcid <args>` (plus the chain's flags) in its own process (the one-file build) and collects its exit code and output. */
export async function mcid(chain: CliChain, args: readonly string[], options: MCidOptions = {}): Promise<CliResult> {
  const cli = await builtCli();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("MCID_")) env[k] = v;
  Object.assign(env, options.env);
  // The chain's flags, except those the command gives itself.
  const flags: string[] = [];
  for (let i = 0; options.chain !== false && i < chain.flags.length; i += 2) {
    if (!args.includes(chain.flags[i]!)) flags.push(chain.flags[i]!, chain.flags[i + 1]!);
  }
  const argv = [cli, ...args, ...flags];
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, argv, { cwd: options.cwd ?? REPO, env, stdio: ["pipe", "pipe", "pipe"], timeout: options.timeoutMs ?? 60_000 });
    options.onSpawn?.(child);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      options.onOutput?.(stdout, stderr);
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      options.onOutput?.(stdout, stderr);
    });
    child.on("error", reject);
    child.on("close", (code, sig) => {
      if (code === null) return reject(new Error(`mcid ${args.join(" ")} was killed (${sig}); stderr: ${stderr}`));
      // Node's notice about node:sqlite is not for the operator (issue #14.12): no command may print it.
      if (/ExperimentalWarning/.test(stderr)) return reject(new Error(`mcid ${args.join(" ")} printed an ExperimentalWarning: ${stderr}`));
      let json: Record<string, unknown> | undefined;
      const text = stdout.trim();
      if (text.startsWith("{")) {
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
      }
      if (json !== undefined && args.includes("--json")) {
        try {
          checkJsonShape(args, json);
        } catch (error) {
          return reject(error as Error);
        }
      }
      resolve({ code, stdout, stderr, json });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** `mcid <leading words>`: the command a command line runs (its options and values aside). */
export function commandPath(args: readonly string[]): string {
  const words: string[] = [];
  for (const a of args) {
    if (!/^[a-z][a-z-]*$/.test(a)) break;
    words.push(a);
  }
  return words.join(" ");
}

let documentedShapes: Map<string, string[][]> | undefined;

/**
 * The JSON fields per command, from the table in docs/CLI.md ("JSON output"): the one source of truth the tests
 * check every `--json` answer against. A row may name several commands; a command may have several rows (one id vs.
 * bulk); "`a` or `b`" and parenthesised sub-fields are not required at the top level.
 */
export function jsonShapes(): Map<string, string[][]> {
  if (documentedShapes) return documentedShapes;
  const doc = readFileSync(path.join(REPO, "docs", "CLI.md"), "utf8");
  const start = doc.indexOf("## JSON output");
  const section = doc.slice(start, doc.indexOf("\n## ", start + 1));
  const shapes = new Map<string, string[][]>();
  for (const row of section.split("\n").filter((l) => l.startsWith("| `"))) {
    const [, commandsCell = "", fieldsCell = ""] = row.split(/(?<!\\)\|/).map((c) => c.trim());
    const names = [...commandsCell.matchAll(/`([a-z][a-z -]*)`/g)].map((m) => m[1]!);
    const parent = names[0]!.includes(" ") ? names[0]!.split(" ")[0]! : undefined;
    for (const alternative of fieldsCell.split(/; with `[^`]+`: /)) {
      let text = alternative;
      while (/\([^()]*\)/.test(text)) text = text.replace(/\([^()]*\)/g, "");
      text = text.replace(/`\w+` or `\w+`/g, "");
      const fields = [...text.matchAll(/`(\w+)`/g)].map((m) => m[1]!);
      for (const name of names) {
        const full = !name.includes(" ") && parent !== undefined && name !== parent ? `${parent} ${name}` : name;
        shapes.set(full, [...(shapes.get(full) ?? []), fields]);
      }
    }
  }
  documentedShapes = shapes;
  return shapes;
}

const TIME_KEY = /^(.*At|validFrom|validUntil|time)$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/;

/** Checks one successful `--json` answer against the documented table and the time / state rules (issue #14.10). */
export function checkJsonShape(args: readonly string[], json: Record<string, unknown>): void {
  if ("error" in json) return;
  const words = commandPath(args).split(" ");
  const shapes = jsonShapes();
  let command: string | undefined;
  for (let n = words.length; n > 0 && command === undefined; n--) if (shapes.has(words.slice(0, n).join(" "))) command = words.slice(0, n).join(" ");
  if (command === undefined) throw new Error(`mcid ${words.join(" ")} --json: no row in docs/CLI.md's JSON output table`);
  const alternatives = shapes.get(command)!;
  if (!alternatives.some((fields) => fields.every((f) => f in json))) {
    throw new Error(`mcid ${command} --json printed ${Object.keys(json).join(", ")}; docs/CLI.md documents ${alternatives.map((a) => a.join(", ")).join(" | ")}`);
  }
  const visit = (value: unknown, where: string): void => {
    if (Array.isArray(value)) return value.forEach((v, i) => visit(v, `${where}[${i}]`));
    if (value === null || typeof value !== "object") return;
    for (const [k, v] of Object.entries(value)) {
      if (TIME_KEY.test(k) && v !== null && v !== "none" && !(typeof v === "string" && ISO.test(v))) throw new Error(`mcid ${command} --json: ${where}.${k} = ${JSON.stringify(v)} is not an ISO 8601 time`);
      if (k === "state" && typeof v !== "string") throw new Error(`mcid ${command} --json: ${where}.state = ${JSON.stringify(v)} is not a word`);
      visit(v, `${where}.${k}`);
    }
  };
  visit(json, "");
}

/** The issuing server's configuration for an organisation, as environment and flags. */
export function serverEnv(chain: CliChain, agency: typeof CENTRAL | typeof LOCAL = CENTRAL): Record<string, string> {
  const who = agency === CENTRAL ? "central" : "local";
  return {
    MCID_KEY: chain.keyFile[`registrar-${who}`],
    MCID_ISSUER_KEY: chain.keyFile[`issuer-${who}`],
    MCID_HOLDER_SECRET_FILE: chain.holderSecretFile,
    MCID_KEY_PASSWORD: DEV_PASSWORD,
    MCID_ISSUER_KEY_PASSWORD: DEV_PASSWORD,
  };
}

/** A read-only look into an organisation's issuance database: request states, audit rows and outbox. */
export function issuanceDb(chain: CliChain, agency: number) {
  const db = new DatabaseSync(path.join(chain.dataDir, `issuance-${agency}.sqlite`), { readOnly: true });
  try {
    return {
      states: Object.fromEntries((db.prepare("SELECT id, state FROM requests ORDER BY id").all() as { id: string; state: string }[]).map((r) => [r.id, r.state])),
      audit: Number((db.prepare("SELECT count(*) AS n FROM audit").get() as { n: number }).n),
      outbox: db.prepare("SELECT id, request_id, purpose, status, body FROM outbox ORDER BY id").all() as { id: number; request_id: string; purpose: string; status: string; body: string | null }[],
    };
  } finally {
    db.close();
  }
}

/** Extracts the one-time identity code, or the invitation token and activation code, from an SMS text. */
export function otpOf(body: string): string {
  const m = /본인확인 코드 ([0-9]+)/.exec(body);
  if (!m) throw new Error(`no identity code in ${body}`);
  return m[1]!;
}

export function invitationOf(body: string): { link: string; token: string; code: string } {
  const link = /https:\/\/\S+/.exec(body)?.[0];
  const token = /[?&]token=([A-Za-z0-9_-]{43})/.exec(body)?.[1];
  const code = /활성화 코드 ([0-9]+)/.exec(body)?.[1];
  if (!link || !token || !code) throw new Error(`no invitation in ${body}`);
  return { link, token, code };
}

/** The private key of a role's account (Hardhat's well-known mnemonic). */
export function privateKeyOf(role: Role): string {
  const mnemonic = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
  return HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${ROLES.indexOf(role)}`).privateKey;
}

/** Expects a refusal printed for people: exit code, `error [CODE]: …` on stderr matching `message`, nothing on stdout. */
export function refused(r: CliResult, code: number, message: RegExp): void {
  if (r.code !== code || !message.test(r.stderr)) {
    throw new Error(`expected exit ${code} and stderr matching ${message}, got exit ${r.code}\nstderr: ${r.stderr}\nstdout: ${r.stdout}`);
  }
}
