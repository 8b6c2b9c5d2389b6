/** The public views of stored records: ISO times, the next step in words; the stored form of a device key. */
import { SigningKey } from "ethers";
import { checkDeviceKeyJwk, deviceKeyJwk, type DeviceKeyJwk } from "../../credential/device-key.js";
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

/**
 * How a request stores its device key: a secp256k1 key as its uncompressed hex point (what `activate` stores), a
 * P-256 key as its JWK's JSON. {@link deviceKeyOfRecord} reads either back.
 */
export function storedDeviceKey(jwk: DeviceKeyJwk): string {
  if (jwk.crv === "P-256") return JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y });
  return SigningKey.computePublicKey("0x04" + Buffer.from(jwk.x, "base64url").toString("hex") + Buffer.from(jwk.y, "base64url").toString("hex"), false);
}

/** The device JWK of a stored device key (see {@link storedDeviceKey}). */
export function deviceKeyOfRecord(stored: string): DeviceKeyJwk {
  if (stored.startsWith("{")) return checkDeviceKeyJwk(JSON.parse(stored));
  return deviceKeyJwk(stored);
}
