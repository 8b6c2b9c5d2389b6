import { isAddress, getAddress } from "ethers";
import { CivilIdError } from "../../sdk/errors.js";

/** Validated parsers for command-line values; each refusal says what to type instead. */
export function address(value: string, flag: string): string {
  if (!isAddress(value)) throw new CivilIdError("INVALID_INPUT", `${flag}: ${JSON.stringify(value)} is not an address (0x + 40 hex digits).`);
  return getAddress(value);
}

export function positiveInt(value: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[0-9]+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new CivilIdError("INVALID_INPUT", `${flag}: ${JSON.stringify(value)} must be an integer from 1 to ${max}.`);
  }
  return Number(value);
}

export function proposalId(value: string): bigint {
  if (!/^[0-9]{1,20}$/.test(value) || BigInt(value) < 1n) throw new CivilIdError("INVALID_INPUT", `${JSON.stringify(value)} is not a proposal id.`);
  return BigInt(value);
}

export function nonNegativeInt(value: string, flag: string): number {
  if (!/^[0-9]{1,15}$/.test(value)) throw new CivilIdError("INVALID_INPUT", `${flag}: ${JSON.stringify(value)} must be a whole number (0 or more).`);
  return Number(value);
}

/** Durations such as 90s, 30m, 12h, 7d. */
export function duration(value: string, flag: string): number {
  const m = /^([0-9]{1,6})([smhd])$/.exec(value);
  if (!m) throw new CivilIdError("INVALID_INPUT", `${flag}: ${JSON.stringify(value)} is not a duration like 30m, 12h or 7d.`);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "s" | "m" | "h" | "d"];
}

/** Workflow request ids: `<source>:<HR request id>`, e.g. e-saram:ES-2026-000123. */
export function requestId(value: string | undefined): string {
  if (value === undefined || !/^(e-saram|insarang):[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value)) {
    throw new CivilIdError("INVALID_INPUT", `${JSON.stringify(value ?? "")} is not a request id: use <source>:<HR request id>, e.g. e-saram:ES-2026-000123 (see mcid request list).`);
  }
  return value;
}

/** One of a fixed set of words. */
export function oneOf<T extends string>(value: string, flag: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new CivilIdError("INVALID_INPUT", `${flag} ${JSON.stringify(value)}: use ${allowed.join(", ")}.`);
  return value as T;
}

/** The name of an environment variable that must be set (personal data is passed by name, never on the command line). */
export function envValue(name: string, flag: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new CivilIdError("INVALID_INPUT", `${flag} takes the name of an environment variable, not its value.`);
  const value = process.env[name];
  if (value === undefined || value.length === 0) throw new CivilIdError("INVALID_INPUT", `${flag}: the environment variable ${name} is not set.`);
  return value;
}
