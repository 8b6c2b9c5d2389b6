/**
 * The two HR export formats that start an issuance (docs/ISSUANCE.md, "HR import formats"):
 * - e-사람 (central agencies): a JSON document `{ format: "e-saram/civil-id-request@1", exportedAt, requests: [...] }`;
 * - 차세대 인사랑 (local governments): a UTF-8 CSV (RFC 4180) with a fixed header row.
 * Both carry the same fields. Validation is strict and total: every problem of every row is reported (row,
 * field, reason) and a file with any problem is refused as a whole (nothing is imported).
 */
import { ZeroHash } from "ethers";
import { CivilIdError } from "../errors.js";
import { organisationNameMatches } from "../chain/organisation-name.js";
import { parseCsv } from "./csv.js";

export type HrSource = "e-saram" | "insarang";
export const HR_SOURCES: readonly HrSource[] = ["e-saram", "insarang"];
export const E_SARAM_FORMAT = "e-saram/civil-id-request@1";

export type RequestKind = "new" | "reissue";
export const REISSUE_REASONS = ["lost-device", "pin-lockout", "app-deleted", "device-replaced"] as const;
export type ReissueReason = (typeof REISSUE_REASONS)[number];

/** Largest accepted export (bytes of UTF-8) and row count; larger batches are split by the HR side. */
export const MAX_EXPORT_BYTES = 8 * 1024 * 1024;
export const MAX_EXPORT_ROWS = 10_000;

/** One validated, normalised HR request. `personId` lives only in memory: it is never stored. */
export interface HrRequest {
  /** 1-based data row (JSON: index in `requests`; CSV: spreadsheet row, the header being row 1). */
  readonly row: number;
  readonly requestId: string;
  /** National person identifier, upper-case, without separators. Used only to derive the holder reference. */
  readonly personId: string;
  readonly name: string;
  readonly agencyCode: number;
  readonly organisationName: string;
  readonly department: string;
  readonly position: string;
  readonly employeeRef: string;
  /** E.164, e.g. +821012345678. */
  readonly mobile: string;
  readonly kind: RequestKind;
  readonly reissueReason: ReissueReason | undefined;
  /** ISO 8601 UTC (normalised from the export's offset time). */
  readonly requestedAt: string;
}

export interface HrRowError {
  readonly row: number;
  readonly field: string;
  readonly reason: string;
}

/** Field names, in the CSV header order; the JSON keys are the camelCase forms. */
export const HR_FIELDS = [
  ["request_id", "requestId"],
  ["person_id", "personId"],
  ["name", "name"],
  ["agency_code", "agencyCode"],
  ["organisation_name", "organisationName"],
  ["department", "department"],
  ["position", "position"],
  ["employee_ref", "employeeRef"],
  ["mobile", "mobile"],
  ["request_kind", "requestKind"],
  ["reissue_reason", "reissueReason"],
  ["requested_at", "requestedAt"],
] as const;
type JsonField = (typeof HR_FIELDS)[number][1];

const REQUEST_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PERSON_ID = /^[0-9A-Z]{6,64}$/;
const EMPLOYEE_REF = /^[0-9A-Za-z][0-9A-Za-z-]{0,31}$/;
const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;
/** Requests stamped later than this past the import clock are refused (clock skew allowance). */
const FUTURE_SKEW_MS = 5 * 60_000;

/**
 * Characters that have no place in an HR field or an audit text because they are invisible or change how the text
 * around them is shown: controls (Cc, Unicode line/paragraph separators), format characters (Cf: bidi overrides and
 * isolates such as U+202E, zero-width U+200B–U+200D, U+2060, U+FEFF), private-use (Co), unassigned (Cn), lone
 * surrogates (Cs) and the other default-ignorable code points (e.g. the Hangul fillers U+115F, U+1160, U+3164, which
 * render as nothing). "\u202E동길홍" would show as 홍길동.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\p{Cs}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;
const UNSAFE_ALL = new RegExp(UNSAFE.source, "gu");

/**
 * The first character of `text` that is a control, invisible, format (bidi, zero-width), private-use or unassigned
 * character, as `U+XXXX` with its position (1-based, in code points); undefined when there is none. With
 * `allowLineBreaks`, tab, LF and CR are allowed (free-text reasons).
 */
export function unsafeCharacter(text: string, allowLineBreaks = false): { readonly codePoint: string; readonly position: number } | undefined {
  UNSAFE_ALL.lastIndex = 0;
  for (let m = UNSAFE_ALL.exec(text); m !== null; m = UNSAFE_ALL.exec(text)) {
    const c = m[0].codePointAt(0)!;
    if (allowLineBreaks && (c === 0x09 || c === 0x0a || c === 0x0d)) continue;
    return { codePoint: "U+" + c.toString(16).toUpperCase().padStart(4, "0"), position: [...text.slice(0, m.index)].length + 1 };
  }
  return undefined;
}

/** Whether `text` holds a character {@link unsafeCharacter} refuses. */
export function hasUnsafeCharacters(text: string, allowLineBreaks = false): boolean {
  return unsafeCharacter(text, allowLineBreaks) !== undefined;
}

/** Normalises a free-text field: NFC, trimmed, inner whitespace runs collapsed to one space. */
export function normaliseText(value: string): string {
  return value.normalize("NFC").trim().replace(/\s+/g, " ");
}

/**
 * Parses and validates an HR export. Returns the requests of a fully valid file; otherwise throws INVALID_INPUT
 * whose `details.errors` lists every problem as { row, field, reason } (row 0 = the file itself).
 * @param now Unix milliseconds of the import (requests stamped in the future are refused).
 */
export function parseHrExport(source: HrSource, input: string | Uint8Array, now: number): HrRequest[] {
  if (!HR_SOURCES.includes(source)) {
    throw new CivilIdError("INVALID_INPUT", `Unknown HR source ${JSON.stringify(source)}; use "e-saram" or "insarang".`);
  }
  const size = typeof input === "string" ? Buffer.byteLength(input, "utf8") : input.byteLength;
  if (size > MAX_EXPORT_BYTES) fileError(tooLarge());
  const text = decode(input);
  const rows = source === "e-saram" ? jsonRows(text) : csvRows(text);
  if (rows.length === 0) fileError("the export holds no request");
  if (rows.length > MAX_EXPORT_ROWS) fileError(`the export holds ${rows.length} requests; at most ${MAX_EXPORT_ROWS} per import`);

  const errors: HrRowError[] = [];
  const out: HrRequest[] = [];
  const seen = new Map<string, number>();
  for (const { row, values } of rows) {
    const before = errors.length;
    const request = validateRow(row, values, now, errors);
    if (request) {
      const first = seen.get(request.requestId);
      if (first !== undefined) {
        errors.push({ row, field: "requestId", reason: `duplicate of row ${first} in the same export` });
      } else {
        seen.set(request.requestId, row);
      }
    }
    if (request && errors.length === before) out.push(request);
  }
  if (errors.length > 0) throw invalidExport(errors);
  return out;
}

function decode(input: string | Uint8Array): string {
  if (typeof input === "string") return input;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(input);
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", "The export is not valid UTF-8; re-export it as UTF-8 (CP949/EUC-KR is not accepted).", {
      cause: error,
      details: { errors: [{ row: 0, field: "", reason: "not valid UTF-8" }] },
    });
  }
}

function tooLarge(): string {
  return `the export is larger than ${MAX_EXPORT_BYTES / 1024 / 1024} MiB; split it (at most ${MAX_EXPORT_ROWS} requests per import)`;
}

/**
 * Refuses the whole export (INVALID_INPUT; every row named, field `organisationName`) when a row names its
 * organisation otherwise than the IssuerRegistry's official name for the agency (`registeredHash`, from
 * `organisationNameHash(agencyCode)`; ZeroHash when governance set no name, then there is nothing to compare with).
 * The comparison is of the NFC text (sdk/chain/organisation-name.ts), the same rule as the verifier's.
 */
export function checkOrganisationNames(requests: readonly HrRequest[], registeredHash: string): void {
  if (registeredHash === ZeroHash) return;
  const errors: HrRowError[] = requests
    .filter((r) => !organisationNameMatches(registeredHash, r.organisationName))
    .map((r) => ({ row: r.row, field: "organisationName", reason: `"${r.organisationName}" is not the issuer registry's official name of organisation ${r.agencyCode}` }));
  if (errors.length > 0) throw invalidExport(errors);
}

function fileError(reason: string): never {
  throw invalidExport([{ row: 0, field: "", reason }]);
}

function invalidExport(errors: readonly HrRowError[]): CivilIdError {
  const shown = errors.slice(0, 20).map((e) => (e.row === 0 ? e.reason : `row ${e.row} ${e.field}: ${e.reason}`));
  const more = errors.length > shown.length ? `; and ${errors.length - shown.length} more` : "";
  return new CivilIdError(
    "INVALID_INPUT",
    `HR export refused, nothing was imported (${errors.length} problem${errors.length === 1 ? "" : "s"}): ${shown.join("; ")}${more}.`,
    { details: { errors } },
  );
}

interface RawRow {
  readonly row: number;
  readonly values: Partial<Record<JsonField, unknown>>;
}

function jsonRows(text: string): RawRow[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `HR export refused: not valid JSON (${(error as Error).message}).`, {
      cause: error,
      details: { errors: [{ row: 0, field: "", reason: "not valid JSON" }] },
    });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) fileError("the e-사람 export must be a JSON object");
  const d = doc as Record<string, unknown>;
  if (d.format !== E_SARAM_FORMAT) fileError(`format must be "${E_SARAM_FORMAT}" (got ${JSON.stringify(d.format)})`);
  if (typeof d.exportedAt !== "string" || !ISO_WITH_OFFSET.test(d.exportedAt) || Number.isNaN(Date.parse(d.exportedAt))) {
    fileError("exportedAt must be an ISO 8601 time with offset");
  }
  const extra = Object.keys(d).filter((k) => !["format", "exportedAt", "requests"].includes(k));
  if (extra.length > 0) fileError(`unknown top-level field(s): ${extra.join(", ")}`);
  if (!Array.isArray(d.requests)) fileError("requests must be an array");
  const known = new Set<string>(HR_FIELDS.map(([, json]) => json));
  const errors: HrRowError[] = [];
  const rows = (d.requests as unknown[]).map((item, index): RawRow => {
    const row = index + 1;
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      errors.push({ row, field: "", reason: "must be an object" });
      return { row, values: {} };
    }
    for (const key of Object.keys(item)) {
      if (!known.has(key)) errors.push({ row, field: key, reason: "unknown field" });
    }
    return { row, values: item };
  });
  if (errors.length > 0) throw invalidExport(errors);
  return rows;
}

function csvRows(text: string): RawRow[] {
  const records = parseCsv(text);
  const header = records[0];
  if (!header) fileError("the 인사랑 export is empty (a header row is required)");
  const names = header.fields.map((f) => f.trim());
  const expected = HR_FIELDS.map(([csv]) => csv) as string[];
  const missing = expected.filter((f) => !names.includes(f));
  const unknown = names.filter((f) => !expected.includes(f));
  const repeated = names.filter((f, i) => names.indexOf(f) !== i);
  if (missing.length + unknown.length + repeated.length > 0) {
    const why = [
      missing.length ? `missing column(s) ${missing.join(", ")}` : "",
      unknown.length ? `unknown column(s) ${unknown.join(", ")}` : "",
      repeated.length ? `repeated column(s) ${repeated.join(", ")}` : "",
    ].filter(Boolean);
    fileError(`header row: ${why.join("; ")}`);
  }
  const errors: HrRowError[] = [];
  const rows = records.slice(1).map((record, index): RawRow => {
    const row = index + 2;
    if (record.fields.length !== names.length) {
      errors.push({ row, field: "", reason: `has ${record.fields.length} fields, the header has ${names.length} (line ${record.line})` });
      return { row, values: {} };
    }
    const values: Partial<Record<JsonField, unknown>> = {};
    for (const [csv, json] of HR_FIELDS) values[json] = record.fields[names.indexOf(csv)];
    return { row, values };
  });
  if (errors.length > 0) throw invalidExport(errors);
  return rows;
}

function validateRow(row: number, v: Partial<Record<JsonField, unknown>>, now: number, errors: HrRowError[]): HrRequest | undefined {
  const before = errors.length;
  const err = (field: JsonField, reason: string) => {
    errors.push({ row, field, reason });
    return undefined;
  };
  const unsafe = (field: JsonField, value: string): undefined => {
    const c = unsafeCharacter(value)!;
    return err(field, `contains the control, invisible or bidi character ${c.codePoint} at character ${c.position} (re-type the value)`);
  };
  const str = (field: JsonField): string | undefined => {
    const value = v[field];
    if (value === undefined || value === null) return err(field, "is required");
    if (typeof value !== "string") return err(field, "must be a string");
    if (hasUnsafeCharacters(value)) return unsafe(field, value);
    return value;
  };
  const text = (field: JsonField, max: number): string | undefined => {
    const raw = str(field);
    if (raw === undefined) return undefined;
    const value = normaliseText(raw);
    if (value.length === 0) return err(field, "is empty");
    if (value.length > max) return err(field, `is longer than ${max} characters`);
    return value;
  };

  const requestId = str("requestId")?.trim();
  if (requestId !== undefined && !REQUEST_ID.test(requestId)) err("requestId", "must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit");

  const personRaw = str("personId");
  const personId = personRaw === undefined ? undefined : normalisePersonId(personRaw);
  if (personRaw !== undefined && personId === undefined) err("personId", "must be 6-64 letters or digits (hyphens and spaces are ignored)");

  const name = text("name", 100);
  let agencyCode: number | undefined;
  const agencyRaw = v.agencyCode;
  const agencyText = typeof agencyRaw === "number" ? String(agencyRaw) : typeof agencyRaw === "string" ? agencyRaw.trim() : undefined;
  if (agencyRaw === undefined || agencyRaw === null) err("agencyCode", "is required");
  else if (typeof agencyRaw === "string" && hasUnsafeCharacters(agencyRaw)) unsafe("agencyCode", agencyRaw);
  else if (agencyText === undefined || !/^[1-9][0-9]{6}$/.test(agencyText)) err("agencyCode", "must be the 7-digit 기관코드");
  else agencyCode = Number(agencyText);

  const organisationName = text("organisationName", 200);
  const department = text("department", 200);
  const position = text("position", 200);
  const employeeRef = str("employeeRef")?.trim();
  if (employeeRef !== undefined && !EMPLOYEE_REF.test(employeeRef)) err("employeeRef", "must be 1-32 letters, digits or hyphens");

  const mobileRaw = str("mobile");
  const mobile = mobileRaw === undefined ? undefined : normaliseMobile(mobileRaw);
  if (mobileRaw !== undefined && mobile === undefined) err("mobile", "must be a Korean mobile number (010-1234-5678 or +82 10-1234-5678)");

  const kindRaw = str("requestKind")?.trim();
  let kind: RequestKind | undefined;
  if (kindRaw !== undefined) {
    if (kindRaw === "new" || kindRaw === "reissue") kind = kindRaw;
    else err("requestKind", 'must be "new" or "reissue"');
  }
  const reasonValue = v.reissueReason;
  const reasonRaw = reasonValue === undefined || reasonValue === null ? "" : typeof reasonValue === "string" ? reasonValue.trim() : undefined;
  let reissueReason: ReissueReason | undefined;
  if (reasonRaw === undefined) err("reissueReason", "must be a string");
  else if (typeof reasonValue === "string" && hasUnsafeCharacters(reasonValue)) unsafe("reissueReason", reasonValue);
  else if (kind === "reissue") {
    if (reasonRaw === "") err("reissueReason", `is required for a reissue (${REISSUE_REASONS.join(", ")})`);
    else if (!(REISSUE_REASONS as readonly string[]).includes(reasonRaw)) err("reissueReason", `must be one of ${REISSUE_REASONS.join(", ")}`);
    else reissueReason = reasonRaw as ReissueReason;
  } else if (kind === "new" && reasonRaw !== "") err("reissueReason", "must be empty for a new credential");

  const requestedRaw = str("requestedAt")?.trim();
  let requestedAt: string | undefined;
  if (requestedRaw !== undefined) {
    const ms = ISO_WITH_OFFSET.test(requestedRaw) ? Date.parse(requestedRaw) : Number.NaN;
    if (Number.isNaN(ms)) err("requestedAt", "must be an ISO 8601 time with offset, e.g. 2026-03-02T09:00:00+09:00");
    else if (ms > now + FUTURE_SKEW_MS) err("requestedAt", "is in the future");
    else requestedAt = new Date(ms).toISOString();
  }

  if (errors.length > before) return undefined;
  return {
    row,
    requestId: requestId!,
    personId: personId!,
    name: name!,
    agencyCode: agencyCode!,
    organisationName: organisationName!,
    department: department!,
    position: position!,
    employeeRef: employeeRef!,
    mobile: mobile!,
    kind: kind!,
    reissueReason,
    requestedAt: requestedAt!,
  };
}

/**
 * Normalises a national person identifier the way an HR import does (spaces and hyphens dropped, upper-cased), so
 * that a holder reference computed elsewhere (e.g. an operator's look-up) matches the one the import derived;
 * undefined if it is not 6-64 letters or digits.
 */
export function normalisePersonId(input: string): string | undefined {
  const id = input.replace(/[\s-]/g, "").toUpperCase();
  return PERSON_ID.test(id) ? id : undefined;
}

/** One request as an HR system exports it: the twelve fields of {@link HR_FIELDS} as text (`reissueReason` "" for a new credential). */
export type HrExportRow = { readonly [K in JsonField]: string };

/**
 * Writes requests in an HR system's export format: e-사람 JSON (`reissueReason` omitted when empty) or 차세대 인사랑 CSV
 * (header row, RFC 4180 quoting, CRLF). Nothing is validated here: read the text back with {@link parseHrExport}
 * to check it before handing it on.
 * @param exportedAt ISO 8601 time with offset (e-사람 only).
 */
export function formatHrExport(source: HrSource, rows: readonly HrExportRow[], exportedAt: string): string {
  if (!HR_SOURCES.includes(source)) {
    throw new CivilIdError("INVALID_INPUT", `Unknown HR source ${JSON.stringify(source)}; use "e-saram" or "insarang".`);
  }
  if (source === "e-saram") {
    const requests = rows.map((row) => {
      const out: Record<string, string> = {};
      for (const [, key] of HR_FIELDS) if (!(key === "reissueReason" && row[key] === "")) out[key] = row[key];
      return out;
    });
    return JSON.stringify({ format: E_SARAM_FORMAT, exportedAt, requests }, null, 2) + "\n";
  }
  const quote = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);
  const lines = [HR_FIELDS.map(([csv]) => csv).join(","), ...rows.map((row) => HR_FIELDS.map(([, key]) => quote(row[key])).join(","))];
  return lines.join("\r\n") + "\r\n";
}

/** Normalises a Korean mobile number to E.164 (+8210xxxxxxxx); undefined if it is not one. */
export function normaliseMobile(input: string): string | undefined {
  const compact = input.trim().replace(/[\s-]/g, "");
  const national = compact.startsWith("+82") ? "0" + compact.slice(3) : compact;
  if (!/^01[016789][0-9]{7,8}$/.test(national)) return undefined;
  return "+82" + national.slice(1);
}
