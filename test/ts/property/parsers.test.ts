/**
 * Property-based tests of every parser that reads input from outside: random bytes, random strings and random
 * JSON must be refused with a typed error (or a refusal result), never crash with an untyped exception, never hang.
 */
import { expect } from "chai";
import fc from "fast-check";
import { Wallet } from "ethers";
import { CivilIdError } from "../../../sdk/errors.js";
import { parseCredentialJwt } from "../../../sdk/credential/index.js";
import { parseHrExport } from "../../../sdk/issuer/hr-import.js";
import { parseCsv } from "../../../sdk/issuer/csv.js";
import { parseDeployment } from "../../../sdk/chain/deployment.js";
import { parseAgencyCode, parseCredentialId } from "../../../sdk/chain/codes.js";
import { parseEthrDid } from "../../../sdk/did/did.js";
import { decodeCompactJws } from "../../../sdk/credential/jws.js";
import { assessPin } from "../../../sdk/wallet/pin.js";
import { civilIdWorld } from "../helpers/world.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import { ChallengeRegistry } from "../../../sdk/verifier/challenges.js";
import { PresentationVerifier } from "../../../sdk/verifier/verifier.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";

const RUNS = { numRuns: 300, seed: 20261127 };

/** Runs `fn`; passes if it returns or throws a CivilIdError, fails on any other exception. */
function typedOrOk(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (error) {
    if (error instanceof CivilIdError) return true;
    throw error;
  }
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
/** Strings shaped like compact JWS with random (often invalid) parts: the interesting neighbourhood of real input. */
const jwsLike = fc.tuple(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 80 }))
  .map(([h, p, s]) => `${b64url(h)}.${b64url(p)}.${b64url(s)}`);
const jsonJws = fc.tuple(fc.jsonValue({ maxDepth: 6 }), fc.jsonValue({ maxDepth: 6 }))
  .map(([h, p]) => `${b64url(Buffer.from(JSON.stringify(h)))}.${b64url(Buffer.from(JSON.stringify(p)))}.${b64url(new Uint8Array(64))}`);
const anyInput = fc.oneof(fc.string({ maxLength: 300 }), fc.string({ maxLength: 100, unit: "binary" }), jwsLike, jsonJws, fc.jsonValue());

describe("property: parsers refuse random input with typed errors", () => {
  it("parseCredentialJwt", () => {
    fc.assert(fc.property(anyInput, (input) => typedOrOk(() => parseCredentialJwt(input))), RUNS);
  });

  it("decodeCompactJws never throws and returns objects only", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), jwsLike, jsonJws), (input) => {
        const decoded = decodeCompactJws(input, 64 * 1024);
        return decoded === undefined || (typeof decoded.header === "object" && typeof decoded.payload === "object");
      }),
      RUNS,
    );
  });

  it("parseHrExport (both sources) on random bytes, strings and JSON", () => {
    const now = Date.UTC(2026, 10, 27);
    fc.assert(
      fc.property(fc.constantFrom("e-saram" as const, "insarang" as const), fc.oneof(fc.uint8Array({ maxLength: 400 }), fc.string({ maxLength: 400 }), fc.jsonValue().map((v) => JSON.stringify(v))), (source, input) =>
        typedOrOk(() => parseHrExport(source, input, now))),
      RUNS,
    );
  });

  it("parseCsv on random text", () => {
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => typedOrOk(() => parseCsv(text))), RUNS);
  });

  it("parseDeployment on random JSON", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => typedOrOk(() => parseDeployment(value))), RUNS);
  });

  it("CLI value parsers: agency codes, credential ids, DIDs", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.bigInt(), fc.jsonValue()), (input) =>
        typedOrOk(() => parseAgencyCode(input)) && typedOrOk(() => parseCredentialId(input)) && typedOrOk(() => parseEthrDid(input))),
      RUNS,
    );
  });

  it("an accepted agency code is 7 digits with a non-zero first digit; an accepted credential id embeds a valid agency code", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10, max: 20_000_000 }), (n) => {
        try {
          const code = parseAgencyCode(String(n));
          return code >= 1_000_000 && code <= 9_999_999;
        } catch (error) {
          return error instanceof CivilIdError && (n < 1_000_000 || n > 9_999_999);
        }
      }),
      RUNS,
    );
  });

  it("assessPin never throws and accepts only 6-digit PINs", () => {
    fc.assert(fc.property(fc.string({ maxLength: 12 }), (pin) => {
      const verdict = assessPin(pin);
      return !verdict.ok || /^[0-9]{6}$/.test(pin);
    }), RUNS);
  });
});

describe("property: the verifier refuses random presentations without crashing", function () {
  let verifier: PresentationVerifier;
  let w: Awaited<ReturnType<typeof civilIdWorld>>;

  before(async () => {
    w = await civilIdWorld();
    verifier = new PresentationVerifier({ ledger: new OnlineLedgerView(w.ledger, w.provider), challenges: new ChallengeRegistry() });
  });

  it("random strings, JWS-shaped garbage and random JSON are refused with a structural reason", async () => {
    await fc.assert(
      fc.asyncProperty(anyInput, async (input) => {
        const challenge = verifier.issueChallenge();
        const result = await verifier.verify(input, { challenge, audience: "gate:1", policy: POLICIES.buildingGate });
        expect(result.ok).to.equal(false);
        expect(result.reasons).to.have.length.greaterThan(0);
        expect(result.reasons).to.not.include("INTERNAL_ERROR");
      }),
      { numRuns: 150, seed: 20261127 },
    );
  });

  it("a genuine presentation with one random byte changed is always refused", async () => {
    const holder = Wallet.createRandom();
    const { jwt } = await w.issueTo(holder, "property-person");
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.integer({ min: 1, max: 255 }), async (position, delta) => {
        const challenge = verifier.issueChallenge();
        const vp = await w.present(holder, jwt, challenge, "gate:1");
        const i = position % vp.length;
        const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
        const replaced = alphabet[(alphabet.indexOf(vp[i]!) + delta) % alphabet.length]!;
        fc.pre(replaced !== vp[i]);
        const tampered = vp.slice(0, i) + replaced + vp.slice(i + 1);
        const result = await verifier.verify(tampered, { challenge, audience: "gate:1", policy: POLICIES.buildingGate });
        // A change in the last base64url character's unused low bits can decode to the same bytes: then it is the
        // same presentation and must be accepted; any real change must be refused.
        const sameBytes = tampered.split(".").map((p) => Buffer.from(p, "base64url").toString("hex")).join(".") ===
          vp.split(".").map((p) => Buffer.from(p, "base64url").toString("hex")).join(".");
        expect(result.ok, `${i}: ${result.reasons.join(",")}`).to.equal(sameBytes);
        if (!sameBytes) expect(result.reasons).to.not.include("INTERNAL_ERROR");
      }),
      { numRuns: 60, seed: 20261127 },
    );
  });
});
