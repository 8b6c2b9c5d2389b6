import { expect } from "chai";
import { spawn } from "node:child_process";
import path from "node:path";
import { Wallet } from "ethers";
import { setGlobalConfig } from "@openid4vc/utils";
import { didForAddress } from "../../../../sdk/did/did.js";
import { verifierWorld } from "./helpers.js";

const HOLDER = path.resolve(import.meta.dirname, "../../../peers/independent-holder.ts");

function runHolder(job: Record<string, unknown>): Promise<{ status: number; body: string; verifierClientId: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", HOLDER], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as { status: number; body: string; verifierClientId: string }) : reject(new Error(`holder exited ${code}: ${err}`))));
    child.stdin.end(JSON.stringify(job));
  });
}

describe("verifier service over real HTTP with an independent holder process", function () {
  this.timeout(120_000);
  let w: Awaited<ReturnType<typeof verifierWorld>>;
  before(async function () {
    setGlobalConfig({ allowInsecureUrls: true });
    w = await verifierWorld();
  });
  after(async function () {
    await w?.cleanup();
    setGlobalConfig({ allowInsecureUrls: false });
  });

  it("a holder built only from @openid4vc/openid4vp + dcql presents at the gate; the same request cannot be answered twice", async function () {
    const { key } = await w.listVerifier("정부세종청사 출입관리", ["building-gate"]);
    let base = "";
    const listening = await w.startVerifierListening(key, { uses: ["building-gate"] }, (url) => (base = url));
    const holder = Wallet.createRandom();
    const { jwt } = await w.issue(holder, `person-${holder.address}`);
    const created = (await fetch(`${base}/presentations`, { method: "POST", headers: { ...listening.auth, "content-type": "application/json" }, body: JSON.stringify({ use: "building-gate" }) })).json() as Promise<{ id: string; authorization_request: string }>;
    const request = await created;
    const job = { authorizationRequest: request.authorization_request, credential: jwt, privateKey: holder.privateKey, did: didForAddress(w.chainId, holder.address), now: Math.floor(w.now() / 1000) };
    const answered = await runHolder(job);
    expect(answered.status, answered.body).to.equal(200);
    const status = await (await fetch(`${base}/presentations/${request.id}`, { headers: listening.auth })).json() as { status: string; result: { claims: Record<string, unknown> } };
    expect(status.status).to.equal("accepted");
    expect(status.result.claims).to.deep.equal({ name: "홍길동", agencyCode: 1741000, organisation: "행정안전부" });
    // Replaying the flow on the same request: the request object is gone, the holder cannot answer again.
    const again = await runHolder(job).then(() => undefined, (e: unknown) => e as Error);
    expect(again?.message).to.match(/holder exited/);
  });
});
