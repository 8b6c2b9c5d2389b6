import { expect } from "chai";
import { Wallet } from "ethers";
import { checkPresentationRequest } from "../../../../sdk/relying-party/presentation-request.js";
import { PostgresVerifierStore } from "../../../../services/verifier/pg-store.js";
import { FORM, directPost, injectFetch, verifierWorld } from "./helpers.js";
import { postgresServer } from "./postgres.js";

describe("verifier instances sharing one PostgreSQL store", function () {
  this.timeout(600_000); // the first run may install and start PostgreSQL
  let w: Awaited<ReturnType<typeof verifierWorld>>;
  let server: Awaited<ReturnType<typeof postgresServer>>;
  before(async function () {
    server = await postgresServer();
    w = await verifierWorld();
  });
  after(async function () {
    await w?.cleanup();
    await server?.stop();
  });

  it("a nonce consumed through one instance is refused by the other; the request started on one is answered on the other", async function () {
    const url = await server.databaseUrl();
    const { key } = await w.listVerifier("정부세종청사 출입관리", ["building-gate", "library-card"]);
    const a = await w.startVerifier(key, { store: { kind: "postgres", url } });
    const b = await w.startVerifier(key, { store: { kind: "postgres", url } });
    const holder = Wallet.createRandom();
    const credential = await w.issue(holder, `person-${holder.address}`);

    // The terminal starts on A; the wallet fetches the request object from B (behind one load balancer).
    const created = (await a.app.inject({ method: "POST", url: "/presentations", headers: a.auth, payload: { use: "building-gate" } })).json<{ id: string; authorization_request: string }>();
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(b.app) });
    const vp = await w.present(holder, credential.jwt, checked.nonce, checked.verifier.clientId);
    const first = await b.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, created.id) });
    expect(first.statusCode, first.body).to.equal(200);
    const status = await a.app.inject({ method: "GET", url: `/presentations/${created.id}`, headers: a.auth });
    expect(status.json<{ status: string }>().status).to.equal("accepted");
    const replay = await a.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, created.id) });
    expect(replay.statusCode).to.equal(400);
    expect(replay.json<{ error_description: string }>().error_description).to.match(/replay refused/);

    // The nonce itself, raced by the two stores: exactly one consume wins, the other sees the replay.
    const storeA = await PostgresVerifierStore.open({ connectionString: url });
    const storeB = await PostgresVerifierStore.open({ connectionString: url });
    try {
      const scope = { audience: checked.verifier.clientId, policy: "building-gate" };
      const nonce = await storeA.issueNonce(scope, 60_000);
      const verdicts = await Promise.all([storeA.consumeNonce(scope, nonce.challenge), storeB.consumeNonce(scope, nonce.challenge)]);
      expect([...verdicts].sort()).to.deep.equal(["ok", "replayed"]);
      expect(await storeB.consumeNonce(scope, nonce.challenge)).to.equal("replayed");
      expect(await storeB.consumeNonce({ ...scope, policy: "library-card" }, nonce.challenge)).to.equal("unknown");
      expect(await storeA.consumeNonce(scope, "never-issued")).to.equal("unknown");
      const late = await PostgresVerifierStore.open({ connectionString: url, now: () => Date.now() + 120_000 });
      const soon = await storeA.issueNonce(scope, 1_000);
      expect(await late.consumeNonce(scope, soon.challenge)).to.equal("expired");
      await late.close();
    } finally {
      await storeA.close();
      await storeB.close();
    }
  });

  it("refuses a server that does not answer, clearly", async function () {
    const error = await PostgresVerifierStore.open({ connectionString: "postgres://postgres@127.0.0.1:1/none" }).then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).to.match(/Cannot open the PostgreSQL store/);
  });
});
