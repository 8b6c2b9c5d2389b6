/**
 * The binding digest's fixed-layout encoder against ethers' generic ABI coder (the encoding the digests already
 * registered on chain were computed with): the same bytes for every input, and the same refusals.
 */
import { expect } from "chai";
import fc from "fast-check";
import { AbiCoder, keccak256 } from "ethers";
import { bindingDigest, encodeBinding, type CredentialBinding } from "../../../sdk/credential/binding.js";
import { isCivilIdError } from "../../../sdk/errors.js";

const TYPES = [
  "string", "string", "string", "string", "string", "uint32", "string", "string", "string", "string",
  "string", "string", "string", "uint64", "uint64", "uint64",
];

/** The reference: ethers' coder over the documented field order. */
function referenceEncoding(b: CredentialBinding): string {
  return AbiCoder.defaultAbiCoder().encode(TYPES, [
    "mcid-credential-binding/v2", b.issuerDid, b.subjectDid, b.credentialType, b.claims.name, b.claims.agencyCode,
    b.claims.organisation, b.claims.department, b.claims.position, b.claims.employeeRef,
    b.deviceKey.crv, b.deviceKey.x, b.deviceKey.y, b.issuedAt, b.validFrom, b.validUntil,
  ]);
}

const hex = (bytes: Uint8Array) => "0x" + Buffer.from(bytes).toString("hex");

const SAMPLE: CredentialBinding = {
  issuerDid: "did:ethr:0x7e2:0x1234567890abcdef1234567890abcdef12345678",
  subjectDid: "did:jwk:eyJrdHkiOiJFQyJ9",
  credentialType: "CivilServantIdCredential",
  claims: { name: "홍길동", agencyCode: 1741000, organisation: "행정안전부", department: "디지털정부국", position: "행정사무관", employeeRef: "E-1" },
  deviceKey: { kty: "EC", crv: "secp256k1", x: "x".repeat(43), y: "y".repeat(43) },
  issuedAt: 1_764_000_000,
  validFrom: 1_764_000_000,
  validUntil: 1_795_536_000,
};

// Text of any length (empty, exactly one word, spanning words), any code points, and lone surrogates.
const text = fc.oneof(
  fc.string({ unit: "grapheme", maxLength: 80 }),
  fc.string({ unit: "binary", maxLength: 70 }),
  fc.constantFrom("", "a".repeat(31), "b".repeat(32), "c".repeat(33), "\uDC00", "x\uD800", "\uD800\uDC00", "\uDFFFz"),
);
const binding = fc.record({
  issuerDid: text, subjectDid: text, credentialType: text,
  claims: fc.record({ name: text, agencyCode: fc.integer({ min: 0, max: 2 ** 32 - 1 }), organisation: text, department: text, position: text, employeeRef: text }),
  deviceKey: fc.record({ kty: fc.constant("EC"), crv: fc.constantFrom("secp256k1", "P-256"), x: text, y: text }),
  issuedAt: fc.maxSafeNat(), validFrom: fc.maxSafeNat(), validUntil: fc.maxSafeNat(),
}) as fc.Arbitrary<CredentialBinding>;

describe("binding digest: fixed-layout encoder", () => {
  it("a typical credential encodes to ethers' bytes and digest", () => {
    expect(hex(encodeBinding(SAMPLE))).to.equal(referenceEncoding(SAMPLE));
    expect(bindingDigest(SAMPLE)).to.equal(keccak256(referenceEncoding(SAMPLE)));
  });

  it("every binding encodes to ethers' bytes, or both refuse it (lone high surrogates)", function () {
    this.timeout(30_000); // fast-check runs; ethers' coder is the slow side
    fc.assert(
      fc.property(binding, (b) => {
        let expected: string | undefined;
        try {
          expected = referenceEncoding(b);
        } catch {
          expected = undefined;
        }
        if (expected === undefined) expect(() => encodeBinding(b)).to.throw();
        else expect(hex(encodeBinding(b))).to.equal(expected);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses out-of-range numbers with INVALID_INPUT (ethers' coder refuses them too)", () => {
    for (const b of [
      { ...SAMPLE, claims: { ...SAMPLE.claims, agencyCode: 2 ** 32 } },
      { ...SAMPLE, claims: { ...SAMPLE.claims, agencyCode: -1 } },
      { ...SAMPLE, issuedAt: 1.5 },
      { ...SAMPLE, validUntil: Number.MAX_SAFE_INTEGER + 1 },
      { ...SAMPLE, validFrom: Number.NaN },
    ]) {
      expect(() => encodeBinding(b), JSON.stringify(b)).to.throw().that.satisfies((e: unknown) => isCivilIdError(e, "INVALID_INPUT"));
    }
    expect(() => referenceEncoding({ ...SAMPLE, claims: { ...SAMPLE.claims, agencyCode: 2 ** 32 } })).to.throw();
  });

  it("refuses a field that is not a string", () => {
    const b = { ...SAMPLE, claims: { ...SAMPLE.claims, position: 7 as unknown as string } };
    expect(() => encodeBinding(b)).to.throw().that.satisfies((e: unknown) => isCivilIdError(e, "INVALID_INPUT"));
  });
});
