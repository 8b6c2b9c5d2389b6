import { createHash } from "node:crypto";
import { expect } from "chai";
import { ES256KSigner, createJWT, decodeJWT } from "did-jwt";
import fc from "fast-check";
import { Wallet, getBytes } from "ethers";
import {
  DOCUMENT_SIGNATURE_FORMAT,
  DOCUMENT_SIGNATURE_TYP,
  credentialDigest,
  documentDigest,
  holderDid,
  verifyDocumentSignature,
  type HolderWallet,
} from "../../../sdk/wallet/index.js";
import { signDocumentJwt } from "../../../sdk/wallet/document-signature.js";
import { CHAIN_ID, PIN, ScriptedGate, expectCode, issueCredential, newWallet, stubEthrResolver, tempDir, testIssuer } from "../helpers/wallet.js";

const STATUS_ID = "civil-id-status:31337:7658138174324737";
const DOCUMENT = new TextEncoder().encode("출장 신청서\n신청인: 홍길동\n기간: 2025-03-03 ~ 2025-03-05\n");

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

describe("document signatures", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let wallet: HolderWallet;
  let credential: string;
  const resolver = stubEthrResolver();

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    wallet = await newWallet(dir);
    credential = await issueCredential(testIssuer(), wallet.did, { statusId: STATUS_ID });
    await wallet.storeCredential(credential);
  });
  afterEach(async () => cleanup());

  it("binds the document's sha-256, the held credential and the signer, and verifies with a DID resolver", async () => {
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

    const result = await verifyDocumentSignature(signature.jwt, DOCUMENT, resolver, { credential: signature.credential });
    expect(result).to.deep.equal({
      valid: true,
      signer: wallet.did,
      signedAt: new Date(payload.iat! * 1000),
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
      const result = await verifyDocumentSignature(jwt, document, resolver);
      expect(result).to.deep.include({ valid: false, failure: "DOCUMENT_MISMATCH", signer: wallet.did });
    }
  });

  it("detects a forged signature: edited claims, another key claiming the DID, a rotated key", async () => {
    const { jwt } = await wallet.signDocument({ pin: PIN, document: DOCUMENT });
    const [header, payload, sig] = jwt.split(".") as [string, string, string];

    // Claims edited to point at another document, signature kept.
    const forgedDocument = new TextEncoder().encode("위조 문서");
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    claims.docsig.document = { alg: "sha-256", digest: documentDigest(forgedDocument), size: forgedDocument.length };
    const edited = `${header}.${b64url(claims)}.${sig}`;
    expect(await verifyDocumentSignature(edited, forgedDocument, resolver)).to.deep.include({ valid: false, failure: "INVALID_SIGNATURE" });

    // A well-formed signature made with another key that names the holder's DID as issuer.
    const impostor = new Wallet(Wallet.createRandom().privateKey);
    const impostorSignature = await signDocumentJwt({
      signerDid: wallet.did,
      signer: ES256KSigner(getBytes(impostor.privateKey)),
      credential,
      credentialStatusId: STATUS_ID,
      document: DOCUMENT,
      now: Math.floor(Date.now() / 1000),
    });
    expect(await verifyDocumentSignature(impostorSignature.jwt, DOCUMENT, resolver)).to.deep.include({
      valid: false,
      failure: "INVALID_SIGNATURE",
    });

    // The DID's controller was changed on chain (e.g. after a device change): the old key no longer speaks for it.
    const rotated = stubEthrResolver({ controllers: new Map([[wallet.did, impostor.address]]) });
    expect(await verifyDocumentSignature(jwt, DOCUMENT, rotated)).to.deep.include({ valid: false, failure: "INVALID_SIGNATURE" });
  });

  it("tells an unresolvable signer apart from a forgery", async () => {
    const { jwt } = await wallet.signDocument({ pin: PIN, document: DOCUMENT });
    const offline = stubEthrResolver({ unresolvable: new Set([wallet.did]) });
    expect(await verifyDocumentSignature(jwt, DOCUMENT, offline)).to.deep.include({ valid: false, failure: "UNRESOLVABLE_SIGNER" });
  });

  it("refuses JWTs that are not document signatures", async () => {
    const presentation = await wallet.createPresentation({ pin: PIN, challenge: "c", audience: "did:web:v" });
    const plainJwt = await createJWT({ docsig: { v: 1 } }, { issuer: wallet.did, signer: ES256KSigner(new Uint8Array(32).fill(7)), alg: "ES256K" });
    for (const jwt of [presentation, credential, plainJwt, "", "a.b.c", "not a jwt"]) {
      expect(await verifyDocumentSignature(jwt, DOCUMENT, resolver), jwt.slice(0, 20)).to.deep.include({ valid: false, failure: "MALFORMED" });
    }
  });

  it("refuses a signing time in the future; omits the status id when the credential has none", async () => {
    const key = new Wallet(Wallet.createRandom().privateKey);
    const future = await signDocumentJwt({
      signerDid: holderDid(CHAIN_ID, key.address),
      signer: ES256KSigner(getBytes(key.privateKey)),
      credential,
      credentialStatusId: undefined,
      document: DOCUMENT,
      now: Math.floor(Date.now() / 1000) + 3600,
    });
    expect(decodeJWT(future.jwt).payload["docsig"].credential).not.to.have.property("statusId");
    expect(await verifyDocumentSignature(future.jwt, DOCUMENT, resolver)).to.deep.include({ valid: false, failure: "INVALID_CLAIMS" });
    const later = Math.floor(Date.now() / 1000) + 3600;
    expect((await verifyDocumentSignature(future.jwt, DOCUMENT, resolver, { now: later })).valid).to.equal(true);
  });

  it("checks that a presented credential is the bound one and was issued to the signer", async () => {
    const { jwt } = await wallet.signDocument({ pin: PIN, document: DOCUMENT });
    const otherCredential = await issueCredential(testIssuer(), wallet.did, { statusId: STATUS_ID });
    expect(await verifyDocumentSignature(jwt, DOCUMENT, resolver, { credential: otherCredential })).to.deep.include({
      valid: false,
      failure: "CREDENTIAL_MISMATCH",
    });

    // A signer that binds someone else's credential by digest is caught by the subject check.
    const key = new Wallet(Wallet.createRandom().privateKey);
    const stolen = await signDocumentJwt({
      signerDid: holderDid(CHAIN_ID, key.address),
      signer: ES256KSigner(getBytes(key.privateKey)),
      credential,
      credentialStatusId: STATUS_ID,
      document: DOCUMENT,
      now: Math.floor(Date.now() / 1000),
    });
    expect(await verifyDocumentSignature(stolen.jwt, DOCUMENT, resolver)).to.deep.include({ valid: true });
    expect(await verifyDocumentSignature(stolen.jwt, DOCUMENT, resolver, { credential })).to.deep.include({
      valid: false,
      failure: "CREDENTIAL_MISMATCH",
    });
  });

  it("needs the PIN, the gate and a credential; refuses bad input before prompting", async () => {
    const gate = new ScriptedGate(false);
    const gated = await newWallet(dir, { name: "gated.json", biometricGate: gate });
    await expectCode(gated.signDocument({ pin: PIN, document: DOCUMENT }), "NO_CREDENTIAL");
    await gated.storeCredential(await issueCredential(testIssuer(), gated.did));
    await expectCode(gated.signDocument({ pin: PIN, document: "text" as unknown as Uint8Array }), "INVALID_INPUT");
    await expectCode(gated.signDocument({ pin: PIN, document: DOCUMENT, purpose: "" }), "INVALID_INPUT");
    await expectCode(gated.signDocument({ pin: PIN, document: DOCUMENT, purpose: "x".repeat(257) }), "INVALID_INPUT");
    expect(gate.reasons).to.deep.equal([]);
    await expectCode(gated.signDocument({ pin: PIN, document: DOCUMENT }), "BIOMETRIC_REFUSED");
    gate.answer = true;
    await expectCode(gated.signDocument({ pin: "730461", document: DOCUMENT }), "WRONG_PIN");
    const { jwt } = await gated.signDocument({ pin: PIN, document: DOCUMENT });
    expect((await verifyDocumentSignature(jwt, DOCUMENT, resolver)).valid).to.equal(true);
  });

  it("property: a signature verifies for its document and for no other", async function () {
    this.timeout(60_000);
    const key = new Wallet(Wallet.createRandom().privateKey);
    const signerDid = holderDid(CHAIN_ID, key.address);
    const signer = ES256KSigner(getBytes(key.privateKey));
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 256 }), fc.uint8Array({ maxLength: 256 }), async (document, other) => {
        const { jwt } = await signDocumentJwt({ signerDid, signer, credential, credentialStatusId: STATUS_ID, document, now: Math.floor(Date.now() / 1000) });
        const own = await verifyDocumentSignature(jwt, document, resolver);
        const foreign = await verifyDocumentSignature(jwt, other, resolver);
        const same = Buffer.from(document).equals(Buffer.from(other));
        return own.valid && foreign.valid === same && (same || (!foreign.valid && foreign.failure === "DOCUMENT_MISMATCH"));
      }),
      { numRuns: 60 },
    );
  });
});
