/**
 * The walkthrough of docs/CLI.md, run exactly as written: its ```sh blocks are fed, in the document's order, to one
 * bash session per terminal (so a variable set in one terminal is never seen in another), in a directory laid out
 * as `npm run node` leaves the repository (deployments/, data/dev-keys/), against a node this test starts. Every
 * command must succeed except the three refusals the walkthrough shows (a replayed answer, a forged document, a
 * locked credential), and the chain and the outputs must show the story happened.
 */
import { expect } from "chai";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { startCliChain, REPO, type CliChain } from "../helpers/cli.js";

interface Block {
  readonly terminal: string;
  readonly code: string;
}

/** The ```sh blocks of the walkthrough section, each labelled `every terminal` or `terminal N`. */
export function walkthroughBlocks(doc: string): Block[] {
  const start = doc.indexOf("## Walkthrough");
  const end = doc.indexOf("\n## ", start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh (every terminal|terminal \d)\n([\s\S]*?)```/g)].map((m) => ({ terminal: m[1]!, code: m[2]! }));
}

/** One terminal: a bash session reading commands from its standard input. */
class Terminal {
  stdout = "";
  stderr = "";
  private readonly shell: ChildProcessWithoutNullStreams;
  private blocks = 0;

  constructor(readonly name: string, cwd: string, env: NodeJS.ProcessEnv) {
    this.shell = spawn("bash", ["--norc", "--noprofile"], { cwd, env, stdio: ["pipe", "pipe", "pipe"] });
    this.shell.stdout.setEncoding("utf8").on("data", (d: string) => (this.stdout += d));
    this.shell.stderr.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    // Aliases work in a script only with this option; a failing command reports itself (the walkthrough shows three).
    this.shell.stdin.write("shopt -s expand_aliases\ntrap 'echo \"__FAILED__ $? $BASH_COMMAND\" >&2' ERR\n");
  }

  /** Types a block and waits until the shell has run it. */
  async type(code: string): Promise<void> {
    const marker = `__BLOCK_${++this.blocks}_DONE__`;
    this.shell.stdin.write(`${code}\necho ${marker}\n`);
    const deadline = Date.now() + 120_000;
    while (!this.stdout.includes(marker)) {
      if (Date.now() > deadline || this.shell.exitCode !== null) throw new Error(`${this.name} did not finish its block:\n${code}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The commands that failed, as `<exit> <command>`. */
  get failures(): string[] {
    return [...this.stderr.matchAll(/__FAILED__ (\d+) (.*)/g)].map((m) => `${m[1]} ${m[2]}`);
  }

  close(): void {
    this.shell.stdin.end("exit\n");
  }
}

describe("docs/CLI.md walkthrough, run as written (one bash per terminal)", function () {
  this.timeout(600_000);
  let chain: CliChain;

  before(async () => {
    chain = await startCliChain();
    // The repository as `npm run node` leaves it: deployments/chain-31337.json, data/dev-keys/, and the sources.
    mkdirSync(chain.dataDir, { recursive: true });
    symlinkSync(path.join(chain.dir, "keys"), path.join(chain.dataDir, "dev-keys"));
    for (const entry of ["bin", "docs"]) symlinkSync(path.join(REPO, entry), path.join(chain.dir, entry));
  });
  after(async () => {
    await chain?.close();
  });

  it("accredits, issues, verifies, e-signs, locks, refuses and reissues", async () => {
    const blocks = walkthroughBlocks(readFileSync(path.join(REPO, "docs", "CLI.md"), "utf8"));
    expect(blocks.length).to.be.greaterThan(10);
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("MCID_")) env[k] = v;
    // Where `npm run node` would be (--network localhost): this test's node. Node 22 first on the PATH, as npm gives it.
    Object.assign(env, { MCID_RPC_URL: chain.url, MCID_CHAIN_ID: "31337", PATH: `${path.join(REPO, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}` });
    const prelude = blocks.filter((b) => b.terminal === "every terminal").map((b) => b.code).join("\n");
    const terminals = new Map<string, Terminal>();
    try {
      for (const block of blocks.filter((b) => b.terminal !== "every terminal")) {
        let terminal = terminals.get(block.terminal);
        if (!terminal) {
          terminal = new Terminal(block.terminal, chain.dir, env);
          terminals.set(block.terminal, terminal);
          await terminal.type(prelude);
        }
        await terminal.type(block.code);
      }
    } finally {
      for (const t of terminals.values()) t.close();
    }
    const t = (name: string) => terminals.get(name)!;
    expect([...terminals.keys()]).to.deep.equal(["terminal 1", "terminal 2", "terminal 3", "terminal 4"]);
    const all = [...terminals.values()];
    const transcript = all.map((x) => `── ${x.name}\n${x.stdout}\n${x.stderr}`).join("\n");

    // Only the three refusals the walkthrough shows, each exit 1, all at the gate.
    expect(all.flatMap((x) => x.failures.map((f) => `${x.name}: ${f.split(" ")[0]} ${f.includes("verify-document") ? "verify-document" : "verify"}`)), transcript)
      .to.deep.equal(["terminal 4: 1 verify", "terminal 4: 1 verify-document", "terminal 4: 1 verify"]);
    for (const x of all) {
      expect(x.stderr, `${x.name}\n${transcript}`).to.not.match(/error \[|ExperimentalWarning|EPIPE/);
    }

    expect(t("terminal 1").stdout).to.match(/#1 executed: Accredit 1741000/);
    expect(t("terminal 1").stdout).to.match(/Status operators:\n\s+0x[0-9a-fA-F]{40}\s+registrar\n\s+0x[0-9a-fA-F]{40}\s+lock-only/);
    expect(t("terminal 2").stdout).to.match(/Issued credential 1914249743958016000 for e-saram:ES-2026-000123/);
    expect(t("terminal 2").stderr).to.match(/Transaction 0x[0-9a-f]{64} sent; waiting for its block/);
    expect(t("terminal 3").stdout).to.match(/Credential 1914249743958016000 \(e-saram:ES-2026-000123\) stored in the wallet/);
    const gate = t("terminal 4").stdout;
    expect(gate).to.match(/ACCEPTED[\s\S]*name=홍길동, agencyCode=1741000, organisation=행정안전부/);
    expect(gate).to.match(/CHALLENGE_REPLAYED/);
    expect(gate).to.match(/DOCUMENT_ALTERED/);
    expect(gate).to.match(/CREDENTIAL_LOCKED[\s\S]*LOST_DEVICE|LOST_DEVICE[\s\S]*CREDENTIAL_LOCKED/);
    expect(t("terminal 2").stdout).to.match(/1914249743958016000: locked \(lost-device\) — already locked, nothing sent/);
    expect(t("terminal 2").stdout).to.match(/e-saram:ES-2026-000187\s+requested/);
    expect(t("terminal 2").stdout + t("terminal 2").stderr).to.not.contain("8501011234567");

    expect((await chain.ledger.statusRegistry.statusOf(1914249743958016000n))[1]).to.equal(1n);
    expect(await chain.ledger.issuerRegistry.isOrganisationActive(1741000)).to.equal(true);
  });
});
