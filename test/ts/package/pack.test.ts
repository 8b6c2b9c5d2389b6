/**
 * The package as an integrator gets it: `npm pack`, the tarball installed into a scratch project, imported under
 * plain Node 22 (no tsx, no TypeScript), the docs/SDK.md examples run exactly as written through the public API
 * only, against an anvil node. One build (tsc of sdk/ and the generated bindings, ~15 s) serves every check.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { expect } from "chai";
import { HolderWallet, TEST_ONLY_SCRYPT } from "../../../sdk/wallet/index.js";
import { deviceKeyJwk, draftCredential, issuerFromPrivateKey, signCredential } from "../../../sdk/credential/index.js";
import { StatusClient } from "../../../sdk/status/client.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { formatHrExport } from "../../../sdk/issuer/hr-import.js";
import { Wallet } from "ethers";
import { devicePublicKey } from "../helpers/wallet.js";
import { AGENCY, startAnvilConsortium, type AnvilConsortium } from "../helpers/anvil.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const NODE22 = path.join(ROOT, "node_modules/.bin/node");
const PIN = "482915";
const HOLDER_SECRET = "07".repeat(32);

describe("the package: npm pack, install, import under plain Node 22", function () {
  this.timeout(300_000);
  let work: string;
  let app: string;
  let chain: AnvilConsortium;
  let env: Record<string, string>;
  let examples: Map<string, string>;

  before(async () => {
    work = await mkdtemp(path.join(tmpdir(), "mcid-pack-"));
    app = path.join(work, "app");
    // One build: the contracts and their bindings were compiled by `hardhat test`; tsc writes dist/.
    await rm(path.join(ROOT, "dist"), { recursive: true, force: true });
    await run(path.join(ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.build.json"], { cwd: ROOT });
    const { stdout } = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    const [{ filename }] = JSON.parse(stdout) as [{ filename: string }];
    // Install: the tarball unpacked as node_modules/mobile-civil-id, its declared dependencies (and only those) linked in.
    const pkgDir = path.join(app, "node_modules", "mobile-civil-id");
    await mkdir(pkgDir, { recursive: true });
    await run("tar", ["-xzf", path.join(work, filename), "-C", pkgDir, "--strip-components=1"]);
    const manifest = JSON.parse(await readFile(path.join(pkgDir, "package.json"), "utf8")) as { dependencies: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies)) {
      const target = path.join(app, "node_modules", dep);
      await mkdir(path.dirname(target), { recursive: true });
      await symlink(path.join(ROOT, "node_modules", dep), target, "dir");
    }
    await writeFile(path.join(app, "package.json"), JSON.stringify({ name: "scratch", type: "module", private: true }));

    chain = await startAnvilConsortium();
    await writeFile(path.join(work, "deployment.json"), JSON.stringify(chain.deployment));
    // A holder with a wallet and a registered credential (made with the repository's sources: the issuer's side).
    const walletFile = path.join(work, "phone.json");
    const wallet = await HolderWallet.create(walletFile, { pin: PIN, chainId: chain.deployment.chainId, scrypt: TEST_ONLY_SCRYPT });
    const issuer = issuerFromPrivateKey(chain.deployment.chainId, chain.keys.issuer);
    const t = (await chain.provider.getBlock("latest"))!.timestamp;
    const draft = draftCredential(issuer, {
      chainId: chain.deployment.chainId, statusRegistry: chain.deployment.statusRegistry, holderDid: wallet.did,
      deviceKey: deviceKeyJwk(await devicePublicKey(wallet, PIN)),
      claims: { name: "홍길동", agencyCode: AGENCY, organisation: "행정안전부", department: "디지털정부혁신실", position: "행정사무관", employeeRef: "MOIS-1" },
      issuedAt: t, validUntil: t + 86_400, // the issuer key's window opened at a block time <= t
    });
    const registrar = new StatusClient(chain.ledger.statusRegistry.connect(new Wallet(chain.keys.registrar, chain.provider)));
    const { credentialId } = await registrar.register(holderReference(Buffer.from(HOLDER_SECRET, "hex"), "8501011234567"), draft.digest);
    await writeFile(path.join(work, "credential.jwt"), await signCredential(issuer, draft, credentialId));
    await writeFile(path.join(work, "hr.json"), formatHrExport("e-saram", [{
      requestId: "ES-2026-000123", personId: "9003152345678", name: "김서울", agencyCode: String(AGENCY), organisationName: "행정안전부",
      department: "디지털정부혁신실", position: "주무관", employeeRef: "MOIS-7781", mobile: "010-9876-5432", requestKind: "new", reissueReason: "",
      requestedAt: new Date().toISOString(),
    }], new Date().toISOString()));
    env = {
      PATH: process.env.PATH ?? "", MCID_DEPLOYMENT: path.join(work, "deployment.json"), MCID_RPC: chain.rpc, MCID_WALLET: walletFile,
      MCID_CREDENTIAL: path.join(work, "credential.jwt"), MCID_PIN: PIN, MCID_DB: path.join(work, "issuer.sqlite"), HR_EXPORT: path.join(work, "hr.json"),
      MCID_REGISTRAR_KEY: chain.keys.registrar, MCID_ISSUER_KEY: chain.keys.issuer, MCID_HOLDER_SECRET: HOLDER_SECRET,
    };
    const doc = await readFile(path.join(ROOT, "docs/SDK.md"), "utf8");
    examples = new Map([...doc.matchAll(/```js example=(\w+)\n([\s\S]*?)```/g)].map((m) => [m[1]!, m[2]!]));
    for (const [name, code] of examples) await writeFile(path.join(app, `${name}.mjs`), code);
    // The gate example's stand-in for the phone: the package's wallet, answering over "NFC".
    await writeFile(path.join(app, "phone.mjs"), [
      'import { HolderWallet } from "mobile-civil-id/wallet";',
      "export async function answer(challenge, audience) {",
      "  const wallet = await HolderWallet.open(process.env.MCID_WALLET);",
      "  return wallet.createPresentation({ pin: process.env.MCID_PIN, challenge, audience });",
      "}",
    ].join("\n"));
  });

  after(async () => {
    await chain?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const node = (file: string, extra: Record<string, string> = {}) =>
    run(NODE22, ["--disable-warning=ExperimentalWarning", file], { cwd: app, env: { ...env, ...extra } });

  it("ships compiled JS, .d.ts and the JSON-LD context, and no TypeScript sources or tests", async () => {
    const pkgDir = path.join(app, "node_modules", "mobile-civil-id");
    const files = await readdir(path.join(pkgDir, "dist", "sdk", "verifier"));
    expect(files).to.include.members(["index.js", "index.d.ts", "verifier.js", "verifier.d.ts"]);
    expect(files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))).to.equal(false);
    expect(await readdir(path.join(pkgDir, "dist", "types", "ethers-contracts"))).to.include("index.js");
    expect(await readdir(path.join(pkgDir, "contexts"))).to.deep.equal(["mobile-civil-id-v1.jsonld"]);
    expect(await readdir(pkgDir)).to.not.include.members(["test", "sdk", "scripts"]);
  });

  it("imports every entry point under plain Node 22 and refuses deep imports", async () => {
    await writeFile(path.join(app, "imports.mjs"), [
      'const layers = ["mobile-civil-id", "mobile-civil-id/credential", "mobile-civil-id/protocol", "mobile-civil-id/did", "mobile-civil-id/verifier", "mobile-civil-id/wallet", "mobile-civil-id/issuer"];',
      "const names = {};",
      "for (const l of layers) names[l] = Object.keys(await import(l)).length;",
      'let deep = "imported";',
      'try { await import("mobile-civil-id/dist/sdk/verifier/verifier.js"); } catch (e) { deep = e.code; }',
      'const { createRequire } = await import("node:module");',
      'const { readFileSync } = await import("node:fs");',
      'const context = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("mobile-civil-id/contexts/mobile-civil-id-v1.jsonld"), "utf8"));',
      "console.log(JSON.stringify({ node: process.version, names, deep, context: Object.keys(context) }));",
    ].join("\n"));
    const { stdout } = await node("imports.mjs");
    const out = JSON.parse(stdout) as { node: string; names: Record<string, number>; deep: string; context: string[] };
    expect(out.node).to.match(/^v22\./);
    for (const [layer, count] of Object.entries(out.names)) expect(count, layer).to.be.greaterThan(3);
    expect(out.deep).to.equal("ERR_PACKAGE_PATH_NOT_EXPORTED");
    expect(out.context).to.deep.equal(["@context"]);
  });

  it("runs the wallet example of docs/SDK.md", async () => {
    const { stdout } = await node("wallet.mjs", { CHALLENGE: "challenge-from-the-gate" });
    const out = JSON.parse(stdout) as { did: string; presentation: string; purpose: string };
    expect(out.did).to.match(/^did:ethr:0x7ea:0x/);
    expect(out.presentation.split(".")).to.have.length(3);
    expect(out.purpose).to.equal("결재");
  });

  it("runs the gate example of docs/SDK.md: verifies a presentation through the public API only", async () => {
    const { stdout, stderr } = await node("gate.mjs");
    expect(stdout.trim()).to.equal("OPEN 홍길동 (행정안전부)");
    expect(stderr).to.match(/audit true \d+/);
  });

  it("runs the issuer example of docs/SDK.md", async () => {
    const { stdout } = await node("issuer.mjs");
    const out = JSON.parse(stdout) as { id: string; state: string; next: string }[];
    expect(out).to.have.length(1);
    expect(out[0]!.state).to.not.equal("requested");
  });
});
