/**
 * The CLI's verifier reads through a quorum of nodes by default (issue #10): `mcid verify --rpc-url a,b,c --quorum k`
 * (and MCID_RPC_URL / MCID_QUORUM, and a named network's `rpcUrls` + `quorum` in mcid.config.json). Three real anvil
 * nodes fed the same transactions stand for three ministries' nodes; a JSON-RPC proxy in front of one of them lies
 * (its statusOf answers "Active" for everything) or is down. Each spawned command is a gate's tap.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { HDNodeWallet, ZeroHash, keccak256, toUtf8Bytes } from "ethers";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import type { LedgerContracts } from "../../../sdk/chain/contracts.js";
import { saveDeployment, type Deployment } from "../../../sdk/chain/deployment.js";
import { CIVIL_SERVANT_ID_TYPE, OperatorRole, OrgKind, credentialTypeId } from "../../../sdk/chain/codes.js";
import { deviceKeyJwk, draftCredential, issuerFromPrivateKey, signCredential } from "../../../sdk/credential/index.js";
import { StatusClient } from "../../../sdk/status/client.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { HolderWallet, TEST_ONLY_SCRYPT } from "../../../sdk/wallet/index.js";
import { SqliteChallengeStore } from "../../../sdk/verifier/challenge-store.js";
import { mcid, PIN, type CliChain, type CliResult } from "../helpers/cli.js";
import { Consortium, RpcProxy, rpc, startAnvil, stopAll, type MirrorSigner } from "../ledger-trust/nodes.js";

const AGENCY = 1741000;
const CHAIN_ID = 31337;
const GATE = "gate:sejong-east";
const MNEMONIC = "test test test test test test test test test test test junk";
const SECRET = new Uint8Array(32).fill(7);

async function send(tx: Promise<{ wait(): Promise<unknown> }>): Promise<void> {
  await (await tx).wait();
}

describe("mcid verify: quorum reads over several nodes (spawned CLI, three anvil nodes)", function () {
  this.timeout(180_000);
  let dir: string;
  let urls: string[];
  let deployment: Deployment;
  let liar: RpcProxy;
  let down: RpcProxy;
  let active: HolderWallet;
  let locked: HolderWallet;
  let fake: CliChain;
  let ledger: LedgerContracts | undefined;
  const dataDir = () => path.join(dir, "data");
  const flags = () => ["--chain-id", String(CHAIN_ID), "--deployments", path.join(dir, "deployments"), "--data-dir", dataDir()];

  /** A challenge issued into the verifier's store (as `mcid challenge` does), and the phone's answer in a file. */
  async function tap(phone: HolderWallet, name: string): Promise<{ challenge: string; file: string }> {
    const store = new SqliteChallengeStore(path.join(dataDir(), "verifier.sqlite"));
    let challenge: string;
    try {
      challenge = store.issue({ audience: GATE, policy: "building-gate" }).challenge;
    } finally {
      store.close();
    }
    const file = path.join(dir, `${name}.jwt`);
    writeFileSync(file, await phone.createPresentation({ pin: PIN, challenge, audience: GATE }));
    return { challenge, file };
  }

  async function gate(phone: HolderWallet, name: string, nodeArgs: readonly string[], extra: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
    const { challenge, file } = await tap(phone, name);
    return mcid(fake, ["verify", "--policy", "building-gate", "--audience", GATE, "--challenge", challenge, "--presentation", file, ...nodeArgs, ...flags(), "--json"], { chain: false, ...extra });
  }

  /** One holder's credential, issued as an issuing server would (draft, register through the quorum's first node, sign). */
  async function issue(signerOf: (i: number) => MirrorSigner, person: string, file: string): Promise<{ wallet: HolderWallet; id: bigint }> {
    const wallet = await HolderWallet.create(file, { pin: PIN, chainId: CHAIN_ID, scrypt: TEST_ONLY_SCRYPT });
    const { publicKey } = await wallet.activationProof({ pin: PIN, challenge: { chainId: CHAIN_ID, requestId: "setup", challenge: ZeroHash } });
    const issuer = issuerFromPrivateKey(CHAIN_ID, HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/6").privateKey);
    const registrar = signerOf(5);
    const t = (await registrar.provider!.getBlock("latest"))!.timestamp;
    const draft = draftCredential(issuer, {
      chainId: CHAIN_ID, statusRegistry: deployment.statusRegistry, holderDid: wallet.did, deviceKey: deviceKeyJwk(publicKey),
      claims: { name: "홍길동", agencyCode: AGENCY, organisation: "행정안전부", department: "디지털정부혁신실", position: "행정사무관", employeeRef: `MOIS-${person}` },
      issuedAt: t, validUntil: t + 365 * 86_400,
    });
    const status = new StatusClient(ledger!.statusRegistry.connect(registrar));
    const { credentialId } = await status.register(holderReference(SECRET, person), draft.digest);
    await wallet.storeCredential(await signCredential(issuer, draft, credentialId));
    return { wallet, id: credentialId };
  }

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "mcid-gate-quorum-"));
    // The chain's clock starts an hour ago: the credential's times are the chain's, the verifier's clock the machine's.
    const genesis = Math.floor(Date.now() / 1000) - 3600;
    const nodes = await Promise.all([0, 1, 2].map(() => startAnvil({ chainId: CHAIN_ID, genesisTimestamp: genesis })));
    urls = nodes.map((n) => n.url);
    const consortium = new Consortium(urls, CHAIN_ID, genesis + 10);
    const signerOf = (i: number) => consortium.signer(i);
    const members = [signerOf(1), signerOf(2), signerOf(3)];
    ledger = await deployConsortium(signerOf(0), { members: await Promise.all(members.map((m) => m.getAddress())), threshold: 2 });
    deployment = ledger.deployment;
    await saveDeployment(path.join(dir, "deployments"), deployment);
    const reg = ledger.issuerRegistry;
    const data = reg.interface.encodeFunctionData("accredit", [AGENCY, OrgKind.CentralAgency, await signerOf(4).getAddress(), [credentialTypeId(CIVIL_SERVANT_ID_TYPE)]]);
    await send(ledger.governor.connect(members[0]!).propose(await reg.getAddress(), data, 3600, "accredit"));
    await send(ledger.governor.connect(members[1]!).approve(1));
    await send(ledger.governor.connect(members[0]!).execute(1));
    await send(ledger.statusRegistry.connect(signerOf(4)).setOperator(await signerOf(5).getAddress(), AGENCY, OperatorRole.Registrar));
    await send(reg.connect(signerOf(4)).addIssuerKey(AGENCY, await signerOf(6).getAddress(), 0, genesis + 10 * 365 * 86_400));
    active = (await issue(signerOf, "person-0", path.join(dir, "active.json"))).wallet;
    const lost = await issue(signerOf, "person-1", path.join(dir, "locked.json"));
    locked = lost.wallet;
    await send(ledger.statusRegistry.connect(signerOf(5)).lock(lost.id, 1));
    // The liar answers every 32-byte eth_call (statusOf) with (registered, Active, reason 0).
    liar = await RpcProxy.start(urls[2]!);
    liar.tamper = (request, answer) => {
      const call = request.method === "eth_call" ? (request.params[0] as { data: string }) : undefined;
      return call?.data.length === 10 + 64 && call.data.startsWith(keccak256(toUtf8Bytes("statusOf(uint64)")).slice(0, 10)) && answer.result !== undefined
        ? { ...answer, result: "0x" + [1, 0, 0].map((n) => n.toString(16).padStart(64, "0")).join("") }
        : answer;
    };
    down = await RpcProxy.start(urls[0]!);
    down.down();
    fake = { flags: [] } as unknown as CliChain;
    const hashes = await Promise.all(urls.map(async (u) => ((await rpc(u, "eth_getBlockByNumber", ["latest", false])) as { hash: string }).hash));
    expect(new Set(hashes).size, "the three nodes are identical").to.equal(1);
  });
  after(async () => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  });

  it("three honest nodes: accepted online and from a quorum-fed index; the result names the quorum (default: a majority)", async () => {
    const online = await gate(active, "honest", ["--rpc-url", urls.join(",")]);
    expect(online.code, online.stderr + online.stdout).to.equal(0);
    expect(online.json).to.deep.include({ ok: true, ledgerView: "online, quorum 2 of 3 nodes" });
    const indexed = await gate(active, "honest-index", ["--rpc-url", urls.join(","), "--quorum", "3", "--index"]);
    expect(indexed.code, indexed.stderr + indexed.stdout).to.equal(0);
    expect(String(indexed.json?.ledgerView)).to.match(/^index synced to block \d+, quorum 3 of 3 nodes$/);
  });

  it("a lying node is outvoted (2 of 3): the locked credential stays refused CREDENTIAL_LOCKED", async () => {
    const r = await gate(locked, "outvoted", ["--rpc-url", [liar.url, urls[0]!, urls[1]!].join(","), "--quorum", "2"]);
    expect(r.code, r.stderr + r.stdout).to.equal(1);
    expect(r.json).to.deep.include({ ok: false, reasons: ["CREDENTIAL_LOCKED"] });
  });

  it("with 3 of 3, the lie is refused LEDGER_DISAGREEMENT (exit 1), never accepted", async () => {
    const r = await gate(locked, "disagreement", ["--rpc-url", [urls[0]!, urls[1]!, liar.url].join(","), "--quorum", "3"]);
    expect(r.code, r.stderr + r.stdout).to.equal(1);
    expect(r.json).to.deep.include({ ok: false, reasons: ["LEDGER_DISAGREEMENT"] });
  });

  it("one URL is single-node trust, as before: the lying node alone decides (why a gate lists several nodes)", async () => {
    const r = await gate(locked, "single-liar", ["--rpc-url", liar.url]);
    expect(r.json).to.deep.include({ ok: true, ledgerView: "online, quorum 1 of 1 node" });
    const honest = await gate(locked, "single-honest", ["--rpc-url", urls[0]!]);
    expect(honest.json).to.deep.include({ ok: false, reasons: ["CREDENTIAL_LOCKED"] });
  });

  it("keeps working with one node down, even the first (2 of 3); with two down it stops CHAIN_UNREACHABLE (exit 3)", async () => {
    const r = await gate(active, "one-down", ["--rpc-url", [down.url, urls[1]!, urls[2]!].join(",")]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.json).to.deep.include({ ok: true });
    const lockedStill = await gate(locked, "one-down-locked", ["--rpc-url", [down.url, urls[1]!, urls[2]!].join(",")]);
    expect(lockedStill.json).to.deep.include({ reasons: ["CREDENTIAL_LOCKED"] });
    const index = await gate(active, "one-down-index", ["--rpc-url", [urls[1]!, down.url, urls[2]!].join(","), "--index"]);
    expect(index.code, index.stderr + index.stdout).to.equal(0);
    const stopped = await RpcProxy.start(urls[1]!);
    stopped.down();
    const two = await gate(active, "two-down", ["--rpc-url", [down.url, stopped.url, urls[2]!].join(",")]);
    expect(two.code, two.stderr + two.stdout).to.equal(3);
    expect(two.stdout + two.stderr).to.match(/CHAIN_UNREACHABLE.*Cannot reach the nodes: Not enough nodes for a quorum of 2/);
  });

  it("MCID_RPC_URL + MCID_QUORUM and a named network's rpcUrls + quorum in mcid.config.json do the same", async () => {
    const viaEnv = await gate(locked, "env", [], { env: { MCID_RPC_URL: [urls[0]!, urls[1]!, liar.url].join(","), MCID_QUORUM: "3" } });
    expect(viaEnv.json).to.deep.include({ ok: false, reasons: ["LEDGER_DISAGREEMENT"] });
    writeFileSync(path.join(dir, "mcid.config.json"), JSON.stringify({ networks: { gate: { rpcUrls: [liar.url, urls[0]!, urls[1]!], quorum: 2, chainId: CHAIN_ID } } }));
    const viaConfig = await gate(active, "config", ["--network", "gate", "--config", path.join(dir, "mcid.config.json")]);
    expect(viaConfig.code, viaConfig.stderr + viaConfig.stdout).to.equal(0);
    expect(viaConfig.json).to.deep.include({ ok: true, ledgerView: "online, quorum 2 of 3 nodes" });
  });

  it("refuses a quorum it cannot meet or without nodes (exit 2), before reading anything", async () => {
    const tooMany = await gate(active, "too-many", ["--rpc-url", urls.join(","), "--quorum", "4"]);
    expect(tooMany.code).to.equal(2);
    expect(tooMany.stdout + tooMany.stderr).to.match(/--quorum \\?"4\\?" must be an integer from 1 to the number of --rpc-url nodes \(3\)/);
    const duplicate = await gate(active, "duplicate", ["--rpc-url", `${urls[0]!},${urls[0]!}`]);
    expect(duplicate.code).to.equal(2);
    expect(duplicate.stdout + duplicate.stderr).to.match(/must be distinct/);
    const noNodes = await gate(active, "no-nodes", ["--quorum", "2", "--network", "embedded"]);
    expect(noNodes.code).to.equal(2);
    expect(noNodes.stdout + noNodes.stderr).to.match(/--quorum needs --rpc-url/);
  });
});
