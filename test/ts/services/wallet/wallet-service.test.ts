/**
 * The wallet service and the CORS it needs on the issuer and verifier, in process (fastify inject): the read-only
 * JSON-RPC refuses everything but reads of the consortium's contracts; CORS answers only allowed origins, only on
 * wallet-facing paths, error bodies included.
 */
import { expect } from "chai";
import { Wallet, type Provider } from "ethers";
import { createServiceApp } from "../../../../services/common/app.js";
import { ISSUER_WALLET_PATHS, VERIFIER_WALLET_PATHS, loopbackAliases, registerCors, walletOrigins } from "../../../../services/common/cors.js";
import { CONFIG_PATH, RPC_PATH, answerRpc, buildWalletService, walletConfigSchema, walletPageUrl } from "../../../../services/wallet/service.js";
import type { Deployment } from "../../../../sdk/chain/deployment.js";

const REGISTRY = Wallet.createRandom().address;
const OTHER = Wallet.createRandom().address;

/** A node that answers calls to the registry with fixed data and reverts others (records what it was asked). */
function fakeProvider(calls: unknown[]): Provider {
  return {
    getBlockNumber: () => Promise.resolve(42),
    call: (tx: { to: string; data: string }) => {
      calls.push(tx);
      return tx.data === "0xdeadbeef" ? Promise.reject(Object.assign(new Error("reverted"), { data: "0x08c379a0" })) : Promise.resolve("0x01");
    },
  } as unknown as Provider;
}

describe("wallet service: read-only RPC, settings, page; CORS for the wallet origin", function () {
  const deployment = { relyingPartyRegistry: REGISTRY, chainId: 31337 } as unknown as Deployment;
  const contracts = new Set([REGISTRY.toLowerCase()]);

  it("answers eth_chainId, eth_blockNumber and eth_call to a consortium contract; refuses the rest", async function () {
    const calls: unknown[] = [];
    const provider = fakeProvider(calls);
    expect(await answerRpc({ jsonrpc: "2.0", id: 1, method: "eth_chainId" }, provider, 31337, contracts)).to.deep.equal({ jsonrpc: "2.0", id: 1, result: "0x7a69" });
    expect((await answerRpc({ jsonrpc: "2.0", id: 2, method: "eth_blockNumber" }, provider, 31337, contracts)).result).to.equal("0x2a");
    expect((await answerRpc({ jsonrpc: "2.0", id: 3, method: "eth_call", params: [{ to: REGISTRY, data: "0x1234" }, "latest"] }, provider, 31337, contracts)).result).to.equal("0x01");
    const reverted = await answerRpc({ jsonrpc: "2.0", id: 4, method: "eth_call", params: [{ to: REGISTRY, data: "0xdeadbeef" }, "latest"] }, provider, 31337, contracts);
    expect(reverted.error).to.deep.equal({ code: 3, message: "execution reverted", data: "0x08c379a0" });
    expect((await answerRpc({ jsonrpc: "2.0", id: 5, method: "eth_call", params: [{ to: OTHER, data: "0x" }, "latest"] }, provider, 31337, contracts)).error?.code).to.equal(-32602);
    expect((await answerRpc({ jsonrpc: "2.0", id: 6, method: "eth_call", params: [{ to: REGISTRY, data: "not hex" }] }, provider, 31337, contracts)).error?.code).to.equal(-32602);
    for (const method of ["eth_sendRawTransaction", "eth_sendTransaction", "eth_accounts", "eth_sign", "debug_traceCall", "eth_getLogs"]) {
      expect((await answerRpc({ jsonrpc: "2.0", id: 7, method, params: [] }, provider, 31337, contracts)).error?.code, method).to.equal(-32601);
    }
    expect((await answerRpc({ id: 8, method: "eth_chainId" }, provider, 31337, contracts)).error?.code).to.equal(-32600);
    expect(calls).to.have.length(2); // refused calls never reach the node
  });

  it("serves the PWA under /wallet/ with its CSP, the settings, the RPC (batches bounded); / redirects to the page", async function () {
    const app = await buildWalletService({
      config: walletConfigSchema.parse({ logLevel: "silent", connectSources: ["https://id.mois.go.kr"] }), provider: fakeProvider([]), chainId: 31337, deployment,
      connectOrigins: ["http://127.0.0.1:4000"], logLevel: "silent",
    });
    try {
      const page = await app.inject({ url: "/wallet/" });
      expect(page.statusCode).to.equal(200);
      expect(page.body).to.include('<link rel="manifest" href="manifest.webmanifest">');
      expect(page.headers["content-security-policy"]).to.include("connect-src 'self' http://127.0.0.1:4000 https://id.mois.go.kr;");
      expect((await app.inject({ url: "/wallet/sw.js" })).statusCode).to.equal(200);
      expect((await app.inject({ url: "/" })).headers.location).to.equal("/wallet/");
      expect((await app.inject({ url: CONFIG_PATH })).json()).to.deep.equal({ chainId: 31337, relyingPartyRegistry: REGISTRY, rpcPath: RPC_PATH });
      const batch = await app.inject({ method: "POST", url: RPC_PATH, payload: [{ jsonrpc: "2.0", id: 1, method: "eth_chainId" }, { jsonrpc: "2.0", id: 2, method: "eth_sendRawTransaction", params: ["0x00"] }] });
      expect((batch.json() as Array<{ result?: string; error?: { code: number } }>).map((a) => a.result ?? a.error?.code)).to.deep.equal(["0x7a69", -32601]);
      const tooMany = await app.inject({ method: "POST", url: RPC_PATH, payload: Array.from({ length: 11 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "eth_chainId" })) });
      expect((tooMany.json() as { error: { code: number } }).error.code).to.equal(-32600);
    } finally {
      await app.close();
    }
    expect(() => walletConfigSchema.parse({ connectSources: ["https://x.example/path"] })).to.throw();
  });

  it("CORS: allowed wallet origins on wallet-facing paths only (errors included), preflights answered; others get nothing", async function () {
    const app = await createServiceApp({ title: "cors", logger: false, rateLimit: false });
    const links = { baseUrl: (name: string) => (name === "wallet" ? "http://127.0.0.1:5000" : (() => { throw new Error("not started"); })()) };
    registerCors(app, { origins: walletOrigins({ walletOrigins: ["https://wallet.mois.go.kr"] }, links), paths: [...ISSUER_WALLET_PATHS, ...VERIFIER_WALLET_PATHS] });
    app.post("/token", () => Promise.reject(Object.assign(new Error("bad"), { statusCode: 400 })));
    app.get("/staff/requests", () => ({ ok: true }));
    app.get("/presentations/:id/request", () => "jwt");
    try {
      for (const origin of ["https://wallet.mois.go.kr", "http://127.0.0.1:5000", "http://localhost:5000"]) {
        const refused = await app.inject({ method: "POST", url: "/token", headers: { origin }, payload: {} });
        expect(refused.statusCode).to.equal(400);
        expect(refused.headers["access-control-allow-origin"], origin).to.equal(origin);
      }
      const preflight = await app.inject({ method: "OPTIONS", url: "/presentations/abc/request", headers: { origin: "https://wallet.mois.go.kr", "access-control-request-method": "GET" } });
      expect(preflight.statusCode).to.equal(204);
      expect(preflight.headers["access-control-allow-headers"]).to.equal("authorization, content-type");
      const stranger = await app.inject({ method: "OPTIONS", url: "/token", headers: { origin: "https://evil.example", "access-control-request-method": "POST" } });
      expect(stranger.headers["access-control-allow-origin"]).to.equal(undefined);
      const staff = await app.inject({ url: "/staff/requests", headers: { origin: "https://wallet.mois.go.kr" } });
      expect(staff.headers["access-control-allow-origin"]).to.equal(undefined);
      expect((await app.inject({ method: "OPTIONS", url: "/staff/requests", headers: { origin: "https://wallet.mois.go.kr" } })).statusCode).to.equal(404);
    } finally {
      await app.close();
    }
    expect(() => walletOrigins({ walletOrigins: ["https://wallet.example/app"] }, links)).to.throw(/walletOrigins/);
    expect(loopbackAliases("https://wallet.example")).to.deep.equal(["https://wallet.example"]);
    expect(walletPageUrl("http://127.0.0.1:5000", "http://127.0.0.1:4000/credential-offer?token=abc")).to.equal("http://localhost:5000/wallet/#offer=http%3A%2F%2F127.0.0.1%3A4000%2Fcredential-offer%3Ftoken%3Dabc");
  });
});
