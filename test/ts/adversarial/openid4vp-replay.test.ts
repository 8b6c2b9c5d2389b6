/**
 * The outside attacker against the verifier service's OpenID4VP endpoints: one verifier key serves two uses (gate
 * and library) under one client_id, so audience alone does not separate them — the nonce and the transaction do.
 * A presentation made for one transaction is posted to another (other use, same use), re-posted after its answer,
 * posted after its request expired, and posted with an injected extra credential; every attempt is refused with
 * its code, and a refusal that no holder signed for this request leaves the transaction open for the genuine tap.
 */
import { expect } from "chai";
import { Wallet, type HDNodeWallet } from "ethers";
import { checkPresentationRequest } from "../../../sdk/relying-party/presentation-request.js";
import { FORM, directPost, injectFetch, verifierWorld } from "../services/verifier/helpers.js";

type World = Awaited<ReturnType<typeof verifierWorld>>;

describe("adversarial: OpenID4VP presentations replayed across transactions and uses of one verifier", function () {
  let w: World;
  let gate: Awaited<ReturnType<World["startVerifier"]>>;
  let holder: HDNodeWallet;
  let credential: string;

  before(async function () {
    w = await verifierWorld();
    const { key } = await w.listVerifier("정부세종청사", ["building-gate", "library-card"]);
    gate = await w.startVerifier(key);
    holder = Wallet.createRandom();
    credential = (await w.issue(holder, `person-${holder.address}`)).jwt;
  });
  after(async function () {
    await w?.cleanup();
  });

  async function start(use: string) {
    const res = await gate.app.inject({ method: "POST", url: "/presentations", headers: gate.auth, payload: { use } });
    expect(res.statusCode, res.body).to.equal(201);
    const created = res.json<{ id: string; authorization_request: string }>();
    const checked = await checkPresentationRequest({ authorizationRequest: created.authorization_request, directory: w.directory, chainId: w.chainId, fetch: injectFetch(gate.app) });
    return { id: created.id, checked };
  }
  async function post(vp: string, state: string) {
    const res = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: directPost(vp, state) });
    return { status: res.statusCode, body: res.json<{ error?: string; error_description?: string; reasons?: string[] }>() };
  }
  async function statusOf(id: string) {
    return (await gate.app.inject({ method: "GET", url: `/presentations/${id}`, headers: gate.auth })).json<{ status: string }>().status;
  }

  it("both uses share the client_id (audience), so a gate presentation posted to a library transaction is refused CHALLENGE_MISMATCH and leaves it open", async () => {
    const gateTx = await start("building-gate");
    const libraryTx = await start("library-card");
    expect(gateTx.checked.verifier.clientId).to.equal(libraryTx.checked.verifier.clientId);
    const forGate = await w.present(holder, credential, gateTx.checked.nonce, gateTx.checked.verifier.clientId);
    const crossed = await post(forGate, libraryTx.checked.state!);
    expect(crossed.status).to.equal(400);
    expect(crossed.body.reasons).to.deep.equal(["CHALLENGE_MISMATCH"]);
    expect(await statusOf(libraryTx.id), "the library's transaction stays open").to.equal("pending");
    // The genuine answers still work, each once.
    expect((await post(forGate, gateTx.checked.state!)).status).to.equal(200);
    const forLibrary = await w.present(holder, credential, libraryTx.checked.nonce, libraryTx.checked.verifier.clientId);
    expect((await post(forLibrary, libraryTx.checked.state!)).status).to.equal(200);
    const again = await post(forLibrary, libraryTx.checked.state!);
    expect(again.status).to.equal(400);
    expect(again.body.error_description).to.match(/already answered: replay refused/);
  });

  it("an answered gate presentation replayed to a fresh gate transaction is refused CHALLENGE_MISMATCH (its nonce was the old one)", async () => {
    const first = await start("building-gate");
    const vp = await w.present(holder, credential, first.checked.nonce, first.checked.verifier.clientId);
    expect((await post(vp, first.checked.state!)).status).to.equal(200);
    const second = await start("building-gate");
    const replayed = await post(vp, second.checked.state!);
    expect(replayed.body.reasons).to.deep.equal(["CHALLENGE_MISMATCH"]);
    expect(await statusOf(second.id)).to.equal("pending");
  });

  it("a presentation for another audience with the right nonce is refused AUDIENCE_MISMATCH and leaves the transaction open", async () => {
    const tx = await start("building-gate");
    const vp = await w.present(holder, credential, tx.checked.nonce, "decentralized_identifier:did:ethr:0x7a69:0x000000000000000000000000000000000000dEaD");
    const posted = await post(vp, tx.checked.state!);
    expect(posted.body.reasons).to.deep.equal(["AUDIENCE_MISMATCH"]);
    expect(await statusOf(tx.id)).to.equal("pending");
  });

  it("a vp_token with a second presentation or under another query id is not an answer (400 invalid_request)", async () => {
    const tx = await start("building-gate");
    const vp = await w.present(holder, credential, tx.checked.nonce, tx.checked.verifier.clientId);
    for (const vpToken of [{ civil_servant_id: [vp, vp] }, { other_query: [vp] }, { civil_servant_id: [] }]) {
      const res = await gate.app.inject({ method: "POST", url: "/openid4vp/response", headers: FORM, payload: new URLSearchParams({ vp_token: JSON.stringify(vpToken), state: tx.checked.state! }).toString() });
      expect(res.statusCode, JSON.stringify(vpToken)).to.equal(400);
      expect(res.json<{ error: string }>().error).to.equal("invalid_request");
    }
    expect(await statusOf(tx.id)).to.equal("pending");
    expect((await post(vp, tx.checked.state!)).status).to.equal(200);
  });

  it("a request answered after it expired is refused, and the transaction reports expired", async () => {
    const tx = await start("building-gate");
    const vp = await w.present(holder, credential, tx.checked.nonce, tx.checked.verifier.clientId);
    const realNow = Date.now;
    Date.now = () => realNow() + 121_000; // past the 120 s request lifetime (the service's clock follows Date.now)
    try {
      const late = await post(vp, tx.checked.state!);
      expect(late.status).to.equal(400);
      expect(late.body.error_description).to.match(/expired/);
      expect(await statusOf(tx.id)).to.equal("expired");
    } finally {
      Date.now = realNow;
    }
  });
});
