/**
 * Every refusal the verifier can give, each provoked by the one defect it is about and asserted exactly (the
 * whole `reasons` array), so that a broken defence — or a refusal for the wrong reason — fails a test. One world
 * is deployed per file; tests that change chain state restore a snapshot afterwards, and each test builds its own
 * verifier (fresh DID cache, credential memo, status-digest memo and challenge registry).
 */
import { generateKeyPairSync } from "node:crypto";
import { expect } from "chai";
import { signDocumentJwt } from "../../../sdk/protocol/document-signature.js";
import { es256kSigner } from "../../../sdk/protocol/signers.js";
import { encodeDidAttributeName } from "../../../sdk/did/signed-writes.js";
import { ES256KSigner, ES256Signer } from "did-jwt";
import { Wallet, ZeroAddress, getBytes } from "ethers";
import { civilIdWorld, claimsFor, HOLDER_SECRET } from "../helpers/world.js";
import { CENTRAL_AGENCY, CIVIL_ID_TYPE, LOCAL_GOV, governed } from "../helpers/fixture.js";
import {
  algNone,
  b64json,
  credentialPayload,
  craftPresentation,
  decodePart,
  flipSignatureBit,
  hs256WithSecret,
  nowSeconds,
  parts,
  registerCrafted,
  signJws,
  signParts,
  withHighS,
  withPart,
  type CredentialSpec,
  type Holder,
} from "../helpers/forge.js";
import { OnlineLedgerView, type IssuerTrust, type LedgerView, type StatusEntry } from "../../../sdk/status/ledger-view.js";
import { ledgerNodeFromProvider, type LedgerNode } from "../../../sdk/status/ledger-node.js";
import { LedgerIndex } from "../../../sdk/status/ledger-index.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { StatusClient } from "../../../sdk/status/client.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { ChallengeRegistry } from "../../../sdk/verifier/challenges.js";
import {
  PresentationVerifier,
  type RefusalCode,
  type VerificationResult,
  type VerifierOptions,
} from "../../../sdk/verifier/verifier.js";
import { acceptingUnanchoredSignatures, POLICIES, restrictToOrganisations, type UsePolicy } from "../../../sdk/verifier/policies.js";
import {
  deviceKeyJwk,
  issueCredentialJwt,
  issuerFromPrivateKey,
  MAX_JWT_LENGTH,
  parseCredentialJwt,
  type CredentialDraftInput,
} from "../../../sdk/credential/index.js";
import { CredentialState, makeCredentialId } from "../../../sdk/chain/codes.js";
import { CivilIdError } from "../../../sdk/errors.js";

type World = Awaited<ReturnType<typeof civilIdWorld>>;
type Snapshot = Awaited<ReturnType<World["networkHelpers"]["takeSnapshot"]>>;

const AUD = "gate:sejong-complex-1";
const GATE = POLICIES.buildingGate;

/** Every refusal code, checked against the type at compile time: adding a code without a test breaks the build. */
const ALL_CODES = [
  "MALFORMED_PRESENTATION", "ALGORITHM_NOT_ALLOWED", "MALFORMED_CREDENTIAL", "BAD_PRESENTATION_SIGNATURE",
  "BAD_CREDENTIAL_SIGNATURE", "HOLDER_MISMATCH", "CHALLENGE_MISSING", "CHALLENGE_MISMATCH", "CHALLENGE_UNKNOWN",
  "CHALLENGE_REPLAYED", "CHALLENGE_EXPIRED", "AUDIENCE_MISSING", "AUDIENCE_MISMATCH", "PRESENTATION_EXPIRED",
  "PRESENTATION_NOT_YET_VALID", "PRESENTATION_ISSUED_IN_FUTURE", "PRESENTATION_LIFETIME_TOO_LONG", "CREDENTIAL_EXPIRED",
  "CREDENTIAL_NOT_YET_VALID", "CREDENTIAL_ISSUED_IN_FUTURE", "WRONG_CHAIN", "WRONG_STATUS_REGISTRY",
  "CREDENTIAL_TYPE_NOT_ACCEPTED", "ISSUER_NOT_ACCREDITED", "ISSUER_KEY_COMPROMISED", "ISSUER_KEY_NOT_VALID_AT_ISSUANCE",
  "ORGANISATION_SUSPENDED", "ORGANISATION_REMOVED", "ORGANISATION_NOT_ALLOWED", "CREDENTIAL_TYPE_NOT_ALLOWED_FOR_ISSUER",
  "CREDENTIAL_NOT_REGISTERED", "CREDENTIAL_BINDING_MISMATCH", "CREDENTIAL_LOCKED", "CREDENTIAL_REVOKED",
  "CREDENTIAL_SUPERSEDED", "BAD_DOCUMENT_SIGNATURE", "DOCUMENT_ALTERED", "LEDGER_UNAVAILABLE", "INDEX_STALE", "INTERNAL_ERROR",
  "LEDGER_DISAGREEMENT", "SIGNATURE_UNANCHORED", "SIGNATURE_ANCHOR_INVALID",
  "ORGANISATION_NAME_MISMATCH", "ORGANISATION_NAME_UNREGISTERED",
] as const satisfies readonly RefusalCode[];
type Untested = Exclude<RefusalCode, (typeof ALL_CODES)[number]>;
const everyCodeListed: [Untested] extends [never] ? true : Untested = true;

const observed = new Set<RefusalCode>();

function expectRefused(result: VerificationResult, reasons: readonly RefusalCode[]): void {
  expect(result.reasons, result.details.join(" | ")).to.deep.equal(reasons);
  expect(result.ok).to.equal(false);
  expect(result.details).to.have.length(reasons.length);
  expect(result.claims, "a refusal discloses no claims").to.equal(undefined);
  for (const r of reasons) observed.add(r);
}

function expectAccepted(result: VerificationResult): void {
  expect(result.reasons, result.details.join(" | ")).to.deep.equal([]);
  expect(result.ok).to.equal(true);
}

describe("PresentationVerifier refusals", function () {
  let w: World;
  let snapshot: Snapshot;
  let holder: Holder;
  let base: Awaited<ReturnType<World["issueTo"]>>;

  before(async () => {
    w = await civilIdWorld();
    holder = Wallet.createRandom();
    base = await w.issueTo(holder, "person-1");
    snapshot = await w.networkHelpers.takeSnapshot();
  });
  afterEach(async () => {
    await snapshot.restore();
  });

  function verifier(options: Partial<VerifierOptions> = {}): PresentationVerifier {
    return new PresentationVerifier({
      ledger: new OnlineLedgerView(w.ledger, w.provider),
      challenges: new ChallengeRegistry(),
      ...options,
    });
  }

  /** Presents `credential` as `who` with a fresh challenge of `v` and verifies it. */
  async function tap(v: PresentationVerifier, credential = base.jwt, who: Holder = holder, policy: UsePolicy = GATE) {
    const challenge = v.issueChallenge();
    return v.verify(await w.present(who, credential, challenge, AUD), { challenge, audience: AUD, policy });
  }

  /** A crafted presentation (see craftPresentation) for a fresh challenge, verified. */
  async function tapCrafted(
    v: PresentationVerifier,
    credentials: readonly unknown[],
    fields: Record<string, unknown> = {},
    options: { signer?: Holder; header?: Record<string, unknown>; policy?: UsePolicy; who?: Holder } = {},
  ) {
    const challenge = v.issueChallenge();
    const vp = await craftPresentation(w.chainId, options.who ?? holder, credentials, { nonce: challenge, aud: AUD, ...fields }, options);
    return v.verify(vp, { challenge, audience: AUD, policy: options.policy ?? GATE });
  }

  /** Verifies a raw presentation string against a fresh challenge. */
  async function verifyRaw(v: PresentationVerifier, presentation: unknown) {
    const challenge = v.issueChallenge();
    return v.verify(presentation, { challenge, audience: AUD, policy: GATE });
  }

  /**
   * Base's content in the crafting format. Times default to base's issuance (chain time, inside the issuer key's
   * window: the chain runs ahead of the wall clock, so a wall-clock iat could precede the key's validFrom).
   */
  function spec(overrides: Partial<CredentialSpec> = {}): CredentialSpec {
    const t = base.draft.issuedAt;
    return {
      chainId: w.chainId,
      statusRegistry: w.ledger.deployment.statusRegistry,
      credentialId: base.credentialId,
      holder,
      issuerAddress: w.issuerWallet.address,
      claims: claimsFor("홍길동"),
      iat: t,
      nbf: t - 5,
      exp: t + 86_400,
      ...overrides,
    };
  }

  /** A credential in our format signed ES256K by `key` (default the accredited issuer key). */
  async function credential(overrides: Partial<CredentialSpec> = {}, key: string = w.issuerWallet.privateKey, header = { alg: "ES256K", typ: "JWT" }) {
    const s = spec(overrides);
    return signJws(header, credentialPayload(s), key);
  }

  /** The base credential re-issued through the SDK with another issuance time (under `credentialId`). */
  async function issuedAt(iat: number, privateKey = w.issuerWallet.privateKey, credentialId = base.credentialId) {
    return issueCredentialJwt(issuerFromPrivateKey(w.chainId, privateKey), {
      chainId: w.chainId,
      statusRegistry: w.ledger.deployment.statusRegistry,
      credentialId,
      holderDid: base.holderDid,
      deviceKey: credentialPayloadDeviceKey(),
      claims: claimsFor("홍길동"),
      issuedAt: iat,
      validFrom: iat,
      validUntil: iat + 86_400,
    });
  }
  function credentialPayloadDeviceKey() {
    return (decodePart(parts(base.jwt)[1]).vc as { credentialSubject: { deviceKey: never } }).credentialSubject.deviceKey;
  }

  let craftedCount = 0;
  /**
   * Registers the credential `craft` makes for the id it is given, with its own binding digest (see registerCrafted),
   * for a person of its own: a crafted credential then carries only the defect it was crafted with.
   */
  async function registered(craft: (credentialId: bigint) => Promise<string>, agencyCode = CENTRAL_AGENCY): Promise<string> {
    const operator = agencyCode === CENTRAL_AGENCY ? w.actors.registrar : w.actors.localRegistrar;
    craftedCount += 1;
    const holderRef = holderReference(HOLDER_SECRET, `crafted-${craftedCount}`);
    return (await registerCrafted({ registry: w.ledger.statusRegistry.connect(operator), agencyCode, holderRef }, craft)).jwt;
  }

  async function chainNow(): Promise<number> {
    return (await w.provider.getBlock("latest"))!.timestamp;
  }

  async function governance(fn: string, args: readonly unknown[]) {
    const reg = w.ledger.issuerRegistry;
    await (await governed(w.ledger, w.actors.members, await reg.getAddress(), reg.interface.encodeFunctionData(fn as never, args as never))).wait();
  }

  describe("control", () => {
    it("accepts the genuine presentation, and a crafted one with a string audience (the baseline of every forgery below)", async () => {
      expectAccepted(await tap(verifier()));
      const crafted = await tapCrafted(verifier(), [base.jwt]);
      expectAccepted(crafted);
      expect(crafted.claims).to.deep.equal({ name: "홍길동", agencyCode: CENTRAL_AGENCY, organisation: "행정안전부" });
      // The gate's policy names no identifier: neither the credential id nor the device DID is in the result.
      expect(crafted).to.not.have.any.keys("credentialId", "holder");
    });
  });

  describe("malformed and oversized input", () => {
    it("refuses non-string and empty presentations without throwing", async () => {
      const v = verifier();
      for (const input of [undefined, null, 42, 42n, true, {}, [base.jwt], Buffer.from(base.jwt), { toString: () => base.jwt }, ""]) {
        expectRefused(await verifyRaw(v, input), ["MALFORMED_PRESENTATION"]);
      }
    });

    it("refuses a presentation over the size limit before decoding it (10 MB of junk, and a validly signed 65 KB one)", async () => {
      const v = verifier();
      const started = Date.now();
      expectRefused(await verifyRaw(v, "a".repeat(10 * 1024 * 1024)), ["MALFORMED_PRESENTATION"]);
      expect(Date.now() - started).to.be.below(1_000);
      const padded = await tapCrafted(v, [base.jwt], { pad: "x".repeat(4 * MAX_JWT_LENGTH) });
      expectRefused(padded, ["MALFORMED_PRESENTATION"]);
    });

    it("refuses bad base64url, wrong part counts and non-JSON parts", async () => {
      const v = verifier();
      const vp = await craftPresentation(w.chainId, holder, [base.jwt], { nonce: "n", aud: AUD });
      const [h, p, s] = parts(vp);
      const bad = [
        `${h}.${p}`, `${h}.${p}.${s}.${s}`, `${h}..${s}`, `.${p}.${s}`, `${h}.${p}.`,
        `${h}.${p}.${s}=`, `${h}+.${p}.${s}`, `${h}.${p.slice(0, 10)}/${p.slice(10)}.${s}`, ` ${vp}`, `${vp}\n`,
        `${Buffer.from("not json").toString("base64url")}.${p}.${s}`,
        `${h}.${b64json([1, 2, 3])}.${s}`, `${h}.${b64json("string")}.${s}`, `${b64json(null)}.${p}.${s}`,
      ];
      for (const input of bad) expectRefused(await verifyRaw(v, input), ["MALFORMED_PRESENTATION"]);
    });

    it("refuses non-UTF-8 bytes in the presentation's header or payload even when signed", async () => {
      const v = verifier();
      const invalid = Buffer.concat([Buffer.from('{"alg":"ES256K","x":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]);
      const signedBadHeader = await signParts(invalid.toString("base64url"), b64json({ iss: base.holderDid }), holder.privateKey);
      expectRefused(await verifyRaw(v, signedBadHeader), ["MALFORMED_PRESENTATION"]);
      const challenge = v.issueChallenge();
      const payload = Buffer.concat([
        Buffer.from(JSON.stringify({ vp: { verifiableCredential: [base.jwt] }, iss: base.holderDid, nonce: challenge, aud: AUD, iat: nowSeconds(), exp: nowSeconds() + 30 }).slice(0, -1)),
        Buffer.from(',"note":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}'), // a UTF-16 surrogate encoded as UTF-8: invalid
      ]);
      const signedBadPayload = await signParts(b64json({ alg: "ES256K", typ: "JWT" }), payload.toString("base64url"), holder.privateKey);
      expectRefused(await v.verify(signedBadPayload, { challenge, audience: AUD, policy: GATE }), ["MALFORMED_PRESENTATION"]);
    });

    it("refuses deeply nested JSON without a stack overflow", async () => {
      const v = verifier();
      const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
      // A holder-signed payload whose vp claim is 20 000 arrays deep (built as text: JSON.stringify would overflow).
      const challenge = v.issueChallenge();
      const t = nowSeconds();
      const text = `{"iss":"${base.holderDid}","nonce":"${challenge}","aud":"${AUD}","iat":${t},"exp":${t + 30},"vp":${deep(20_000)}}`;
      const nested = await signParts(b64json({ alg: "ES256K", typ: "JWT" }), Buffer.from(text).toString("base64url"), holder.privateKey);
      expectRefused(await v.verify(nested, { challenge, audience: AUD, policy: GATE }), ["MALFORMED_PRESENTATION"]);
      // The whole payload part one deep array (not an object), just under the size limit.
      expectRefused(await verifyRaw(v, `${b64json({ alg: "ES256K" })}.${Buffer.from(deep(23_000)).toString("base64url")}.${parts(base.jwt)[2]}`), ["MALFORMED_PRESENTATION"]);
      // A deeply nested credential, unsigned and issuer-signed, inside a valid presentation.
      const deepCredential = `${b64json({ alg: "ES256K", typ: "JWT" })}.${Buffer.from(deep(5_000)).toString("base64url")}.${parts(base.jwt)[2]}`;
      expectRefused(await tapCrafted(v, [deepCredential]), ["MALFORMED_CREDENTIAL"]);
      const claimsText = JSON.stringify(credentialPayload(spec())).replace('"디지털정부국"', deep(5_000));
      const deepInClaims = await signParts(b64json({ alg: "ES256K", typ: "JWT" }), Buffer.from(claimsText).toString("base64url"), w.issuerWallet.privateKey);
      expectRefused(await tapCrafted(v, [deepInClaims]), ["MALFORMED_CREDENTIAL"]);
    });

    it("refuses a presentation embedding zero, two or a non-string credential", async () => {
      const v = verifier();
      expectRefused(await tapCrafted(v, []), ["MALFORMED_PRESENTATION"]);
      expectRefused(await tapCrafted(v, [base.jwt, base.jwt]), ["MALFORMED_PRESENTATION"]);
      expectRefused(await tapCrafted(v, [decodePart(parts(base.jwt)[1])]), ["MALFORMED_PRESENTATION"]);
      expectRefused(await tapCrafted(v, [base.jwt], { vp: { verifiableCredential: base.jwt } }), ["MALFORMED_PRESENTATION"]);
      expectRefused(await tapCrafted(v, [base.jwt], { vp: undefined }), ["MALFORMED_PRESENTATION"]);
    });

    it("refuses a presentation without integer iat and exp", async () => {
      expectRefused(await tapCrafted(verifier(), [base.jwt], { iat: undefined }), ["MALFORMED_PRESENTATION"]);
      expectRefused(await tapCrafted(verifier(), [base.jwt], { exp: "soon" }), ["MALFORMED_PRESENTATION"]);
      expectRefused(await tapCrafted(verifier(), [base.jwt], { exp: nowSeconds() + 0.5 }), ["MALFORMED_PRESENTATION"]);
    });

    it("refuses malformed embedded credentials: junk, over the size limit, wrong format, non-UTF-8", async () => {
      const v = verifier();
      expectRefused(await tapCrafted(v, ["not-a-jwt"]), ["MALFORMED_CREDENTIAL"]);
      expectRefused(await tapCrafted(v, [""]), ["MALFORMED_CREDENTIAL"]);
      const oversized = await signJws({ alg: "ES256K", typ: "JWT" }, { ...credentialPayload(spec()), pad: "x".repeat(MAX_JWT_LENGTH) }, w.issuerWallet.privateKey);
      expectRefused(await tapCrafted(v, [oversized]), ["MALFORMED_CREDENTIAL"]);
      // Issuer-signed, but not our format: the device key is someone else's.
      const payload = credentialPayload(spec());
      (payload.vc as { credentialSubject: Record<string, unknown> }).credentialSubject.deviceKey =
        (credentialPayload(spec({ holder: Wallet.createRandom() })).vc as { credentialSubject: Record<string, unknown> }).credentialSubject.deviceKey;
      expectRefused(await tapCrafted(v, [await signJws({ alg: "ES256K", typ: "JWT" }, payload, w.issuerWallet.privateKey)]), ["MALFORMED_CREDENTIAL"]);
      // Issuer-signed, with invalid UTF-8 in a claim: the signed bytes are not the claims a verifier would show.
      const text = JSON.stringify(credentialPayload(spec())).replace('"홍길동"', '"홍길\u0000"');
      const bytes = Buffer.from(text, "utf8");
      const zero = bytes.indexOf(0);
      bytes[zero] = 0xff;
      const nonUtf8 = await signParts(b64json({ alg: "ES256K", typ: "JWT" }), bytes.toString("base64url"), w.issuerWallet.privateKey);
      expectRefused(await tapCrafted(v, [nonUtf8]), ["MALFORMED_CREDENTIAL"]);
    });
  });

  describe("algorithms", () => {
    const p256Key = () => {
      const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      return Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url");
    };

    it("refuses presentations with alg none, HS256 keyed with the holder's public key, ES256 and ES256K-R", async () => {
      const v = verifier();
      const challenge = () => v.issueChallenge();
      const payload = (c: string) => ({
        vp: { verifiableCredential: [base.jwt] }, iss: base.holderDid, nonce: c, aud: AUD, iat: nowSeconds(), exp: nowSeconds() + 30,
      });
      const genuineSig = parts(base.jwt)[2];
      let c = challenge();
      expectRefused(await v.verify(algNone({ typ: "JWT" }, payload(c)), { challenge: c, audience: AUD, policy: GATE }), ["MALFORMED_PRESENTATION"]);
      c = challenge();
      expectRefused(await v.verify(algNone({ typ: "JWT" }, payload(c), genuineSig), { challenge: c, audience: AUD, policy: GATE }), ["ALGORITHM_NOT_ALLOWED"]);
      c = challenge();
      const hs = hs256WithSecret({ typ: "JWT" }, payload(c), Buffer.from(getBytes(holder.signingKey.publicKey)));
      expectRefused(await v.verify(hs, { challenge: c, audience: AUD, policy: GATE }), ["ALGORITHM_NOT_ALLOWED"]);
      c = challenge();
      const hsPem = hs256WithSecret({ typ: "JWT" }, payload(c), holder.signingKey.publicKey);
      expectRefused(await v.verify(hsPem, { challenge: c, audience: AUD, policy: GATE }), ["ALGORITHM_NOT_ALLOWED"]);
      c = challenge();
      const es256Input = `${b64json({ alg: "ES256", typ: "JWT" })}.${b64json(payload(c))}`;
      const es256 = `${es256Input}.${await ES256Signer(p256Key())(es256Input)}`;
      expectRefused(await v.verify(es256, { challenge: c, audience: AUD, policy: GATE }), ["ALGORITHM_NOT_ALLOWED"]);
      c = challenge();
      const rInput = `${b64json({ alg: "ES256K-R", typ: "JWT" })}.${b64json(payload(c))}`;
      const recoverable = `${rInput}.${await ES256KSigner(getBytes(holder.privateKey), true)(rInput)}`;
      expectRefused(await v.verify(recoverable, { challenge: c, audience: AUD, policy: GATE }), ["ALGORITHM_NOT_ALLOWED"]);
      for (const header of [{ alg: "es256k" }, { typ: "JWT" }, { alg: ["ES256K"] }]) {
        expectRefused(await tapCrafted(v, [base.jwt], {}, { header }), ["ALGORITHM_NOT_ALLOWED"]);
      }
    });

    it("refuses credentials with alg none, HS256 keyed with the issuer's public key, ES256 and ES256K-R", async () => {
      const v = verifier();
      const payload = credentialPayload(spec());
      const genuineSig = parts(base.jwt)[2];
      expectRefused(await tapCrafted(v, [algNone({ typ: "JWT" }, payload)]), ["MALFORMED_CREDENTIAL"]);
      expectRefused(await tapCrafted(v, [algNone({ typ: "JWT" }, payload, genuineSig)]), ["ALGORITHM_NOT_ALLOWED"]);
      const issuerPublicKey = Buffer.from(getBytes(w.issuerWallet.signingKey.publicKey));
      expectRefused(await tapCrafted(v, [hs256WithSecret({ typ: "JWT" }, payload, issuerPublicKey)]), ["ALGORITHM_NOT_ALLOWED"]);
      expectRefused(await tapCrafted(v, [hs256WithSecret({ typ: "JWT" }, payload, w.issuerWallet.address)]), ["ALGORITHM_NOT_ALLOWED"]);
      const es256Input = `${b64json({ alg: "ES256", typ: "JWT" })}.${b64json(payload)}`;
      expectRefused(await tapCrafted(v, [`${es256Input}.${await ES256Signer(p256Key())(es256Input)}`]), ["ALGORITHM_NOT_ALLOWED"]);
      const rInput = `${b64json({ alg: "ES256K-R", typ: "JWT" })}.${b64json(payload)}`;
      const recoverable = `${rInput}.${await ES256KSigner(getBytes(w.issuerWallet.privateKey), true)(rInput)}`;
      expectRefused(await tapCrafted(v, [recoverable]), ["ALGORITHM_NOT_ALLOWED"]);
    });
  });

  describe("presentation signature and holder binding", () => {
    it("refuses a tampered presentation header (signature kept)", async () => {
      const v = verifier();
      const challenge = v.issueChallenge();
      const vp = await w.present(holder, base.jwt, challenge, AUD);
      const header = decodePart(parts(vp)[0]);
      const tampered = withPart(vp, 0, b64json({ ...header, kid: `${base.holderDid}#controller` }));
      expectRefused(await v.verify(tampered, { challenge, audience: AUD, policy: GATE }), ["BAD_PRESENTATION_SIGNATURE"]);
    });

    it("refuses a tampered presentation payload (signature kept): another challenge, audience or lifetime", async () => {
      const v = verifier();
      const original = v.issueChallenge();
      const vp = await w.present(holder, base.jwt, original, AUD);
      const payload = decodePart(parts(vp)[1]);
      const other = v.issueChallenge();
      expectRefused(await v.verify(withPart(vp, 1, b64json({ ...payload, nonce: other })), { challenge: other, audience: AUD, policy: GATE }), ["BAD_PRESENTATION_SIGNATURE"]);
      expectRefused(await v.verify(withPart(vp, 1, b64json({ ...payload, aud: "gate:other" })), { challenge: original, audience: "gate:other", policy: GATE }), ["BAD_PRESENTATION_SIGNATURE"]);
      expectRefused(await v.verify(withPart(vp, 1, b64json({ ...payload, exp: (payload.exp as number) + 3600 })), { challenge: original, audience: AUD, policy: GATE }), ["BAD_PRESENTATION_SIGNATURE"]);
      // None of the refusals consumed the challenge: the untouched presentation still passes.
      expectAccepted(await v.verify(vp, { challenge: original, audience: AUD, policy: GATE }));
    });

    it("refuses a tampered presentation signature", async () => {
      const v = verifier();
      const challenge = v.issueChallenge();
      const vp = await w.present(holder, base.jwt, challenge, AUD);
      expectRefused(await v.verify(flipSignatureBit(vp), { challenge, audience: AUD, policy: GATE }), ["BAD_PRESENTATION_SIGNATURE"]);
      const truncated = withPart(vp, 2, Buffer.from(parts(vp)[2], "base64url").subarray(0, 63).toString("base64url"));
      expectRefused(await v.verify(truncated, { challenge, audience: AUD, policy: GATE }), ["BAD_PRESENTATION_SIGNATURE"]);
    });

    it("refuses the high-s twin of a valid presentation signature", async () => {
      const v = verifier();
      const challenge = v.issueChallenge();
      const vp = await w.present(holder, base.jwt, challenge, AUD);
      expectRefused(await v.verify(withHighS(vp), { challenge, audience: AUD, policy: GATE }), ["BAD_PRESENTATION_SIGNATURE"]);
      expectAccepted(await v.verify(vp, { challenge, audience: AUD, policy: GATE }));
    });

    it("refuses a presentation of someone else's credential: signed by another key (HOLDER_MISMATCH), or with iss forged to the subject (BAD_PRESENTATION_SIGNATURE)", async () => {
      const thief = Wallet.createRandom();
      expectRefused(await tap(verifier(), base.jwt, thief), ["HOLDER_MISMATCH"]);
      expectRefused(await tapCrafted(verifier(), [base.jwt], { iss: base.holderDid }, { signer: thief }), ["BAD_PRESENTATION_SIGNATURE"]);
      // iss in another spelling of the same DID is not the subject.
      expectRefused(await tapCrafted(verifier(), [base.jwt], { iss: base.holderDid.toLowerCase() }), ["HOLDER_MISMATCH"]);
    });
  });

  describe("credential signature", () => {
    it("refuses a tampered credential header (signature kept)", async () => {
      const header = decodePart(parts(base.jwt)[0]);
      const tampered = withPart(base.jwt, 0, b64json({ ...header, kid: "attacker" }));
      expectRefused(await tapCrafted(verifier(), [tampered]), ["BAD_CREDENTIAL_SIGNATURE"]);
      const reordered = withPart(base.jwt, 0, b64json({ typ: "JWT", alg: "ES256K" }));
      expectRefused(await tapCrafted(verifier(), [reordered]), ["BAD_CREDENTIAL_SIGNATURE"]);
    });

    it("refuses a tampered credential payload (signature kept): promoted position, another holder's device", async () => {
      const payload = decodePart(parts(base.jwt)[1]) as { vc: { credentialSubject: Record<string, unknown> } };
      payload.vc.credentialSubject.position = "국장";
      expectRefused(await tapCrafted(verifier(), [withPart(base.jwt, 1, b64json(payload))]), ["BAD_CREDENTIAL_SIGNATURE"]);
      // The thief's own device key and DID swapped in, so the thief can sign the presentation.
      const thief = Wallet.createRandom();
      const stolen = withPart(base.jwt, 1, b64json(credentialPayload(spec({ holder: thief }))));
      expectRefused(await tapCrafted(verifier(), [stolen], {}, { who: thief }), ["BAD_CREDENTIAL_SIGNATURE"]);
    });

    it("refuses a tampered credential signature and the high-s twin of a valid one", async () => {
      expectRefused(await tapCrafted(verifier(), [flipSignatureBit(base.jwt)]), ["BAD_CREDENTIAL_SIGNATURE"]);
      expectRefused(await tapCrafted(verifier(), [withHighS(base.jwt)]), ["BAD_CREDENTIAL_SIGNATURE"]);
    });

    it("refuses a credential forged with another key under the accredited issuer's DID", async () => {
      const forger = Wallet.createRandom();
      expectRefused(await tapCrafted(verifier(), [await credential({}, forger.privateKey)]), ["BAD_CREDENTIAL_SIGNATURE"]);
    });

    it("takes issuer trust from the IssuerRegistry alone: a veriKey delegate of an accredited key cannot sign credentials", async () => {
      // The accredited key adds a delegate in the (ERC-1056) DID registry: did-jwt would accept the delegate's
      // signature against the DID document. Only the key the organisation accredited may sign.
      const issuerSigner = w.issuerWallet.connect(w.provider);
      await w.networkHelpers.setBalance(issuerSigner.address, 10n ** 18n);
      const delegate = Wallet.createRandom();
      const veriKey = encodeDidAttributeName("veriKey");
      await (await w.ledger.didRegistry.connect(issuerSigner).addDelegate(issuerSigner.address, veriKey, delegate.address, 86_400)).wait();
      expect(await w.ledger.didRegistry.validDelegate(issuerSigner.address, veriKey, delegate.address)).to.equal(true);
      const byDelegate = await registered((credentialId) => credential({ credentialId }, delegate.privateKey));
      expectRefused(await tapCrafted(verifier(), [byDelegate]), ["BAD_CREDENTIAL_SIGNATURE"]);
      // A DID registry change is not an accreditation event either way; retiring the key in the IssuerRegistry is.
      await (await w.ledger.didRegistry.connect(issuerSigner).changeOwner(issuerSigner.address, ZeroAddress)).wait();
      expectAccepted(await tap(verifier()));
      await (await w.ledger.issuerRegistry.connect(w.actors.orgAdmin).retireIssuerKey(CENTRAL_AGENCY, w.issuerWallet.address, true)).wait();
      expectRefused(await tap(verifier()), ["ISSUER_KEY_COMPROMISED"]);
    });
  });

  describe("issuer trust", () => {
    it("refuses a credential signed by a key no organisation accredited", async () => {
      const stranger = Wallet.createRandom();
      const unaccredited = await registered((credentialId) => credential({ credentialId, issuerAddress: stranger.address }, stranger.privateKey));
      expectRefused(await tapCrafted(verifier(), [unaccredited]), ["ISSUER_NOT_ACCREDITED"]);
    });

    it("refuses a credential claiming another organisation than the one its issuer key belongs to", async () => {
      // 서울특별시 registers a credential for its employee; 행정안전부's (accredited) key signs claims in its name.
      const employee = Wallet.createRandom();
      const claims = { ...claimsFor("김서울", LOCAL_GOV), position: "국장" };
      const crossOrg = await registered((credentialId) => credential({ holder: employee, credentialId, claims }), LOCAL_GOV);
      expectRefused(await tapCrafted(verifier(), [crossOrg], {}, { who: employee }), ["ISSUER_NOT_ACCREDITED"]);
      // Control: the same content signed by 서울특별시's own key (and registered with that credential's digest) is accepted.
      const localKey = Wallet.createRandom();
      await (await w.ledger.issuerRegistry.connect(w.actors.localAdmin).addIssuerKey(LOCAL_GOV, localKey.address, 0, (await chainNow()) + 86_400)).wait();
      const t = await chainNow(); // the key's window opened at this block: issue no earlier
      const own = await registered(
        (credentialId) => credential({ holder: employee, credentialId, claims, issuerAddress: localKey.address, iat: t, nbf: t - 5 }, localKey.privateKey),
        LOCAL_GOV,
      );
      expectAccepted(await tapCrafted(verifier(), [own], {}, { who: employee }));
    });

    it("retired key: refuses credentials issued at or after retirement, accepts those issued before", async () => {
      await (await w.ledger.issuerRegistry.connect(w.actors.orgAdmin).retireIssuerKey(CENTRAL_AGENCY, w.issuerWallet.address, false)).wait();
      const retiredAt = Number((await w.ledger.issuerRegistry.issuerKey(w.issuerWallet.address)).validUntil);
      const signedAt = (iat: number) => registered((credentialId) => issuedAt(iat, w.issuerWallet.privateKey, credentialId));
      expectRefused(await tapCrafted(verifier(), [await signedAt(retiredAt + 1)]), ["ISSUER_KEY_NOT_VALID_AT_ISSUANCE"]);
      expectRefused(await tapCrafted(verifier(), [await signedAt(retiredAt)]), ["ISSUER_KEY_NOT_VALID_AT_ISSUANCE"]);
      expectAccepted(await tapCrafted(verifier(), [await signedAt(retiredAt - 1)]));
      expectAccepted(await tap(verifier())); // the credential issued at setup, long before
    });

    it("refuses a credential issued before its key's signing window opened", async () => {
      const late = Wallet.createRandom();
      const t = await chainNow();
      await (await w.ledger.issuerRegistry.connect(w.actors.orgAdmin).addIssuerKey(CENTRAL_AGENCY, late.address, t + 3600, t + 86_400)).wait();
      const early = await registered((credentialId) => issuedAt(t, late.privateKey, credentialId));
      expectRefused(await tapCrafted(verifier(), [early]), ["ISSUER_KEY_NOT_VALID_AT_ISSUANCE"]);
    });

    it("refuses everything a compromised key signed, by the organisation's report or by governance", async () => {
      await (await w.ledger.issuerRegistry.connect(w.actors.orgAdmin).retireIssuerKey(CENTRAL_AGENCY, w.issuerWallet.address, true)).wait();
      expectRefused(await tap(verifier()), ["ISSUER_KEY_COMPROMISED"]);
      await snapshot.restore();
      expectAccepted(await tap(verifier()));
      await governance("markIssuerKeyCompromised", [w.issuerWallet.address]);
      expectRefused(await tap(verifier()), ["ISSUER_KEY_COMPROMISED"]);
      // Compromised and used after retirement: both reasons.
      const retiredAt = Number((await w.ledger.issuerRegistry.issuerKey(w.issuerWallet.address)).validUntil);
      const afterRetirement = await registered((credentialId) => issuedAt(retiredAt + 1, w.issuerWallet.privateKey, credentialId));
      expectRefused(await tapCrafted(verifier(), [afterRetirement]), ["ISSUER_KEY_COMPROMISED", "ISSUER_KEY_NOT_VALID_AT_ISSUANCE"]);
    });

    it("refuses credentials of a suspended organisation, and accepts them again once reinstated", async () => {
      await governance("suspend", [CENTRAL_AGENCY]);
      const refused = await tap(verifier());
      expectRefused(refused, ["ORGANISATION_SUSPENDED"]);
      await governance("reinstate", [CENTRAL_AGENCY]);
      expectAccepted(await tap(verifier()));
    });

    it("refuses credentials of a removed organisation (from active and from suspended)", async () => {
      await governance("remove", [CENTRAL_AGENCY]);
      expectRefused(await tap(verifier()), ["ORGANISATION_REMOVED"]);
      await snapshot.restore();
      await governance("suspend", [CENTRAL_AGENCY]);
      await governance("remove", [CENTRAL_AGENCY]);
      expectRefused(await tap(verifier()), ["ORGANISATION_REMOVED"]);
    });

    it("refuses a credential type the organisation may no longer issue", async () => {
      await governance("setCredentialType", [CENTRAL_AGENCY, CIVIL_ID_TYPE, false]);
      expectRefused(await tap(verifier()), ["CREDENTIAL_TYPE_NOT_ALLOWED_FOR_ISSUER"]);
    });

    it("refuses a credential type the use does not accept", async () => {
      expectRefused(await tapCrafted(verifier(), [await credential({ type: "LibraryCardCredential" })]), ["CREDENTIAL_TYPE_NOT_ACCEPTED"]);
      expectRefused(await tap(verifier(), base.jwt, holder, { ...GATE, credentialType: "VisitorPassCredential" }), ["CREDENTIAL_TYPE_NOT_ACCEPTED"]);
    });

    it("refuses an organisation the use is restricted away from (ORGANISATION_NOT_ALLOWED)", async () => {
      const localOnly = restrictToOrganisations(POLICIES.businessSystemLogin, [LOCAL_GOV]);
      expectRefused(await tap(verifier(), base.jwt, holder, localOnly), ["ORGANISATION_NOT_ALLOWED"]);
      expectAccepted(await tap(verifier(), base.jwt, holder, restrictToOrganisations(POLICIES.businessSystemLogin, [LOCAL_GOV, CENTRAL_AGENCY])));
    });
  });

  describe("chain and registry", () => {
    it("refuses a credential for another chain (before resolving anything)", async () => {
      const other = await credential({ didChainId: 1 });
      expectRefused(await tapCrafted(verifier(), [other]), ["WRONG_CHAIN"]);
    });

    it("refuses a credential pointing at another status registry", async () => {
      const elsewhere = await credential({ statusRegistry: w.ledger.deployment.issuerRegistry });
      expectRefused(await tapCrafted(verifier(), [elsewhere]), ["WRONG_STATUS_REGISTRY"]);
    });
  });

  describe("credential status", () => {
    it("refuses a credential naming a status entry registered for another subject", async () => {
      const other = Wallet.createRandom();
      const borrowed = await credential({ holder: other }); // the issuer key, but base's credential id
      expectRefused(await tapCrafted(verifier(), [borrowed], {}, { who: other }), ["CREDENTIAL_BINDING_MISMATCH"]);
    });

    it("refuses base's live id re-signed with altered content by a valid or retired key of its own organisation", async () => {
      // The attack the binding digest defends against: every key below may sign for 행정안전부, and base's status
      // entry is live and Active, so signature, trust and status all pass; only the content differs from what was
      // registered.
      const registeredContent = parseCredentialJwt(base.jwt);
      const resign = (privateKey: string, changes: Partial<CredentialDraftInput> = {}) =>
        issueCredentialJwt(issuerFromPrivateKey(w.chainId, privateKey), {
          chainId: w.chainId,
          statusRegistry: w.ledger.deployment.statusRegistry,
          credentialId: base.credentialId,
          holderDid: registeredContent.subjectDid,
          deviceKey: registeredContent.deviceKey,
          claims: registeredContent.claims,
          issuedAt: registeredContent.issuedAt,
          validFrom: registeredContent.validFrom,
          validUntil: registeredContent.validUntil,
          ...changes,
        });
      const key = w.issuerWallet.privateKey;
      const promoted = { claims: { ...registeredContent.claims, position: "국장" } };
      // Control: re-signing the registered content reproduces base exactly, so each variant differs in its change only.
      expect(await resign(key)).to.equal(base.jwt);

      expectRefused(await tapCrafted(verifier(), [await resign(key, promoted)]), ["CREDENTIAL_BINDING_MISMATCH"]);
      const longer = await resign(key, { validUntil: registeredContent.validUntil + 5 * 365 * 86_400 });
      expectRefused(await tapCrafted(verifier(), [longer]), ["CREDENTIAL_BINDING_MISMATCH"]);
      const thief = Wallet.createRandom(); // the thief's own device, so the thief can sign the presentation
      const rebound = await resign(key, { holderDid: didForAddress(w.chainId, thief.address), deviceKey: deviceKeyJwk(thief.signingKey.publicKey) });
      expectRefused(await tapCrafted(verifier(), [rebound], {}, { who: thief }), ["CREDENTIAL_BINDING_MISMATCH"]);

      // A second valid key of the organisation, within its own window.
      const second = Wallet.createRandom();
      await (await w.ledger.issuerRegistry.connect(w.actors.orgAdmin).addIssuerKey(CENTRAL_AGENCY, second.address, 0, (await chainNow()) + 86_400)).wait();
      const t = await chainNow();
      const bySecond = await resign(second.privateKey, { ...promoted, issuedAt: t, validFrom: t });
      expectRefused(await tapCrafted(verifier(), [bySecond]), ["CREDENTIAL_BINDING_MISMATCH"]);

      // The original key retired (not compromised): what it signed within its window stays valid, altered content does not.
      await (await w.ledger.issuerRegistry.connect(w.actors.orgAdmin).retireIssuerKey(CENTRAL_AGENCY, w.issuerWallet.address, false)).wait();
      expectAccepted(await tap(verifier()));
      expectRefused(await tapCrafted(verifier(), [await resign(key, promoted)]), ["CREDENTIAL_BINDING_MISMATCH"]);
    });

    it("refuses a credential id that was never registered", async () => {
      const ghost = await credential({ credentialId: makeCredentialId(CENTRAL_AGENCY, 1_000_000n) });
      expectRefused(await tapCrafted(verifier(), [ghost]), ["CREDENTIAL_NOT_REGISTERED"]);
    });

    it("refuses a locked credential with its reason, and accepts it once unlocked", async () => {
      const helpDesk = new StatusClient(w.ledger.statusRegistry.connect(w.actors.helpDesk));
      await helpDesk.lock(base.credentialId, "LOST_DEVICE");
      const locked = await tap(verifier());
      expectRefused(locked, ["CREDENTIAL_LOCKED"]);
      expect(locked.statusReason).to.equal("LOST_DEVICE");
      await w.registrar.unlock(base.credentialId, "FOUND_DEVICE");
      expectAccepted(await tap(verifier()));
    });

    it("refuses a revoked credential with its reason", async () => {
      await w.registrar.revoke(base.credentialId, "LEFT_SERVICE");
      const revoked = await tap(verifier());
      expectRefused(revoked, ["CREDENTIAL_REVOKED"]);
      expect(revoked.statusReason).to.equal("LEFT_SERVICE");
    });

    it("refuses the superseded credential after a reissue and accepts the new one", async () => {
      const newPhone = Wallet.createRandom();
      const reissued = await w.issueTo(newPhone, "person-1");
      expect(reissued.supersededId).to.equal(base.credentialId);
      const old = await tap(verifier());
      expectRefused(old, ["CREDENTIAL_SUPERSEDED"]);
      expect(old.statusReason).to.equal("SUPERSEDED_BY_REISSUE");
      expectAccepted(await tap(verifier(), reissued.jwt, newPhone));
    });
  });

  describe("times", () => {
    it("refuses an expired credential", async () => {
      const t = nowSeconds();
      expectRefused(await tapCrafted(verifier(), [await credential({ iat: t - 7200, nbf: t - 7200, exp: t - 3600 })]), ["CREDENTIAL_EXPIRED"]);
    });

    it("refuses a credential not valid yet", async () => {
      const t = nowSeconds();
      expectRefused(await tapCrafted(verifier(), [await credential({ nbf: t + 3600, exp: t + 7200 })]), ["CREDENTIAL_NOT_YET_VALID"]);
    });

    it("refuses a credential issued in the future (beyond the clock skew)", async () => {
      const t = nowSeconds();
      expectRefused(await tapCrafted(verifier(), [await credential({ iat: t + 600 })]), ["CREDENTIAL_ISSUED_IN_FUTURE"]);
      expectRefused(await tapCrafted(verifier(), [await credential({ iat: t + 50 * 365 * 86_400 })]), ["CREDENTIAL_ISSUED_IN_FUTURE"]);
    });

    it("refuses an expired presentation", async () => {
      const t = nowSeconds();
      expectRefused(await tapCrafted(verifier(), [base.jwt], { iat: t - 120, exp: t - 60 }), ["PRESENTATION_EXPIRED"]);
    });

    it("refuses a presentation not valid yet (nbf)", async () => {
      const t = nowSeconds();
      expectRefused(await tapCrafted(verifier(), [base.jwt], { nbf: t + 600 }), ["PRESENTATION_NOT_YET_VALID"]);
      expectRefused(await tapCrafted(verifier(), [base.jwt], { nbf: "later" }), ["PRESENTATION_NOT_YET_VALID"]);
    });

    it("refuses a presentation issued in the future", async () => {
      const t = nowSeconds();
      expectRefused(await tapCrafted(verifier(), [base.jwt], { iat: t + 600, exp: t + 630 }), ["PRESENTATION_ISSUED_IN_FUTURE"]);
      expectRefused(await tapCrafted(verifier(), [base.jwt], { iat: t + 50 * 365 * 86_400, exp: t + 50 * 365 * 86_400 + 30 }), ["PRESENTATION_ISSUED_IN_FUTURE"]);
    });

    it("refuses a presentation valid for longer than the use allows (and accepts exactly the maximum)", async () => {
      const t = nowSeconds();
      expectRefused(await tapCrafted(verifier(), [base.jwt], { iat: t, exp: t + GATE.maxPresentationLifetimeSeconds + 1 }), ["PRESENTATION_LIFETIME_TOO_LONG"]);
      expectAccepted(await tapCrafted(verifier(), [base.jwt], { iat: t, exp: t + GATE.maxPresentationLifetimeSeconds }));
      expectAccepted(await tap(verifier(), base.jwt, holder, POLICIES.mailLogin)); // 60 s is fine for a 300 s use
    });

    it("judges times by the injected clock, with the configured skew", async () => {
      const t = nowSeconds();
      const at = (seconds: number) => () => seconds * 1000;
      expectAccepted(await tapCrafted(verifier({ now: at(t + 39) }), [base.jwt], { iat: t, exp: t + 10 })); // 30 s skew
      expectRefused(await tapCrafted(verifier({ now: at(t + 40) }), [base.jwt], { iat: t, exp: t + 10 }), ["PRESENTATION_EXPIRED"]);
      expectRefused(await tapCrafted(verifier({ now: at(t + 40), clockSkewSeconds: 5 }), [base.jwt], { iat: t, exp: t + 10 }), ["PRESENTATION_EXPIRED"]);
      const expires = nowSeconds() + 86_400;
      expectRefused(await tapCrafted(verifier({ now: at(expires + 60) }), [await credential({ exp: expires })], { iat: expires + 60, exp: expires + 90 }), ["CREDENTIAL_EXPIRED"]);
    });
  });

  describe("challenge and audience", () => {
    it("refuses a replayed presentation (the same challenge twice)", async () => {
      const v = verifier();
      const challenge = v.issueChallenge();
      const vp = await w.present(holder, base.jwt, challenge, AUD);
      expectAccepted(await v.verify(vp, { challenge, audience: AUD, policy: GATE }));
      expectRefused(await v.verify(vp, { challenge, audience: AUD, policy: GATE }), ["CHALLENGE_REPLAYED"]);
      const fresh = await w.present(holder, base.jwt, challenge, AUD); // re-signed, same challenge
      expectRefused(await v.verify(fresh, { challenge, audience: AUD, policy: GATE }), ["CHALLENGE_REPLAYED"]);
    });

    it("refuses a challenge this verifier never issued (another verifier's, or made up)", async () => {
      const gate = verifier();
      const elsewhere = verifier().issueChallenge();
      const vp = await w.present(holder, base.jwt, elsewhere, AUD);
      expectRefused(await gate.verify(vp, { challenge: elsewhere, audience: AUD, policy: GATE }), ["CHALLENGE_UNKNOWN"]);
      const madeUp = await w.present(holder, base.jwt, "AAAAAAAAAAAAAAAAAAAAAA", AUD);
      expectRefused(await gate.verify(madeUp, { challenge: "AAAAAAAAAAAAAAAAAAAAAA", audience: AUD, policy: GATE }), ["CHALLENGE_UNKNOWN"]);
    });

    it("refuses an expired challenge (injected clock)", async () => {
      let t = Date.now();
      const v = verifier({ challenges: new ChallengeRegistry(60_000, 1_000, () => t) });
      const challenge = v.issueChallenge();
      const vp = await w.present(holder, base.jwt, challenge, AUD);
      t += 60_001;
      expectRefused(await v.verify(vp, { challenge, audience: AUD, policy: GATE }), ["CHALLENGE_EXPIRED"]);
      expectRefused(await v.verify(vp, { challenge, audience: AUD, policy: GATE }), ["CHALLENGE_REPLAYED"]);
    });

    it("refuses a presentation answering another challenge, without burning the verifier's challenge", async () => {
      const v = verifier();
      const mine = v.issueChallenge();
      const other = v.issueChallenge();
      const vp = await w.present(holder, base.jwt, other, AUD);
      expectRefused(await v.verify(vp, { challenge: mine, audience: AUD, policy: GATE }), ["CHALLENGE_MISMATCH"]);
      expectAccepted(await v.verify(await w.present(holder, base.jwt, mine, AUD), { challenge: mine, audience: AUD, policy: GATE }));
    });

    it("refuses when the verifier or the presentation gives no challenge", async () => {
      const v = verifier();
      const vp = await w.present(holder, base.jwt, v.issueChallenge(), AUD);
      expectRefused(await v.verify(vp, { challenge: "", audience: AUD, policy: GATE }), ["CHALLENGE_MISSING"]);
      expectRefused(await v.verify(vp, { challenge: undefined as unknown as string, audience: AUD, policy: GATE }), ["CHALLENGE_MISSING"]);
      expectRefused(await tapCrafted(v, [base.jwt], { nonce: undefined }), ["CHALLENGE_MISSING"]);
      expectRefused(await tapCrafted(v, [base.jwt], { nonce: "" }), ["CHALLENGE_MISSING"]);
    });

    it("refuses when the verifier or the presentation gives no audience", async () => {
      const v = verifier();
      const challenge = v.issueChallenge();
      const vp = await w.present(holder, base.jwt, challenge, AUD);
      expectRefused(await v.verify(vp, { challenge, audience: "", policy: GATE }), ["AUDIENCE_MISSING"]);
      expectRefused(await tapCrafted(v, [base.jwt], { aud: undefined }), ["AUDIENCE_MISSING"]);
    });

    it("refuses a presentation made for another verifier, or for several (array audiences)", async () => {
      const v = verifier();
      expectRefused(await tapCrafted(v, [base.jwt], { aud: "gate:gwacheon-complex" }), ["AUDIENCE_MISMATCH"]);
      expectRefused(await tapCrafted(v, [base.jwt], { aud: [AUD, "gate:gwacheon-complex"] }), ["AUDIENCE_MISMATCH"]);
      expectRefused(await tapCrafted(v, [base.jwt], { aud: ["gate:gwacheon-complex", AUD] }), ["AUDIENCE_MISMATCH"]);
      expectRefused(await tapCrafted(v, [base.jwt], { aud: [] }), ["AUDIENCE_MISMATCH"]);
      expectRefused(await tapCrafted(v, [base.jwt], { aud: AUD.toUpperCase() }), ["AUDIENCE_MISMATCH"]);
      expectAccepted(await tapCrafted(v, [base.jwt], { aud: [AUD] }));
    });
  });

  describe("organisation name from the issuer registry (issue #10 §3)", () => {
    const nameOrg = async (code: number, name: string) => {
      const reg = w.ledger.issuerRegistry;
      await (await governed(w.ledger, w.actors.members, await reg.getAddress(), reg.interface.encodeFunctionData("setOrganisationName", [code, name]))).wait();
    };

    it("refuses ORGANISATION_NAME_MISMATCH when the issuer names another organisation than the registry's (online view and index)", async () => {
      await nameOrg(CENTRAL_AGENCY, "행정안전부");
      // The organisation's own issuing server writes another ministry's name into its credential.
      const liar = Wallet.createRandom();
      const impostor = await w.issueTo(liar, "person-10", { ...claimsFor("김철수"), organisation: "국가정보원" });
      expectRefused(await tap(verifier(), impostor.jwt, liar), ["ORGANISATION_NAME_MISMATCH"]);
      const nfd = Wallet.createRandom();
      const decomposed = await w.issueTo(nfd, "person-11", { ...claimsFor("이영희"), organisation: "행정안전부".normalize("NFD") });
      const index = new LedgerIndex({ provider: w.provider, deployment: w.ledger.deployment, catchUp: "events" });
      await index.sync();
      expectRefused(await tap(verifier({ ledger: index }), impostor.jwt, liar), ["ORGANISATION_NAME_MISMATCH"]);
      // The registry's name (in another Unicode composition, NFD) is the organisation's own: accepted.
      expectAccepted(await tap(verifier(), base.jwt));
      expectAccepted(await tap(verifier({ ledger: index }), decomposed.jwt, nfd));
    });

    it("refuses ORGANISATION_NAME_UNREGISTERED for an organisation without a registered name, when the verifier requires names", async () => {
      expectAccepted(await tap(verifier(), base.jwt));
      expectRefused(await tap(verifier({ requireRegisteredOrganisationNames: true }), base.jwt), ["ORGANISATION_NAME_UNREGISTERED"]);
      await nameOrg(CENTRAL_AGENCY, "행정안전부");
      expectAccepted(await tap(verifier({ requireRegisteredOrganisationNames: true }), base.jwt));
    });
  });

  describe("document e-signatures", () => {
    const documentBytes = new TextEncoder().encode("출장 신청서: 2026-12-01 세종→서울");
    async function signed(signerKey: Holder = holder, credentialJwt = base.jwt, document = documentBytes) {
      const signerDid = didForAddress(w.chainId, signerKey.address);
      return (await signDocumentJwt({ signerDid, signer: es256kSigner(signerKey.privateKey), credential: credentialJwt, credentialStatusId: undefined, document, now: await chainNow() })).jwt;
    }
    // These cases are about the signature itself: unanchored, judged as of now (the signing time from the chain is
    // tested in test/ts/anchor/document-signing-time.test.ts).
    const check = (v: PresentationVerifier, signature: string, document = documentBytes, credentialJwt = base.jwt) =>
      v.verifySignedDocument({ signature, document, credential: credentialJwt, policy: acceptingUnanchoredSignatures(POLICIES.documentSignature) });

    it("refuses an unanchored signature as SIGNATURE_UNANCHORED, and a malformed anchor as SIGNATURE_ANCHOR_INVALID", async () => {
      const sig = await signed();
      const strict = (anchor?: unknown) => verifier().verifySignedDocument({ signature: sig, document: documentBytes, credential: base.jwt, anchor, policy: POLICIES.documentSignature });
      expectRefused(await strict(), ["SIGNATURE_UNANCHORED"]);
      expectRefused(await strict({ contract: "0x12", proof: [] }), ["SIGNATURE_ANCHOR_INVALID"]);
      expectRefused(await strict({ contract: w.ledger.deployment.statusRegistry, proof: ["0x1234"] }), ["SIGNATURE_ANCHOR_INVALID"]);
      expectRefused(await strict("anchored, trust me"), ["SIGNATURE_ANCHOR_INVALID"]);
    });

    it("accepts the genuine document and names the signing credential (not the device DID: the policy does not disclose it)", async () => {
      const r = await check(verifier(), await signed());
      expect(r.reasons, r.details.join(" | ")).to.deep.equal([]);
      expect(r.ok).to.equal(true);
      expect(r.credentialId).to.equal(base.credentialId.toString());
      expect(r.holder).to.equal(undefined);
      expect(r.claims).to.include({ name: "홍길동", organisation: "행정안전부" });
    });

    it("refuses an altered document as DOCUMENT_ALTERED", async () => {
      const altered = new TextEncoder().encode("출장 신청서: 2026-12-01 세종→부산");
      expectRefused(await check(verifier(), await signed(), altered), ["DOCUMENT_ALTERED"]);
    });

    it("refuses a tampered or foreign-format signature as BAD_DOCUMENT_SIGNATURE", async () => {
      const sig = await signed();
      const [h, p] = parts(sig);
      const payload = decodePart(p);
      const tampered = withPart(sig, 1, b64json({ ...payload, iat: (payload.iat as number) - 3600 }));
      expectRefused(await check(verifier(), tampered), ["BAD_DOCUMENT_SIGNATURE"]);
      expectRefused(await check(verifier(), `${h}.${p}`), ["BAD_DOCUMENT_SIGNATURE"]);
      expectRefused(await check(verifier(), base.jwt), ["BAD_DOCUMENT_SIGNATURE"]); // a credential is not a document signature
    });

    it("refuses a document signed by someone else than the credential's subject", async () => {
      expectRefused(await check(verifier(), await signed(Wallet.createRandom())), ["HOLDER_MISMATCH"]);
    });

    it("refuses the signature once the signer's credential is locked", async () => {
      const sig = await signed();
      await w.registrar.lock(base.credentialId, "LOST_DEVICE");
      expectRefused(await check(verifier(), sig), ["CREDENTIAL_LOCKED"]);
    });
  });

  describe("infrastructure (fail closed)", () => {
    const failing: LedgerView = {
      chainId: 0,
      statusRegistry: ZeroAddress,
      credentialStatus: () => Promise.reject(new Error("connect ECONNREFUSED 10.0.0.5:8545")),
      issuerTrust: () => Promise.reject(new Error("connect ECONNREFUSED 10.0.0.5:8545")),
    };

    it("refuses with LEDGER_UNAVAILABLE when status and trust cannot be read", async () => {
      const online = new OnlineLedgerView(w.ledger, w.provider);
      const down: LedgerView = { ...failing, chainId: online.chainId, statusRegistry: online.statusRegistry };
      expectRefused(await tap(verifier({ ledger: down })), ["LEDGER_UNAVAILABLE"]);
    });

    it("refuses with LEDGER_DISAGREEMENT when two nodes of a 2-of-2 quorum answer differently at the same block", async () => {
      const honest = ledgerNodeFromProvider(w.provider, { name: "ministry-a" });
      // A node whose statusOf answers "registered, Locked, reason 1" for the Active credential: the nodes disagree.
      const b = ledgerNodeFromProvider(w.provider, { name: "ministry-b" });
      const statusOf = w.ledger.statusRegistry.interface.getFunction("statusOf").selector;
      const liar: LedgerNode = {
        name: b.name, chainId: () => b.chainId(), blockNumber: () => b.blockNumber(), blockHash: (h) => b.blockHash(h), getLogs: (q) => b.getLogs(q),
        call: (to, data, height) => (data.startsWith(statusOf) ? Promise.resolve("0x" + [1, 1, 1].map((n) => n.toString(16).padStart(64, "0")).join("")) : b.call(to, data, height)),
      };
      const quorum = new OnlineLedgerView({ deployment: w.ledger.deployment, nodes: [honest, liar], quorum: 2 });
      expectRefused(await tap(verifier({ ledger: quorum })), ["LEDGER_DISAGREEMENT"]);
    });

    describe("a view's synchronous answers (statusNow / trustNow, the local index's hot path)", () => {
      /** The online view's answers for `base`, served synchronously and/or asynchronously, counting each kind of read. */
      async function answering(sync: { status?: () => StatusEntry; trust?: () => IssuerTrust }) {
        const online = new OnlineLedgerView(w.ledger, w.provider);
        const status = await online.credentialStatus(base.credentialId);
        const parsed = parseCredentialJwt(base.jwt);
        const trust = await online.issuerTrust(parsed.issuerAddress, CIVIL_ID_TYPE, parsed.issuedAt);
        const reads = { sync: 0, async: 0 };
        const view: LedgerView = {
          chainId: online.chainId, statusRegistry: online.statusRegistry,
          credentialStatus: () => (reads.async++, Promise.resolve(status)),
          issuerTrust: () => Promise.resolve(trust),
          statusNow: () => (reads.sync++, (sync.status ?? (() => status))()),
          trustNow: () => (sync.trust ?? (() => trust))(),
        };
        return { view, reads, status };
      }

      it("are used when they answer: no asynchronous read, and a Locked answer is refused as such", async () => {
        const { view, reads, status } = await answering({});
        expectAccepted(await tap(verifier({ ledger: view })));
        expect(reads).to.deep.equal({ sync: 1, async: 0 });
        const locked = await answering({ status: () => ({ ...status, state: CredentialState.Locked, reason: 1 }) });
        expectRefused(await tap(verifier({ ledger: locked.view })), ["CREDENTIAL_LOCKED"]);
        expect(locked.reads.async).to.equal(0);
      });

      it("when one throws (a digest awaiting its backfill), the asynchronous read decides", async () => {
        const pending = await answering({ status: () => { throw new CivilIdError("INDEX_STALE", "The binding digest is not backfilled yet."); } });
        expectAccepted(await tap(verifier({ ledger: pending.view })));
        expect(pending.reads).to.deep.equal({ sync: 1, async: 1 });
      });

      it("when they throw and the asynchronous reads fail too, the refusal is the asynchronous path's (fail closed)", async () => {
        const stale = new CivilIdError("INDEX_STALE", "The local status index is 9000 ms synced (bound 5000 ms).");
        const online = new OnlineLedgerView(w.ledger, w.provider);
        const view: LedgerView = {
          ...failing, chainId: online.chainId, statusRegistry: online.statusRegistry,
          credentialStatus: () => Promise.reject(stale), issuerTrust: () => Promise.reject(stale),
          statusNow: () => { throw stale; }, trustNow: () => { throw stale; },
        };
        expectRefused(await tap(verifier({ ledger: view })), ["INDEX_STALE"]);
        const fallback = await answering({});
        expectAccepted(await tap(verifier({ ledger: view, fallback: fallback.view })));
        expect(fallback.reads.async, "the fallback is read asynchronously").to.equal(1);
      });
    });

    it("refuses with INDEX_STALE when the local index never synced", async () => {
      const index = new LedgerIndex({ provider: w.provider, deployment: w.ledger.deployment });
      expectRefused(await tap(verifier({ ledger: index })), ["INDEX_STALE"]);
    });

    it("refuses with INTERNAL_ERROR when a component throws unexpectedly (no policy given, challenge store failing)", async () => {
      class BrokenStore extends ChallengeRegistry {
        override consume(): never {
          throw new Error("challenge store unavailable");
        }
      }
      expectRefused(await tap(verifier({ challenges: new BrokenStore() })), ["INTERNAL_ERROR"]);
      const v = verifier();
      const challenge = v.issueChallenge();
      const vp = await w.present(holder, base.jwt, challenge, AUD);
      const result = await v.verify(vp, { challenge, audience: AUD, policy: undefined as unknown as UsePolicy });
      expectRefused(result, ["INTERNAL_ERROR"]);
      expect(result.policy).to.equal("unknown");
    });
  });
});

describe("PresentationVerifier refusal coverage", () => {
  it("exercised every refusal code (run with the whole file)", () => {
    expect(everyCodeListed).to.equal(true);
    const missing = ALL_CODES.filter((c) => !observed.has(c));
    expect(missing, "refusal codes no test provoked").to.deep.equal([]);
  });
});
