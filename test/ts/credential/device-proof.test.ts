/** P-256 devices prove possession of their key at activation and collection with an ES256 JWS over the same message. */
import { generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import { p256DeviceKeyJwk } from "../../../sdk/credential/index.js";
import { didJwkFor } from "../../../sdk/did/jwk.js";
import { activationMessage, checkPossessionProofJws, collectionMessage, es256Signer, es256kSigner, signPossessionProof } from "../../../sdk/protocol/index.js";
import { flipSignatureBit } from "../helpers/forge.js";

describe("P-256 possession proofs (activation and collection)", () => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = p256DeviceKeyJwk(privateKey);
  const did = didJwkFor(jwk);
  const challenge = { chainId: 2026, requestId: "ES-2026-000123", challenge: "0x" + "ab".repeat(32) };

  it("accepts the device's ES256 proof over the activation and the collection message and returns its key", async () => {
    const activation = activationMessage(challenge, did);
    expect(checkPossessionProofJws(activation, did, await signPossessionProof(activation, es256Signer(privateKey)))).to.deep.equal({ failure: null, jwk });
    const collection = collectionMessage({ ...challenge, expiresAt: "2026-12-01T12:00:00.000Z" }, did);
    expect(checkPossessionProofJws(collection, did, await signPossessionProof(collection, es256Signer(privateKey))).failure).to.equal(null);
  });

  it("refuses another key, another message, a tampered proof, a non-canonical did:jwk, and secp256k1 signers", async () => {
    const message = activationMessage(challenge, did);
    const other = es256Signer(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey);
    expect(checkPossessionProofJws(message, did, await signPossessionProof(message, other)).failure).to.equal("BAD_SIGNATURE");
    const forOther = activationMessage({ ...challenge, requestId: "ES-2026-000999" }, did);
    expect(checkPossessionProofJws(message, did, await signPossessionProof(forOther, es256Signer(privateKey))).failure).to.equal("WRONG_MESSAGE");
    const genuine = await signPossessionProof(message, es256Signer(privateKey));
    expect(checkPossessionProofJws(message, did, flipSignatureBit(genuine)).failure).to.equal("BAD_SIGNATURE");
    expect(checkPossessionProofJws(message, did, "junk").failure).to.equal("MALFORMED_PROOF");
    const reordered = "did:jwk:" + Buffer.from(JSON.stringify({ kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y })).toString("base64url");
    expect(checkPossessionProofJws(message, reordered, genuine).failure).to.equal("MALFORMED_DID");
    expect(() => signPossessionProof(message, es256kSigner("0x" + "11".repeat(32)))).to.throw(/P-256/);
  });
});
