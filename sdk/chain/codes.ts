/**
 * TypeScript mirrors of the on-chain enums and codes (contracts/common/CivilIdTypes.sol). The numbers are part
 * of the ABI and of the event stream: keep them in step with the Solidity file.
 */
import { id as keccakUtf8 } from "ethers";
import { CivilIdError, describeValue } from "../errors.js";

export enum OrgKind {
  None = 0,
  /** Central administrative agency; HR requests come from e-사람. */
  CentralAgency = 1,
  /** Local government; HR requests come from 차세대 인사랑. */
  LocalGovernment = 2,
}

export enum OrgStatus {
  None = 0,
  Active = 1,
  Suspended = 2,
  Removed = 3,
}

export enum CredentialState {
  Active = 0,
  Locked = 1,
  Revoked = 2,
}

export enum OperatorRole {
  None = 0,
  LockOnly = 1,
  Registrar = 2,
}

export const ReasonCode = {
  NONE: 0,
  LOST_DEVICE: 1,
  PIN_LOCKOUT: 2,
  APP_DELETED: 3,
  DEVICE_REPLACED: 4,
  SUPERSEDED_BY_REISSUE: 5,
  LEFT_SERVICE: 6,
  KEY_COMPROMISE: 7,
  ADMINISTRATIVE: 8,
  FOUND_DEVICE: 9,
  /** Set only by the consortium's governance on a removed organisation's credentials. */
  ORGANISATION_RETIRED: 10,
} as const;
export type ReasonName = keyof typeof ReasonCode;
export type ReasonValue = (typeof ReasonCode)[ReasonName];

/** Reasons accepted by lock and revoke (SUPERSEDED_BY_REISSUE is set only by registration). */
export const LOCK_OR_REVOKE_REASONS: readonly ReasonName[] = [
  "LOST_DEVICE",
  "PIN_LOCKOUT",
  "APP_DELETED",
  "DEVICE_REPLACED",
  "LEFT_SERVICE",
  "KEY_COMPROMISE",
  "ADMINISTRATIVE",
];
/** Reasons accepted by unlock. */
export const UNLOCK_REASONS: readonly ReasonName[] = ["FOUND_DEVICE", "ADMINISTRATIVE"];

export function reasonName(code: number): ReasonName | "UNKNOWN" {
  const entry = Object.entries(ReasonCode).find(([, value]) => value === code);
  return entry ? (entry[0] as ReasonName) : "UNKNOWN";
}

/** Parses a reason given by name (case-insensitive, `-` or `_`) or number; throws INVALID_INPUT otherwise. */
export function parseReason(input: string | number, allowed: readonly ReasonName[]): ReasonValue {
  const name =
    typeof input === "number" ? reasonName(input) : (input.trim().toUpperCase().replace(/-/g, "_") as ReasonName);
  if (!(name in ReasonCode) || !allowed.includes(name as ReasonName)) {
    throw new CivilIdError(
      "INVALID_INPUT",
      `Reason ${describeValue(input)} is not allowed here; use one of: ${allowed.map((r) => r.toLowerCase().replace(/_/g, "-")).join(", ")}.`,
    );
  }
  return ReasonCode[name as ReasonName];
}

/** Credential ids: agencyCode << 40 | sequence (see CredentialIds in CivilIdTypes.sol). */
export const SEQUENCE_BITS = 40n;
const SEQUENCE_MASK = (1n << SEQUENCE_BITS) - 1n;
const MAX_CREDENTIAL_ID = (1n << 64n) - 1n;

export function makeCredentialId(agencyCode: number, sequence: bigint): bigint {
  return (BigInt(agencyCode) << SEQUENCE_BITS) | sequence;
}

export function agencyOfCredential(credentialId: bigint): number {
  return Number(credentialId >> SEQUENCE_BITS);
}

export function sequenceOfCredential(credentialId: bigint): bigint {
  return credentialId & SEQUENCE_MASK;
}

/** Validates a credential id from outside (decimal string, bigint or safe integer). */
export function parseCredentialId(input: unknown): bigint {
  let value: bigint | undefined;
  if (typeof input === "bigint") value = input;
  else if (typeof input === "number" && Number.isSafeInteger(input)) value = BigInt(input);
  else if (typeof input === "string" && /^[0-9]{1,20}$/.test(input.trim())) value = BigInt(input.trim());
  if (value === undefined || value <= 0n || value > MAX_CREDENTIAL_ID || !isValidAgencyCode(agencyOfCredential(value))) {
    throw new CivilIdError(
      "INVALID_CREDENTIAL_ID",
      `${JSON.stringify(String(input))} is not a credential id (a decimal number: agency code << 40 | sequence).`,
    );
  }
  return value;
}

/** Korean agency codes (기관코드): 7 digits, first digit non-zero. */
export function isValidAgencyCode(code: number): boolean {
  return Number.isInteger(code) && code >= 1_000_000 && code <= 9_999_999;
}

export function parseAgencyCode(input: unknown): number {
  const text = typeof input === "number" ? String(input) : typeof input === "string" ? input.trim() : "";
  if (!/^[1-9][0-9]{6}$/.test(text)) {
    throw new CivilIdError(
      "INVALID_AGENCY_CODE",
      `${describeValue(input)} is not an agency code: use the 7-digit 기관코드, e.g. 1741000.`,
    );
  }
  return Number(text);
}

/** The on-chain id of a credential type: keccak256 of its UTF-8 name. */
export function credentialTypeId(typeName: string): string {
  return keccakUtf8(typeName);
}

export const CIVIL_SERVANT_ID_TYPE = "CivilServantIdCredential";
