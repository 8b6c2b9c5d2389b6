import { expect } from "chai";
import fc from "fast-check";
import { parseCsv } from "../../../sdk/issuer/csv.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  parseHrExport, normaliseMobile, normalisePersonId, formatHrExport, unsafeCharacter, E_SARAM_FORMAT, HR_FIELDS, MAX_EXPORT_BYTES, MAX_EXPORT_ROWS, type HrExportRow,
} from "../../../sdk/issuer/hr-import.js";
import { readHrExportFile } from "../../../sdk/issuer/hr-file.js";
import { isCivilIdError } from "../../../sdk/errors.js";
import { eSaramExport, insarangCsv, hrRow, CENTRAL_AGENCY } from "../helpers/issuance.js";

const NOW = Date.parse("2026-01-06T00:00:00Z");

function problems(fn: () => unknown): { row: number; field: string; reason: string }[] {
  try {
    fn();
  } catch (error) {
    if (!isCivilIdError(error, "INVALID_INPUT")) throw error;
    return (error.details?.errors ?? []) as { row: number; field: string; reason: string }[];
  }
  throw new Error("expected INVALID_INPUT");
}

describe("issuer/csv: RFC 4180 reader", () => {
  it("reads quoted fields with commas, doubled quotes and line breaks, CRLF or LF, and a BOM", () => {
    const text = '\uFEFFa,b,c\r\n"x, y","say ""hi""","two\nlines"\n1,,3\n';
    expect(parseCsv(text)).to.deep.equal([
      { line: 1, fields: ["a", "b", "c"] },
      { line: 2, fields: ["x, y", 'say "hi"', "two\nlines"] },
      { line: 4, fields: ["1", "", "3"] },
    ]);
    expect(parseCsv("a,b")).to.deep.equal([{ line: 1, fields: ["a", "b"] }]);
    expect(parseCsv("a,\r\n\r\n")).to.deep.equal([{ line: 1, fields: ["a", ""] }]);
  });

  it("refuses what RFC 4180 does not allow, with the line", () => {
    const refuse = (text: string, pattern: RegExp) => {
      let message = "";
      try {
        parseCsv(text);
      } catch (error) {
        if (!isCivilIdError(error, "INVALID_INPUT")) throw error;
        message = error.message;
      }
      expect(message).to.match(pattern);
    };
    refuse('a,b\n"open,c\n', /line 2: quoted field is not closed/);
    refuse('a,b\nx"y,c\n', /line 2: quote inside an unquoted field/);
    refuse('a,b\n"x"y,c\n', /line 2: text after a closing quote/);
    refuse("a,b\n\nc,d\n", /line 2: blank line between records/);
    refuse("a,b\rc,d\n", /line 1: bare carriage return/);
  });

  it("round-trips any table written with RFC 4180 quoting", () => {
    const cell = fc.string({ unit: fc.constantFrom("a", "가", ",", '"', "\n", "\r\n", " ", "1") });
    fc.assert(
      fc.property(fc.array(fc.array(cell, { minLength: 2, maxLength: 4 }), { minLength: 1, maxLength: 5 }), (rows) => {
        const width = rows[0]!.length;
        const table = rows.map((r) => Array.from({ length: width }, (_, i) => r[i] ?? ""));
        const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
        const text = table.map((r) => r.map(quote).join(",")).join("\r\n") + "\r\n";
        expect(parseCsv(text).map((r) => r.fields)).to.deep.equal(table);
      }),
    );
  });
});

async function rejectsWith(promise: Promise<unknown>, pattern: RegExp): Promise<void> {
  let error: unknown;
  await promise.catch((e: unknown) => (error = e));
  expect(isCivilIdError(error, "INVALID_INPUT"), String(error)).to.equal(true);
  expect((error as Error).message).to.match(pattern);
}

describe("issuer/hr-import: e-사람 JSON and 인사랑 CSV exports", () => {
  it("parses both formats into the same normalised requests", () => {
    const row = hrRow({ name: "  홍   길동 ", mobile: "+82 10-1234-5678", personId: "900101-1234567" });
    const fromJson = parseHrExport("e-saram", eSaramExport([row]), NOW);
    const fromCsv = parseHrExport("insarang", insarangCsv([row]), NOW);
    const expected = {
      requestId: "REQ-0001", personId: "9001011234567", name: "홍 길동", agencyCode: CENTRAL_AGENCY, organisationName: "행정안전부",
      department: "디지털정부국", position: "행정사무관", employeeRef: "E-20240001", mobile: "+821012345678", kind: "new",
      reissueReason: undefined, requestedAt: "2026-01-05T00:00:00.000Z",
    };
    expect(fromJson).to.deep.equal([{ row: 1, ...expected }]);
    expect(fromCsv).to.deep.equal([{ row: 2, ...expected }]);
  });

  it("accepts the CSV columns in any order and UTF-8 bytes; refuses other encodings", () => {
    const row = hrRow({ requestKind: "reissue", reissueReason: "pin-lockout" });
    const names = HR_FIELDS.map(([csv]) => csv).reverse();
    const csv = names.join(",") + "\n" + HR_FIELDS.map(([, json]) => row[json]).reverse().join(",") + "\n";
    const [parsed] = parseHrExport("insarang", new TextEncoder().encode(csv), NOW);
    expect(parsed).to.deep.include({ kind: "reissue", reissueReason: "pin-lockout", requestId: "REQ-0001" });
    const cp949 = new Uint8Array([0xc8, 0xab, 0xb1, 0xe6, 0xb5, 0xbf]); // 홍길동 in CP949
    expect(problems(() => parseHrExport("insarang", cp949, NOW))).to.deep.equal([{ row: 0, field: "", reason: "not valid UTF-8" }]);
  });

  it("reports every problem of every row with row number, field and reason", () => {
    const rows = [
      hrRow(),
      hrRow({ requestId: "REQ-0001" }),
      hrRow({ requestId: "R3", personId: "12", agencyCode: "0123456", employeeRef: "E 1", requestKind: "renew" }),
      hrRow({ requestId: "R4", requestKind: "new", reissueReason: "lost-device", requestedAt: "2026-01-05 09:00" }),
      hrRow({ requestId: "R5", requestKind: "reissue", reissueReason: "stolen", name: "a\u0007b", requestedAt: "2027-01-01T00:00:00Z" }),
    ];
    expect(problems(() => parseHrExport("insarang", insarangCsv(rows), NOW))).to.deep.equal([
      { row: 3, field: "requestId", reason: "duplicate of row 2 in the same export" },
      { row: 4, field: "personId", reason: "must be 6-64 letters or digits (hyphens and spaces are ignored)" },
      { row: 4, field: "agencyCode", reason: "must be the 7-digit 기관코드" },
      { row: 4, field: "employeeRef", reason: "must be 1-32 letters, digits or hyphens" },
      { row: 4, field: "requestKind", reason: 'must be "new" or "reissue"' },
      { row: 5, field: "reissueReason", reason: "must be empty for a new credential" },
      { row: 5, field: "requestedAt", reason: "must be an ISO 8601 time with offset, e.g. 2026-03-02T09:00:00+09:00" },
      { row: 6, field: "name", reason: "contains the control, invisible or bidi character U+0007 at character 2 (re-type the value)" },
      { row: 6, field: "reissueReason", reason: "must be one of lost-device, pin-lockout, app-deleted, device-replaced" },
      { row: 6, field: "requestedAt", reason: "is in the future" },
    ]);
  });

  it("refuses JSON with a wrong format tag, unknown fields, wrong types or missing fields", () => {
    const base = JSON.parse(eSaramExport([hrRow()])) as { requests: Record<string, unknown>[] } & Record<string, unknown>;
    expect(problems(() => parseHrExport("e-saram", JSON.stringify({ ...base, format: "e-saram/v0" }), NOW))[0]?.reason).to.match(/^format must be/);
    expect(problems(() => parseHrExport("e-saram", JSON.stringify({ ...base, extra: 1 }), NOW))).to.deep.equal([{ row: 0, field: "", reason: "unknown top-level field(s): extra" }]);
    const { mobile: _mobile, ...withoutMobile } = base.requests[0]!;
    const bad = { ...base, requests: [{ ...base.requests[0], nickname: "x" }, withoutMobile, { ...base.requests[0], requestId: "R3", name: 7, agencyCode: 1741000 }, "row"] };
    expect(problems(() => parseHrExport("e-saram", JSON.stringify(bad), NOW))).to.deep.equal([
      { row: 1, field: "nickname", reason: "unknown field" },
      { row: 4, field: "", reason: "must be an object" },
    ]);
    const typed = { ...base, requests: [withoutMobile, { ...base.requests[0], requestId: "R3", name: 7, agencyCode: 1741000 }] };
    expect(problems(() => parseHrExport("e-saram", JSON.stringify(typed), NOW))).to.deep.equal([
      { row: 1, field: "mobile", reason: "is required" },
      { row: 2, field: "name", reason: "must be a string" },
    ]);
    expect(problems(() => parseHrExport("e-saram", JSON.stringify({ ...base, requests: [] }), NOW))).to.deep.equal([{ row: 0, field: "", reason: "the export holds no request" }]);
    expect(JSON.parse(eSaramExport([hrRow()])).format).to.equal(E_SARAM_FORMAT);
  });

  it("refuses a CSV whose header or row widths are wrong", () => {
    const csv = insarangCsv([hrRow()]);
    const [header, ...rest] = csv.split("\r\n");
    expect(problems(() => parseHrExport("insarang", header!.replace("mobile", "phone") + "\r\n" + rest.join("\r\n"), NOW))).to.deep.equal([
      { row: 0, field: "", reason: "header row: missing column(s) mobile; unknown column(s) phone" },
    ]);
    expect(problems(() => parseHrExport("insarang", csv + "a,b\r\n", NOW))).to.deep.equal([
      { row: 3, field: "", reason: "has 2 fields, the header has 12 (line 3)" },
    ]);
    expect(problems(() => parseHrExport("insarang", header + "\r\n", NOW))).to.deep.equal([{ row: 0, field: "", reason: "the export holds no request" }]);
  });

  describe("invisible, bidi and control characters (\"\u202E동길홍\" shows as 홍길동)", () => {
    const SNEAKY: [string, string][] = [
      ["\u202E동길홍", "U+202E"], // RIGHT-TO-LEFT OVERRIDE
      ["홍\u200B길동", "U+200B"], // ZERO WIDTH SPACE
      ["홍길동\u200D", "U+200D"], // ZERO WIDTH JOINER
      ["\u2066홍길동\u2069", "U+2066"], // LEFT-TO-RIGHT ISOLATE
      ["홍\u00AD길동", "U+00AD"], // SOFT HYPHEN (Cf)
      ["\uFEFF홍길동", "U+FEFF"], // BYTE ORDER MARK inside a field
      ["홍\u3164길동", "U+3164"], // HANGUL FILLER: renders as nothing
      ["홍\uE000길동", "U+E000"], // private use
      ["홍\u0378길동", "U+0378"], // unassigned
      ["홍\u2028길동", "U+2028"], // LINE SEPARATOR
      ["홍\u0085길동", "U+0085"], // NEXT LINE (C1 control)
    ];

    it("are refused in the name of both formats, naming the row, the field and the character", () => {
      for (const [name, codePoint] of SNEAKY) {
        for (const [source, text, row] of [["e-saram", eSaramExport([hrRow({ name })]), 1], ["insarang", insarangCsv([hrRow({ name })]), 2]] as const) {
          const found = problems(() => parseHrExport(source, text, NOW));
          expect(found, `${source} ${codePoint}`).to.have.length(1);
          expect(found[0]).to.deep.include({ row, field: "name" });
          expect(found[0]!.reason).to.include(codePoint);
        }
      }
    });

    it("are refused in every text field, even those normalised or matched by a pattern", () => {
      const fields: (keyof HrExportRow)[] = ["requestId", "personId", "agencyCode", "organisationName", "department", "position", "employeeRef", "mobile", "requestKind", "requestedAt"];
      for (const field of fields) {
        const row = hrRow();
        const text = insarangCsv([{ ...row, [field]: "\u202E" + row[field] }]);
        const found = problems(() => parseHrExport("insarang", text, NOW));
        expect(found.map((p) => p.field), field).to.deep.equal([field]);
        expect(found[0]!.reason, field).to.match(/U\+202E at character 1/);
      }
      const reissue = hrRow({ requestKind: "reissue", reissueReason: "lost-device\u200B" });
      expect(problems(() => parseHrExport("e-saram", eSaramExport([reissue]), NOW))).to.deep.equal([
        { row: 1, field: "reissueReason", reason: "contains the control, invisible or bidi character U+200B at character 12 (re-type the value)" },
      ]);
    });

    it("leave ordinary Korean, Latin and spacing alone", () => {
      for (const text of ["홍길동", "김 철수", "Müller-Lüdenscheidt", "행정안전부 디지털정부국", "주무관(6급)", "O'Brien"]) expect(unsafeCharacter(text), text).to.equal(undefined);
      expect(unsafeCharacter("line\nbreak", true)).to.equal(undefined);
      expect(unsafeCharacter("line\nbreak")).to.deep.equal({ codePoint: "U+000A", position: 5 });
      expect(unsafeCharacter("👍\u202E")).to.deep.equal({ codePoint: "U+202E", position: 2 });
    });
  });

  describe("size limit", () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), "mcid-hr-"))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("is checked on the bytes before decoding: a large file is too large, not 'not valid UTF-8'", () => {
      const big = new Uint8Array(MAX_EXPORT_BYTES + 1).fill(0xff);
      expect(problems(() => parseHrExport("insarang", big, NOW))).to.deep.equal([{ row: 0, field: "", reason: "the export is larger than 8 MiB; split it (at most 10000 requests per import)" }]);
      expect(problems(() => parseHrExport("e-saram", "가".repeat(MAX_EXPORT_BYTES / 3 + 1), NOW))[0]?.reason).to.match(/larger than 8 MiB/);
    });

    it("is enforced while reading a file: refused from its size, and a stream stops at the limit (bounded memory)", async () => {
      const file = path.join(dir, "big.csv");
      writeFileSync(file, Buffer.alloc(64 * 1024, 0x41));
      await rejectsWith(readHrExportFile(file, 1024), /big\.csv is 65536 bytes, more than/);
      const ok = path.join(dir, "ok.csv");
      writeFileSync(ok, insarangCsv([hrRow()]));
      expect(parseHrExport("insarang", await readHrExportFile(ok), NOW)).to.have.length(1);
      // /dev/zero reports size 0 and never ends: only counting while streaming stops it.
      await rejectsWith(readHrExportFile("/dev/zero", 256 * 1024), /over 262144 bytes \(reading stopped there\)/);
      await rejectsWith(readHrExportFile(path.join(dir, "missing.csv")), /Cannot read the HR export/);
      await rejectsWith(readHrExportFile(dir), /is a directory/);
    });
  });

  it(`refuses more than ${MAX_EXPORT_ROWS} rows and unknown sources`, () => {
    const many = Array.from({ length: MAX_EXPORT_ROWS + 1 }, (_, i) => hrRow({ requestId: `R${i}` }));
    expect(problems(() => parseHrExport("insarang", insarangCsv(many), NOW))[0]?.reason).to.match(/at most 10000 per import/);
    expect(() => parseHrExport("excel" as never, "", NOW)).to.throw(/Unknown HR source/);
  });

  it("normalises Korean mobile numbers to E.164 and refuses others", () => {
    expect(normaliseMobile("010-1234-5678")).to.equal("+821012345678");
    expect(normaliseMobile("011 234 5678")).to.equal("+82112345678");
    expect(normaliseMobile("+82 10 1234 5678")).to.equal("+821012345678");
    for (const bad of ["02-123-4567", "010-12-34", "+1 415 555 0100", "01012345678901", "phone"]) {
      expect(normaliseMobile(bad), bad).to.equal(undefined);
    }
  });
});

describe("issuer/hr-import: person ids and writing exports", () => {
  it("normalises person ids as the import does, so holder references computed elsewhere match", () => {
    expect(normalisePersonId("900101-1234567")).to.equal("9001011234567");
    expect(normalisePersonId(" ab 12-cd34 ")).to.equal("AB12CD34");
    for (const bad of ["12345", "9001011234567!", "홍길동123456", "-- --", "A".repeat(65)]) expect(normalisePersonId(bad), bad).to.equal(undefined);
    const [parsed] = parseHrExport("e-saram", eSaramExport([hrRow({ personId: "ab 12-cd34" })]), NOW);
    expect(parsed!.personId).to.equal(normalisePersonId("ab 12-cd34"));
  });

  it("writes e-사람 JSON and 인사랑 CSV that parse back to the same requests", () => {
    const rows: HrExportRow[] = [
      hrRow({ requestId: "R-1", department: 'Policy, "A" team' }),
      hrRow({ requestId: "R-2", personId: "8001011234567", requestKind: "reissue", reissueReason: "lost-device", name: "김 철수" }),
    ];
    const json = formatHrExport("e-saram", rows, "2026-01-05T09:30:00+09:00");
    const doc = JSON.parse(json) as { format: string; exportedAt: string; requests: Record<string, unknown>[] };
    expect(doc.format).to.equal(E_SARAM_FORMAT);
    expect(doc.requests[0]).to.not.have.property("reissueReason");
    expect(doc.requests[1]).to.include({ requestKind: "reissue", reissueReason: "lost-device" });
    const csv = formatHrExport("insarang", rows, "ignored");
    expect(csv.split("\r\n")[0]).to.equal(HR_FIELDS.map(([name]) => name).join(","));
    expect(csv).to.contain('"Policy, ""A"" team"');
    const strip = (list: ReturnType<typeof parseHrExport>) => list.map(({ row: _row, ...rest }) => rest);
    expect(strip(parseHrExport("e-saram", json, NOW))).to.deep.equal(strip(parseHrExport("insarang", csv, NOW)));
    expect(parseHrExport("insarang", csv, NOW).map((r) => [r.requestId, r.department, r.kind])).to.deep.equal([
      ["R-1", 'Policy, "A" team', "new"],
      ["R-2", "디지털정부국", "reissue"],
    ]);
    expect(() => formatHrExport("excel" as never, rows, "")).to.throw(/Unknown HR source/);
  });
});
