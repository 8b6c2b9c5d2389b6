/**
 * A strict RFC 4180 CSV reader (no CSV package is a dependency of the project, and HR exports need exact
 * error positions). Accepts CRLF or LF line ends, quoted fields with embedded commas, quotes ("") and line
 * breaks, and a leading UTF-8 byte-order mark. Refuses anything RFC 4180 does not allow instead of guessing:
 * a quote inside an unquoted field, text after a closing quote, an unterminated quoted field, a blank line
 * between records.
 */
import { CivilIdError } from "../errors.js";

export interface CsvRecord {
  /** 1-based physical line on which the record starts (the header is line 1). */
  readonly line: number;
  readonly fields: readonly string[];
}

export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  const n = text.length;
  const fail = (why: string): never => {
    throw new CivilIdError("INVALID_INPUT", `CSV line ${line}: ${why}.`, { details: { line } });
  };

  while (i < n) {
    const startLine = line;
    const fields: string[] = [];
    // Blank line: allowed only at the very end of the text (trailing newlines of an export).
    if (text[i] === "\n" || (text[i] === "\r" && text[i + 1] === "\n")) {
      const rest = text.slice(i);
      if (/^[\r\n]*$/.test(rest) && !/\r(?!\n)/.test(rest)) break;
      fail("blank line between records");
    }
    for (;;) {
      let value = "";
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= n) {
            line = startLine;
            fail("quoted field is not closed");
          }
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\n") line++;
          value += c;
          i++;
        }
        if (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") fail("text after a closing quote");
      } else {
        const start = i;
        while (i < n && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") {
          if (text[i] === '"') fail("quote inside an unquoted field (quote the whole field and double the quote)");
          i++;
        }
        value = text.slice(start, i);
      }
      fields.push(value);
      if (i >= n) break;
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "\r") {
        if (text[i + 1] !== "\n") fail("bare carriage return (use CRLF or LF line ends)");
        i++;
      }
      // text[i] === "\n"
      i++;
      line++;
      break;
    }
    records.push({ line: startLine, fields });
  }
  return records;
}
