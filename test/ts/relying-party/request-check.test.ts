import { expect } from "chai";
import { createHash } from "node:crypto";
import { SigningKey, Wallet } from "ethers";
import { claimsRequestedBy, dcqlQueryForPolicy } from "../../../sdk/relying-party/dcql.js";
import { checkPresentationRequest, listedVerifierJwtCallback, USE_PARAMETER } from "../../../sdk/relying-party/presentation-request.js";
import { RelyingPartyStatus, type RelyingPartyDirectory, type VerifierAuthorisation } from "../../../sdk/relying-party/registry.js";
import { recoverEs256kSigner, verifierAddressOfClientId, verifierIdentity } from "../../../sdk/relying-party/verifier-key.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";
import { isCivilIdError } from "../../../sdk/errors.js";

const CHAIN = 31337;
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** A compact ES256K JWS by `key` (low-s, as ethers signs). */
function sign(key: SigningKey, header: Record<string, unknown>, payload: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = key.sign(createHash("sha256").update(input).digest());
  return `${input}.${Buffer.from(sig.r.slice(2) + sig.s.slice(2), "hex").toString("base64url")}`;
}

/** A directory that lists `listed` for `uses`. */
function directory(listed: string, uses: VerifierAuthorisation["uses"]): RelyingPartyDirectory {
  return {
    authorisation: (key, use) => Promise.resolve({
      allowed: key === listed && uses.includes(use), verifierKey: key, relyingPartyId: key === listed ? 1 : 0,
      relyingPartyName: key === listed ? "테스트 도서관" : "", status: key === listed ? RelyingPartyStatus.Active : RelyingPartyStatus.None,
      uses: key === listed ? uses : [],
    }),
  };
}

describe("wallet-side presentation request checks", function () {
  const verifier = Wallet.createRandom();
  const identity = verifierIdentity(CHAIN, verifier.address);
  // The wallet's clock is injected: a time read when mocha loads this file would be minutes old by the time the
  // tests run in a long suite.
  const now = 1_800_000_000;
  const clock = () => now * 1000;
  const request = (overrides: Record<string, unknown> = {}, lifetime = 120) => {
    const payload = {
      response_type: "vp_token", client_id: identity.clientId, response_mode: "direct_post", response_uri: "https://library.example/openid4vp/response",
      nonce: "n-0123456789", state: "s-0123456789", dcql_query: dcqlQueryForPolicy(POLICIES.libraryCard), [USE_PARAMETER]: "library-card",
      iat: now, exp: now + lifetime, aud: "https://self-issued.me/v2", ...overrides,
    };
    const jwt = sign(verifier.signingKey, { alg: "ES256K", typ: "oauth-authz-req+jwt", kid: identity.kid }, payload);
    return { client_id: identity.clientId, request: jwt };
  };
  const check = (authorizationRequest: Record<string, unknown>, dir = directory(verifier.address, ["library-card"])) =>
    checkPresentationRequest({ authorizationRequest, directory: dir, chainId: CHAIN, now: clock });
  const code = async (p: Promise<unknown>) => p.then(() => "resolved", (e: unknown) => (isCivilIdError(e) ? e.code : String(e)));

  it("accepts a listed verifier's request by value and names it", async function () {
    const checked = await check(request());
    expect(checked.verifier.name).to.equal("테스트 도서관");
    expect(checked.requestedClaims).to.deep.equal(["name", "organisation"]);
  });

  it("refuses queries beyond the use, unknown uses, other formats, long-lived or expired requests, unsigned requests", async function () {
    expect(await code(check(request({ dcql_query: dcqlQueryForPolicy(POLICIES.onDutyIdentity) })))).to.equal("VERIFIER_USE_NOT_ALLOWED");
    expect(await code(check(request({ [USE_PARAMETER]: "teleport" })))).to.equal("INVALID_INPUT");
    expect(await code(check(request({ [USE_PARAMETER]: "building-gate" })))).to.equal("VERIFIER_USE_NOT_ALLOWED");
    expect(await code(check(request({}, 3600)))).to.equal("INVALID_INPUT");
    expect(await code(check(request({ iat: now - 300, exp: now - 100 })))).to.equal("INVALID_INPUT");
    expect(await code(check(request({ exp: now })))).to.equal("INVALID_INPUT");
    expect(await code(check(request({ iat: now + 61, exp: now + 120 })))).to.equal("INVALID_INPUT");
    expect(await code(check(request({ iat: now + 60, exp: now + 120 }))), "a verifier clock up to 60 s ahead").to.equal("resolved");
    expect(await code(check(request(), directory(Wallet.createRandom().address, ["library-card"])))).to.equal("VERIFIER_NOT_LISTED");
    const { request: jwt } = request();
    const unsigned = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as Record<string, unknown>;
    expect(await code(check(unsigned))).to.equal("INVALID_INPUT");
    // Another key signing for the listed verifier's client_id.
    const forged = sign(Wallet.createRandom().signingKey, { alg: "ES256K", typ: "oauth-authz-req+jwt", kid: identity.kid }, unsigned);
    expect(await code(check({ client_id: identity.clientId, request: forged }))).to.equal("INVALID_INPUT");
  });

  it("checks the request's times against the phone's own clock by default", async function () {
    const t = Math.floor(Date.now() / 1000);
    const fresh = request({ iat: t, exp: t + 120 });
    expect(await code(checkPresentationRequest({ authorizationRequest: fresh, directory: directory(verifier.address, ["library-card"]), chainId: CHAIN }))).to.equal("resolved");
    expect(await code(check(fresh)), "under the injected clock the same request is outside its window").to.equal("INVALID_INPUT");
  });

  it("the JWT callback accepts only did:ethr signers of this chain, ES256K, #controller, low-s", function () {
    const cb = listedVerifierJwtCallback(CHAIN);
    const header = { alg: "ES256K", kid: identity.kid };
    const compact = sign(verifier.signingKey, header, { a: 1 });
    const verify = (didUrl: string, alg = "ES256K", jwt = compact) => (cb({ method: "did", didUrl, alg }, { header: { alg }, payload: {}, compact: jwt }) as { verified: boolean }).verified;
    expect(verify(identity.kid)).to.equal(true);
    expect(verify(`${identity.did}#other`)).to.equal(false);
    expect(verify(verifierIdentity(CHAIN + 1, verifier.address).kid)).to.equal(false);
    expect(verify("did:web:example.org#controller")).to.equal(false);
    expect(verify(identity.kid, "ES256")).to.equal(false);
    const [h, p, s] = compact.split(".");
    const sig = Buffer.from(s!, "base64url");
    const highS = (SECP256K1_N - BigInt("0x" + sig.subarray(32).toString("hex"))).toString(16).padStart(64, "0");
    expect(recoverEs256kSigner(`${h}.${p}.${Buffer.concat([sig.subarray(0, 32), Buffer.from(highS, "hex")]).toString("base64url")}`, verifier.address)).to.equal(undefined);
    expect(recoverEs256kSigner(`${h}.${p}`, verifier.address)).to.equal(undefined);
    expect(verifierAddressOfClientId("x509_san_dns:example.org", CHAIN)).to.equal(undefined);
    expect(verifierAddressOfClientId(identity.clientId, CHAIN)).to.equal(verifier.address);
  });

  it("claimsRequestedBy refuses what a wallet cannot show exactly", function () {
    const base = dcqlQueryForPolicy(POLICIES.buildingGate);
    const cred = base.credentials[0];
    const refuses = (query: unknown) => expect(() => claimsRequestedBy(query)).to.throw(/DCQL|does not present/);
    refuses({ credentials: [] });
    refuses({ credentials: [{ ...cred, format: "dc+sd-jwt", meta: { vct_values: ["x"] } }] });
    refuses({ credentials: [{ ...cred, meta: { type_values: [["VerifiableCredential", "OtherCredential"]] } }] });
    refuses({ credentials: [{ ...cred, claims: [{ path: ["credentialSubject", "deviceKey"] }] }] });
    refuses({ credentials: [{ ...cred, claims: [{ path: ["credentialSubject", "name"], values: ["홍길동"] }] }] });
    refuses({ credentials: [{ ...cred, claims: undefined }] });
    refuses({ credentials: [cred, { ...cred, id: "second" }] });
    refuses("not a query");
  });
});
