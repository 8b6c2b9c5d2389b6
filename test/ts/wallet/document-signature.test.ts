import { createHash } from "node:crypto";
import { expect } from "chai";
import { decodeJWT } from "did-jwt";
import fc from "fast-check";
import { Wallet } from "ethers";
import {
  DOCUMENT_SIGNATURE_FORMAT,
  DOCUMENT_SIGNATURE_TYP,
  credentialDigest,
  documentDigest,
  verifyDocumentSignature,
  type HolderWallet,
} from "../../../sdk/wallet/index.js";
import { signDocumentJwt } from "../../../sdk/protocol/document-signature.js";
import { es256kSigner } from "../../../sdk/protocol/signers.js";
import { makeCredentialId } from "../../../sdk/chain/codes.js";
import { PIN, ScriptedGate, deviceSigningKey, expectCode, issueCredential, newWallet, statusIdOf, tempDir, testIssuer } from "../helpers/wallet.js";
import { withHighS } from "../helpers/forge.js";

const CREDENTIAL_ID = makeCredentialId(1741000, 7n);
const STATUS_ID = statusIdOf(CREDENTIAL_ID);
const DOCUMENT = new TextEncoder().encode("출장 신청서\n신청인: 홍길동\n기간: 2025-03-03 ~ 2025-03-05\n");

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("document signatures", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let wallet: HolderWallet;
  let credential: string;
  const now = () => Math.floor(Date.now() / 1000);

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    wallet = await newWallet(dir);
    credential = await issueCredential(testIssuer(), wallet, { credentialId: CREDENTIAL_ID });
    await wallet.storeCredential(credential);
  });
  afterEach(async () => cleanup());

  it("binds the document's sha-256, the held credential, the signer and the purpose; verifies with the attested device key", async () => {
    const signature = await wallet.signDocument({ pin: PIN, document: DOCUMENT, purpose: "결재" });
    expect(signature).to.deep.include({ format: DOCUMENT_SIGNATURE_FORMAT, version: 1, credential });

    const { header, payload } = decodeJWT(signature.jwt);
    expect(header).to.include({ alg: "ES256K", typ: DOCUMENT_SIGNATURE_TYP });
    const sha256Hex = createHash("sha256").update(DOCUMENT).digest("hex");
    expect(payload["docsig"]).to.deep.equal({
      v: 1,
      document: { alg: "sha-256", digest: sha256Hex, size: DOCUMENT.length },
      credential: { alg: "sha-256", digest: createHash("sha256").update(credential).digest("hex"), statusId: STATUS_ID },
      purpose: "결재",
    });

    expect(verifyDocumentSignature(signature.jwt, DOCUMENT, signature.credential)).to.deep.equal({
      valid: true,
      signer: wallet.did,
      claimedSignedAt: new Date(payload.iat! * 1000), // the signer's claim; the signing time comes from an anchor
      document: { alg: "sha-256", digest: sha256Hex, size: DOCUMENT.length },
      credential: { digest: credentialDigest(credential), statusId: STATUS_ID },
      purpose: "결재",
    });
    expect(Math.abs(payload.iat! - Date.now() / 1000)).to.be.below(5);
  });

  it("detects an altered, truncated or extended document", async () => {
    const { jwt } = await wallet.signDocument({ pin: PIN, document: DOCUMENT });
    const altered = DOCUMENT.slice();
    altered[altered.length - 2] = altered[altered.length - 2]! ^ 0x01;
    for (const document of [altered, DOCUMENT.slice(0, -1), new Uint8Array([...DOCUMENT, 0x0a]), new Uint8Array()]) {
      expect(verifyDocumentSignature(jwt, document, credential)).to.deep.include({ valid: false, failure: "DOCUMENT_MISMATCH", signer: wallet.did });
    }
  });

  it("detects a forged signature: edited claims, another key claiming the holder's DID, the high-s twin", async () => {
    const { jwt } = await wallet.signDocument({ pin: PIN, document: DOCUMENT, purpose: "결재" });
    const [header, payload, sig] = jwt.split(".") as [string, string, string];

    // Claims edited to point at another document, or to another purpose, signature kept.
    const forgedDocument = new TextEncoder().encode("위조 문서");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    claims.docsig.document = { alg: "sha-256", digest: documentDigest(forgedDocument), size: forgedDocument.length };
    expect(verifyDocumentSignature(`${header}.${b64url(claims)}.${sig}`, forgedDocument, credential)).to.deep.include({ valid: false, failure: "INVALID_SIGNATURE" });
    const receipt = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    receipt.docsig.purpose = "열람 확인";
    expect(verifyDocumentSignature(`${header}.${b64url(receipt)}.${sig}`, DOCUMENT, credential)).to.deep.include({ valid: false, failure: "INVALID_SIGNATURE" });

    // A well-formed signature made with another key (e.g. a veriKey delegate of the device key in the DID
    // registry) that names the holder's DID: only the attested device key speaks for the holder.
    const delegate = Wallet.createRandom();
    const impostor = await signDocumentJwt({
      signerDid: wallet.did, signer: es256kSigner(delegate.privateKey), credential, credentialStatusId: STATUS_ID, document: DOCUMENT, now: now(),
    });
    expect(verifyDocumentSignature(impostor.jwt, DOCUMENT, credential)).to.deep.include({ valid: false, failure: "INVALID_SIGNATURE" });

    // The malleable twin (r, n − s) of the genuine signature is refused (did-jwt alone would accept it).
    expect(verifyDocumentSignature(withHighS(jwt), DOCUMENT, credential)).to.deep.include({ valid: false, failure: "MALFORMED" });
  });

  it("refuses JWTs that are not document signatures", async () => {
    const presentation = await wallet.createPresentation({ pin: PIN, challenge: "c", audience: "did:web:v" });
    const key = await deviceSigningKey(wallet);
    const { signJws } = await import("../../../sdk/credential/jws.js");
    const untyped = await signJws({ typ: "JWT" }, { iss: wallet.did, iat: now(), docsig: { v: 1 } }, es256kSigner(key));
    for (const jwt of [presentation, credential, untyped, "", "a.b.c", "not a jwt", "x".repeat(5000)]) {
      expect(verifyDocumentSignature(jwt, DOCUMENT, credential), jwt.slice(0, 20)).to.deep.include({ valid: false, failure: "MALFORMED" });
    }
  });

  it("refuses a signing time in the future; omits the status id when the signer gives none", async () => {
    const key = await deviceSigningKey(wallet);
    const future = await signDocumentJwt({
      signerDid: wallet.did, signer: es256kSigner(key), credential, credentialStatusId: undefined, document: DOCUMENT, now: now() + 3600,
    });
    expect(decodeJWT(future.jwt).payload["docsig"].credential).not.to.have.property("statusId");
    expect(verifyDocumentSignature(future.jwt, DOCUMENT, credential)).to.deep.include({ valid: false, failure: "INVALID_CLAIMS" });
    expect(verifyDocumentSignature(future.jwt, DOCUMENT, credential, { now: now() + 3600 }).valid).to.equal(true);
  });

  it("checks that the credential is the bound one and was issued to the signer", async () => {
    const { jwt } = await wallet.signDocument({ pin: PIN, document: DOCUMENT });
    const otherCredential = await issueCredential(testIssuer(), wallet, { credentialId: CREDENTIAL_ID });
    expect(verifyDocumentSignature(jwt, DOCUMENT, otherCredential)).to.deep.include({ valid: false, failure: "CREDENTIAL_MISMATCH" });
    expect(verifyDocumentSignature(jwt, DOCUMENT, "not a credential")).to.deep.include({ valid: false, failure: "CREDENTIAL_MISMATCH" });

    // A signer that binds someone else's credential by digest, with its own DID and key, is caught by the subject check.
    const key = Wallet.createRandom();
    const stolen = await signDocumentJwt({
      signerDid: `did:ethr:0x7a69:${key.address}`, signer: es256kSigner(key.privateKey), credential, credentialStatusId: STATUS_ID, document: DOCUMENT, now: now(),
    });
    expect(verifyDocumentSignature(stolen.jwt, DOCUMENT, credential)).to.deep.include({ valid: false, failure: "CREDENTIAL_MISMATCH" });
  });

  it("needs the PIN, the gate and a credential; refuses bad input before prompting", async () => {
    const gate = new ScriptedGate(false);
    const gated = await newWallet(dir, { name: "gated.json", biometricGate: gate });
    await expectCode(gated.signDocument({ pin: PIN, document: DOCUMENT }), "NO_CREDENTIAL");
    const held = await issueCredential(testIssuer(), gated);
    await gated.storeCredential(held);
    await expectCode(gated.signDocument({ pin: PIN, document: "text" as unknown as Uint8Array }), "INVALID_INPUT");
    await expectCode(gated.signDocument({ pin: PIN, document: DOCUMENT, purpose: "" }), "INVALID_INPUT");
    await expectCode(gated.signDocument({ pin: PIN, document: DOCUMENT, purpose: "x".repeat(257) }), "INVALID_INPUT");
    await expectCode(gated.signDocument({ pin: PIN, document: DOCUMENT, purpose: "결재\u0007" }), "INVALID_INPUT");
    expect(gate.reasons).to.deep.equal([]);
    await expectCode(gated.signDocument({ pin: PIN, document: DOCUMENT }), "BIOMETRIC_REFUSED");
    gate.answer = true;
    await expectCode(gated.signDocument({ pin: "730461", document: DOCUMENT }), "WRONG_PIN");
    const { jwt } = await gated.signDocument({ pin: PIN, document: DOCUMENT });
    expect(verifyDocumentSignature(jwt, DOCUMENT, held).valid).to.equal(true);
  });

  it("property: a signature verifies for its document and for no other", async function () {
    this.timeout(60_000);
    const signer = es256kSigner(await deviceSigningKey(wallet));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), fc.uint8Array({ maxLength: 256 }), async (document, other) => {
        const { jwt } = await signDocumentJwt({ signerDid: wallet.did, signer, credential, credentialStatusId: STATUS_ID, document, now: now() });
        const own = verifyDocumentSignature(jwt, document, credential);
        const foreign = verifyDocumentSignature(jwt, other, credential);
        const same = Buffer.from(document).equals(Buffer.from(other));
        return own.valid && foreign.valid === same && (same || (!foreign.valid && foreign.failure === "DOCUMENT_MISMATCH"));
      }),
      { numRuns: 60 },
    );
  });
});
