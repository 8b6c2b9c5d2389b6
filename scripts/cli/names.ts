import { OperatorRole, OrgKind } from "../../sdk/chain/codes.js";

/** The words the CLI prints (and puts in --json) for the ledger's enums and times: one table for every command. */
const KIND_NAMES: Readonly<Record<number, string>> = { [OrgKind.CentralAgency]: "central", [OrgKind.LocalGovernment]: "local" };
const ROLE_NAMES: Readonly<Record<number, string>> = { [OperatorRole.None]: "none", [OperatorRole.LockOnly]: "lock-only", [OperatorRole.Registrar]: "registrar" };

export function kindName(kind: unknown): string {
  return KIND_NAMES[Number(kind)] ?? `unknown(${String(kind)})`;
}

export function operatorRoleName(role: unknown): string {
  return ROLE_NAMES[Number(role)] ?? `unknown(${String(role)})`;
}

/** Unix seconds (as the contracts keep them) in ISO 8601. */
export function iso(seconds: number | bigint): string {
  return new Date(Number(seconds) * 1000).toISOString();
}
