/**
 * `npm run serve`: the HTTP services (issuer, verifier, login) on 127.0.0.1. Without --rpc-url they run on an
 * embedded Hardhat chain with a seeded development consortium; `--demo` also seeds one invited request and prints
 * a ready credential offer with its tx_code. `--json` prints ONE line when ready. Ctrl-C (SIGINT) or SIGTERM
 * closes the services and their databases. See docs/SERVICES.md.
 */
import { parseArgs } from "node:util";
import { closeOnSignals } from "../services/common/registry.js";
import { startServe, type ServeOptions } from "../services/serve.js";
import { isCivilIdError } from "../sdk/errors.js";

export const SERVE_USAGE = `usage: npm run serve -- [--demo] [--json] [--config <file>] [--host <addr>] [--only issuer,status,verifier,login,wallet]
                       [--rpc-url <url> --chain-id <id> [--deployments <dir>] [--data-dir <dir>]] [--log-level <level>]`;

export function parseServeArgs(argv: string[]): ServeOptions & { json: boolean } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      demo: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
      config: { type: "string" },
      host: { type: "string" },
      only: { type: "string" },
      "rpc-url": { type: "string" },
      "chain-id": { type: "string" },
      deployments: { type: "string" },
      "data-dir": { type: "string" },
      "log-level": { type: "string" },
    },
  });
  const chainId = values["chain-id"] === undefined ? undefined : Number(values["chain-id"]);
  if (chainId !== undefined && (!Number.isSafeInteger(chainId) || chainId <= 0)) throw new Error(`--chain-id ${values["chain-id"]} is not a chain id.`);
  return {
    demo: values.demo,
    json: values.json,
    ...(values.config === undefined ? {} : { configFile: values.config }),
    ...(values.host === undefined ? {} : { host: values.host }),
    ...(values.only === undefined ? {} : { only: values.only.split(",").map((s) => s.trim()).filter((s) => s !== "") }),
    ...(values["rpc-url"] === undefined ? {} : { rpcUrl: values["rpc-url"] }),
    ...(chainId === undefined ? {} : { chainId }),
    ...(values.deployments === undefined ? {} : { deployments: values.deployments }),
    ...(values["data-dir"] === undefined ? {} : { dataDir: values["data-dir"] }),
    // --json keeps stdout for the one ready line: service logs go quiet unless asked for.
    logLevel: values["log-level"] ?? (values.json ? "warn" : "info"),
  };
}

/** Starts the services, prints where they are, and keeps them up until SIGINT/SIGTERM. */
export async function runServe(argv: string[], out: (line: string) => void = (l) => void process.stdout.write(l + "\n")): Promise<void> {
  const options = parseServeArgs(argv);
  const handle = await startServe(options);
  closeOnSignals(() => handle.close());
  if (options.json) {
    out(JSON.stringify(handle.ready));
    return;
  }
  for (const line of readyLines(handle.running.urls, handle.pages, handle.ready, options.rpcUrl)) out(line);
}

/** What the services print for people once they are up: each service, the web pages to open, and the demo's offer. */
export function readyLines(
  urls: Readonly<Record<string, string>>,
  pages: Readonly<Record<string, string>>,
  ready: Readonly<Record<string, unknown>>,
  rpcUrl: string | undefined,
): string[] {
  const lines = ["mobile-civil-id services are up (Ctrl-C stops them):"];
  for (const [name, url] of Object.entries(urls)) lines.push(`  ${name.padEnd(10)} ${url}   (OpenAPI: ${url}/openapi.json)`);
  lines.push(`  chain id   ${String(ready.chainId)}${rpcUrl === undefined ? " (embedded Hardhat chain, development consortium)" : ` at ${rpcUrl}`}`);
  // The same "page <name> <url>" lines as `mcid serve`; docs/WEB.md walks through the pages.
  const pageNames: Record<string, string> = { gate: "gate kiosk", wallet: "holder web wallet", officer: "officer console" };
  for (const [name, url] of Object.entries(pages)) lines.push(`  page ${name.padEnd(7)} ${url}   (${pageNames[name] ?? name})`);
  const demo = ready.demo as Record<string, unknown> | undefined;
  if (demo !== undefined) {
    lines.push("Demo: one invited request is waiting for a wallet.");
    for (const [k, v] of Object.entries(demo)) lines.push(`  ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
  }
  return lines;
}

const isMain = import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith("scripts/serve.ts") === true;
if (isMain) {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(`${SERVE_USAGE}\nWithout --rpc-url: an embedded chain with a development consortium. See docs/SERVICES.md.\n`);
    process.exit(0);
  }
  try {
    await runServe(argv);
  } catch (error) {
    process.stderr.write(`${isCivilIdError(error) ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)}\n${SERVE_USAGE}\n`);
    process.exit(2);
  }
}
