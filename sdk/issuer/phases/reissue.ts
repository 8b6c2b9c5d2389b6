/**
 * Phase 6 — reissue (lost or replaced phone, PIN lockout, app deleted). A reissue is an ordinary HR request with
 * requestKind "reissue" that goes through the same phases; its registration supersedes the holder's current
 * credential on chain (Revoked, SUPERSEDED_BY_REISSUE) in the same transaction. Here: the bookkeeping of the
 * superseded request, and the HR export of a reissue request written from a holder's issued request.
 */
import { CivilIdError } from "../../errors.js";
import { holderReference } from "../../status/holder-ref.js";
import { formatHrExport, normalisePersonId, parseHrExport, REISSUE_REASONS, type HrExportRow, type HrSource, type ReissueReason } from "../hr-import.js";
import type { WorkflowContext } from "./context.js";

/** Inside the registration's transaction: marks the superseded request of this database (if it is here) and audits it. */
export async function recordSupersession(ctx: WorkflowContext, byRequest: string, actor: string, credentialId: bigint, supersededId: bigint | undefined): Promise<void> {
  if (supersededId === undefined) return;
  const old = await ctx.store.requestByCredential(supersededId);
  if (!old) return; // issued by another issuing server of the organisation, or before this database
  const at = ctx.now();
  await ctx.store.updateRequest(old.id, old.state, { supersededBy: credentialId, updatedAt: at });
  await ctx.store.appendAudit({ requestId: old.id, at, actor, action: "superseded", from: old.state, to: old.state, details: { by: credentialId.toString(), byRequest } });
}

export interface ReissueExport {
  readonly source: HrSource;
  /** The new workflow id, `<source>:<hrRequestId>`. */
  readonly requestId: string;
  /** The HR export (e-사람 JSON or 인사랑 CSV, as the original request) for HR to file. */
  readonly text: string;
}

/**
 * The reissue request of the holder of an issued request, as the HR export HR files (`importRequests`). The
 * person id must be the holder's (checked against the stored holder reference; it is not stored).
 */
export async function reissueExport(
  ctx: WorkflowContext,
  fromId: string,
  input: { readonly reason: ReissueReason; readonly hrRequestId: string; readonly personId: string },
): Promise<ReissueExport> {
  const original = await ctx.request(fromId);
  if (original.state !== "issued") {
    throw new CivilIdError("INVALID_WORKFLOW_STATE", `${fromId} is ${original.state}, not issued: a reissue replaces an issued credential (file a new request otherwise).`);
  }
  if (!(REISSUE_REASONS as readonly string[]).includes(input.reason)) throw new CivilIdError("INVALID_INPUT", `The reissue reason must be one of ${REISSUE_REASONS.join(", ")}.`);
  const personId = normalisePersonId(input.personId);
  if (personId === undefined || holderReference(ctx.options.holderSecret, personId) !== original.holderRef) {
    throw new CivilIdError("INVALID_INPUT", `The person id given is not the holder of ${fromId}.`);
  }
  const now = new Date(ctx.now());
  const row: HrExportRow = {
    requestId: input.hrRequestId, personId, name: original.name, agencyCode: String(original.agencyCode), organisationName: original.organisationName,
    department: original.department, position: original.position, employeeRef: original.employeeRef, mobile: original.mobile,
    requestKind: "reissue", reissueReason: input.reason, requestedAt: now.toISOString(),
  };
  const text = formatHrExport(original.source, [row], now.toISOString());
  parseHrExport(original.source, text, now.getTime()); // the request must be one HR could file (e.g. a valid request id)
  return { source: original.source, requestId: `${original.source}:${input.hrRequestId}`, text };
}
