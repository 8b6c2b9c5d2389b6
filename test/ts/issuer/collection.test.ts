import { expect } from "chai";
import path from "node:path";
import { Wallet } from "ethers";
import { issuanceEnv, eSaramExport, hrRow, type IssuanceEnv } from "../helpers/issuance.js";
import { COLLECTION_PREFIX, COLLECTION_TTL_MS, checkCollectionSignature, collectionMessage, type CollectionChallenge } from "../../../sdk/protocol/collection.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { isCivilIdError, type ErrorCode } from "../../../sdk/errors.js";
import { HolderWallet, TEST_ONLY_SCRYPT } from "../../../sdk/wallet/index.js";
import type { IssuanceWorkflow } from "../../../sdk/issuer/workflow.js";

const PIN = "482915";

async function refusal(fn: () => unknown, code: ErrorCode): Promise<{ message: string; reason: unknown }> {
  try {
    await fn();
  } catch (error) {
    if (!isCivilIdError(error, code)) throw error;
    return { message: error.message, reason: error.details?.reason };
  }
  throw new Error(`expected ${code}`);
}

describe("issuer/collection: the activated device collects its issued credential", function () {
  this.timeout(60_000);
  const id = "e-saram:REQ-0001";
  let env: IssuanceEnv;
  let wf: IssuanceWorkflow;
  let wallet: HolderWallet;

  beforeEach(async () => {
    env = await issuanceEnv();
    wf = await env.workflow();
    await wf.importRequests("e-saram", eSaramExport([hrRow()]), "hr-batch");
    await env.toInvited(wf, id);
    wallet = await HolderWallet.create(path.join(env.dir, "phone.json"), { pin: PIN, chainId: env.chainId, scrypt: TEST_ONLY_SCRYPT });
    const { token, code } = env.sms.invitation(id);
    await wf.activate({ token, code, ...(await wallet.activationProof({ pin: PIN, challenge: await wf.activationChallenge(token) })) });
  });
  afterEach(async () => {
    await wf.close();
    env.cleanup();
  });

  it("hands the issued credential to the wallet that proves its key, and again on a later collection", async () => {
    expect((await refusal(() => wf.collectionChallenge(wallet.did), "INVALID_WORKFLOW_STATE")).message).to.match(/is activated; credential collection needs issued\. Next step: issue/);
    const issued = await wf.issue(id);

    const challenge = await wf.collectionChallenge(wallet.did);
    expect(challenge).to.deep.include({ chainId: env.chainId, requestId: id });
    expect(challenge.challenge).to.match(/^0x[0-9a-f]{64}$/);
    expect(Date.parse(challenge.expiresAt)).to.equal(env.clock.ms + COLLECTION_TTL_MS);
    const proof = await wallet.collectionProof({ pin: PIN, challenge });
    const collected = await wf.collectCredential({ ...proof, challenge });
    expect(collected).to.deep.equal({ requestId: id, credentialId: issued.credentialId, credentialJwt: issued.credentialJwt });
    await wallet.storeCredential(collected.credentialJwt);
    expect((await wallet.credential())).to.equal(issued.credentialJwt);
    expect((await wf.audit(id)).at(-1)).to.deep.include({ action: "credential-collected", actor: "device", from: "issued", to: "issued" });
    expect((await wf.get(id)).state).to.equal("issued");

    env.clock.advance(3600);
    const later = await wf.collectionChallenge(wallet.did);
    expect(later.challenge).to.not.equal(challenge.challenge);
    expect((await wf.collectCredential({ ...(await wallet.collectionProof({ pin: PIN, challenge: later })), challenge: later })).credentialJwt).to.equal(issued.credentialJwt);
  });

  it("refuses, and audits, a proof by another key, a forged or foreign challenge and an expired one", async () => {
    await wf.issue(id);
    const challenge = await wf.collectionChallenge(wallet.did);
    const { signature } = await wallet.collectionProof({ pin: PIN, challenge });
    const other = Wallet.createRandom();
    const attempts: [CollectionChallenge, string, string][] = [
      [challenge, await other.signMessage(collectionMessage(challenge, wallet.did)), "BAD_SIGNATURE"],
      [challenge, "0x1234", "BAD_SIGNATURE"],
      [{ ...challenge, expiresAt: new Date(Date.parse(challenge.expiresAt) + 3_600_000).toISOString() }, signature, "BAD_CHALLENGE"],
      [{ ...challenge, challenge: "0x" + "ab".repeat(32) }, signature, "BAD_CHALLENGE"],
      [{ ...challenge, requestId: "e-saram:REQ-9999" }, signature, "BAD_CHALLENGE"],
      [{ ...challenge, challenge: "not hex" }, signature, "BAD_CHALLENGE"],
    ];
    for (const [c, s, reason] of attempts) {
      expect((await refusal(() => wf.collectCredential({ did: wallet.did, challenge: c, signature: s }), "NOT_AUTHORISED")).reason, reason).to.equal(reason);
    }
    env.clock.advance(COLLECTION_TTL_MS / 1000);
    expect((await refusal(() => wf.collectCredential({ did: wallet.did, challenge, signature }), "NOT_AUTHORISED")).reason).to.equal("EXPIRED");
    const refusals = (await wf.audit(id)).filter((a) => a.action === "collection-refused").map((a) => a.details.reason);
    expect(refusals).to.deep.equal(["BAD_SIGNATURE", "BAD_SIGNATURE", "BAD_CHALLENGE", "BAD_CHALLENGE", "BAD_CHALLENGE", "BAD_CHALLENGE", "EXPIRED"]);
    expect((await wf.audit(id)).some((a) => a.action === "credential-collected")).to.equal(false);
  });

  it("knows only devices that activated one of its requests", async () => {
    await wf.issue(id);
    const stranger = didForAddress(env.chainId, Wallet.createRandom().address);
    expect((await refusal(() => wf.collectionChallenge(stranger), "REQUEST_NOT_FOUND")).message).to.match(/No request of organisation 1741000 was activated/);
    expect((await refusal(() => wf.collectionChallenge(didForAddress(1, wallet.address)), "INVALID_INPUT")).message).to.match(/not on chain 31337/);
    expect((await refusal(() => wf.collectionChallenge("did:web:example.org"), "INVALID_INPUT")).message).to.match(/not a did:ethr DID/);
    // A challenge made for this device does not let another DID collect.
    const challenge = await wf.collectionChallenge(wallet.did);
    expect(await refusal(() => wf.collectCredential({ did: stranger, challenge, signature: "0x" + "00".repeat(65) }), "REQUEST_NOT_FOUND")).to.exist;
  });

  it("the wallet checks the challenge before asking for the PIN", async () => {
    await wf.issue(id);
    const challenge = await wf.collectionChallenge(wallet.did);
    for (const bad of [{ ...challenge, chainId: 1 }, { ...challenge, challenge: "0x12" }, { ...challenge, expiresAt: "soon" }]) {
      let code: string | undefined;
      try {
        await wallet.collectionProof({ pin: PIN, challenge: bad });
      } catch (error) {
        code = isCivilIdError(error) ? error.code : String(error);
      }
      expect(code).to.equal("INVALID_INPUT");
    }
    let wrong: string | undefined;
    try {
      await wallet.collectionProof({ pin: "135802", challenge });
    } catch (error) {
      wrong = isCivilIdError(error) ? error.code : String(error);
    }
    expect(wrong).to.equal("WRONG_PIN");
    expect((await wallet.status()).failedAttempts).to.equal(1);
  });
});

describe("issuer/collection: the signed message", () => {
  it("names the chain, request, subject, challenge and expiry, and only the DID's key satisfies it", async () => {
    const device = Wallet.createRandom();
    const did = didForAddress(31337, device.address);
    const c: CollectionChallenge = { chainId: 31337, requestId: "insarang:R-1", challenge: "0x" + "cd".repeat(32), expiresAt: "2026-01-05T00:05:00.000Z" };
    expect(collectionMessage(c, did).split("\n")).to.deep.equal([
      COLLECTION_PREFIX, "chain: 31337", "request: insarang:R-1", `subject: ${did}`, `challenge: ${c.challenge}`, "expires: 2026-01-05T00:05:00.000Z",
    ]);
    const signature = await device.signMessage(collectionMessage(c, did));
    expect(checkCollectionSignature(c, did, signature)).to.equal(null);
    expect(checkCollectionSignature(c, "did:key:z6Mk", signature)).to.equal("MALFORMED_DID");
    expect(checkCollectionSignature(c, didForAddress(5, device.address), signature)).to.equal("WRONG_CHAIN");
    expect(checkCollectionSignature({ ...c, expiresAt: "2026-01-05T00:06:00.000Z" }, did, signature)).to.equal("BAD_SIGNATURE");
    expect(checkCollectionSignature(c, did, 42)).to.equal("BAD_SIGNATURE");
  });
});
