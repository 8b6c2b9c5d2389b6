/**
 * What a newcomer sees when following README.md literally: `npm run serve -- --demo` lists the web pages it serves,
 * `npm start` refuses a wrong flag or a node that is not running, and `npm run node` a busy port, with one clear line
 * (exit 2), not a stack trace.
 */
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import path from "node:path";
import { readyLines } from "../../../scripts/serve.js";
import { serveOptionsOf } from "../../../scripts/cli/commands/serve.js";
import { startServe } from "../../../services/serve.js";
import { isCivilIdError } from "../../../sdk/errors.js";
import { REPO, unusedPort } from "../helpers/cli.js";

function runScript(script: string, args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", "--import", "tsx", path.join(REPO, "scripts", script), ...args], {
    cwd: REPO, encoding: "utf8", timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const startStory = (args: readonly string[]) => runScript("main.ts", args);


describe("newcomer-facing messages (README's first commands)", function () {
  this.timeout(120_000);

  it("serve's ready text names every web page with its URL, and the demo's offer", () => {
    const lines = readyLines(
      { issuer: "http://127.0.0.1:1001", verifier: "http://127.0.0.1:1002" },
      { gate: "http://127.0.0.1:1002/gate/#pair=abc", officer: "http://localhost:1001/officer/", wallet: "http://localhost:1003/wallet/#offer=x" },
      { chainId: 31337, demo: { txCode: "12345678", staffTokens: { admin: "mcid_x" } } },
      undefined,
    );
    const text = lines.join("\n");
    expect(text).to.contain("issuer     http://127.0.0.1:1001   (OpenAPI: http://127.0.0.1:1001/openapi.json)");
    expect(text).to.contain("chain id   31337 (embedded Hardhat chain");
    expect(text).to.contain("  page gate    http://127.0.0.1:1002/gate/#pair=abc   (gate kiosk)");
    expect(text).to.contain("  page officer http://localhost:1001/officer/   (officer console)");
    expect(text).to.contain("  page wallet  http://localhost:1003/wallet/#offer=x   (holder web wallet)");
    expect(text).to.contain("  txCode: 12345678");
    expect(text).to.contain('  staffTokens: {"admin":"mcid_x"}');
    expect(readyLines({ issuer: "http://h:1" }, {}, { chainId: 2026 }, "http://node:8545").join("\n")).to.contain("chain id   2026 at http://node:8545").and.not.contain("page ");
  });

  it("npm start refuses an unknown flag with its usage, without a stack trace; --help prints the usage", () => {
    const r = startStory(["--rpc", "http://127.0.0.1:8545"]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain("npm start: Unknown option '--rpc'").and.contain("usage: npm start [-- --rpc-url");
    expect(r.stderr).to.not.match(/\n\s+at /);
    const help = startStory(["--help"]);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.contain("usage: npm start [-- --rpc-url");
  });

  it("npm start -- --rpc-url without a node says no node answers and how to start one", async () => {
    const url = `http://127.0.0.1:${await unusedPort()}`;
    const r = startStory(["--rpc-url", url]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.contain(`no JSON-RPC node answers at ${url}`).and.contain("anvil --block-time 2");
    expect(r.stderr).to.not.match(/\n\s+at /);
    const notUrl = startStory(["--rpc-url", "localhost:8545"]);
    expect(notUrl.code).to.equal(2);
    expect(notUrl.stderr).to.contain('--rpc-url "localhost:8545" is not an http(s) URL.');
  });

  it("mcid serve --config reads the services' configuration file (not swallowed by the global --config of named networks)", () => {
    const missing = path.join(REPO, "data", "no-such-services-config.json");
    const r = spawnSync(process.execPath, [path.join(REPO, "bin", "mcid.js"), "serve", "issuer", "--rpc-url", "http://127.0.0.1:9", "--chain-id", "31337", "--config", missing], {
      cwd: REPO, encoding: "utf8", timeout: 60_000,
    });
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stderr).to.contain(`Cannot read the configuration file ${missing}`);
  });

  it("mcid serve on a node keeps the configuration file's dataDir unless --data-dir / MCID_DATA_DIR was given", () => {
    const global = { network: "localhost", deployments: "deployments", dataDir: "data", txTimeout: "120s", json: false, config: "docs/examples/services-localhost.json" };
    const defaults = serveOptionsOf(["issuer"], { demo: false }, global, false);
    expect(defaults).to.include({ rpcUrl: "http://127.0.0.1:8545", chainId: 31337, configFile: "docs/examples/services-localhost.json" });
    expect(defaults).to.not.have.property("dataDir");
    expect(defaults.only).to.deep.equal(["issuer"]);
    expect(serveOptionsOf([], { demo: false }, { ...global, dataDir: "/srv/mcid" }, true)).to.include({ dataDir: "/srv/mcid" });
    expect(() => serveOptionsOf([], { demo: false }, { ...global, network: "sejong" }, false)).to.throw(/Unknown --network "sejong"/);
  });

  it("serve against a node refuses a node that is not running, and a node of another chain, before anything starts", async () => {
    const refusal = async (rpcUrl: string, chainId: number) => {
      try {
        const handle = await startServe({ rpcUrl, chainId, env: {} });
        await handle.close();
      } catch (error) {
        if (isCivilIdError(error)) return `${error.code}: ${error.message}`;
        throw error;
      }
      return "started";
    };
    const down = `http://127.0.0.1:${await unusedPort()}`;
    expect(await refusal(down, 31337)).to.match(new RegExp(`^CHAIN_UNREACHABLE: No JSON-RPC node answers at ${down.replace(/\./g, "\\.")}`));
    // A node of chain 31337 (what `npm run node` runs) given as the consortium's chain 2026.
    const node = createHttpServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        const { id } = JSON.parse(body) as { id: number };
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ jsonrpc: "2.0", id, result: "0x7a69" }));
      });
    });
    await new Promise<void>((resolve) => node.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(node.address() as { port: number }).port}`;
      expect(await refusal(url, 2026)).to.equal(`CHAIN_ID_MISMATCH: ${url} serves chain 31337, not 2026: check --rpc-url and --chain-id.`);
    } finally {
      await new Promise<void>((resolve) => node.close(() => resolve()));
    }
  });

  it("npm run serve -- --help and npm run node -- --help print their usage and exit 0", () => {
    const serve = runScript("serve.ts", ["--help"]);
    expect(serve.code, serve.stderr).to.equal(0);
    expect(serve.stdout).to.contain("usage: npm run serve -- [--demo] [--json]").and.contain("--only issuer,status,verifier,login,wallet");
    const node = runScript("node.ts", ["-h"]);
    expect(node.code, node.stderr).to.equal(0);
    expect(node.stdout).to.contain("usage: npm run node [-- --port <8545>");
  });

  it("npm run node on a busy port says so and how to start it elsewhere, without a stack trace", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    try {
      const r = runScript("node.ts", ["--port", String(port)]);
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain(`port ${port} on 127.0.0.1 is already in use`).and.contain(`npm run node -- --port ${port + 1}`);
      expect(r.stderr).to.not.match(/\n\s+at /);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});
