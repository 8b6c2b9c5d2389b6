import { randomInt } from "node:crypto";
import { E_SARAM_FORMAT } from "../../sdk/issuer/hr-import.js";
import type { IssuerApp } from "./service.js";

/** One e-사람 export row for the demo (a fictional public servant; agency code from the seeded consortium). */
export function demoHrExport(agencyCode: number, organisationName: string, n: number): string {
  const serial = String(n).padStart(6, "0");
  return JSON.stringify({
    format: E_SARAM_FORMAT,
    exportedAt: new Date().toISOString(),
    requests: [
      {
        requestId: `ES-DEMO-${serial}`, personId: `85010${String(1_000_000 + n).slice(1)}67`.slice(0, 13), name: "홍길동", agencyCode: String(agencyCode),
        organisationName, department: "디지털정부혁신실", position: "행정사무관", employeeRef: `DEMO-${serial}`, mobile: "010-2345-6789",
        requestKind: "new", requestedAt: new Date().toISOString(),
      },
    ],
  });
}

/**
 * `serve --demo`: takes one request of the first organisation through HR import → approval → identity check
 * → invitation, and reads the invitation SMS from the outbox: its credential offer link and tx_code let a wallet
 * try the OpenID4VCI flow at once.
 */
export async function seedDemoRequest(issuer: IssuerApp, baseUrl: string): Promise<Record<string, unknown>> {
  await issuer.agencies.open();
  const agency = issuer.agencies.all()[0];
  if (agency === undefined) return {};
  const wf = agency.workflow;
  const report = await wf.importRequests("e-saram", demoHrExport(agency.code, agency.name, randomInt(1, 999_999)), "demo:hr-sync");
  const id = report.created[0];
  if (id === undefined) throw new Error(`the demo request was not imported: ${JSON.stringify(report.refused)}`);
  const record = await wf.approve(id, "demo:dept-head");
  await wf.startIdentityVerification(id, "demo:hr-officer");
  const otpSms = (await wf.undeliveredSms()).filter((m) => m.requestId === id && m.purpose === "identity-code").at(-1);
  const otp = otpSms === undefined ? undefined : /([0-9]{6})/.exec(otpSms.body)?.[1];
  if (otp === undefined) throw new Error("the demo identity code SMS is missing");
  await wf.verifyIdentity(id, { name: record.name, employeeRef: record.employeeRef, code: otp }, "demo:applicant");
  await wf.invite(id, "demo:hr-officer");
  const invitation = (await wf.undeliveredSms()).filter((m) => m.requestId === id && m.purpose === "invitation").at(-1);
  const link = invitation === undefined ? undefined : /(https?:\/\/\S+)/.exec(invitation.body)?.[1];
  const txCode = invitation === undefined ? undefined : /활성화 코드 ([0-9]+)/.exec(invitation.body)?.[1];
  if (link === undefined || txCode === undefined) throw new Error("the demo invitation SMS is missing its link or code");
  // The holder's identity re-check in the app, done here so that a wallet can take the offer at once.
  const token = new URL(link).searchParams.get("token")!;
  await issuer.openid4vci.identityCheckStart(token);
  const recheckSms = (await wf.undeliveredSms()).filter((m) => m.requestId === id && m.purpose === "identity-code").at(-1);
  const recheckCode = recheckSms === undefined ? undefined : /([0-9]{6})/.exec(recheckSms.body)?.[1];
  if (recheckCode === undefined) throw new Error("the demo identity re-check SMS is missing");
  await issuer.openid4vci.identityCheckVerify(token, { name: record.name, employeeRef: record.employeeRef, code: recheckCode });
  return {
    credentialOfferUri: link,
    credentialOffer: `openid-credential-offer://?credential_offer_uri=${encodeURIComponent(link)}`,
    txCode,
    requestId: id,
    agencyCode: agency.code,
    issuerMetadata: `${baseUrl}/.well-known/openid-credential-issuer`,
  };
}
