/**
 * The low-s form check of a JWS signature (sdk/credential/jws.ts), which compares bytes: the same answers as the
 * arithmetic rule 0 < r < n, 0 < s ≤ ⌊n/2⌋ at every edge of both curves, and for random signatures.
 */
import { expect } from "chai";
import fc from "fast-check";
import { isCanonicalSignature, normaliseLowS, type JwsAlgorithm } from "../../../sdk/credential/jws.js";

const ORDER: Record<JwsAlgorithm, bigint> = {
  ES256K: 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n,
  ES256: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
};
const TOP = (1n << 256n) - 1n;

function signature(r: bigint, s: bigint): Uint8Array {
  return Buffer.from(r.toString(16).padStart(64, "0") + s.toString(16).padStart(64, "0"), "hex");
}

function reference(sig: Uint8Array, alg: JwsAlgorithm): boolean {
  if (sig.length !== 64) return false;
  const hex = Buffer.from(sig).toString("hex");
  const r = BigInt("0x" + hex.slice(0, 64));
  const s = BigInt("0x" + hex.slice(64));
  return r > 0n && r < ORDER[alg] && s > 0n && s <= ORDER[alg] / 2n;
}

describe("JWS signature form: 64-byte r‖s, low s", () => {
  for (const alg of ["ES256K", "ES256"] as const) {
    const n = ORDER[alg];
    const half = n / 2n;
    it(`${alg}: every edge of r and s`, () => {
      const cases: [bigint, bigint, boolean][] = [
        [1n, 1n, true],
        [n - 1n, half, true],
        [0n, 1n, false],
        [1n, 0n, false],
        [n, 1n, false],
        [n + 1n, 1n, false],
        [TOP, 1n, false],
        [1n, half + 1n, false],
        [1n, n - 1n, false],
        [1n, TOP, false],
        [half, half - 1n, true],
      ];
      for (const [r, s, accepted] of cases) {
        expect(isCanonicalSignature(signature(r, s), alg), `r=${r.toString(16)} s=${s.toString(16)}`).to.equal(accepted);
        expect(reference(signature(r, s), alg)).to.equal(accepted);
      }
    });

    it(`${alg}: the same answer as the arithmetic rule for random words, and normaliseLowS lands in the form`, () => {
      const wordNear = fc.oneof(
        fc.bigInt({ min: 0n, max: TOP }),
        fc.bigInt({ min: -3n, max: 3n }).map((d) => half + d),
        fc.bigInt({ min: -3n, max: 3n }).map((d) => n + d),
      );
      fc.assert(fc.property(wordNear, wordNear, (r, s) => {
        const sig = signature(r & TOP, s & TOP);
        expect(isCanonicalSignature(sig, alg)).to.equal(reference(sig, alg));
        const rOk = (r & TOP) > 0n && (r & TOP) < n;
        const sOk = (s & TOP) > 0n && (s & TOP) < n;
        if (rOk && sOk) expect(isCanonicalSignature(normaliseLowS(sig, alg), alg)).to.equal(true);
      }), { numRuns: 2_000 });
    });
  }

  it("refuses any length but 64 bytes and an unknown algorithm", () => {
    for (const length of [0, 63, 65, 128]) expect(isCanonicalSignature(new Uint8Array(length).fill(1), "ES256K")).to.equal(false);
    expect(isCanonicalSignature(signature(1n, 1n), "EdDSA" as JwsAlgorithm)).to.equal(false);
  });
});
