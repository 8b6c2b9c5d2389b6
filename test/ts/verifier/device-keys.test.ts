/**
 * Holder binding with the device key the issuer attested, for both device-key curves: ES256K (secp256k1, did:ethr
 * holder) and ES256 (P-256, did:jwk holder — what Secure Enclave, StrongBox, WebCrypto and WebAuthn make). The same
 * refusal tests run for both: tampered, foreign-key and high-s presentations and document signatures, algorithm
 * confusion; and a DID-registry veriKey delegate of the device key signs neither.
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { expect } from "chai";
import { Wallet } from "ethers";
import { civilIdWorld, claimsFor, HOLDER_SECRET } from "../helpers/world.js";
import { b64json, decodePart, flipSignatureBit, parts, withPart } from "../helpers/forge.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import { ChallengeRegistry } from "../../../sdk/verifier/challenges.js";
import { PresentationVerifier, type VerificationAuditRecord, type VerificationResult } from "../../../sdk/verifier/verifier.js";
import { acceptingUnanchoredSignatures, POLICIES } from "../../../sdk/verifier/policies.js";
import { deviceKeyJwk, draftCredential, p256DeviceKeyJwk, parseCredentialJwt, signCredential, type DeviceKeyJwk, type JwsSigner } from "../../../sdk/credential/index.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { didJwkFor, parseDidJwk } from "../../../sdk/did/jwk.js";
import { es256Signer, es256kSigner, signDocumentJwt, signPresentation } from "../../../sdk/protocol/index.js";
import { encodeDidAttributeName } from "../../../sdk/did/signed-writes.js";

type World = Awaited<ReturnType<typeof civilIdWorld>>;

const AUD = "gate:sejong-complex-1";
const ORDER = { ES256K: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n, ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n };

interface Device {
  readonly curve: "ES256K" | "ES256";
  readonly did: string;
  readonly jwk: DeviceKeyJwk;
  readonly signer: JwsSigner;
  /** Another key of the same curve (a thief, or a veriKey delegate). */
  readonly other: JwsSigner;
}

function secp256k1Device(chainId: number): Device & { wallet: Wallet } {
  const wallet = new Wallet(Wallet.createRandom().privateKey);
  return { curve: "ES256K", did: didForAddress(chainId, wallet.address), jwk: deviceKeyJwk(wallet.signingKey.publicKey), signer: es256kSigner(wallet.privateKey), other: es256kSigner(Wallet.createRandom().privateKey), wallet };
}

function p256Device(): Device & { privateKey: KeyObject } {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = p256DeviceKeyJwk(privateKey);
  return { curve: "ES256", did: didJwkFor(jwk), jwk, signer: es256Signer(privateKey), other: es256Signer(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey), privateKey };
}

function highS(jws: string, curve: "ES256K" | "ES256"): string {
  const sig = Buffer.from(parts(jws)[2], "base64url");
  const s = BigInt("0x" + sig.subarray(32).toString("hex"));
  const twin = Buffer.from((ORDER[curve] - s).toString(16).padStart(64, "0"), "hex");
  return withPart(jws, 2, Buffer.concat([sig.subarray(0, 32), twin]).toString("base64url"));
}

function expectRefused(result: VerificationResult, reasons: readonly string[]): void {
  expect(result.reasons, result.details.join(" | ")).to.deep.equal(reasons);
  expect(result.ok).to.equal(false);
}

function expectAccepted(result: VerificationResult): void {
  expect(result.reasons, result.details.join(" | ")).to.deep.equal([]);
  expect(result.ok).to.equal(true);
}

describe("device keys: ES256K and ES256 (P-256) holder binding", function () {
  let w: World;
  let audited: VerificationAuditRecord[];

  before(async () => {
    w = await civilIdWorld();
  });

  const verifier = () => {
    audited = [];
    return new PresentationVerifier({ ledger: new OnlineLedgerView(w.ledger, w.provider), challenges: new ChallengeRegistry(), audit: (r) => audited.push(r) });
  };

  async function issue(device: Device, personId: string): Promise<{ jwt: string; credentialId: bigint }> {
    const t = (await w.provider.getBlock("latest"))!.timestamp;
    const draft = draftCredential(w.issuer, {
      chainId: w.chainId, statusRegistry: w.ledger.deployment.statusRegistry, holderDid: device.did, deviceKey: device.jwk,
      claims: claimsFor("홍길동"), issuedAt: t, validUntil: t + 86_400 * 365,
    });
    const { credentialId } = await w.registrar.register(holderReference(HOLDER_SECRET, personId), draft.digest);
    return { jwt: await signCredential(w.issuer, draft, credentialId), credentialId };
  }

  async function present(v: PresentationVerifier, credential: string, device: Device, options: { signer?: JwsSigner; edit?: (vp: string) => string } = {}) {
    const challenge = v.issueChallenge();
    const vp = await signPresentation({ holder: device.did, signer: options.signer ?? device.signer, credential, challenge, audience: AUD, now: Math.floor(Date.now() / 1000) });
    return v.verify(options.edit ? options.edit(vp) : vp, { challenge, audience: AUD, policy: POLICIES.buildingGate });
  }

  const DOC = new TextEncoder().encode("출장 신청서: 2026-12-01 세종→서울");
  async function signDoc(credential: string, device: Device, signer = device.signer, purpose = "결재") {
    return (await signDocumentJwt({ signerDid: device.did, signer, credential, credentialStatusId: undefined, document: DOC, purpose, now: Math.floor(Date.now() / 1000) })).jwt;
  }
  const checkDoc = (v: PresentationVerifier, signature: string, credential: string, document = DOC) =>
    v.verifySignedDocument({ signature, document, credential, policy: acceptingUnanchoredSignatures(POLICIES.documentSignature) });

  for (const [label, make] of [["ES256K (secp256k1, did:ethr)", () => secp256k1Device(31337)], ["ES256 (P-256, did:jwk)", () => p256Device()]] as const) {
    describe(label, () => {
      let device: Device;
      let credential: { jwt: string; credentialId: bigint };
      before(async () => {
        device = make();
        credential = await issue(device, `person-${device.curve}`);
      });

      it("issues a credential binding the device key as a JWK in credentialSubject.deviceKey, for the right holder DID", () => {
        const parsed = parseCredentialJwt(credential.jwt);
        expect(parsed.deviceKey).to.deep.equal(device.jwk);
        expect(parsed.deviceAlgorithm).to.equal(device.curve);
        expect(parsed.subjectDid).to.equal(device.did);
        if (device.curve === "ES256") expect(parseDidJwk(device.did)).to.deep.equal(device.jwk);
      });

      it("accepts a presentation signed with the attested key; the audit hook gets the identifiers the result withholds", async () => {
        const r = await present(verifier(), credential.jwt, device);
        expectAccepted(r);
        expect(r).to.not.have.any.keys("credentialId", "holder");
        expect(r.organisation).to.deep.equal({ agencyCode: 1741000, name: "행정안전부" });
        expect(audited).to.have.length(1);
        expect(audited[0]).to.deep.include({ kind: "presentation", ok: true, holder: device.did, credentialId: credential.credentialId.toString(), agencyCode: 1741000 });
      });

      it("refuses a presentation signed by another key of the same curve, tampered, high-s, or under another algorithm", async () => {
        expectRefused(await present(verifier(), credential.jwt, device, { signer: device.other }), ["BAD_PRESENTATION_SIGNATURE"]);
        expectRefused(await present(verifier(), credential.jwt, device, { edit: flipSignatureBit }), ["BAD_PRESENTATION_SIGNATURE"]);
        expectRefused(await present(verifier(), credential.jwt, device, { edit: (vp) => highS(vp, device.curve) }), ["BAD_PRESENTATION_SIGNATURE"]);
        const otherAlg = device.curve === "ES256" ? "ES256K" : "ES256";
        const confused = (vp: string) => withPart(vp, 0, b64json({ ...decodePart(parts(vp)[0]), alg: otherAlg }));
        expectRefused(await present(verifier(), credential.jwt, device, { edit: confused }), ["ALGORITHM_NOT_ALLOWED"]);
        const moreTime = (vp: string) => withPart(vp, 1, b64json({ ...decodePart(parts(vp)[1]), exp: Math.floor(Date.now() / 1000) + 50 }));
        expectRefused(await present(verifier(), credential.jwt, device, { edit: moreTime }), ["BAD_PRESENTATION_SIGNATURE"]);
      });

      it("verifies a document signature with the attested key and reports the signed purpose", async () => {
        const r = await checkDoc(verifier(), await signDoc(credential.jwt, device, device.signer, "열람 확인"), credential.jwt);
        expectAccepted(r);
        expect(r.purpose).to.equal("열람 확인");
        expect(r.credentialId).to.equal(credential.credentialId.toString());
        expect(r).to.not.have.property("holder");
      });

      it("refuses document signatures: altered document, another key, the high-s twin, tampered", async () => {
        const genuine = await signDoc(credential.jwt, device);
        expectRefused(await checkDoc(verifier(), genuine, credential.jwt, new TextEncoder().encode("위조")), ["DOCUMENT_ALTERED"]);
        expectRefused(await checkDoc(verifier(), await signDoc(credential.jwt, device, device.other), credential.jwt), ["BAD_DOCUMENT_SIGNATURE"]);
        expectRefused(await checkDoc(verifier(), highS(genuine, device.curve), credential.jwt), ["BAD_DOCUMENT_SIGNATURE"]);
        expectRefused(await checkDoc(verifier(), flipSignatureBit(genuine), credential.jwt), ["BAD_DOCUMENT_SIGNATURE"]);
      });

      it("refuses a credential whose issuer signature was tampered (the device key swapped)", async () => {
        const thief = device.curve === "ES256" ? p256Device() : secp256k1Device(31337);
        const payload = decodePart(parts(credential.jwt)[1]) as { sub: string; vc: { credentialSubject: Record<string, unknown> } };
        payload.sub = thief.did;
        payload.vc.credentialSubject.deviceKey = thief.jwk;
        const swapped = withPart(credential.jwt, 1, b64json(payload));
        expectRefused(await present(verifier(), swapped, thief), ["BAD_CREDENTIAL_SIGNATURE"]);
      });
    });
  }

  it("a veriKey delegate of a did:ethr device key signs neither presentations nor documents as the holder", async () => {
    const device = secp256k1Device(w.chainId);
    const credential = await issue(device, "person-delegating");
    const owner = device.wallet.connect(w.provider);
    await w.networkHelpers.setBalance(owner.address, 10n ** 18n);
    const delegate = Wallet.createRandom();
    const veriKey = encodeDidAttributeName("veriKey");
    await (await w.ledger.didRegistry.connect(owner).addDelegate(owner.address, veriKey, delegate.address, 86_400)).wait();
    expect(await w.ledger.didRegistry.validDelegate(owner.address, veriKey, delegate.address)).to.equal(true);
    const asDelegate = es256kSigner(delegate.privateKey);
    expectRefused(await present(verifier(), credential.jwt, device, { signer: asDelegate }), ["BAD_PRESENTATION_SIGNATURE"]);
    expectRefused(await checkDoc(verifier(), await signDoc(credential.jwt, device, asDelegate), credential.jwt), ["BAD_DOCUMENT_SIGNATURE"]);
  });

  it("refuses (fails closed) when the audit hook cannot record", async () => {
    const device = secp256k1Device(w.chainId);
    const credential = await issue(device, "person-audit");
    const v = new PresentationVerifier({ ledger: new OnlineLedgerView(w.ledger, w.provider), challenges: new ChallengeRegistry(), audit: () => { throw new Error("disk full"); } });
    expectRefused(await present(v, credential.jwt, device), ["INTERNAL_ERROR"]);
  });
});
