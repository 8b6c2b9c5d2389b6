import { expect } from "chai";
import fc from "fast-check";
import { isCivilIdError } from "../../../sdk/errors.js";
import { assessPin, assertStrongPin, COMMON_PINS, isWellFormedPin, type WeakPinRule } from "../../../sdk/wallet/pin.js";

function ruleOf(pin: unknown, forbidden?: string[]): WeakPinRule | "ok" {
  const result = assessPin(pin, forbidden === undefined ? {} : { forbidden });
  return result.ok ? "ok" : result.rule;
}

const digit = fc.integer({ min: 0, max: 9 });
const pinArb = fc.integer({ min: 0, max: 999_999 }).map((n) => String(n).padStart(6, "0"));

describe("wallet PIN policy", () => {
  it("refuses anything but exactly six ASCII digits (FORMAT)", () => {
    for (const pin of ["", "48291", "4829150", "48291a", " 482915", "482915 ", "４８２９１５", "٤٨٢٩١٥", "48 915"]) {
      expect(ruleOf(pin), JSON.stringify(pin)).to.equal("FORMAT");
    }
    expect(ruleOf(482915)).to.equal("FORMAT");
    expect(ruleOf(undefined)).to.equal("FORMAT");
    expect(isWellFormedPin("482915")).to.equal(true);
    expect(isWellFormedPin("４８２９１５")).to.equal(false);
  });

  it("refuses each rule with its own name", () => {
    const cases: Array<[string, WeakPinRule]> = [
      ["000000", "SAME_DIGIT"],
      ["777777", "SAME_DIGIT"],
      ["123456", "SEQUENCE"],
      ["987654", "SEQUENCE"],
      ["890123", "SEQUENCE"], // ascending with wrap-around
      ["210987", "SEQUENCE"], // descending with wrap-around
      ["135791", "SEQUENCE"], // step 2
      ["369258", "SEQUENCE"], // step 3 (a keypad zig-zag)
      ["121212", "REPEATED_PATTERN"],
      ["123123", "REPEATED_PATTERN"],
      ["520520", "REPEATED_PATTERN"],
      ["147258", "COMMON"],
      ["112233", "COMMON"],
      ["123321", "COMMON"],
      ["850415", "BIRTH_DATE"],
      ["991231", "BIRTH_DATE"],
      ["000229", "BIRTH_DATE"], // 29 Feb 2000
    ];
    for (const [pin, rule] of cases) expect(ruleOf(pin), pin).to.equal(rule);
  });

  it("accepts PINs that match no rule, including non-dates", () => {
    for (const pin of ["482915", "730461", "851301" /* month 13 */, "850431" /* 31 April */, "010229" /* 2001 not leap */]) {
      expect(ruleOf(pin), pin).to.equal("ok");
    }
  });

  it("refuses the caller's personal values (PERSONAL) and nothing else because of them", () => {
    expect(ruleOf("041585", ["041585", "not-a-pin"])).to.equal("PERSONAL");
    expect(ruleOf("482915", ["041585"])).to.equal("ok");
  });

  it("assertStrongPin throws WEAK_PIN naming the rule", () => {
    expect(() => assertStrongPin("482915")).not.to.throw();
    try {
      assertStrongPin("111111");
      expect.fail("expected WEAK_PIN");
    } catch (error) {
      expect(isCivilIdError(error, "WEAK_PIN")).to.equal(true);
      expect((error as { details: Record<string, unknown> }).details).to.deep.equal({ rule: "SAME_DIGIT" });
    }
  });

  it("keeps the common list free of PINs the structural rules already catch", () => {
    for (const pin of COMMON_PINS) expect(ruleOf(pin), pin).to.equal("COMMON");
  });

  it("refuses under 4% of all PINs (exhaustive)", () => {
    let refused = 0;
    for (let n = 0; n < 1_000_000; n++) if (!assessPin(String(n).padStart(6, "0")).ok) refused++;
    expect(refused).to.be.within(30_000, 40_000); // ≈ 3.8%, as documented in pin.ts
  });

  describe("properties", () => {
    it("every all-same-digit PIN is refused as SAME_DIGIT", () => {
      fc.assert(fc.property(digit, (d) => ruleOf(String(d).repeat(6)) === "SAME_DIGIT"));
    });

    it("every arithmetic progression mod 10 (either direction, any start) is refused as SEQUENCE", () => {
      fc.assert(
        fc.property(digit, fc.integer({ min: 1, max: 9 }), (start, step) => {
          const pin = Array.from({ length: 6 }, (_, i) => (start + i * step) % 10).join("");
          return ruleOf(pin) === "SEQUENCE";
        }),
      );
    });

    it("every repeated pair or triple is refused", () => {
      fc.assert(
        fc.property(fc.array(digit, { minLength: 2, maxLength: 3 }), (unit) => {
          const pin = unit.join("").repeat(6 / unit.length);
          return ["SAME_DIGIT", "SEQUENCE", "REPEATED_PATTERN"].includes(ruleOf(pin));
        }),
      );
    });

    it("every calendar date written YYMMDD is refused", () => {
      fc.assert(
        fc.property(fc.date({ min: new Date("1901-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }), (date) => {
          const yymmdd =
            String(date.getUTCFullYear() % 100).padStart(2, "0") +
            String(date.getUTCMonth() + 1).padStart(2, "0") +
            String(date.getUTCDate()).padStart(2, "0");
          return ruleOf(yymmdd) !== "ok";
        }),
      );
    });

    it("any accepted input is exactly six ASCII digits", () => {
      fc.assert(
        fc.property(fc.oneof(fc.string({ maxLength: 8 }), fc.string({ unit: "grapheme", maxLength: 7 }), pinArb), (candidate) => {
          return !assessPin(candidate).ok || /^[0-9]{6}$/.test(candidate);
        }),
        { numRuns: 2000 },
      );
    });

    it("any PIN otherwise accepted is refused as PERSONAL once the caller forbids it", () => {
      fc.assert(fc.property(pinArb, (pin) => ruleOf(pin) !== "ok" || ruleOf(pin, [pin]) === "PERSONAL"));
    });
  });
});
