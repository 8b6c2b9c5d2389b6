import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { setGlobalConfig } from "@openid4vc/utils";
import { checkPresentationRequest } from "../../../../sdk/relying-party/presentation-request.js";
import { generateBearerToken, hashBearerToken, StaffDirectory } from "../../../../services/common/auth.js";
import { listenConfigSchema } from "../../../../services/common/config.js";
import { startServices } from "../../../../services/common/registry.js";
import type { ServeEnvironment } from "../../../../services/environment.js";
import { KioskPairing } from "../../../../services/verifier/kiosk.js";
import { LedgerHealthMonitor } from "../../../../services/verifier/ledger-health.js";
import { SqliteVerifierStore } from "../../../../services/verifier/store.js";
import { verifierServeDefinition } from "../../../../services/verifier/service.js";
import type { NodeQuorum } from "../../../../sdk/status/quorum.js";
import { OnlineLedgerView } from "../../../../sdk/status/ledger-view.js";
import { connectLedger } from "../../../../sdk/chain/contracts.js";
import { HOLDER_SECRET } from "../../helpers/world.js";
import { FORM, directPost, injectFetch, verifierWorld } from "./helpers.js";

type World = Awaited<ReturnType<typeof verifierWorld>>;

/** A NodeQuorum stand-in whose head the test controls. */
function fakeQuorum() {
  let next: () => Promise<number> = () => Promise.resolve(7);
  const quorum = {
    quorum: 2,
    head: () => next(),
    describe: () => [{ node: "a", usable: true, lastError: undefined }, { node: "b", usable: true, lastError: undefined }, { node: "c", usable: false, lastError: "down" }],
  } as unknown as NodeQuorum;
  return { quorum, answer: (f: () => Promise<number>) => (next = f) };
}

describe("gate kiosks: pairing, kiosk sessions, ledger health, live events", function () {
  let w: World;
  before(async function () {
    w = await verifierWorld();
  });
  after(async function () {
    await w.cleanup();
  });

  async function kioskGate() {
    const { key } = await w.listVerifier("정부세종청사 출입관리", ["building-gate", "library-card"]);
    const adminToken = generateBearerToken();
    const terminalToken = generateBearerToken();
    const gate = await w.startVerifier(key, {
      terminals: [
        { id: "gate-1", roles: ["terminal"], tokenHash: hashBearerToken(terminalToken) },
        { id: "lobby.east", roles: ["terminal"], tokenHash: hashBearerToken(generateBearerToken()) },
        { id: "facilities", roles: ["kiosk-admin"], tokenHash: hashBearerToken(adminToken) },
      ],
    });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const pair = (code: string) => gate.app.inject({ method: "POST", url: "/kiosk/pair", payload: { code } });
    return { gate, adminToken, terminalToken, bearer, pair };
  }

  it("a one-time pairing code becomes a kiosk session token; the code works once, forged or edited codes never", async function () {
    const { gate, adminToken, bearer, pair } = await kioskGate();
    const issued = await gate.app.inject({ method: "POST", url: "/kiosk/pairing-codes", headers: bearer(adminToken), payload: { terminal_id: "gate-1" } });
    expect(issued.statusCode, issued.body).to.equal(201);
    const { code, gate_url } = issued.json<{ code: string; gate_url: string }>();
    // The code travels in the fragment only (browsers never send it; no access log sees it).
    expect(gate_url).to.equal(`https://verifier.test/gate/#pair=${encodeURIComponent(code)}`);
    const [id, nonce, mac] = code.split(".") as [string, string, string];

    // Edited codes: another terminal's id with this nonce and MAC, another MAC.
    expect((await pair(`${Buffer.from("lobby.east").toString("base64url")}.${nonce}.${mac}`)).statusCode).to.equal(400);
    expect((await pair(`${id}.${nonce}.${mac.slice(0, -2)}AA`)).statusCode).to.equal(400);
    expect((await pair("not-a-code")).statusCode).to.equal(400);

    const paired = await pair(code);
    expect(paired.statusCode, paired.body).to.equal(200);
    const session = paired.json<{ token: string; terminal_id: string; expires_at: string }>();
    expect(session.terminal_id).to.equal("gate-1");
    expect(session.token).to.match(/^mcidk\./);
    expect(paired.headers["cache-control"]).to.equal("no-store");
    const again = await pair(code);
    expect(again.statusCode).to.equal(400);
    expect(again.json<{ error: string }>().error).to.equal("invalid_grant");

    // The session acts as terminal gate-1: starts presentations, reads its session and health.
    const created = await gate.app.inject({ method: "POST", url: "/presentations", headers: bearer(session.token), payload: { use: "building-gate" } });
    expect(created.statusCode, created.body).to.equal(201);
    const info = await gate.app.inject({ method: "GET", url: "/kiosk/session", headers: bearer(session.token) });
    expect(info.json()).to.deep.equal({ terminal_id: "gate-1", uses: ["building-gate", "library-card"] });
    const health = await gate.app.inject({ method: "GET", url: "/kiosk/health", headers: bearer(session.token) });
    expect(health.json<{ state: string; quorum: number; nodesTotal: number }>()).to.include({ state: "ok", quorum: 1, nodesTotal: 1 });
  });

  it("roles are the API's: a kiosk session cannot issue pairing codes, facilities staff cannot start presentations, forged sessions are 401", async function () {
    const { gate, adminToken, terminalToken, bearer, pair } = await kioskGate();
    const { code } = await gate.kiosks.issuePairingCode("gate-1");
    const session = (await pair(code)).json<{ token: string }>().token;

    const byKiosk = await gate.app.inject({ method: "POST", url: "/kiosk/pairing-codes", headers: bearer(session), payload: { terminal_id: "gate-1" } });
    expect(byKiosk.statusCode).to.equal(403);
    const byTerminal = await gate.app.inject({ method: "POST", url: "/kiosk/pairing-codes", headers: bearer(terminalToken), payload: { terminal_id: "gate-1" } });
    expect(byTerminal.statusCode).to.equal(403);
    const byAdmin = await gate.app.inject({ method: "POST", url: "/presentations", headers: bearer(adminToken), payload: { use: "building-gate" } });
    expect(byAdmin.statusCode).to.equal(403);
    // Pairing codes only for configured terminals with the terminal role.
    const forAdmin = await gate.app.inject({ method: "POST", url: "/kiosk/pairing-codes", headers: bearer(adminToken), payload: { terminal_id: "facilities" } });
    expect(forAdmin.statusCode).to.equal(400);
    const forNobody = await gate.app.inject({ method: "POST", url: "/kiosk/pairing-codes", headers: bearer(adminToken), payload: { terminal_id: "gate-9" } });
    expect(forNobody.statusCode).to.equal(400);

    const [id, expiry] = session.slice("mcidk.".length).split(".") as [string, string, string];
    for (const forged of [`mcidk.${id}.${Number(expiry) + 86_400}.${session.split(".")[3]}`, `mcidk.${Buffer.from("lobby.east").toString("base64url")}.${expiry}.${session.split(".")[3]}`, "mcidk.x"]) {
      const res = await gate.app.inject({ method: "POST", url: "/presentations", headers: bearer(forged), payload: { use: "building-gate" } });
      expect(res.statusCode, forged).to.equal(401);
      expect(res.json<{ error: string }>().error).to.equal("invalid_token");
    }
    // The static terminal token still works beside kiosk sessions.
    expect((await gate.app.inject({ method: "POST", url: "/presentations", headers: bearer(terminalToken), payload: { use: "building-gate" } })).statusCode).to.equal(201);
  });

  it("kiosk sessions expire, and die with their terminal's configuration", async function () {
    const dir = mkdtempSync(path.join(tmpdir(), "mcid-kiosk-"));
    const store = new SqliteVerifierStore(path.join(dir, "v.sqlite"));
    try {
      const signingKey = Wallet.createRandom().privateKey;
      const terminals = [{ id: "gate-1", roles: ["terminal" as const], tokenHash: hashBearerToken(generateBearerToken()) }];
      let t = Date.now();
      const pairing = new KioskPairing({ store, signingKey, terminals, directory: new StaffDirectory(terminals), sessionTtlMs: 60_000, now: () => t });
      const { code } = await pairing.issuePairingCode("gate-1");
      const { token } = await pairing.pair(code);
      expect(pairing.sessionTerminal(token)?.id).to.equal("gate-1");
      t += 61_000;
      expect(pairing.sessionTerminal(token)).to.equal(undefined);
      // The same signing key, gate-1 removed from the configuration: its sessions are worth nothing.
      const { token: fresh } = await new KioskPairing({ store, signingKey, terminals, directory: new StaffDirectory(terminals), now: () => t }).pair((await pairing.issuePairingCode("gate-1")).code);
      expect(new KioskPairing({ store, signingKey, terminals: [], directory: new StaffDirectory([]), now: () => t }).sessionTerminal(fresh)).to.equal(undefined);
      // Another verifier key (another deployment): not accepted either.
      expect(new KioskPairing({ store, signingKey: Wallet.createRandom().privateKey, terminals, directory: new StaffDirectory(terminals), now: () => t }).sessionTerminal(fresh)).to.equal(undefined);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("the event stream sends health at once and the outcome as soon as the phone answers, then ends", async function () {
    const { key } = await w.listVerifier("정부세종청사 출입관리", ["building-gate"]);
    let url = "";
    const gateToken = generateBearerToken();
    const otherToken = generateBearerToken();
    await w.startVerifierListening(key, {
      uses: ["building-gate"],
      terminals: [
        { id: "gate-1", roles: ["terminal"], tokenHash: hashBearerToken(gateToken) },
        { id: "gate-2", roles: ["terminal"], tokenHash: hashBearerToken(otherToken) },
      ],
    }, (u) => (url = u));
    const auth = { authorization: `Bearer ${gateToken}` };
    setGlobalConfig({ allowInsecureUrls: true });
    try {
      const holder = Wallet.createRandom();
      const credential = await w.issue(holder, `person-${holder.address}`);
      const created = await (await fetch(`${url}/presentations`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ use: "building-gate" }) })).json() as { id: string; authorization_request: string };
      const unauthorised = await fetch(`${url}/presentations/${created.id}/events`);
      expect(unauthorised.status).to.equal(401);
      const stream = await fetch(`${url}/presentations/${created.id}/events`, { headers: auth });
      expect(stream.headers.get("content-type")).to.match(/^text\/event-stream/);
      const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      while (!text.includes("event: health")) text += (await reader.read()).value ?? "";
      expect(text).to.match(/"state":"ok"/);

      const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId });
      const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
      const posted = await fetch(checked.responseUri, { method: "POST", headers: FORM, body: directPost(vp, checked.state!) });
      expect(posted.status).to.equal(200);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const outcome = /event: outcome\ndata: (.*)\n\n/.exec(text);
      expect(outcome, text).to.not.equal(null);
      const parsed = JSON.parse(outcome![1]!) as { status: string; result: { claims: { name: string } } };
      expect(parsed.status).to.equal("accepted");
      expect(parsed.result.claims.name).to.equal("홍길동");
      // An answered presentation's stream gives the outcome at once and ends.
      const late = await (await fetch(`${url}/presentations/${created.id}/events`, { headers: auth })).text();
      expect(late).to.match(/event: outcome/);
      expect((await fetch(`${url}/presentations/AAAAAAAAAAAAAAAAAAAAAA/events`, { headers: auth })).status).to.equal(404);
      // Another terminal of the same verifier does not get the stream (nor the name in it): only the one that started it.
      const stranger = await fetch(`${url}/presentations/${created.id}/events`, { headers: { authorization: `Bearer ${otherToken}` } });
      expect(stranger.status).to.equal(404);
      expect(await stranger.text()).to.not.contain("홍길동");
    } finally {
      setGlobalConfig({ allowInsecureUrls: false });
    }
  });

  it("ledger health: ok, stale past its bound, unavailable when the quorum fails; the refusal codes follow, never ok on doubt", async function () {
    const fake = fakeQuorum();
    let t = 1_000_000;
    const monitor = new LedgerHealthMonitor({ quorum: fake.quorum, intervalMs: 100, maxStalenessMs: 2_000, clock: () => t });
    expect(monitor.current().state).to.equal("unavailable"); // never probed: not ok
    // The first judgement waits for the first probe instead of refusing a service that just started.
    expect(await monitor.refusal()).to.equal(undefined);
    const ok = monitor.current();
    expect(ok).to.include({ state: "ok", block: 7, stalenessMs: 0, nodesUsable: 2, nodesTotal: 3, quorum: 2 });
    t += 2_001;
    expect(monitor.current().state).to.equal("stale");
    expect((await monitor.refusal())?.code).to.equal("INDEX_STALE");
    fake.answer(() => Promise.reject(new Error("only 1 node(s) answered the block number")));
    const failed = await monitor.probe();
    expect(failed.state).to.equal("unavailable");
    expect(failed.lastError).to.match(/only 1 node/);
    expect(failed.block).to.equal(7); // the last agreed block stays on display
    expect((await monitor.refusal())?.code).to.equal("LEDGER_UNAVAILABLE");
    fake.answer(() => Promise.resolve(9));
    const seen: string[] = [];
    const unsubscribe = monitor.subscribe((h) => seen.push(h.state));
    expect((await monitor.probe()).state).to.equal("ok");
    unsubscribe();
    expect(seen).to.deep.equal(["ok"]);
    expect(() => new LedgerHealthMonitor({ quorum: fake.quorum, intervalMs: 1_000, maxStalenessMs: 500 })).to.throw(/at least the probe interval/);
  });

  it("one head reading for the gate: a verification's head read is the health probe's too (no second RPC for the same head)", async function () {
    const view = new OnlineLedgerView(connectLedger(w.ledger.deployment, w.provider), w.provider);
    const quorum = view.quorum as unknown as { head: () => Promise<number> };
    const realHead = quorum.head.bind(quorum);
    let rpcReads = 0;
    quorum.head = () => (rpcReads++, realHead());
    let probeReads = 0;
    const shared = { agreedHead: () => (probeReads++, view.agreedHead()), onHeadRead: view.onHeadRead.bind(view) };
    const monitor = new LedgerHealthMonitor({ quorum: view.quorum, head: shared, intervalMs: 500, maxStalenessMs: 10_000 });
    const healths: number[] = [];
    monitor.subscribe((h) => healths.push(h.block));
    // A probe that starts while a verification's read is on its way joins it: one RPC, both answered.
    const [read, probed] = await Promise.all([view.agreedHead(), monitor.probe()]);
    expect(rpcReads).to.equal(1);
    expect(probed).to.include({ state: "ok", block: read });
    monitor.start();
    try {
      // The timer's own first probe comes an interval after the last read (the joined one above), not at once.
      while (probeReads < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      // Then verifications read the head every 25 ms for 1.2 s (the interval is 500 ms), after a new block.
      const probesBefore = probeReads;
      await (await w.ethers.getSigners())[0]!.sendTransaction({ to: Wallet.createRandom().address, value: 1n }).then((tx) => tx.wait());
      const head = await w.provider.getBlockNumber();
      const until = performance.now() + 1_200;
      while (performance.now() < until) {
        await view.agreedHead();
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      // The verifications' reads kept the health current (the new block, staleness reset) and the timer read nothing itself.
      expect(probeReads).to.equal(probesBefore);
      expect(monitor.current()).to.include({ state: "ok", block: head });
      expect(monitor.current().stalenessMs).to.be.below(500);
      expect(healths).to.include(head);
      // Idle again: the timer probes by itself after an interval without reads.
      while (probeReads === probesBefore) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      monitor.stop();
      quorum.head = realHead;
    }
  });

  it("a tap while the ledger is unavailable is refused by the verifier itself (LEDGER_UNAVAILABLE), not only on screen", async function () {
    const { gate, bearer, terminalToken } = await kioskGate();
    const holder = Wallet.createRandom();
    const credential = await w.issue(holder, `person-${holder.address}`);
    const created = (await gate.app.inject({ method: "POST", url: "/presentations", headers: bearer(terminalToken), payload: { use: "building-gate" } })).json<{ id: string; authorization_request: string }>();
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(gate.app) });
    gate.health.stop();
    const quorum = (gate.health as unknown as { quorum: { head: () => Promise<number> } }).quorum;
    const realHead = quorum.head.bind(quorum);
    quorum.head = () => Promise.reject(new Error("no node answers"));
    try {
      expect((await gate.health.probe()).state).to.equal("unavailable");
      const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
      const res = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, checked.state!) });
      expect(res.statusCode).to.equal(400);
      expect(res.json<{ reasons: string[] }>().reasons).to.deep.equal(["LEDGER_UNAVAILABLE"]);
    } finally {
      quorum.head = realHead;
    }
  });

  it("npm run serve --demo: the gate page URL carries a pairing code for the demo terminal in its fragment", async function () {
    const dataDir = mkdtempSync(path.join(tmpdir(), "mcid-serve-"));
    const signers = await w.ethers.getSigners();
    const env: ServeEnvironment = {
      provider: w.provider, chainId: w.chainId, deployment: w.ledger.deployment, dataDir, config: {}, logLevel: "silent",
      demo: { deployer: w.actors.deployer, ministries: w.actors.members, spare: [signers[14]!, signers[15]!], organisations: [], holderSecret: HOLDER_SECRET },
    };
    const running = await startServices([verifierServeDefinition], env, () => listenConfigSchema.parse({ logLevel: "silent" }));
    try {
      const pages = await running.pages();
      expect(pages.gate).to.match(/^http:\/\/127\.0\.0\.1:\d+\/gate\/#pair=/);
      const code = decodeURIComponent(pages.gate!.split("#pair=")[1]!);
      const page = await fetch(pages.gate!.split("#")[0]!);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.contain('<script type="module" src="main.js"></script>');
      const paired = await fetch(`${running.urls.verifier}/kiosk/pair`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ code }) });
      expect(paired.status).to.equal(200);
      expect(((await paired.json()) as { terminal_id: string }).terminal_id).to.equal("demo-terminal");
      // The kiosk routes are in the OpenAPI document (the page's own files are not).
      const openapi = (await (await fetch(`${running.urls.verifier}/openapi.json`)).json()) as { paths: Record<string, unknown> };
      expect(openapi.paths).to.include.keys("/kiosk/pair", "/kiosk/pairing-codes", "/kiosk/session", "/kiosk/health", "/presentations/{id}/events");
      expect(Object.keys(openapi.paths).filter((p) => p.startsWith("/gate"))).to.deep.equal([]);
    } finally {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
      setGlobalConfig({ allowInsecureUrls: false });
    }
  });
});
