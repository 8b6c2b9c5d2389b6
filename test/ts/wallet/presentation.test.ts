import { expect } from "chai";
import { decodeJWT } from "did-jwt";
import { verifyCredential, verifyPresentation } from "did-jwt-vc";
import type { HolderWallet } from "../../../sdk/wallet/index.js";
import { OTHER_PIN, PIN, expectCode, issueCredential, newWallet, stubEthrResolver, tempDir, testIssuer } from "../helpers/wallet.js";

const VERIFIER = "did:web:gate.mois.go.kr";

describe("holder wallet presentations", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let wallet: HolderWallet;
  let credential: string;
  const resolver = stubEthrResolver();

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    wallet = await newWallet(dir);
    credential = await issueCredential(testIssuer(), wallet);
    await wallet.storeCredential(credential);
  });
  afterEach(async () => cleanup());

  it("presents the held credential: holder, nonce, aud, iat/nbf/exp, verified by did-jwt-vc", async () => {
    const jwt = await wallet.createPresentation({ pin: PIN, challenge: "8f1c2b7e-challenge", audience: VERIFIER });
    const verified = await verifyPresentation(jwt, resolver, { challenge: "8f1c2b7e-challenge", domain: VERIFIER });
    expect(verified.verified).to.equal(true);
    expect(verified.issuer).to.equal(wallet.did);
    expect(verified.signer.blockchainAccountId).to.equal(`eip155:31337:${wallet.address}`);

    const payload = verified.payload;
    expect(payload).to.include({ iss: wallet.did, nonce: "8f1c2b7e-challenge", aud: VERIFIER });
    expect(payload.nbf).to.equal(payload.iat);
    expect(payload.exp! - payload.iat!).to.equal(60);
    expect(Math.abs(payload.iat! - Date.now() / 1000)).to.be.below(5);
    expect(decodeJWT(jwt).header).to.include({ alg: "ES256K" });
    expect(payload["vp"].verifiableCredential).to.deep.equal([credential]);
    expect(verified.verifiablePresentation.holder).to.equal(wallet.did);

    // The embedded credential is the issuer's, intact.
    const inner = await verifyCredential(verified.verifiablePresentation.verifiableCredential![0]!.proof.jwt, resolver);
    expect(inner.payload.sub).to.equal(wallet.did);
  });

  it("is refused by a verifier with another challenge, another audience, or after it expires", async () => {
    const jwt = await wallet.createPresentation({ pin: PIN, challenge: "c-1", audience: VERIFIER, expiresInSeconds: 30 });
    const { payload } = decodeJWT(jwt);
    expect(payload.exp! - payload.iat!).to.equal(30);
    await expectRejection(verifyPresentation(jwt, resolver, { challenge: "c-2", domain: VERIFIER }), /challenge/);
    await expectRejection(verifyPresentation(jwt, resolver, { challenge: "c-1", domain: "did:web:other.example" }), /audience|domain/);
    await expectRejection(
      verifyPresentation(jwt, resolver, { challenge: "c-1", domain: VERIFIER, policies: { now: payload.exp! + 301 } }),
      /expired/,
    );
  });

  it("allows lifetimes up to 300 seconds and refuses bad requests without spending a PIN attempt", async () => {
    const jwt = await wallet.createPresentation({ pin: PIN, challenge: "c", audience: VERIFIER, expiresInSeconds: 300 });
    const { payload } = decodeJWT(jwt);
    expect(payload.exp! - payload.iat!).to.equal(300);

    const bad = [
      { challenge: "", audience: VERIFIER },
      { challenge: "   ", audience: VERIFIER },
      { challenge: "c", audience: "" },
      { challenge: "c", audience: " \t" },
      { challenge: "line\nbreak", audience: VERIFIER },
      { challenge: "x".repeat(513), audience: VERIFIER },
      { challenge: "c", audience: VERIFIER, expiresInSeconds: 301 },
      { challenge: "c", audience: VERIFIER, expiresInSeconds: 0 },
      { challenge: "c", audience: VERIFIER, expiresInSeconds: 1.5 },
    ];
    for (const request of bad) await expectCode(wallet.createPresentation({ pin: OTHER_PIN, ...request }), "INVALID_INPUT");
    expect((await wallet.status()).failedAttempts).to.equal(0);
  });

  it("needs the right PIN and a held credential", async () => {
    const error = await expectCode(wallet.createPresentation({ pin: OTHER_PIN, challenge: "c", audience: VERIFIER }), "WRONG_PIN");
    expect(error.details).to.deep.include({ attemptsLeft: 4 });
    const empty = await newWallet(dir, { name: "empty.json" });
    await expectCode(empty.createPresentation({ pin: PIN, challenge: "c", audience: VERIFIER }), "NO_CREDENTIAL");
  });
});

async function expectRejection(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    expect((error as Error).message).to.match(message);
    return;
  }
  expect.fail("expected the verifier to refuse");
}
