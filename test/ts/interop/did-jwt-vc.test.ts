/**
 * Interoperability with the reference libraries, both ways: what our SDK issues verifies with plain did-jwt-vc
 * and the unmodified ethr-did-resolver; what plain did-jwt-vc makes in our format verifies with our verifier.
 */
import { expect } from "chai";
import { ES256KSigner } from "did-jwt";
import {
  createVerifiableCredentialJwt,
  createVerifiablePresentationJwt,
  verifyCredential,
  verifyPresentation,
  type Issuer,
} from "did-jwt-vc";
import { Resolver, type Resolvable } from "did-resolver";
import { getResolver } from "ethr-did-resolver";
import { Wallet, getBytes, toBeHex } from "ethers";
import { civilIdWorld, claimsFor, HOLDER_SECRET } from "../helpers/world.js";
import { CENTRAL_AGENCY, governed } from "../helpers/fixture.js";
import { b64json, craftPresentation, decodePart, nowSeconds, parts, registerCrafted, withPart, type Holder } from "../helpers/forge.js";
import { CIVIL_SERVANT_ID_TYPE } from "../../../sdk/chain/codes.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { CIVIL_ID_CONTEXT, VC_CONTEXT_V1, deviceKeyJwk, statusRef } from "../../../sdk/credential/index.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { ChallengeRegistry } from "../../../sdk/verifier/challenges.js";
import { PresentationVerifier, type VerificationResult } from "../../../sdk/verifier/verifier.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";

type World = Awaited<ReturnType<typeof civilIdWorld>>;
type Snapshot = Awaited<ReturnType<World["networkHelpers"]["takeSnapshot"]>>;

const AUD = "https://library.sejong.go.kr";
const POLICY = POLICIES.libraryCard;

describe("interop with did-jwt-vc and ethr-did-resolver", function () {
  let w: World;
  let snapshot: Snapshot;
  let holder: Holder;
  let base: { jwt: string; credentialId: bigint; holderDid: string };
  /** The reference resolver, configured as any did:ethr consumer would: no wrapper of ours. */
  let plainResolver: Resolvable;
  let sdkIssuer: Issuer;

  before(async () => {
    w = await civilIdWorld();
    holder = Wallet.createRandom();
    base = await w.issueTo(holder, "person-1");
    const chainHex = toBeHex(BigInt(w.chainId));
    plainResolver = new Resolver(
      getResolver({ networks: [{ name: chainHex, chainId: w.chainId, registry: w.ledger.deployment.didRegistry, provider: w.provider as never }] }) as never,
    );
    sdkIssuer = { did: didForAddress(w.chainId, w.issuerWallet.address), signer: ES256KSigner(getBytes(w.issuerWallet.privateKey)), alg: "ES256K" };
    snapshot = await w.networkHelpers.takeSnapshot();
  });
  afterEach(async () => {
    await snapshot.restore();
  });

  function verifier(): PresentationVerifier {
    return new PresentationVerifier({ ledger: new OnlineLedgerView(w.ledger, w.provider), challenges: new ChallengeRegistry() });
  }

  function expectReasons(result: VerificationResult, reasons: readonly string[]) {
    expect(result.reasons, result.details.join(" | ")).to.deep.equal(reasons);
    expect(result.ok).to.equal(reasons.length === 0);
  }

  /** Registers the credential `make` writes for the id it is given, with its own binding digest, as our issuer would. */
  async function registered(make: (credentialId: bigint) => Promise<string>): Promise<string> {
    const registry = w.ledger.statusRegistry.connect(w.actors.registrar);
    return (await registerCrafted({ registry, agencyCode: CENTRAL_AGENCY, holderRef: holderReference(HOLDER_SECRET, "interop-1") }, make)).jwt;
  }

  /** Chain time: the issuer key's window opened at a block time, which runs ahead of the wall clock. */
  async function chainNow(): Promise<number> {
    return (await w.provider.getBlock("latest"))!.timestamp;
  }

  async function tap(v: PresentationVerifier, credential: string, who: Holder = holder) {
    const challenge = v.issueChallenge();
    return v.verify(await w.present(who, credential, challenge, AUD), { challenge, audience: AUD, policy: POLICY });
  }

  describe("our credentials, their verifier", () => {
    for (const [which, resolver] of [["the plain ethr-did-resolver", () => plainResolver], ["our CachingDidResolver", () => w.resolver]] as const) {
      it(`did-jwt-vc verifyCredential accepts an SDK credential with ${which}`, async () => {
        const verified = await verifyCredential(base.jwt, resolver());
        expect(verified.issuer).to.equal(sdkIssuer.did);
        expect(verified.verifiableCredential.type).to.deep.equal(["VerifiableCredential", CIVIL_SERVANT_ID_TYPE]);
        expect(verified.verifiableCredential.credentialSubject).to.include({ id: base.holderDid, name: "홍길동", agencyCode: CENTRAL_AGENCY });
        expect(verified.verifiableCredential.credentialStatus).to.include({ credentialId: base.credentialId.toString() });
        // And it is not merely lenient: the same credential tampered with is refused.
        const payload = decodePart(parts(base.jwt)[1]) as { vc: { credentialSubject: Record<string, unknown> } };
        payload.vc.credentialSubject.position = "국장";
        await verifyCredential(withPart(base.jwt, 1, b64json(payload)), resolver()).then(
          () => expect.fail("did-jwt-vc accepted a tampered signature"),
          (error: Error) => expect(error.message).to.match(/invalid_signature/),
        );
      });
    }

    it("did-jwt-vc verifyPresentation accepts a presentation in our wire format given the challenge and domain", async () => {
      const challenge = "c-" + nowSeconds();
      // Our format: a string audience and a nonce, built without did-jwt-vc.
      const ours = await craftPresentation(w.chainId, holder, [base.jwt], { nonce: challenge, aud: AUD });
      const verified = await verifyPresentation(ours, plainResolver, { challenge, domain: AUD });
      expect(verified.issuer).to.equal(base.holderDid);
      expect(verified.verifiablePresentation.verifiableCredential?.[0]?.proof).to.deep.equal({ type: "JwtProof2020", jwt: base.jwt });
      await verifyPresentation(ours, plainResolver, { challenge: "another", domain: AUD }).then(
        () => expect.fail("did-jwt-vc accepted the wrong challenge"),
        (error: Error) => expect(error.message).to.match(/challenge/),
      );
      await verifyPresentation(ours, plainResolver, { challenge, domain: "https://elsewhere.example" }).then(
        () => expect.fail("did-jwt-vc accepted the wrong domain"),
        (error: Error) => expect(error.message).to.match(/aud|domain/i),
      );
    });
  });

  describe("their credentials and presentations, our verifier", () => {
    it("accepts a presentation made with createVerifiablePresentationJwt (array audience, nonce)", async () => {
      const v = verifier();
      const challenge = v.issueChallenge();
      const t = nowSeconds();
      const vp = await createVerifiablePresentationJwt(
        { vp: { "@context": [VC_CONTEXT_V1], type: ["VerifiablePresentation"], verifiableCredential: [base.jwt] }, iat: t, exp: t + 60 },
        { did: base.holderDid, signer: ES256KSigner(getBytes(holder.privateKey)), alg: "ES256K" },
        { challenge, domain: AUD },
      );
      const result = await v.verify(vp, { challenge, audience: AUD, policy: POLICY });
      expectReasons(result, []);
      expect(result.claims).to.deep.equal({ name: "홍길동", organisation: "행정안전부" });
    });

    /** Our credential format written out with plain did-jwt-vc, in its JWT-claims form, issued at `t`. */
    async function jwtFormCredential(credentialId: bigint, t: number): Promise<string> {
      return createVerifiableCredentialJwt(
        {
          sub: base.holderDid,
          iat: t, // did-jwt-vc leaves iat out unless given; our format requires the issuance time
          nbf: t - 5,
          exp: t + 86_400,
          jti: `urn:mcid:credential:${w.chainId}:${credentialId}`,
          vc: {
            "@context": [VC_CONTEXT_V1, CIVIL_ID_CONTEXT],
            type: ["VerifiableCredential", CIVIL_SERVANT_ID_TYPE],
            credentialSubject: { ...claimsFor("홍길동"), deviceKey: deviceKeyJwk(holder.signingKey.publicKey) },
            credentialStatus: statusRef(w.chainId, w.ledger.deployment.statusRegistry, credentialId),
          },
        },
        sdkIssuer,
      );
    }

    /** The same, in the W3C data-model form did-jwt-vc transforms into JWT claims itself. */
    async function w3cFormCredential(credentialId: bigint, t: number): Promise<string> {
      return createVerifiableCredentialJwt(
        {
          "@context": [VC_CONTEXT_V1, CIVIL_ID_CONTEXT],
          id: `urn:mcid:credential:${w.chainId}:${credentialId}`,
          type: ["VerifiableCredential", CIVIL_SERVANT_ID_TYPE],
          issuer: { id: sdkIssuer.did },
          iat: t, // explicit, as above: issuanceDate becomes nbf, not iat
          issuanceDate: new Date((t - 5) * 1000).toISOString(),
          expirationDate: new Date((t + 86_400) * 1000).toISOString(),
          credentialSubject: { id: base.holderDid, ...claimsFor("홍길동"), deviceKey: deviceKeyJwk(holder.signingKey.publicKey) },
          credentialStatus: statusRef(w.chainId, w.ledger.deployment.statusRegistry, credentialId),
        },
        sdkIssuer,
      );
    }

    for (const [form, make] of [["JWT-claims", jwtFormCredential], ["W3C data-model", w3cFormCredential]] as const) {
      it(`accepts a credential made with createVerifiableCredentialJwt (${form} form) by an accredited key, and refuses it once the organisation is suspended`, async () => {
        const t = await chainNow();
        const credential = await registered((credentialId) => make(credentialId, t));
        expectReasons(await tap(verifier(), credential), []);
        const reg = w.ledger.issuerRegistry;
        await (await governed(w.ledger, w.actors.members, await reg.getAddress(), reg.interface.encodeFunctionData("suspend", [CENTRAL_AGENCY]))).wait();
        expectReasons(await tap(verifier(), credential), ["ORGANISATION_SUSPENDED"]);
      });
    }

    it("refuses (MALFORMED_CREDENTIAL) did-jwt-vc's default output, which has no iat: our format needs the issuance time", async () => {
      const jwt = await jwtFormCredential(base.credentialId, await chainNow());
      const payload = decodePart(parts(jwt)[1]);
      delete payload.iat;
      const withoutIat = await createVerifiableCredentialJwt(payload as never, sdkIssuer);
      expect(decodePart(parts(withoutIat)[1])).to.not.have.property("iat");
      await verifyCredential(withoutIat, plainResolver);
      const result = await tap(verifier(), withoutIat);
      expectReasons(result, ["MALFORMED_CREDENTIAL"]);
      expect(result.details[0]).to.match(/iat/);
    });

    it("refuses a did-jwt-vc credential signed by a key no organisation accredited, though did-jwt-vc itself accepts it", async () => {
      const stranger = Wallet.createRandom();
      const t = await chainNow();
      // Registered with its own binding digest, so that the issuer key is the only thing wrong with it.
      const credential = await registered((credentialId) => createVerifiableCredentialJwt(
        {
          sub: base.holderDid, iat: t, nbf: t - 5, exp: t + 86_400,
          vc: {
            "@context": [VC_CONTEXT_V1, CIVIL_ID_CONTEXT],
            type: ["VerifiableCredential", CIVIL_SERVANT_ID_TYPE],
            credentialSubject: { ...claimsFor("홍길동"), deviceKey: deviceKeyJwk(holder.signingKey.publicKey) },
            credentialStatus: statusRef(w.chainId, w.ledger.deployment.statusRegistry, credentialId),
          },
        },
        { did: didForAddress(w.chainId, stranger.address), signer: ES256KSigner(getBytes(stranger.privateKey)), alg: "ES256K" },
      ));
      await verifyCredential(credential, plainResolver); // a valid signature is all did-jwt-vc checks
      expectReasons(await tap(verifier(), credential), ["ISSUER_NOT_ACCREDITED"]);
    });
  });
});
