/** Packed credential ids (the `*BatchPacked` calls and the `CredentialsStatusChanged` event): both directions. */
import { expect } from "chai";
import fc from "fast-check";
import { packCredentialIds, unpackCredentialIds } from "../../../sdk/chain/batches.js";
import { isCivilIdError } from "../../../sdk/errors.js";

describe("packed credential ids", () => {
  it("unpack(pack(ids)) is ids, 8 big-endian bytes per id", () => {
    expect(packCredentialIds([1n, 0x0102030405060708n])).to.equal("0x00000000000000010102030405060708");
    expect(unpackCredentialIds("0x")).to.deep.equal([]);
    fc.assert(fc.property(fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { maxLength: 50 }), (ids) => {
      expect(unpackCredentialIds(packCredentialIds(ids))).to.deep.equal(ids);
    }));
  });

  it("refuses what is not whole 8-byte ids of hex (INVALID_CREDENTIAL_ID)", () => {
    for (const bad of ["", "00", "0x0", "0x" + "00".repeat(7), "0x" + "00".repeat(9), "0x" + "zz".repeat(8), "0X" + "00".repeat(8)]) {
      expect(() => unpackCredentialIds(bad), bad).to.throw().that.satisfies((e: unknown) => isCivilIdError(e, "INVALID_CREDENTIAL_ID"));
    }
  });
});
