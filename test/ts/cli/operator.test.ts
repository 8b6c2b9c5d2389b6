/**
 * The CLI as operators actually use it (issue #14): prompts on a real pseudo-terminal, Ctrl-C, transactions that
 * wait for a block that does not come, idempotent retries, a node that refuses a transaction, readable deploy
 * errors, pipes that close early, named networks, a `watch` that outlives a node restart, and files with personal
 * data that never land in the repository or the package.
 */
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet, keccak256, toUtf8Bytes } from "ethers";
import { StatusClient } from "../../../sdk/status/client.js";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import { saveDeployment } from "../../../sdk/chain/deployment.js";
import { describeError } from "../../../scripts/cli/output.js";
import { startAnvilNode } from "../helpers/anvil.js";
import { startCliChain, mcid, refused, privateKeyOf, unusedPort, REPO, DEV_PASSWORD, PIN, type CliChain, type CliResult, type Role } from "../helpers/cli.js";

const PASSWORD = { MCID_KEY_PASSWORD: DEV_PASSWORD };
const NODE = path.join(REPO, "node_modules", ".bin", "node");
const MCID = path.join(REPO, "bin", "mcid.js");

function ok(r: CliResult): Record<string, unknown> {
  expect(r.code, `exit ${r.code}\n${r.stderr}${r.stdout}`).to.equal(0);
  return r.json ?? {};
}

interface PtyRun {
  exit: number | null;
  signal: number | null;
  output: string;
  missed: string | null;
}

/** Runs `mcid <args>` on a real pseudo-terminal (python3's pty), answering prompts as a person types. */
function onTerminal(args: readonly string[], steps: [("expect" | "send"), string][], env: Record<string, string> = {}): Promise<PtyRun> {
  const spec = { argv: [NODE, MCID, ...args], steps, env: { ...env, TERM: "xterm" }, cwd: REPO, timeout: 60 };
  return new Promise((resolve, reject) => {
    const child = spawn("python3", [path.join(REPO, "test", "ts", "helpers", "pty-run.py"), JSON.stringify(spec)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.on("error", reject);
    child.on("close", () => {
      try {
        resolve(JSON.parse(out) as PtyRun);
      } catch (error) {
        reject(new Error(`pty-run answered ${out}: ${String(error)}`));
      }
    });
  });
}

/** Waits until `check` holds (polling), or fails after `ms`. */
async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}


/** Erase sequences that readline's line editor writes over a prompt it did not print (issue #14.1). */
const ESC = String.fromCharCode(27);
const ERASES_PROMPT = new RegExp([`${ESC}\\[1G`, `${ESC}\\[0J`, `${ESC}\\[2K`].join("|"));

describe("mcid as operators use it (spawned CLI, real terminal)", function () {
  this.timeout(240_000);
  let chain: CliChain;
  const key = (role: Role) => ["--key", chain.keyFile[role]];
  const run = (args: string[], env: Record<string, string> = {}) => mcid(chain, args, { env });
  let ids: string[];

  before(async () => {
    chain = await startCliChain({ accredit: true });
    const registrar = new StatusClient(chain.ledger.statusRegistry.connect(new Wallet(privateKeyOf("registrar-central"), chain.provider)));
    ids = [];
    for (const person of ["q-1", "q-2", "q-3"]) {
      ids.push((await registrar.register(keccak256(toUtf8Bytes(person)), keccak256(toUtf8Bytes(`credential of ${person}`)))).credentialId.toString());
    }
  });
  after(async () => {
    await chain?.provider.send("evm_setAutomine", [true]).catch(() => undefined);
    await chain?.close();
  });

  it("prompts stay on screen, secrets are not echoed, Ctrl-C exits 130 (a real pseudo-terminal)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mcid-pty-"));
    try {
      const [created, interrupted, signed] = await Promise.all([
        onTerminal(["wallet", "create", "--wallet", path.join(dir, "phone.json"), "--chain-id", "31337"],
          [["expect", "New PIN (6 digits): "], ["send", `${PIN}\r`], ["expect", "Again, to confirm: "], ["send", `${PIN}\r`], ["expect", "created"]]),
        onTerminal(["wallet", "create", "--wallet", path.join(dir, "other.json"), "--chain-id", "31337"],
          [["expect", "New PIN (6 digits): "], ["send", "48\u0003"]]),
        // A signing command without MCID_KEY_PASSWORD asks for it on the terminal.
        onTerminal(["lock", ids[2]!, "--reason", "lost-device", ...key("help-desk-central"), ...chain.flags],
          [["expect", "Password for help-desk-central.json: "], ["send", `${DEV_PASSWORD}\r`], ["expect", "lock: 1 changed"]]),
      ]);
      expect(created, created.output).to.include({ exit: 0, missed: null });
      expect(created.output).to.match(/^New PIN \(6 digits\): \r\nAgain, to confirm: \r\nWallet .*phone\.json created/);
      expect(created.output).to.not.match(ERASES_PROMPT);
      expect(created.output).to.not.contain(PIN);
      expect(interrupted, interrupted.output).to.include({ exit: 130, missed: null });
      expect(interrupted.output).to.match(/error \[INTERRUPTED\]: Interrupted; nothing more was sent/);
      expect(interrupted.output).to.not.match(/unsettled top-level await/i);
      expect(readdirSync(dir)).to.deep.equal(["phone.json"]);
      expect(signed, signed.output).to.include({ exit: 0, missed: null });
      expect(signed.output).to.not.contain(DEV_PASSWORD);
      expect(signed.output).to.match(/Transaction 0x[0-9a-f]{64} sent; waiting for its block/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--version, global options in every command's help, and quiet exits into a closed pipe (head)", async () => {
    const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as { version: string };
    const [version, help] = await Promise.all([run(["--version"]), mcid(chain, ["lock", "--help"], { chain: false })]);
    expect(version.stdout.trim()).to.equal(pkg.version);
    expect(help.code).to.equal(0);
    expect(help.stdout).to.match(/Global Options:[\s\S]*--network <name>[\s\S]*--rpc-url <urls>[\s\S]*--quorum <k>[\s\S]*--tx-timeout <duration>/);
    // `true` exits without reading: every write of mcid then meets a closed pipe (EPIPE).
    // Asynchronous: the node runs in this process, and a synchronous spawn would stop it from answering.
    const piped = (args: string) => new Promise<{ status: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn("bash", ["-c", `set -o pipefail; "${NODE}" "${MCID}" ${args} | true`], { cwd: REPO, env: { ...process.env, ...PASSWORD }, stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stderr }));
    });
    for (const args of ["--help", `watch --once ${chain.flags.join(" ")}`, `governance list --json ${chain.flags.join(" ")}`]) {
      const r = await piped(args);
      expect(r.stderr, args).to.not.match(/EPIPE|at .*\.js:\d+/);
      expect(r.status, `${args}: ${r.stderr}`).to.equal(0);
    }
  });

  it("a transaction not mined in time: hash at once, exit 5 with the command to check it; status and a retry see it pending", async () => {
    const [c0, c1] = ids as [string, string];
    await chain.provider.send("evm_setAutomine", [false]);
    const timedOut = await run(["lock", c0, "--reason", "lost-device", ...key("help-desk-central"), "--tx-timeout", "3s"], PASSWORD);
    expect(timedOut.code, timedOut.stderr).to.equal(5);
    const hash = /Transaction (0x[0-9a-f]{64}) sent; waiting for its block/.exec(timedOut.stderr)?.[1];
    expect(hash, timedOut.stderr).to.be.a("string");
    expect(timedOut.stderr).to.match(new RegExp(`error \\[TRANSACTION_PENDING\\]: Transaction ${hash} was sent but not mined within 3 s.*mcid tx ${hash} --rpc-url ${chain.url} --chain-id 31337`));

    const [status, tx] = await Promise.all([run(["status", c0, "--json"]), run(["tx", hash!, "--json"])]);
    expect(ok(status)).to.deep.include({ state: "active", pending: [{ action: "lock", txHash: hash, sentAt: (status.json!.pending as { sentAt: string }[])[0]!.sentAt }] });
    expect(ok(tx)).to.include({ state: "pending", blockNumber: null });

    // The retry waits for the pending lock instead of sending a second one (which would revert).
    const nonce = await chain.provider.getTransactionCount(chain.address["help-desk-central"], "pending");
    let retryErr = "";
    const retry = mcid(chain, ["lock", c0, "--reason", "lost-device", ...key("help-desk-central")], { env: PASSWORD, onOutput: (_o, e) => (retryErr = e) });
    retry.catch(() => undefined); // awaited below; a failure of `until` must not leave it unhandled
    await until("the retry to find the pending lock", () => /is still pending/.test(retryErr));
    await chain.provider.send("evm_mine", []);
    const retried = await retry;
    expect(retried.code, retried.stderr).to.equal(0);
    expect(retried.stderr).to.contain(`still pending (${hash!}): waiting for it instead of sending it again`);
    expect(retried.stdout).to.match(/lock: 0 changed in 0 transaction\(s\), 1 pending transaction\(s\) awaited/);
    expect(await chain.provider.getTransactionCount(chain.address["help-desk-central"], "pending")).to.equal(nonce);
    const json = ok(await run(["lock", c0, "--reason", "lost-device", ...key("help-desk-central"), "--json"], PASSWORD));
    expect(json).to.deep.include({ changed: 0, alreadyInState: 1, awaitedPending: [], transactions: [] });
    await chain.provider.send("evm_setAutomine", [true]);

    // Already locked (or active): a success that sends nothing; a forbidden change is refused before anything is sent.
    const registrar = new StatusClient(chain.ledger.statusRegistry.connect(new Wallet(privateKeyOf("registrar-central"), chain.provider)));
    await registrar.revoke(BigInt(c1), "LEFT_SERVICE");
    const helpDeskNonce = await chain.provider.getTransactionCount(chain.address["help-desk-central"]);
    const [again, unlockActive, lockRevoked, mined] = await Promise.all([
      run(["lock", c0, "--reason", "lost-device", ...key("help-desk-central")], PASSWORD),
      run(["unlock", ids[1 + 1]!, "--reason", "found-device", ...key("registrar-central")], PASSWORD),
      run(["lock", c1, "--reason", "lost-device", ...key("help-desk-central")], PASSWORD),
      run(["tx", hash!, "--json"]),
    ]);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.match(new RegExp(`${c0}: locked \\(lost-device\\) — already locked, nothing sent`));
    expect(unlockActive.code, unlockActive.stderr).to.equal(0); // ids[2] was locked on the terminal, unlocked here
    refused(lockRevoked, 4, new RegExp(`Cannot lock ${c1} \\(revoked\\): revoked is final\\. Nothing was sent`));
    expect(await chain.provider.getTransactionCount(chain.address["help-desk-central"])).to.equal(helpDeskNonce);
    expect(ok(mined)).to.include({ state: "mined" });
    expect(ok(await run(["status", c0, "--json"]))).to.deep.include({ state: "locked", reason: "LOST_DEVICE", pending: [] });
  });

  it("the node's refusals are named for what they are: TRANSACTION_REJECTED, readable, never CONTRACT_REVERTED", async () => {
    // A zero gas price on a chain with a base fee (the Hardhat node has one): was "could not coalesce error" + 40 KB of hex.
    const members = chain.address["ministry-1"];
    const deploy = await run(["deploy", "--members", members, "--threshold", "1", "--gas-price", "0", ...key("deployer"), "--deployments", path.join(chain.dir, "d-gas")], PASSWORD);
    refused(deploy, 3, /error \[TRANSACTION_REJECTED\]: The node refused the transaction before running it: .*gas ?price.*Nothing was changed/i);
    expect(deploy.stderr.length).to.be.below(1000);
    expect(deploy.stderr).to.not.match(/coalesce|0x[0-9a-fA-F]{80}/);
    // Two senders of one key: the second transaction with a nonce already used (the node's "nonce too low").
    const wallet = new Wallet(privateKeyOf("outsider"), chain.provider);
    const nonce = await chain.provider.getTransactionCount(wallet.address);
    await (await wallet.sendTransaction({ to: wallet.address, value: 0n, nonce })).wait();
    const error = await wallet.sendTransaction({ to: wallet.address, value: 0n, nonce }).then(() => undefined, (e: unknown) => e);
    expect(describeError(error)).to.deep.include({ code: "TRANSACTION_REJECTED", exit: 3 });
    expect(describeError(error).message).to.match(/nonce/i);
  });

  it("advice that fits the mistake: the embedded network, a missing wallet", async () => {
    const [embedded, noWallet] = await Promise.all([
      mcid(chain, ["status", ids[0]!, "--deployments", chain.deployments], { chain: false }),
      mcid(chain, ["wallet", "status", "--wallet", path.join(chain.dir, "nowhere.json")], { chain: false }),
    ]);
    refused(embedded, 2, /ran on the embedded network \(no --network given\).*pass --network localhost/);
    expect(embedded.stderr).to.not.match(/stale|Re-run the deploy/);
    refused(noWallet, 2, /error \[WALLET_NOT_FOUND\]: .*create one with `mcid wallet create`/);
  });

  it("named networks in mcid.config.json and the MCID_* environment", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), "mcid-config-"));
    try {
      writeFileSync(path.join(cwd, "mcid.config.json"), JSON.stringify({ defaultNetwork: "sejong", networks: { sejong: { rpcUrl: chain.url, chainId: 31337, deployments: chain.deployments } } }));
      mkdirSync(path.join(cwd, "bad"));
      writeFileSync(path.join(cwd, "bad", "mcid.config.json"), JSON.stringify({ networks: { sejong: { rpcUrl: "ftp://x", chainId: 31337 } } }));
      const [byDefault, byName, byEnv, unknown, bad] = await Promise.all([
        mcid(chain, ["org", "show", "--agency", "1741000", "--json"], { chain: false, cwd }),
        mcid(chain, ["governance", "list", "--network", "sejong", "--json"], { chain: false, cwd }),
        mcid(chain, ["governance", "list", "--json"], { chain: false, env: { MCID_RPC_URL: chain.url, MCID_CHAIN_ID: "31337", MCID_DEPLOYMENTS: chain.deployments } }),
        mcid(chain, ["governance", "list", "--network", "busan"], { chain: false, cwd }),
        mcid(chain, ["governance", "list", "--network", "sejong"], { chain: false, cwd: path.join(cwd, "bad") }),
      ]);
      expect(ok(byDefault)).to.include({ agencyCode: 1741000, status: "active" });
      expect(ok(byName)).to.include({ total: 2 });
      expect((ok(byName).proposals as { state: string; call: string }[]).map((p) => p.state)).to.deep.equal(["executed", "executed"]);
      expect(ok(byEnv)).to.include({ total: 2 });
      refused(unknown, 2, /Unknown --network "busan": use embedded, localhost, sejong/);
      refused(bad, 2, /networks\.sejong\.rpcUrl must be an http\(s\) URL/);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("watch reconnects after the node restarts and follows the new deployment", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "mcid-watch-"));
    const port = await unusedPort();
    const url = `http://127.0.0.1:${port}`;
    // A node in its own process: stopping it drops every connection at once, as a crashed node does (an
    // in-process server's close waits for the watcher's keep-alive connections to go idle).
    const startNode = async () => {
      const node = await startAnvilNode({ port, chainId: 31337 });
      const ledger = await deployConsortium(await node.provider.getSigner(0), { members: [chain.address["ministry-1"]], threshold: 1 });
      await saveDeployment(dir, ledger.deployment);
      return node;
    };
    let node = await startNode();
    let child: ChildProcess | undefined;
    let stdout = "";
    let stderr = "";
    // Settled into a value at once, so a watcher killed while a wait below is pending is reported by that wait.
    const watching = mcid(chain, ["watch", "--interval", "200", "--rpc-url", url, "--chain-id", "31337", "--deployments", dir, "--data-dir", path.join(dir, "data")], {
      chain: false, timeoutMs: 300_000, onSpawn: (c) => (child = c), onOutput: (o, e) => ([stdout, stderr] = [o, e]),
    }).then((result) => ({ result }), (error: unknown) => ({ error }));
    try {
      await until("the first events", () => /MemberAdded/.test(stdout), 90_000);
      await node.stop();
      await until("watch to notice the node is gone", () => /Lost the node \(CHAIN_UNREACHABLE/.test(stderr), 90_000);
      node = await startNode();
      // The events of the new chain come on stdout before the same poll's "Reconnected" note on stderr: wait for all.
      await until("watch to follow the new chain", () => /chain changed/.test(stderr) && (stdout.match(/MemberAdded/g) ?? []).length >= 2 && /Reconnected to the node/.test(stderr), 90_000);
      child!.kill("SIGINT");
      const ended = await watching;
      if ("error" in ended) throw ended.error;
      expect(ended.result.code, ended.result.stderr).to.equal(0);
      expect(ended.result.stdout).to.not.match(/ECONNREFUSED|at .*\.ts:\d+/);
    } finally {
      child?.kill("SIGKILL");
      await watching;
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("files with personal data stay out of git and the package", async () => {
    const probe = path.join(REPO, "data", "npm-pack-probe.json");
    mkdirSync(path.dirname(probe), { recursive: true });
    writeFileSync(probe, "{}");
    try {
      expect(spawnSync("git", ["check-ignore", "-q", probe], { cwd: REPO }).status, "data/ is ignored by git").to.equal(0);
      const pack = spawnSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: REPO, encoding: "utf8" });
      expect(pack.status, pack.stderr).to.equal(0);
      const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
      expect(files).to.include("bin/mcid.js");
      expect(files.filter((f) => /^(data|deployments)\/|\.sqlite$/.test(f))).to.deep.equal([]);
    } finally {
      rmSync(probe, { force: true });
    }
  });
});
