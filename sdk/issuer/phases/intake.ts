/**
 * Phase 1 — intake and approval: HR exports become requests (created, duplicate, refused or conflict, in one
 * transaction), the department head approves or rejects, an operator cancels before registration. The database of
 * an organisation is created by its first successful import only (see `WorkflowContext.createStore`).
 */
import { CivilIdError, isCivilIdError } from "../../errors.js";
import { OrgKind, OrgStatus } from "../../chain/codes.js";
import { toCivilIdError } from "../../chain/errors.js";
import { holderReference } from "../../status/holder-ref.js";
import { checkOrganisationNames, parseHrExport, type HrRequest, type HrRowError, type HrSource } from "../hr-import.js";
import { hashEquals, secretHash } from "../secrets.js";
import type { ImportReport } from "../workflow-types.js";
import type { RequestRecord, WorkflowStore } from "../workflow-store.js";
import { checkActor, checkReason, type WorkflowContext } from "./context.js";

const ORG_STATUS_REFUSAL: Record<number, string> = {
  [OrgStatus.None]: "NOT_ACCREDITED",
  [OrgStatus.Suspended]: "SUSPENDED",
  [OrgStatus.Removed]: "REMOVED",
};

/**
 * Imports an HR export. A file with any invalid row is refused whole (INVALID_INPUT listing every row, field
 * and reason; the refusal is audited when the database exists). For a valid file each row is, in one transaction:
 * created, a duplicate of an identical earlier import (no change), refused (recorded, final) or a conflict.
 */
export async function importRequests(ctx: WorkflowContext, source: HrSource, text: string | Uint8Array, actor: string): Promise<ImportReport> {
  checkActor(actor);
  const at = ctx.now();
  let requests: HrRequest[];
  try {
    requests = parseHrExport(source, text, at);
    const foreign = requests.filter((r) => r.agencyCode !== ctx.agencyCode);
    if (foreign.length > 0) {
      const errors: HrRowError[] = foreign.map((r) => ({ row: r.row, field: "agencyCode", reason: `${r.agencyCode} is not served by this issuing server (${ctx.agencyCode})` }));
      throw new CivilIdError("INVALID_INPUT", `HR export refused, nothing was imported: ${errors.map((e) => `row ${e.row} agencyCode: ${e.reason}`).join("; ")}.`, { details: { errors } });
    }
    // The organisation's name as the consortium registered it (issue #10): a row naming another is refused.
    checkOrganisationNames(requests, await registeredOrganisationName(ctx));
  } catch (error) {
    // Audited in an existing database; a refused first import creates none (a mistyped agency leaves no file).
    if (isCivilIdError(error, "INVALID_INPUT") && ctx.hasStore) {
      const errors = (error.details?.errors as HrRowError[] | undefined) ?? [];
      await ctx.record(null, actor, "import-refused", null, { source, errors: errors.slice(0, 200).map((e) => ({ ...e })), problems: errors.length });
    }
    throw error;
  }
  const participation = await participationProblem(ctx, source);
  const report = { created: [] as string[], duplicates: [] as string[], refused: [] as ImportReport["refused"][number][], conflicts: [] as ImportReport["conflicts"][number][] };
  const apply = (store: WorkflowStore) =>
    store.transaction(
      () => applyRows(ctx, store, source, requests, participation, actor, at, report),
      () => ctx.options.hooks?.beforeCommit?.({ requestId: null, action: "import", from: null, to: null }),
    );
  if (ctx.hasStore) await apply(ctx.store);
  else await ctx.createStore(apply);
  const counts = { created: report.created.length, duplicates: report.duplicates.length, refused: report.refused.length, conflicts: report.conflicts.length };
  return { source, rows: requests.length, ...report, counts, complete: counts.refused === 0 && counts.conflicts === 0 };
}

async function applyRows(
  ctx: WorkflowContext,
  store: WorkflowStore,
  source: HrSource,
  requests: readonly HrRequest[],
  participation: string | undefined,
  actor: string,
  at: number,
  report: { created: string[]; duplicates: string[]; refused: ImportReport["refused"][number][]; conflicts: ImportReport["conflicts"][number][] },
): Promise<void> {
  for (const r of requests) {
    const id = `${source}:${r.requestId}`;
    const fingerprint = secretHash(ctx.codeKey, "hr-request", source, JSON.stringify([
      r.requestId, r.personId, r.name, r.agencyCode, r.organisationName, r.department, r.position, r.employeeRef,
      r.mobile, r.kind, r.reissueReason ?? "", r.requestedAt,
    ]));
    const existing = await store.requestByHrId(source, r.requestId);
    if (existing) {
      if (hashEquals(existing.fingerprint, fingerprint)) report.duplicates.push(id);
      else {
        report.conflicts.push({ id, row: r.row });
        await store.appendAudit({ requestId: id, at, actor, action: "import-conflict", from: existing.state, to: existing.state, details: { row: r.row, reason: "the same HR request id was exported again with different content; the request was left unchanged" } });
      }
      continue;
    }
    const holderRef = holderReference(ctx.options.holderSecret, r.personId);
    let refusal: { code: string; reason: string } | undefined;
    if (participation) refusal = { code: "ORGANISATION_NOT_PARTICIPATING", reason: participation };
    else {
      const open = await store.openRequestsOfHolder(holderRef);
      if (open.length > 0) {
        refusal = { code: "DUPLICATE_REQUEST", reason: `HOLDER_HAS_OPEN_REQUEST: ${open.map((o) => o.id).join(", ")} is still in progress for this person; finish or cancel it first` };
      }
    }
    const action = refusal ? "import-refused-request" : "import";
    const state = refusal ? "refused" : "requested";
    await store.insertRequest(newRequest(id, source, r, fingerprint, holderRef, state, at, refusal));
    await store.appendAudit({
      requestId: id, at, actor, action, from: null, to: state,
      details: { source, row: r.row, kind: r.kind, reissueReason: r.reissueReason ?? null, ...(refusal ? { refusal } : {}) },
    });
    if (refusal) report.refused.push({ id, row: r.row, ...refusal });
    else report.created.push(id);
  }
  await store.appendAudit({
    requestId: null, at, actor, action: "import", from: null, to: null,
    details: { source, rows: requests.length, created: report.created.length, duplicates: report.duplicates.length, refused: report.refused.length, conflicts: report.conflicts.length },
  });
}

function newRequest(
  id: string, source: HrSource, r: HrRequest, fingerprint: string, holderRef: string, state: "refused" | "requested", at: number,
  refusal: { code: string; reason: string } | undefined,
): RequestRecord {
  return {
    id, source, hrRequestId: r.requestId, fingerprint, state, agencyCode: r.agencyCode, organisationName: r.organisationName,
    department: r.department, position: r.position, name: r.name, employeeRef: r.employeeRef, mobile: r.mobile, holderRef, kind: r.kind,
    reissueReason: r.reissueReason, requestedAt: r.requestedAt, createdAt: at, updatedAt: at, refusalCode: refusal?.code,
    refusalReason: refusal?.reason, approver: undefined, decidedAt: undefined, rejectionReason: undefined, identityMethod: undefined,
    identityVerifiedAt: undefined, subjectDid: undefined, devicePublicKey: undefined, activatedAt: undefined, intentBlock: undefined,
    intentNonce: undefined, issuerDid: undefined, issuedAtS: undefined, validFromS: undefined, validUntilS: undefined, bindingDigest: undefined,
    credentialId: undefined, supersededId: undefined, supersededBy: undefined, txHash: undefined, blockNumber: undefined, credentialJwt: undefined,
    issuedAt: undefined,
  };
}

/** keccak256 of the organisation's official name in the IssuerRegistry (ZeroHash: none set). */
async function registeredOrganisationName(ctx: WorkflowContext): Promise<string> {
  try {
    return await ctx.options.ledger.issuerRegistry.organisationNameHash(ctx.agencyCode);
  } catch (error) {
    throw toCivilIdError(error, ctx.options.ledger.issuerRegistry.interface, "Organisation name query");
  }
}

/** Why this organisation may not take requests from `source` now (undefined when it may). */
async function participationProblem(ctx: WorkflowContext, source: HrSource): Promise<string | undefined> {
  let org: { kind: bigint; status: bigint };
  try {
    org = await ctx.options.ledger.issuerRegistry.organisation(ctx.agencyCode);
  } catch (error) {
    throw toCivilIdError(error, ctx.options.ledger.issuerRegistry.interface, "Organisation query");
  }
  const status = Number(org.status) as OrgStatus;
  if (status !== OrgStatus.Active) return `${ORG_STATUS_REFUSAL[status] ?? "NOT_ACTIVE"}: organisation ${ctx.agencyCode} is not an active participant on chain (status ${OrgStatus[status] ?? status})`;
  const expected = source === "e-saram" ? OrgKind.CentralAgency : OrgKind.LocalGovernment;
  const kind = Number(org.kind) as OrgKind;
  if (kind !== expected) {
    return `SOURCE_KIND_MISMATCH: organisation ${ctx.agencyCode} is accredited as ${OrgKind[kind]}, but ${source === "e-saram" ? "e-사람" : "차세대 인사랑"} requests come from ${OrgKind[expected]} organisations`;
  }
  return undefined;
}

/** The department head approves the request. */
export async function approve(ctx: WorkflowContext, id: string, approver: string): Promise<void> {
  checkActor(approver);
  await ctx.transition(id, "approve", approver, { approver, decidedAt: ctx.now() }, {});
}

/** The department head rejects the request (final); the reason is required. */
export async function reject(ctx: WorkflowContext, id: string, approver: string, reason: string): Promise<void> {
  checkActor(approver);
  const why = checkReason(reason);
  await ctx.transition(id, "reject", approver, { approver, decidedAt: ctx.now(), rejectionReason: why }, { reason: why });
}

/** Cancels a request that is not yet being registered (e.g. the applicant lost the phone during activation). */
export async function cancel(ctx: WorkflowContext, id: string, actor: string, reason: string): Promise<void> {
  checkActor(actor);
  const why = checkReason(reason);
  const at = ctx.now();
  await ctx.transition(id, "cancel", actor, {}, { reason: why }, async () => {
    await ctx.store.revokeInvitations(id, at);
    await ctx.store.closeIdentitySessions(id, at);
    await ctx.store.expireSms(id, "invitation");
    await ctx.store.expireSms(id, "identity-code");
  });
}
