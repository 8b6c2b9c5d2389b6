import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet } from "ethers";
import { checkPresentationRequest } from "../../../../sdk/relying-party/presentation-request.js";
import { ReasonCode } from "../../../../sdk/chain/codes.js";
import { isCivilIdError } from "../../../../sdk/errors.js";
import { BASE_URL, FORM, directPost, injectFetch, verifierWorld } from "./helpers.js";
import { rejection } from "../../helpers/rejections.js";
import { generateBearerToken, hashBearerToken } from "../../../../services/common/auth.js";
import { SqliteVerifierStore } from "../../../../services/verifier/store.js";
import { DatabaseSync } from "node:sqlite";

type World = Awaited<ReturnType<typeof verifierWorld>>;

describe("verifier service: OpenID4VP 1.0 with listed verifier keys", function () {
  let w: World;
  before(async function () {
    w = await verifierWorld();
  });
  after(async function () {
    await w.cleanup();
  });

  async function gateSetup() {
    const { key } = await w.listVerifier("정부세종청사 출입관리", ["building-gate", "library-card"]);
    const gate = await w.startVerifier(key);
    const holder = Wallet.createRandom();
    const credential = await w.issue(holder, `person-${holder.address}`);
    return { key, gate, holder, credential };
  }

  async function start(gate: Awaited<ReturnType<World["startVerifier"]>>, use = "building-gate", extra: Record<string, unknown> = {}) {
    const res = await gate.app.inject({ method: "POST", url: "/presentations", headers: gate.auth, payload: { use, ...extra } });
    expect(res.statusCode, res.body).to.equal(201);
    return res.json<{ id: string; authorization_request: string; request_uri: string; qr_svg: string }>();
  }

  it("a gate tap: QR request, the wallet checks the listing and shows the name, the verifier accepts, the terminal reads the result", async function () {
    const { gate, holder, credential } = await gateSetup();
    const created = await start(gate);
    expect(created.authorization_request).to.match(/^openid4vp:\/\/\?client_id=decentralized_identifier%3Adid%3Aethr%3A/);
    expect(created.authorization_request).to.contain("request_uri=");
    const qr = await gate.app.inject({ method: "GET", url: created.qr_svg });
    expect(qr.headers["content-type"]).to.match(/image\/svg\+xml/);
    expect(qr.body).to.match(/^<svg/);

    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(gate.app) });
    expect(checked.verifier.name).to.equal("정부세종청사 출입관리");
    expect(checked.use).to.equal("building-gate");
    expect(checked.requestedClaims).to.deep.equal(["name", "agencyCode", "organisation"]);
    expect(checked.responseUri).to.equal(`${BASE_URL}/openid4vp/response`);

    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    const posted = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, checked.state!) });
    expect(posted.statusCode, posted.body).to.equal(200);
    expect(posted.json()).to.deep.equal({});
    const status = await gate.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: gate.auth });
    const outcome = status.json<{ status: string; result: { claims: Record<string, unknown> } }>();
    expect(outcome.status).to.equal("accepted");
    expect(outcome.result.claims).to.deep.equal({ name: "홍길동", agencyCode: 1741000, organisation: "행정안전부" });

    // The same direct_post again: refused, the transaction keeps its one answer.
    const replay = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, checked.state!) });
    expect(replay.statusCode).to.equal(400);
    expect(replay.json<{ error_description: string }>().error_description).to.match(/already answered: replay refused/);
    // The request object is gone once answered.
    expect((await gate.app.inject({ method: "GET", url: `/presentations/${created.id}/request` })).statusCode).to.equal(400);
  });

  it("the wallet refuses an unlisted verifier, a retired key, a use the key is not granted, and a query beyond its use", async function () {
    // Unlisted: a key nobody listed signs a perfectly formed request.
    const rogue = await w.startVerifier(Wallet.createRandom());
    const rogueRequest = await start(rogue);
    const unlisted = await rejection(checkPresentationRequest({ authorizationRequest: rogueRequest.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(rogue.app) }));
    expect(isCivilIdError(unlisted, "VERIFIER_NOT_LISTED"), unlisted.message).to.equal(true);

    // Listed for the library only, asking for the gate.
    const { key: libraryKey } = await w.listVerifier("국립세종도서관", ["library-card"]);
    const library = await w.startVerifier(libraryKey, { uses: ["building-gate", "library-card"] });
    const asGate = await start(library, "building-gate");
    const notAllowed = await rejection(checkPresentationRequest({ authorizationRequest: asGate.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(library.app) }));
    expect(isCivilIdError(notAllowed, "VERIFIER_USE_NOT_ALLOWED"), notAllowed.message).to.equal(true);
    expect(notAllowed.message).to.contain("국립세종도서관");
    const asLibrary = await start(library, "library-card");
    const ok = await checkPresentationRequest({ authorizationRequest: asLibrary.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(library.app) });
    expect(ok.requestedClaims).to.deep.equal(["name", "organisation"]);

    // Retired by its relying party's admin: refused from the next block on.
    await w.registry.retireVerifierKey(2, libraryKey.address).then((tx) => tx.wait());
    const again = await start(library, "library-card");
    const retired = await rejection(checkPresentationRequest({ authorizationRequest: again.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(library.app) }));
    expect(isCivilIdError(retired, "VERIFIER_NOT_LISTED"), retired.message).to.equal(true);
  });

  it("a relayed request stays bound to the listed gate: a presentation made for it is refused by another verifier", async function () {
    const { gate, holder, credential } = await gateSetup();
    const created = await start(gate);
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(gate.app) });
    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    // A second (listed) verifier receives the relayed presentation with its own state: wrong audience and nonce.
    const { key: otherKey } = await w.listVerifier("다른 출입관리", ["building-gate"]);
    const other = await w.startVerifier(otherKey);
    const own = await start(other);
    const wrong = await other.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, new URL(own.request_uri).pathname.split("/")[2]!) });
    expect(wrong.statusCode).to.equal(400);
    expect(wrong.json<{ reasons: string[] }>().reasons).to.deep.equal(["AUDIENCE_MISMATCH"]);
    // A presentation for the right verifier but another nonce.
    const stale = await w.present(holder, credential.jwt, "not-the-nonce", checked.verifier.clientId);
    const created2 = await start(gate);
    const res = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(stale, created2.id) });
    expect(res.json<{ reasons: string[] }>().reasons).to.deep.equal(["CHALLENGE_MISMATCH"]);
  });

  it("a credential locked on chain is refused at the gate from the next block on", async function () {
    const { gate, holder, credential } = await gateSetup();
    const created = await start(gate);
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(gate.app) });
    const helpDesk = w.ledger.statusRegistry.connect(w.actors.helpDesk);
    await (await helpDesk.lock(credential.credentialId, ReasonCode.LOST_DEVICE)).wait();
    await w.syncClock();
    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    const res = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, checked.state!) });
    expect(res.statusCode).to.equal(400);
    expect(res.json<{ reasons: string[] }>().reasons).to.deep.equal(["CREDENTIAL_LOCKED"]);
    const status = await gate.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: gate.auth });
    expect(status.json<{ status: string }>().status).to.equal("refused");
  });

  it("same-device login: the answer is released once, only for the response code of the redirect", async function () {
    const { key } = await w.listVerifier("정부원격근무 메일", ["mail-login"]);
    const mail = await w.startVerifier(key, { uses: ["mail-login"] });
    const holder = Wallet.createRandom();
    const credential = await w.issue(holder, `person-${holder.address}`);
    const created = await start(mail, "mail-login", { flow: "same-device", redirect_uri: "https://mail.example.go.kr/login/callback?session=abc" });
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(mail.app) });
    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    const posted = await mail.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, checked.state!) });
    expect(posted.statusCode, posted.body).to.equal(200);
    const redirect = new URL(posted.json<{ redirect_uri: string }>().redirect_uri);
    expect(redirect.origin + redirect.pathname).to.equal("https://mail.example.go.kr/login/callback");
    const code = redirect.searchParams.get("response_code")!;
    // Without the code the result is not released (status says answered, no claims).
    const status = await mail.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: mail.auth });
    expect(status.json()).to.deep.equal({ id: created.id, use: "mail-login", status: "accepted" });
    const wrongCode = await mail.app.inject({ method: "POST", url: `/presentations/${created.id}/redeem`, headers: mail.auth, payload: { response_code: "A".repeat(22) } });
    expect(wrongCode.statusCode).to.equal(400);
    const redeemed = await mail.app.inject({ method: "POST", url: `/presentations/${created.id}/redeem`, headers: mail.auth, payload: { response_code: code } });
    expect(redeemed.json<{ result: { claims: { employeeRef: string } } }>().result.claims.employeeRef).to.be.a("string");
    const twice = await mail.app.inject({ method: "POST", url: `/presentations/${created.id}/redeem`, headers: mail.auth, payload: { response_code: code } });
    expect(twice.json<{ error_description: string }>().error_description).to.match(/already used/);
  });

  it("only the terminal that started a presentation reads its outcome: another relying party's terminal that read the id off the QR code is told 404", async function () {
    const { key } = await w.listVerifier("정부세종청사 출입관리 (단말)", ["building-gate", "mail-login"]);
    const [gateToken, libraryToken] = [generateBearerToken(), generateBearerToken()];
    const verifier = await w.startVerifier(key, {
      uses: ["building-gate", "mail-login"],
      terminals: [
        { id: "gate-1", roles: ["terminal"], tokenHash: hashBearerToken(gateToken) },
        { id: "library-desk", roles: ["terminal"], tokenHash: hashBearerToken(libraryToken) },
      ],
    });
    const gate = { authorization: `Bearer ${gateToken}` };
    const library = { authorization: `Bearer ${libraryToken}` };
    const holder = Wallet.createRandom();
    const credential = await w.issue(holder, `person-${holder.address}`);
    const created = (await verifier.app.inject({ method: "POST", url: "/presentations", headers: gate, payload: { use: "building-gate" } })).json<{ id: string; authorization_request: string }>();
    // The id is public: it is in the QR code's request_uri.
    expect(created.authorization_request).to.contain(created.id);
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(verifier.app) });
    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    expect((await verifier.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, created.id) })).statusCode).to.equal(200);
    const stranger = await verifier.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: library });
    const unknown = await verifier.app.inject({ method: "GET", url: `/presentations/${"C".repeat(22)}`, headers: library });
    expect([stranger.statusCode, stranger.body]).to.deep.equal([unknown.statusCode, unknown.body]);
    expect(stranger.statusCode).to.equal(404);
    expect(stranger.body).to.not.contain("홍길동");
    const own = await verifier.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: gate });
    expect(own.json<{ result: { claims: { name: string } } }>().result.claims.name).to.equal("홍길동");

    // Same-device: the response code alone is not enough either.
    const login = (await verifier.app.inject({ method: "POST", url: "/presentations", headers: gate, payload: { use: "mail-login", flow: "same-device", redirect_uri: "https://mail.example.go.kr/cb" } })).json<{ id: string; authorization_request: string }>();
    const asked = await checkPresentationRequest({ authorizationRequest: login.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(verifier.app) });
    const answer = await w.present(holder, credential.jwt, asked.nonce, asked.verifier.clientId);
    const posted = await verifier.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(answer, login.id) });
    const code = new URL(posted.json<{ redirect_uri: string }>().redirect_uri).searchParams.get("response_code")!;
    const theirs = await verifier.app.inject({ method: "POST", url: `/presentations/${login.id}/redeem`, headers: library, payload: { response_code: code } });
    expect(theirs.statusCode).to.equal(404);
    const mine = await verifier.app.inject({ method: "POST", url: `/presentations/${login.id}/redeem`, headers: gate, payload: { response_code: code } });
    expect(mine.json<{ status: string }>().status, mine.body).to.equal("accepted");
  });

  it("a transactions table of an earlier version gains the requester column; its rows are read by no terminal", async function () {
    const dir = mkdtempSync(path.join(tmpdir(), "mcid-verifier-migrate-"));
    const file = path.join(dir, "verifier.sqlite");
    const old = new DatabaseSync(file);
    old.exec(`CREATE TABLE presentation_transactions (id TEXT PRIMARY KEY, nonce TEXT NOT NULL, client_id TEXT NOT NULL, use TEXT NOT NULL, flow TEXT NOT NULL,
      redirect_uri TEXT, request_object TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, answer TEXT, answered_at INTEGER,
      response_code_hash TEXT, redeemed_at INTEGER) STRICT`);
    old.prepare("INSERT INTO presentation_transactions (id, nonce, client_id, use, flow, request_object, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run("D".repeat(22), "n", "c", "building-gate", "cross-device", "a.b.c", 1, Date.now() + 60_000);
    old.close();
    const store = new SqliteVerifierStore(file);
    try {
      expect((await store.transaction("D".repeat(22)))?.requester).to.equal(undefined);
      await store.createTransaction({ id: "E".repeat(22), nonce: "m", clientId: "c", use: "building-gate", flow: "cross-device", redirectUri: undefined, requestObject: "a.b.c", createdAt: 1, expiresAt: Date.now() + 60_000, requester: "gate-1" });
      expect((await store.transaction("E".repeat(22)))?.requester).to.equal("gate-1");
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a restart mid-flow loses nothing: the request started before is answered after, once", async function () {
    const { key } = await w.listVerifier("정부세종청사 출입관리 (재시작)", ["building-gate"]);
    const file = path.join(mkdtempSync(path.join(tmpdir(), "mcid-restart-")), "verifier.sqlite");
    const before = await w.startVerifier(key, { uses: ["building-gate"], store: { kind: "sqlite", file } });
    const holder = Wallet.createRandom();
    const credential = await w.issue(holder, `person-${holder.address}`);
    const created = await start(before);
    await before.app.close();
    const after = await w.startVerifier(key, { uses: ["building-gate"], store: { kind: "sqlite", file }, terminals: [] });
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(after.app) });
    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    const posted = await after.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, created.id) });
    expect(posted.statusCode, posted.body).to.equal(200);
    const replay = await after.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, created.id) });
    expect(replay.statusCode).to.equal(400);
    rmSync(path.dirname(file), { recursive: true, force: true });
  });

  it("refuses malformed, oversize and unauthenticated requests with the one error body", async function () {
    const { gate } = await gateSetup();
    const noAuth = await gate.app.inject({ method: "POST", url: "/presentations", payload: { use: "building-gate" } });
    expect(noAuth.statusCode).to.equal(401);
    const badUse = await gate.app.inject({ method: "POST", url: "/presentations", headers: gate.auth, payload: { use: "teleport" } });
    expect([badUse.statusCode, badUse.json<{ error: string }>().error]).to.deep.equal([400, "invalid_request"]);
    const notServed = await gate.app.inject({ method: "POST", url: "/presentations", headers: gate.auth, payload: { use: "mail-login" } });
    expect(notServed.statusCode).to.equal(400);
    const sameDeviceNoRedirect = await gate.app.inject({ method: "POST", url: "/presentations", headers: gate.auth, payload: { use: "building-gate", flow: "same-device" } });
    expect(sameDeviceNoRedirect.statusCode).to.equal(400);
    const created = await start(gate);
    const notJson = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: new URLSearchParams({ vp_token: "{nope", state: created.id }).toString() });
    expect(notJson.statusCode).to.equal(400);
    const notDcql = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: new URLSearchParams({ vp_token: JSON.stringify({ other: ["x.y.z"] }), state: created.id }).toString() });
    expect([notDcql.statusCode, notDcql.json<{ error: string }>().error]).to.deep.equal([400, "invalid_request"]);
    const garbage = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost("not-a-jwt", created.id) });
    expect(garbage.json<{ reasons: string[] }>().reasons).to.deep.equal(["MALFORMED_PRESENTATION"]);
    // Garbage from whoever read the QR code does not close the request: the holder can still answer it.
    const stillPending = await gate.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: gate.auth });
    expect(stillPending.json<{ status: string }>().status).to.equal("pending");
    const unknownState = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost("a.b.c", "B".repeat(22)) });
    expect(unknownState.statusCode).to.equal(404);
    const extra = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost("a.b.c", created.id) + "&admin=1" });
    expect(extra.statusCode).to.equal(400);
    const oversize = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost("x".repeat(70 * 1024), created.id) });
    expect([oversize.statusCode, oversize.json<{ error: string }>().error]).to.deep.equal([413, "payload_too_large"]);
    const json = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: { "content-type": "text/plain" }, payload: "vp_token=x" });
    expect(json.statusCode).to.equal(415);
    const badId = await gate.app.inject({ method: "GET", url: "/presentations/..%2F..%2Fetc/request" });
    expect(badId.statusCode).to.equal(400);
    const openapi = await gate.app.inject({ method: "GET", url: "/openapi.json" });
    expect(Object.keys(openapi.json<{ paths: Record<string, unknown> }>().paths)).to.include.members(["/presentations", "/openid4vp/response", "/presentations/{id}/request"]);
  });
});
