/**
 * The shared floor: one test per rule that used to differ between the issuer's, the wallet's and the verifier's
 * copies, run against the one module; and the wallet refusing at collection exactly what a verifier refuses.
 */
import { readFileSync } from "node:fs";
import { expect } from "chai";
import { Wallet } from "ethers";
import {
  CIVIL_ID_CONTEXT_DOCUMENT, MAX_CREDENTIAL_JWT_LENGTH, TEXT_CLAIMS, credentialRefusalReason, deviceKeyJwk, draftCredential,
  issueCredentialJwt, issuerFromPrivateKey, parseCredentialJwt, signCredential,
} from "../../../sdk/credential/index.js";
import { makeCredentialId } from "../../../sdk/chain/codes.js";
import { didForAddress, isCanonicalEthrDid, parseEthrDid, sameEthrDid, tryParseEthrDid } from "../../../sdk/did/did.js";
import { sameHolderDid } from "../../../sdk/did/holder.js";
import { activationMessage, checkPossessionProof } from "../../../sdk/protocol/activation.js";
import { checkCollectionSignature, collectionMessage } from "../../../sdk/protocol/collection.js";
import { ChallengeRegistry } from "../../../sdk/verifier/challenges.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";
import { PresentationVerifier } from "../../../sdk/verifier/verifier.js";
import type { LedgerView } from "../../../sdk/status/ledger-view.js";
import { es256kSigner, signPresentation } from "../../../sdk/protocol/index.js";
import { CHAIN_ID, TEST_STATUS_REGISTRY, devicePublicKey, deviceSigningKey, expectCode, newWallet, tempDir } from "../helpers/wallet.js";
import { b64json, decodePart, parts, signJws, withHighS, withPart } from "../helpers/forge.js";

const CLAIMS = { name: "홍길동", agencyCode: 1741000, organisation: "행정안전부", department: "디지털정부국", position: "행정사무관", employeeRef: "E-1" };

describe("shared floor: one rule per concept", () => {
  const issuerKey = Wallet.createRandom();
  const issuer = issuerFromPrivateKey(CHAIN_ID, issuerKey.privateKey);
  const now = Math.floor(Date.now() / 1000);

  async function credentialFor(holder: { did: string; publicKey: string }, overrides: { claims?: typeof CLAIMS; statusListBaseUrl?: string; credentialId?: bigint } = {}) {
    return issueCredentialJwt(issuer, {
      chainId: CHAIN_ID, statusRegistry: TEST_STATUS_REGISTRY, holderDid: holder.did, deviceKey: deviceKeyJwk(holder.publicKey),
      claims: overrides.claims ?? CLAIMS, issuedAt: now - 60, validUntil: now + 86_400, credentialId: overrides.credentialId ?? makeCredentialId(1741000, 5n),
      ...(overrides.statusListBaseUrl === undefined ? {} : { statusListBaseUrl: overrides.statusListBaseUrl }),
    });
  }

  describe("did:ethr (one module, one spelling)", () => {
    const address = "0x8ba1f109551bD432803012645Ac136ddd64DBA72";
    it("formats the chain id as hex without leading zeros: 2026 is 0x7ea, never 0x07ea", () => {
      expect(didForAddress(2026, address.toLowerCase())).to.equal(`did:ethr:0x7ea:${address}`);
      expect(didForAddress(31337, address)).to.equal(`did:ethr:0x7a69:${address}`);
      expect(didForAddress(1n, address)).to.equal(`did:ethr:0x1:${address}`);
    });
    it("refuses decimal, zero-padded and upper-case-hex chain ids, network names, DID URLs and bad checksums", () => {
      for (const did of [`did:ethr:2026:${address}`, `did:ethr:0x07ea:${address}`, `did:ethr:0x7EA:${address}`, `did:ethr:mainnet:${address}`,
        `did:ethr:${address}`, `did:ethr:0x7ea:${address}#controller`, `did:ethr:0x7ea:0x8Ba1f109551bD432803012645Ac136ddd64DBA72`, `did:ethr:0x0:${address}`]) {
        expect(tryParseEthrDid(did), did).to.equal(undefined);
      }
      expect(() => parseEthrDid(`did:ethr:2026:${address}`)).to.throw(/hex chain id without leading zeros/);
    });
    it("compares parsed values: address case does not matter, the chain does", () => {
      expect(sameEthrDid(`did:ethr:0x7ea:${address.toLowerCase()}`, `did:ethr:0x7ea:${address}`)).to.equal(true);
      expect(sameHolderDid(`did:ethr:0x7ea:${address.toLowerCase()}`, `did:ethr:0x7ea:${address}`)).to.equal(true);
      expect(sameEthrDid(`did:ethr:0x7ea:${address}`, `did:ethr:0x7a69:${address}`)).to.equal(false);
      expect(isCanonicalEthrDid(`did:ethr:0x7ea:${address.toLowerCase()}`)).to.equal(false);
    });
    it("activation and collection accept only the canonical spelling of the device DID (a bound device cannot open a second request)", async () => {
      const device = Wallet.createRandom();
      const canonical = didForAddress(CHAIN_ID, device.address);
      const lower = `did:ethr:0x7a69:${device.address.toLowerCase()}`;
      const challenge = { chainId: CHAIN_ID, requestId: "r-1", challenge: "0x" + "11".repeat(32) };
      const ok = checkPossessionProof(challenge, canonical, device.signingKey.publicKey, await device.signMessage(activationMessage(challenge, canonical)));
      expect(ok.failure).to.equal(null);
      const respelled = checkPossessionProof(challenge, lower, device.signingKey.publicKey, await device.signMessage(activationMessage(challenge, lower)));
      expect(respelled.failure).to.equal("MALFORMED_DID");
      const collect = { ...challenge, expiresAt: new Date(Date.now() + 60_000).toISOString() };
      expect(checkCollectionSignature(collect, lower, await device.signMessage(collectionMessage(collect, lower)))).to.equal("MALFORMED_DID");
      expect(checkCollectionSignature(collect, canonical, await device.signMessage(collectionMessage(collect, canonical)))).to.equal(null);
    });
  });

  describe("the credential: one size limit, one algorithm rule, one parser", () => {
    const holder = Wallet.createRandom();
    const subject = { did: didForAddress(CHAIN_ID, holder.address), publicKey: holder.signingKey.publicKey };

    it("has one size limit (16 KiB) the issuer, the wallet and the verifier share", async () => {
      expect(MAX_CREDENTIAL_JWT_LENGTH).to.equal(16 * 1024);
      const draft = draftCredential(issuer, {
        chainId: CHAIN_ID, statusRegistry: TEST_STATUS_REGISTRY, holderDid: subject.did, deviceKey: deviceKeyJwk(subject.publicKey),
        claims: { ...CLAIMS }, issuedAt: now, validUntil: now + 60,
      });
      // Text claims are at most 200 characters: six of them cannot push a credential over the limit...
      expect(() => draftCredential(issuer, { ...draft, holderDid: draft.subjectDid, chainId: CHAIN_ID, claims: { ...CLAIMS, name: "x".repeat(201) } })).to.throw(/at most 200/);
      // ...and a longer JWT, however made, is refused by the parser every party runs.
      const signed = await signCredential(issuer, draft, makeCredentialId(1741000, 1n));
      const padded = await signJws({ alg: "ES256K", typ: "JWT" }, { ...decodePart(parts(signed)[1]), pad: "x".repeat(MAX_CREDENTIAL_JWT_LENGTH) }, issuerKey.privateKey);
      expect(credentialRefusalReason(catching(() => parseCredentialJwt(padded)))).to.equal("TOO_LARGE");
    });

    it("allows ES256K only for credentials (issuer keys are accredited addresses); the wallet refused nothing before", async () => {
      const jwt = await credentialFor(subject);
      const es256 = withPart(jwt, 0, b64json({ alg: "ES256", typ: "JWT" }));
      expect(credentialRefusalReason(catching(() => parseCredentialJwt(es256)))).to.equal("ALGORITHM_NOT_ALLOWED");
    });

    it("refuses the high-s twin of the issuer signature in the parser (the wallet stores none)", async () => {
      const twin = withHighS(await credentialFor(subject));
      expect(credentialRefusalReason(catching(() => parseCredentialJwt(twin)))).to.equal("NON_CANONICAL_SIGNATURE");
    });

    it("carries an optional IETF Token Status List reference whose idx is the credential's sequence", async () => {
      const jwt = await credentialFor(subject, { statusListBaseUrl: "https://status.mcid.go.kr", credentialId: makeCredentialId(1741000, 42n) });
      expect(parseCredentialJwt(jwt).statusList).to.deep.equal({ status_list: { idx: 42, uri: "https://status.mcid.go.kr/status-lists/1741000" } });
      const payload = decodePart(parts(jwt)[1]);
      const wrongIdx = withPart(jwt, 1, b64json({ ...payload, status: { status_list: { idx: 41, uri: "https://status.mcid.go.kr/status-lists/1741000" } } }));
      expect(credentialRefusalReason(catching(() => parseCredentialJwt(wrongIdx)))).to.equal("BAD_STATUS_LIST");
      expect(parseCredentialJwt(await credentialFor(subject)).statusList).to.equal(undefined);
    });

    it("ships the JSON-LD context it points at, defining every term the credential uses", async () => {
      const shipped = JSON.parse(readFileSync(new URL("../../../contexts/mobile-civil-id-v1.jsonld", import.meta.url), "utf8")) as unknown;
      expect(shipped).to.deep.equal(CIVIL_ID_CONTEXT_DOCUMENT);
      const terms = Object.keys(CIVIL_ID_CONTEXT_DOCUMENT["@context"]);
      const payload = decodePart(parts(await credentialFor(subject))[1]) as { vc: { type: string[]; credentialSubject: Record<string, unknown>; credentialStatus: Record<string, unknown> } };
      for (const term of [...Object.keys(payload.vc.credentialSubject), payload.vc.type[1]!, payload.vc.credentialStatus.type as string]) expect(terms, term).to.include(term);
      for (const term of TEXT_CLAIMS) expect(terms).to.include(term);
      const statusTerms = Object.keys(CIVIL_ID_CONTEXT_DOCUMENT["@context"].CivilIdStatusRegistry2026["@context"]);
      for (const term of Object.keys(payload.vc.credentialStatus).filter((k) => k !== "id" && k !== "type")) expect(statusTerms, term).to.include(term);
    });
  });

  describe("collection: the wallet refuses exactly what the verifier refuses", () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ dir, cleanup } = await tempDir()));
    afterEach(async () => cleanup());

    // A verifier that refuses before any ledger read for every malformed credential: the ledger is never asked.
    const ledger: LedgerView = {
      chainId: CHAIN_ID, statusRegistry: TEST_STATUS_REGISTRY,
      credentialStatus: () => Promise.reject(new Error("not reached")), issuerTrust: () => Promise.reject(new Error("not reached")),
    };

    it("for every variant: stored by the wallet iff the verifier gets past the credential's form, with the same reason", async () => {
      const wallet = await newWallet(dir);
      const publicKey = await devicePublicKey(wallet);
      const good = await credentialFor({ did: wallet.did, publicKey });
      const payload = decodePart(parts(good)[1]) as Record<string, unknown> & { vc: Record<string, unknown> & { credentialSubject: Record<string, unknown> } };
      const resign = (p: Record<string, unknown>, header: Record<string, unknown> = { alg: "ES256K", typ: "JWT" }) => signJws(header, p, issuerKey.privateKey);
      const variants: Record<string, string> = {
        genuine: good,
        "alg ES256": await resign(payload, { alg: "ES256", typ: "JWT" }),
        "typ vp": await resign(payload, { alg: "ES256K", typ: "vp+jwt" }),
        "high-s": withHighS(good),
        "decimal chain id in sub": await resign({ ...payload, sub: `did:ethr:31337:${wallet.address}` }),
        "lower-case sub": await resign({ ...payload, sub: `did:ethr:0x7a69:${wallet.address.toLowerCase()}` }),
        "zero-padded iss": await resign({ ...payload, iss: (payload.iss as string).replace(":0x7a69:", ":0x07a69:") }),
        "no exp": await resign({ ...payload, exp: undefined }),
        "extra context": await resign({ ...payload, vc: { ...payload.vc, "@context": [...(payload.vc["@context"] as string[]), "https://example.org/x"] } }),
        "unknown claim": await resign({ ...payload, vc: { ...payload.vc, credentialSubject: { ...payload.vc.credentialSubject, nationalId: "850101-1234567" } } }),
        "control character": await resign({ ...payload, vc: { ...payload.vc, credentialSubject: { ...payload.vc.credentialSubject, name: "홍\u0000길동" } } }),
        "another device key": await resign({ ...payload, vc: { ...payload.vc, credentialSubject: { ...payload.vc.credentialSubject, deviceKey: deviceKeyJwk(Wallet.createRandom().signingKey.publicKey) } } }),
        oversized: await resign({ ...payload, pad: "x".repeat(MAX_CREDENTIAL_JWT_LENGTH) }),
      };
      for (const [name, jwt] of Object.entries(variants)) {
        let parserReason: string | undefined;
        try {
          parseCredentialJwt(jwt);
        } catch (error) {
          parserReason = credentialRefusalReason(error);
          expect(parserReason, name).to.not.equal(undefined);
        }
        const stored = await wallet.storeCredential(jwt).then(() => undefined, (error: { code: string; details?: { reason?: string } }) => error);
        const verifier = new PresentationVerifier({ ledger, challenges: new ChallengeRegistry() });
        const challenge = verifier.issueChallenge();
        const vp = await signPresentation({ holder: wallet.did, signer: es256kSigner(await deviceKey(wallet)), credential: jwt, challenge, audience: "gate:1", now });
        const verdict = await verifier.verify(vp, { challenge, audience: "gate:1", policy: POLICIES.buildingGate });
        const refusedForForm = verdict.reasons.some((r) => ["MALFORMED_CREDENTIAL", "ALGORITHM_NOT_ALLOWED", "BAD_CREDENTIAL_SIGNATURE", "MALFORMED_PRESENTATION"].includes(r));
        if (parserReason === undefined) {
          expect(stored, `${name}: the wallet stores what the parser accepts`).to.equal(undefined);
          expect(refusedForForm, `${name}: ${verdict.reasons.join()}`).to.equal(false);
        } else {
          expect(stored?.code, name).to.equal("MALFORMED_JWT");
          expect(stored?.details?.reason, name).to.equal(parserReason);
          expect(refusedForForm, `${name}: ${verdict.reasons.join()}`).to.equal(true);
        }
      }
      expect(await wallet.credential()).to.equal(good);
    });

    it("the wallet reports the parser's typed reason", async () => {
      const wallet = await newWallet(dir);
      const refused = await expectCode(wallet.storeCredential("YQ.Yg.Yw"), "MALFORMED_JWT"); // base64url of "a", "b", "c": not JSON
      expect(refused.details).to.deep.include({ reason: "NOT_JSON" });
    });
  });
});

async function deviceKey(wallet: Awaited<ReturnType<typeof newWallet>>): Promise<string> {
  return (await deviceSigningKey(wallet)).privateKey;
}

function catching(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  expect.fail("expected a refusal");
}
