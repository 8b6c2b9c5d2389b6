import type { Command } from "commander";
import { CivilIdError } from "../../../sdk/errors.js";
import type { ServeOptions } from "../../../services/serve.js";
import type { GlobalOptions } from "../context.js";
import { Output } from "../output.js";

/**
 * `mcid serve [service...]`: the HTTP services (all, or the ones named) with a configuration file — the same
 * runner as `npm run serve` (services/serve.ts). Stays in the foreground until SIGINT/SIGTERM.
 */
interface ServeFlags {
  readonly config?: string;
  readonly demo: boolean;
  readonly host?: string;
  readonly logLevel?: string;
}

/**
 * What `mcid serve` asks of services/serve.ts, from its flags and the global options. `dataDirGiven`: the operator
 * typed --data-dir or set MCID_DATA_DIR (the CLI's own default, "data", must not override the configuration file's
 * dataDir nor serve's default, data/services).
 */
export function serveOptionsOf(services: readonly string[], opts: ServeFlags, global: GlobalOptions & { config?: string }, dataDirGiven: boolean): ServeOptions {
  const localhost = global.network === "localhost";
  if (global.rpcUrl === undefined && !localhost && global.network !== "embedded") {
    throw new CivilIdError("INVALID_INPUT", `Unknown --network ${JSON.stringify(global.network)}: use embedded, localhost, or --rpc-url with --chain-id.`);
  }
  if (global.rpcUrl !== undefined && global.rpcUrl.includes(",")) {
    throw new CivilIdError("INVALID_INPUT", "mcid serve connects to one --rpc-url; the verifier service's several nodes and quorum are set in its configuration file (docs/SERVICES.md).");
  }
  // `--config` is also a global option (named networks), and commander gives the flag to the program wherever it is
  // typed: serve has no named networks, so the file given there is the services' configuration.
  const configFile = opts.config ?? global.config;
  const chainId = global.chainId === undefined ? (localhost ? 31337 : undefined) : Number(global.chainId);
  const onNode = global.rpcUrl !== undefined || localhost;
  return {
    demo: opts.demo,
    ...(configFile === undefined ? {} : { configFile }),
    ...(opts.host === undefined ? {} : { host: opts.host }),
    ...(services.length === 0 ? {} : { only: [...services] }),
    ...(global.rpcUrl !== undefined ? { rpcUrl: global.rpcUrl } : localhost ? { rpcUrl: "http://127.0.0.1:8545" } : {}),
    ...(chainId === undefined ? {} : { chainId }),
    deployments: global.deployments,
    ...(onNode && dataDirGiven ? { dataDir: global.dataDir } : {}),
    logLevel: opts.logLevel ?? (global.json ? "warn" : "info"),
  };
}

function dataDirGiven(command: Command): boolean {
  let root = command;
  while (root.parent) root = root.parent;
  const source = root.getOptionValueSource("dataDir");
  return source === "cli" || source === "env";
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("Run the HTTP services (issuer, status, verifier, login, wallet): embedded chain with a development consortium, or --rpc-url for production")
    .argument("[services...]", "only these services (default: all)")
    .option("--config <file>", "JSON configuration: one section per service (see docs/SERVICES.md)", process.env.MCID_CONFIG || undefined)
    .option("--demo", "embedded chain: seed one invited request and print a ready credential offer", false)
    .option("--host <address>", "listen address of every service (default 127.0.0.1)")
    .option("--log-level <level>", "fatal | error | warn | info | debug | trace | silent")
    .addHelpText("after", "\nExamples:\n  mcid serve --demo\n  mcid serve issuer --rpc-url https://node.mois.go.kr --chain-id 2026 --config /etc/mcid/services.json")
    .action(async (services: string[], opts: ServeFlags, command: Command) => {
      const global = command.optsWithGlobals<GlobalOptions & { config?: string }>();
      const out = new Output(Boolean(global.json));
      try {
        // Loaded here, not at the top: the services (fastify, the OpenID4VC libraries, zod) are most of what the CLI
        // could load, and every other command would pay for them at start-up (about 1.4 s of CPU).
        const [{ startServe }, { closeOnSignals }] = await Promise.all([import("../../../services/serve.js"), import("../../../services/common/registry.js")]);
        const handle = await startServe(serveOptionsOf(services, opts, global, dataDirGiven(command)));
        closeOnSignals(() => handle.close());
        out.result(handle.ready, [
          ...Object.entries(handle.running.urls).map(([name, url]) => `${name.padEnd(10)} ${url}   (OpenAPI: ${url}/openapi.json)`),
          ...Object.entries(handle.pages).map(([name, url]) => `page ${name.padEnd(7)} ${url}`),
          ...(handle.ready.demo === undefined ? [] : Object.entries(handle.ready.demo as Record<string, unknown>).map(([k, v]) => `demo ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`)),
          "Ctrl-C stops the services.",
        ]);
      } catch (error) {
        process.exitCode = out.error(error);
      }
    });
}
