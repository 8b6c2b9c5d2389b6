/**
 * The outside attacker against the one JWS codec (sdk/credential/jws.ts) and the verifier's reading of it: second
 * spellings of a genuine token (non-canonical base64url), repeated member names (parsers keep different ones),
 * header key injection (`jwk`, `kid`, `x5u`), huge numbers and deep nesting, and the time edges of a presentation at
 * exactly the verifier's clock-skew bounds. Every refusal is asserted by its exact reasons; each forgery is checked
 * against a control that the same verifier accepts.
 */
import { expect } from "chai";
import { Wallet } from "ethers";
import { civilIdWorld } from "../helpers/world.js";
import { b64json, craftPresentation, parts, signParts, signJws, withPart, type Holder } from "../helpers/forge.js";
import { decodeJws } from "../../../sdk/credential/jws.js";
import { decodeJsonSegment } from "../../../sdk/status-list/jws.js";
import { MAX_PRESENTATION_JWT_LENGTH } from "../../../sdk/protocol/presentation.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import { ChallengeRegistry } from "../../../sdk/verifier/challenges.js";
import { PresentationVerifier, type RefusalCode, type VerificationResult } from "../../../sdk/verifier/verifier.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";
import { deviceKeyJwk } from "../../../sdk/credential/index.js";

const AUD = "gate:sejong-complex-1";
const GATE = POLICIES.buildingGate;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The same bytes under another spelling: the last character's lowest (unused) bit set. */
function respelt(part: string): string {
  const last = ALPHABET.indexOf(part[part.length - 1]!);
  const twin = part.slice(0, -1) + ALPHABET[last ^ 1];
  expect(Buffer.from(twin, "base64url").equals(Buffer.from(part, "base64url")), "the twin decodes to the same bytes").to.equal(true);
  expect(twin).to.not.equal(part);
  return twin;
}

function expectRefused(result: VerificationResult, reasons: readonly RefusalCode[]): void {
  expect(result.reasons, result.details.join(" | ")).to.deep.equal(reasons);
  expect(result.ok).to.equal(false);
  expect(result.claims).to.equal(undefined);
}

function expectAccepted(result: VerificationResult): void {
  expect(result.reasons, result.details.join(" | ")).to.deep.equal([]);
  expect(result.ok).to.equal(true);
}

describe("adversarial: JWS encoding, member names, header injection, numbers and time edges", function () {
  let w: Awaited<ReturnType<typeof civilIdWorld>>;
  let holder: Holder;
  let base: Awaited<ReturnType<typeof w.issueTo>>;

  before(async () => {
    w = await civilIdWorld();
    holder = Wallet.createRandom();
    base = await w.issueTo(holder, "person-jws-encoding");
  });

  function verifier(nowMs?: number): PresentationVerifier {
    return new PresentationVerifier({
      ledger: new OnlineLedgerView(w.ledger, w.provider),
      challenges: new ChallengeRegistry(120_000, 100_000, nowMs === undefined ? Date.now : () => nowMs),
      ...(nowMs === undefined ? {} : { now: () => nowMs }),
    });
  }

  /** A presentation of `credential` built by `make` for a fresh challenge, verified. */
  async function tap(v: PresentationVerifier, make: (challenge: string) => Promise<string>) {
    const challenge = v.issueChallenge();
    return v.verify(await make(challenge), { challenge, audience: AUD, policy: GATE });
  }

  /** Signs a presentation whose payload JSON text is `edit(JSON text)` (for duplicates and raw numbers). */
  async function rawPresentation(challenge: string, edit: (json: string) => string, credential = base.jwt): Promise<string> {
    const t = Math.floor(Date.now() / 1000);
    const json = JSON.stringify({
      vp: { "@context": ["https://www.w3.org/2018/credentials/v1"], type: ["VerifiablePresentation"], verifiableCredential: [credential] },
      iss: base.holderDid, nonce: challenge, aud: AUD, iat: t, exp: t + 30,
    });
    return signParts(b64json({ alg: "ES256K", typ: "JWT" }), Buffer.from(edit(json), "utf8").toString("base64url"), holder.privateKey);
  }

  it("control: the genuine presentation and a raw-signed one are accepted", async () => {
    expectAccepted(await tap(verifier(), (c) => w.present(holder, base.jwt, c, AUD)));
    expectAccepted(await tap(verifier(), (c) => rawPresentation(c, (json) => json)));
  });

  describe("one token, one spelling (non-canonical base64url)", () => {
    it("refuses the presentation whose signature is respelt (same r‖s bytes): MALFORMED_PRESENTATION", async () => {
      const result = await tap(verifier(), async (c) => {
        const vp = await w.present(holder, base.jwt, c, AUD);
        return withPart(vp, 2, respelt(parts(vp)[2]));
      });
      expectRefused(result, ["MALFORMED_PRESENTATION"]);
    });

    it("refuses the genuine credential with its issuer signature respelt: MALFORMED_CREDENTIAL", async () => {
      const twin = withPart(base.jwt, 2, respelt(parts(base.jwt)[2]));
      expectRefused(await tap(verifier(), (c) => w.present(holder, twin, c, AUD)), ["MALFORMED_CREDENTIAL"]);
    });

    it("decodeJws refuses a respelt part in every position (the parts verify over their exact text)", () => {
      // Parts whose length leaves unused bits (22 and 10 characters; 86 for the 64-byte signature).
      const [h, p, s] = [b64json({ alg: "ES256K" }), b64json({ a: 1 }), Buffer.alloc(64, 7).toString("base64url")];
      expect(decodeJws(`${h}.${p}.${s}`, 1e6).ok).to.equal(true);
      for (const twin of [`${respelt(h)}.${p}.${s}`, `${h}.${respelt(p)}.${s}`, `${h}.${p}.${respelt(s)}`]) {
        expect(decodeJws(twin, 1e6)).to.deep.equal({ ok: false, failure: "NOT_COMPACT_JWS" });
      }
    });
  });

  describe("repeated member names (RFC 7515 §5.2)", () => {
    it("refuses a credential header naming alg twice, though JSON.parse would keep the last, valid one", async () => {
      const header = Buffer.from('{"alg":"none","typ":"JWT","alg":"ES256K"}').toString("base64url");
      const twin = await signParts(header, parts(base.jwt)[1], w.issuerWallet.privateKey);
      expectRefused(await tap(verifier(), (c) => w.present(holder, twin, c, AUD)), ["MALFORMED_CREDENTIAL"]);
    });

    it("refuses a presentation naming aud twice (another gate first, this one last)", async () => {
      const result = await tap(verifier(), (c) => rawPresentation(c, (json) => `{"aud":"gate:elsewhere",${json.slice(1)}`));
      expectRefused(result, ["MALFORMED_PRESENTATION"]);
    });

    it("refuses a repeat spelt with an escape (a\\u0075d is aud) and one nested in vp", async () => {
      expectRefused(await tap(verifier(), (c) => rawPresentation(c, (json) => `{"a\\u0075d":"gate:elsewhere",${json.slice(1)}`)), ["MALFORMED_PRESENTATION"]);
      expectRefused(
        await tap(verifier(), (c) => rawPresentation(c, (json) => json.replace('"vp":{', '"vp":{"type":["VerifiablePresentation"],'))),
        ["MALFORMED_PRESENTATION"],
      );
    });

    it("accepts equal names in different objects and names inside strings (no false alarm)", async () => {
      const result = await tap(verifier(), (c) => rawPresentation(c, (json) => `{"note":"\\"aud\\":1,{\\"aud\\":2}","x":[{"aud":1},{"aud":2}],${json.slice(1)}`));
      expectAccepted(result);
    });
  });

  it("status-list and snapshot segments follow the same rule (one decoder): respelt and repeated names refused", () => {
    const segment = b64json({ alg: "ES256K", kid: "0x" + "11".repeat(20) });
    expect(decodeJsonSegment(segment)).to.deep.equal({ alg: "ES256K", kid: "0x" + "11".repeat(20) });
    expect(decodeJsonSegment(respelt(segment))).to.equal(undefined);
    expect(decodeJsonSegment(Buffer.from('{"typ":"a","typ":"b"}').toString("base64url"))).to.equal(undefined);
  });

  describe("critical header extensions (RFC 7515 §4.1.11)", () => {
    it("refuses a presentation and a credential whose header names crit (b64: false would change what is signed)", async () => {
      const header = { alg: "ES256K", typ: "JWT", crit: ["b64"], b64: false };
      expectRefused(await tap(verifier(), (c) => craftPresentation(w.chainId, holder, [base.jwt], { nonce: c, aud: AUD }, { header })), ["MALFORMED_PRESENTATION"]);
      const credentialHeader = Buffer.from(JSON.stringify({ alg: "ES256K", typ: "JWT", crit: ["exp"], exp: 1 })).toString("base64url");
      const twin = await signParts(credentialHeader, parts(base.jwt)[1], w.issuerWallet.privateKey);
      expectRefused(await tap(verifier(), (c) => w.present(holder, twin, c, AUD)), ["MALFORMED_CREDENTIAL"]);
      expect(decodeJws(twin, 1e6)).to.deep.equal({ ok: false, failure: "UNSUPPORTED_CRITICAL_HEADER" });
    });
  });

  describe("header key injection", () => {
    it("a presentation whose header carries the attacker's jwk and kid is still checked against the attested device key", async () => {
      const attacker = Wallet.createRandom();
      const header = { alg: "ES256K", typ: "JWT", jwk: deviceKeyJwk(attacker.signingKey.publicKey), kid: `${base.holderDid}#controller`, x5u: "https://evil.example/x5" };
      const result = await tap(verifier(), (c) => craftPresentation(w.chainId, holder, [base.jwt], { nonce: c, aud: AUD }, { signer: attacker, header }));
      expectRefused(result, ["BAD_PRESENTATION_SIGNATURE"]);
    });

    it("a credential re-signed by an outsider who names their own jwk in the header: BAD_CREDENTIAL_SIGNATURE", async () => {
      const attacker = Wallet.createRandom();
      const payload = JSON.parse(Buffer.from(parts(base.jwt)[1], "base64url").toString("utf8")) as Record<string, unknown>;
      const forged = await signJws({ alg: "ES256K", typ: "JWT", jwk: deviceKeyJwk(attacker.signingKey.publicKey), kid: `${String(payload.iss)}#controller` }, payload, attacker.privateKey);
      expectRefused(await tap(verifier(), (c) => w.present(holder, forged, c, AUD)), ["BAD_CREDENTIAL_SIGNATURE"]);
    });
  });

  describe("numbers and nesting", () => {
    it("refuses times beyond safe integers (1e400 is Infinity, 2^53 + 1 rounds) and negative or fractional ones", async () => {
      for (const value of ["1e400", "9007199254740993", "-1", "1500000000.5", '"1500000000"', "null"]) {
        const result = await tap(verifier(), (c) => rawPresentation(c, (json) => json.replace(/"exp":\d+/, `"exp":${value}`)));
        expectRefused(result, ["MALFORMED_PRESENTATION"]);
      }
    });

    it("a presentation nested 15 000 levels deep within the size limit is judged without exhausting the stack", async () => {
      const depth = 15_000;
      const vp = await (async () => {
        const v = verifier();
        const challenge = v.issueChallenge();
        const token = await rawPresentation(challenge, (json) => `{"deep":${"[".repeat(depth)}${"]".repeat(depth)},${json.slice(1)}`);
        expect(token.length).to.be.below(MAX_PRESENTATION_JWT_LENGTH);
        return { v, challenge, token };
      })();
      expectAccepted(await vp.v.verify(vp.token, { challenge: vp.challenge, audience: AUD, policy: GATE }));
      const repeated = `{"deep":${"[".repeat(depth)}{"a":1,"a":2}${"]".repeat(depth)},`;
      expectRefused(await tap(verifier(), (c) => rawPresentation(c, (json) => repeated + json.slice(1))), ["MALFORMED_PRESENTATION"]);
    });
  });

  describe("time edges at the clock-skew bounds (30 s), the verifier's clock fixed at chain time", () => {
    let now: number;
    before(async () => {
      now = (await w.provider.getBlock("latest"))!.timestamp + 1;
    });

    async function at(fields: Record<string, unknown>) {
      return tap(verifier(now * 1000), (c) => craftPresentation(w.chainId, holder, [base.jwt], { nonce: c, aud: AUD, ...fields }));
    }

    it("exp: refused at now − 30, accepted at now − 29", async () => {
      expectRefused(await at({ iat: now - 60, exp: now - 30 }), ["PRESENTATION_EXPIRED"]);
      expectAccepted(await at({ iat: now - 60, exp: now - 29 }));
    });

    it("iat: refused at now + 31, accepted at now + 30; nbf the same", async () => {
      expectRefused(await at({ iat: now + 31, exp: now + 40 }), ["PRESENTATION_ISSUED_IN_FUTURE"]);
      expectAccepted(await at({ iat: now + 30, exp: now + 40 }));
      expectRefused(await at({ iat: now, nbf: now + 31, exp: now + 40 }), ["PRESENTATION_NOT_YET_VALID"]);
      expectAccepted(await at({ iat: now, nbf: now + 30, exp: now + 40 }));
    });

    it("lifetime: the gate's 60 s accepted, 61 s refused", async () => {
      expectAccepted(await at({ iat: now - 10, exp: now + 50 }));
      expectRefused(await at({ iat: now - 10, exp: now + 51 }), ["PRESENTATION_LIFETIME_TOO_LONG"]);
    });

    it("refuses a presentation that expires before (or when) it was issued: MALFORMED_PRESENTATION", async () => {
      expectRefused(await at({ iat: now, exp: now - 1 }), ["MALFORMED_PRESENTATION"]);
      expectRefused(await at({ iat: now, exp: now }), ["MALFORMED_PRESENTATION"]);
      expectAccepted(await at({ iat: now, exp: now + 1 }));
    });
  });
});
