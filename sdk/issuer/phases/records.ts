/** The public views of stored records: ISO times, the next step in words. */
import { NEXT_STEP } from "../transitions.js";
import type { AuditRecord, RequestRecord } from "../workflow-store.js";
import type { AuditEntry, IssuanceRecord } from "../workflow-types.js";

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function issuanceRecord(r: RequestRecord): IssuanceRecord {
  return {
    id: r.id, source: r.source, hrRequestId: r.hrRequestId, state: r.state, nextStep: NEXT_STEP[r.state], agencyCode: r.agencyCode,
    organisationName: r.organisationName, department: r.department, position: r.position, name: r.name, employeeRef: r.employeeRef,
    mobile: r.mobile, holderRef: r.holderRef, kind: r.kind, reissueReason: r.reissueReason, requestedAt: r.requestedAt,
    createdAt: iso(r.createdAt)!, updatedAt: iso(r.updatedAt)!,
    refusal: r.refusalCode === undefined ? undefined : { code: r.refusalCode, reason: r.refusalReason ?? "" },
    approver: r.approver, decidedAt: iso(r.decidedAt), rejectionReason: r.rejectionReason, identityMethod: r.identityMethod,
    identityVerifiedAt: iso(r.identityVerifiedAt), subjectDid: r.subjectDid, devicePublicKey: r.devicePublicKey, activatedAt: iso(r.activatedAt),
    bindingDigest: r.bindingDigest, credentialId: r.credentialId, supersededId: r.supersededId, supersededBy: r.supersededBy, txHash: r.txHash,
    blockNumber: r.blockNumber, credentialJwt: r.credentialJwt, issuedAt: iso(r.issuedAt),
  };
}

export function auditEntry(a: AuditRecord): AuditEntry {
  return { seq: a.seq, requestId: a.requestId, at: new Date(a.at).toISOString(), actor: a.actor, action: a.action, from: a.from, to: a.to, details: a.details };
}
