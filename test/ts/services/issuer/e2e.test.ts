import { expect } from "chai";
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../..");
const NODE_ARGS = ["--disable-warning=ExperimentalWarning", "--import", "tsx"];

function firstLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
    const timer = setTimeout(() => reject(new Error(`no ready line within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before the ready line; stderr: ${stderr}`));
    });
  });
}

function exitCode(child: ChildProcess, timeoutMs: number): Promise<number | null> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => reject(new Error("the process did not exit")), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

describe("services/issuer end to end: `serve --demo --json` as its own process, an independent OpenID4VCI wallet as another", function () {
  this.timeout(120_000);
  let serve: ChildProcess | undefined;
  afterEach(() => {
    if (serve !== undefined && serve.exitCode === null) serve.kill("SIGKILL");
  });

  it("the wallet (the library's Openid4vciClient, its own key) obtains a credential over loopback HTTP; SIGTERM shuts the services down cleanly", async () => {
    serve = spawn(process.execPath, [...NODE_ARGS, "scripts/serve.ts", "--demo", "--json"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const ready = JSON.parse(await firstLine(serve, 90_000)) as { issuer: string; status: string; chainId: number; demo: { credentialOfferUri: string; txCode: string; staffTokens: Record<string, string> } };
    expect(ready.issuer).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(ready.demo.txCode).to.match(/^[0-9]{8}$/);
    expect(ready.demo.credentialOfferUri.startsWith(`${ready.issuer}/credential-offer?token=`)).to.be.true;

    const wallet = spawn(process.execPath, [...NODE_ARGS, "test/peers/independent-wallet.ts", ready.demo.credentialOfferUri, ready.demo.txCode], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    const out = JSON.parse(await firstLine(wallet, 60_000)) as { steps: string[]; credential: string; publicJwk: { x: string; y: string } };
    expect(await exitCode(wallet, 10_000)).to.equal(0);
    expect(out.steps).to.include.members(["offer", "metadata", "token", "nonce", "notification"]);
    const vc = JSON.parse(Buffer.from(out.credential.split(".")[1]!, "base64url").toString("utf8")) as {
      vc: { type: string[]; credentialSubject: { deviceKey: { x: string; y: string } } }; status: { status_list: { idx: number; uri: string } };
    };
    expect(vc.vc.type).to.include("CivilServantIdCredential");
    expect(vc.vc.credentialSubject.deviceKey).to.include({ x: out.publicJwk.x, y: out.publicJwk.y });
    // `serve` wires the status service it starts into the issuer: the standard status claim points at its list.
    expect(vc.status.status_list.uri).to.match(new RegExp(`^${ready.status}/status-lists/[1-9][0-9]{6}$`));
    expect((await fetch(vc.status.status_list.uri)).status).to.equal(200);

    // The link works once: a second wallet with the same SMS is refused.
    const again = await fetch(ready.demo.credentialOfferUri);
    expect(again.status).to.equal(410);
    // The officer API of the same process sees the request issued.
    const queue = await fetch(`${ready.issuer}/staff/requests?state=issued`, { headers: { authorization: `Bearer ${ready.demo.staffTokens["help-desk"]}` } });
    expect(((await queue.json()) as { requests: unknown[] }).requests).to.have.length(1);

    serve.kill("SIGTERM");
    expect(await exitCode(serve, 20_000)).to.equal(0);
  });
});
