/**
 * The outside attacker against the issuer's OpenID4VCI endpoints (services/issuer/openid4vci.ts): tx_code guessing
 * spread over many pre-authorized codes of one link and over several links, a device key re-used for a second
 * request under a respelt JWK (the same P-256 key, a second did:jwk before keys had one spelling), and a proof
 * whose `jwk` carries the private key `d` — each refused with its protocol error.
 */
import { expect } from "chai";
import { BASE_URL, seedDemoRequest, startChain, startIssuer, type Chain, type IssuerHarness } from "../services/issuer/harness.js";
import { newDevice } from "../services/issuer/proofs.js";

const PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const form = (fields: Record<string, string>) => ({ payload: new URLSearchParams(fields).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });

interface Offer { path: string; txCode: string; requestId: string }

describe("adversarial: OpenID4VCI tx_code guessing and device-key re-use", function () {
  this.timeout(60_000);
  let chain: Chain;
  let h: IssuerHarness;
  before(async () => {
    chain = await startChain();
    h = await startIssuer(chain);
  });
  after(async () => {
    await h?.close();
    await chain?.close();
  });

  async function invited(): Promise<Offer> {
    const demo = await seedDemoRequest(h.issuer, BASE_URL);
    const url = new URL(demo.credentialOfferUri as string);
    return { path: url.pathname + url.search, txCode: demo.txCode as string, requestId: demo.requestId as string };
  }
  async function preAuthorizedCode(offer: Offer): Promise<string> {
    const r = await h.issuer.app.inject({ method: "GET", url: offer.path });
    expect(r.statusCode, r.body).to.equal(200);
    return (r.json<{ grants: Record<string, { "pre-authorized_code": string }> }>().grants[PRE_AUTH]!)["pre-authorized_code"];
  }
  async function token(code: string, txCode: string) {
    const r = await h.issuer.app.inject({ method: "POST", url: "/token", ...form({ grant_type: PRE_AUTH, "pre-authorized_code": code, tx_code: txCode }) });
    return { status: r.statusCode, body: r.json<Record<string, string>>() };
  }
  async function nonce(): Promise<string> {
    return (await h.issuer.app.inject({ method: "POST", url: "/nonce" })).json<{ c_nonce: string }>().c_nonce;
  }
  async function credential(accessToken: string, proof: string) {
    const r = await h.issuer.app.inject({ method: "POST", url: "/credential", headers: { authorization: `Bearer ${accessToken}` }, payload: { credential_configuration_id: "CivilServantIdCredential", proofs: { jwt: [proof] } } });
    return { status: r.statusCode, body: r.json<Record<string, string>>() };
  }
  const wrongCode = (offer: Offer, i: number) => String((Number(offer.txCode) + 1 + i) % 100_000_000).padStart(8, "0");

  it("five wrong tx_codes spread over three pre-authorized codes of one link exhaust it: the right code is then refused on every code", async () => {
    const offer = await invited();
    const codes = [await preAuthorizedCode(offer), await preAuthorizedCode(offer), await preAuthorizedCode(offer)];
    const plan = [codes[0]!, codes[0]!, codes[1]!, codes[1]!, codes[2]!];
    const descriptions: string[] = [];
    for (const [i, code] of plan.entries()) {
      const r = await token(code, wrongCode(offer, i));
      expect(r.status).to.equal(400);
      expect(r.body.error).to.equal("invalid_grant");
      descriptions.push(r.body.error_description!);
    }
    expect(descriptions[0]).to.match(/4 attempt/);
    expect(descriptions[4]).to.match(/no attempts left/);
    for (const code of codes) expect((await token(code, offer.txCode)).body.error).to.equal("invalid_grant");
    // Minting a fresh code does not buy fresh attempts: the link itself is spent.
    expect((await h.issuer.app.inject({ method: "GET", url: offer.path })).statusCode).to.equal(410);
  });

  it("a tx_code guessed for one link is no use on another link's code (attempts and codes are per invitation)", async () => {
    const [a, b] = [await invited(), await invited()];
    const codeOfB = await preAuthorizedCode(b);
    if (a.txCode !== b.txCode) {
      const r = await token(codeOfB, a.txCode);
      expect(r.body.error).to.equal("invalid_grant");
      expect(r.body.error_description).to.match(/4 attempt/);
    }
    expect((await token(codeOfB, b.txCode)).status).to.equal(200);
  });

  it("a P-256 device key bound to one request cannot be bound to another under a respelt x (one key, one did:jwk): invalid_proof", async () => {
    const device = newDevice("P-256");
    const first = await invited();
    const firstToken = (await token(await preAuthorizedCode(first), first.txCode)).body.access_token!;
    const issued = await credential(firstToken, device.proof({ nonce: await nonce(), aud: BASE_URL }));
    expect(issued.status, JSON.stringify(issued.body)).to.equal(200);

    const second = await invited();
    const secondToken = (await token(await preAuthorizedCode(second), second.txCode)).body.access_token!;
    const x = device.publicJwk.x!;
    const respelt = { ...device.publicJwk, x: x.slice(0, -1) + ALPHABET[ALPHABET.indexOf(x[42]!) | 1] };
    expect(respelt.x).to.not.equal(x);
    const twin = await credential(secondToken, device.proof({ nonce: await nonce(), aud: BASE_URL }, { jwk: respelt }));
    expect(twin.status).to.equal(400);
    expect(twin.body.error).to.equal("invalid_proof");
    // The canonical spelling of the same key is refused for what it is: already bound to another request.
    const same = await credential(secondToken, device.proof({ nonce: await nonce(), aud: BASE_URL }));
    expect(same.status).to.equal(400);
    expect(same.body.error).to.equal("credential_request_denied");
    expect(same.body.error_description).to.match(/already used for another request/);
  });

  it("a proof whose jwk carries the private key (d) is refused: invalid_proof", async () => {
    const device = newDevice("secp256k1");
    const offer = await invited();
    const accessToken = (await token(await preAuthorizedCode(offer), offer.txCode)).body.access_token!;
    const withPrivate = { ...device.publicJwk, d: device.privateKey.export({ format: "jwk" }).d! };
    const refused = await credential(accessToken, device.proof({ nonce: await nonce(), aud: BASE_URL }, { jwk: withPrivate }));
    expect(refused.status).to.equal(400);
    expect(refused.body.error).to.equal("invalid_proof");
  });
});
