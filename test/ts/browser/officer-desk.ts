/**
 * The machines around the officers in the whole-life test, over the issuer's staff API (docs/SERVICES.md): the HR
 * system's sync (an e-사람 export posted by the HR officer's integration), the SMS outbox as the carrier integration
 * reads it (identity codes, invitations), and read-only looks at a request and a credential's status. The officers'
 * own steps run in the console (officer-driver.ts). Each call uses the token of the role that may make it.
 */
import { eSaramExport, hrRow, type HrRow } from "../helpers/issuance.js";

export type StaffRole = "hr-officer" | "approver" | "help-desk" | "admin";

export interface RequestRecord {
  readonly id: string;
  readonly state: string;
  readonly name: string;
  readonly organisationName: string;
  readonly employeeRef: string;
  readonly credentialId?: string;
  readonly supersededId?: string;
}

export interface Sms {
  readonly requestId: string;
  readonly purpose: string;
  readonly body: string;
}

export class OfficerDesk {
  constructor(
    readonly issuer: string,
    readonly agency: number,
    private readonly tokens: Record<string, string>,
  ) {}

  private async call<T>(role: StaffRole, method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const token = this.tokens[role];
    if (token === undefined) throw new Error(`no demo staff token for ${role}`);
    const res = await fetch(`${this.issuer}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path} as ${role}: HTTP ${res.status} ${text}`);
    return (text === "" ? {} : JSON.parse(text)) as T;
  }

  request(id: string): Promise<RequestRecord> {
    return this.call("hr-officer", "GET", `/staff/requests/${this.agency}/${encodeURIComponent(id)}`);
  }

  /** HR sync: one e-사람 row (a new credential or a reissue); returns the request id. */
  async importRow(overrides: Partial<HrRow>): Promise<string> {
    const row = hrRow(overrides, this.agency);
    const report = await this.call<{ created: string[]; refused: unknown[] }>("hr-officer", "POST", `/staff/requests/${this.agency}/import`, { source: "e-saram", content: eSaramExport([row]) });
    const id = report.created[0];
    if (id === undefined) throw new Error(`HR import refused: ${JSON.stringify(report.refused)}`);
    return id;
  }

  /** The SMS of one request and purpose waiting for the carrier (newest last). */
  async outbox(id: string, purpose: string): Promise<Sms[]> {
    const { messages } = await this.call<{ messages: Sms[] }>("admin", "GET", `/staff/sms/undelivered?agency=${this.agency}`);
    return messages.filter((m) => m.requestId === id && m.purpose === purpose);
  }

  async latestCode(id: string): Promise<string> {
    const sms = (await this.outbox(id, "identity-code")).at(-1);
    const code = sms === undefined ? undefined : /([0-9]{6})/.exec(sms.body)?.[1];
    if (code === undefined) throw new Error(`no identity code SMS for ${id}`);
    return code;
  }

  /** The latest invitation SMS of a request, as the carrier delivers it: its link and activation code. */
  async invitation(id: string): Promise<{ link: string; txCode: string }> {
    const sms = (await this.outbox(id, "invitation")).at(-1);
    const link = sms === undefined ? undefined : /(https?:\/\/\S+)/.exec(sms.body)?.[1];
    const txCode = sms === undefined ? undefined : /활성화 코드 ([0-9]+)/.exec(sms.body)?.[1];
    if (link === undefined || txCode === undefined) throw new Error(`the invitation SMS of ${id} lacks its link or code: ${sms?.body ?? "(none)"}`);
    return { link, txCode };
  }

  credentialStatus(credentialId: string): Promise<{ state: string; reason: string }> {
    return this.call("help-desk", "GET", `/staff/credentials/${credentialId}`);
  }
}
