/**
 * Test support for the issuance workflow: a fresh chain with issuer keys for both organisations, HR export
 * builders, a capturing SMS gateway, a controllable clock and a device (wallet key) that activates.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { Wallet } from "ethers";
import { deployFixture, governed, CENTRAL_AGENCY, LOCAL_GOV } from "./fixture.js";
import { connectLedger } from "../../../sdk/chain/contracts.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { issuerFromPrivateKey } from "../../../sdk/credential/index.js";
import { activationMessage } from "../../../sdk/protocol/activation.js";
import { LoggingSmsGateway, type SmsGateway, type SmsMessage } from "../../../sdk/issuer/sms.js";
import { IssuanceWorkflow, type IssuanceWorkflowOptions, type WorkflowHooks } from "../../../sdk/issuer/workflow.js";
import { E_SARAM_FORMAT, HR_FIELDS } from "../../../sdk/issuer/hr-import.js";

export { CENTRAL_AGENCY, LOCAL_GOV };

export interface HrRow {
  requestId: string;
  personId: string;
  name: string;
  agencyCode: string;
  organisationName: string;
  department: string;
  position: string;
  employeeRef: string;
  mobile: string;
  requestKind: string;
  reissueReason: string;
  requestedAt: string;
}

export function hrRow(overrides: Partial<HrRow> = {}, agency: number = CENTRAL_AGENCY): HrRow {
  return {
    requestId: "REQ-0001",
    personId: "900101-1234567",
    name: "홍길동",
    agencyCode: String(agency),
    organisationName: agency === CENTRAL_AGENCY ? "행정안전부" : "서울특별시",
    department: "디지털정부국",
    position: "행정사무관",
    employeeRef: "E-20240001",
    mobile: "010-1234-5678",
    requestKind: "new",
    reissueReason: "",
    requestedAt: "2026-01-05T09:00:00+09:00",
    ...overrides,
  };
}

/** An e-사람 JSON export. */
export function eSaramExport(rows: HrRow[]): string {
  return JSON.stringify({
    format: E_SARAM_FORMAT,
    exportedAt: "2026-01-05T09:30:00+09:00",
    requests: rows.map((r) => {
      const { reissueReason, ...rest } = r;
      return reissueReason === "" ? rest : { ...rest, reissueReason };
    }),
  });
}

/** A 차세대 인사랑 CSV export (CRLF, quoted where needed). */
export function insarangCsv(rows: HrRow[]): string {
  const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = [HR_FIELDS.map(([csv]) => csv).join(",")];
  for (const r of rows) lines.push(HR_FIELDS.map(([, json]) => quote(r[json])).join(","));
  return lines.join("\r\n") + "\r\n";
}

/** Runs a governance call (e.g. suspend an organisation) through the consortium's M-of-N approval. */
export function governedCall(env: { ledger: Parameters<typeof governed>[0]; actors: { members: Parameters<typeof governed>[1] } }, target: string, data: string) {
  return governed(env.ledger, env.actors.members, target, data);
}

export class CapturingSms implements SmsGateway {
  readonly sent: SmsMessage[] = [];
  failNext = 0;
  private readonly inner = new LoggingSmsGateway((m) => {
    this.sent.push(m);
  });

  async send(message: SmsMessage): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error("carrier unavailable");
    }
    await this.inner.send(message);
  }

  last(requestId: string, purpose: SmsMessage["purpose"]): SmsMessage {
    const m = this.sent.filter((s) => s.requestId === requestId && s.purpose === purpose).at(-1);
    if (!m) throw new Error(`no ${purpose} SMS for ${requestId}`);
    return m;
  }

  otp(requestId: string): string {
    return /본인확인 코드 ([0-9]+)/.exec(this.last(requestId, "identity-code").body)![1]!;
  }

  invitation(requestId: string): { token: string; code: string } {
    const body = this.last(requestId, "invitation").body;
    return { token: /[?&]token=([A-Za-z0-9_-]{43})/.exec(body)![1]!, code: /활성화 코드 ([0-9]+)/.exec(body)![1]! };
  }
}

export class Clock {
  constructor(public ms: number) {}
  readonly now = () => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

/** `postgresUrl`: the workflows live in that PostgreSQL database (one schema per `db` name) instead of SQLite files. */
export async function issuanceEnv(options: { postgresUrl?: string } = {}) {
  const env = await deployFixture();
  const { ethers, ledger, actors } = env;
  const chainId = Number((await ethers.provider.getNetwork()).chainId);
  const latest = (await ethers.provider.getBlock("latest"))!.timestamp;
  const centralKey = Wallet.createRandom();
  const localKey = Wallet.createRandom();
  await (await ledger.issuerRegistry.connect(actors.orgAdmin).addIssuerKey(CENTRAL_AGENCY, centralKey.address, 0, latest + 365 * 86400)).wait();
  await (await ledger.issuerRegistry.connect(actors.localAdmin).addIssuerKey(LOCAL_GOV, localKey.address, 0, latest + 365 * 86400)).wait();
  const now = (await ethers.provider.getBlock("latest"))!.timestamp;
  const dir = mkdtempSync(path.join(tmpdir(), "mcid-issuance-"));
  const holderSecret = new Uint8Array(randomBytes(32));
  const sms = new CapturingSms();
  const clock = new Clock(now * 1000 + 1000);

  const postgresUrl = options.postgresUrl;
  const registrarFor = (agency: number) => (agency === LOCAL_GOV ? actors.localRegistrar : actors.registrar);
  const keyFor = (agency: number) => (agency === LOCAL_GOV ? localKey : centralKey);

  function workflow(
    options: { agency?: number; db?: string; hooks?: WorkflowHooks; extra?: Partial<IssuanceWorkflowOptions> } = {},
  ): Promise<IssuanceWorkflow> {
    const agency = options.agency ?? CENTRAL_AGENCY;
    return IssuanceWorkflow.open({
      dbPath: path.join(dir, options.db ?? `workflow-${agency}.sqlite`),
      ...(postgresUrl === undefined ? {} : { store: { kind: "postgres" as const, url: postgresUrl, schema: (options.db ?? `workflow-${agency}`).replace(/\.sqlite$/, "").replace(/[^a-z0-9]/gi, "_").toLowerCase() } }),
      agencyCode: agency,
      ledger: connectLedger(ledger.deployment, registrarFor(agency)),
      issuer: issuerFromPrivateKey(chainId, keyFor(agency).privateKey),
      chainId,
      holderSecret,
      sms,
      invitation: { baseUrl: "https://id.example.go.kr/activate" },
      clock: clock.now,
      ...(options.hooks ? { hooks: options.hooks } : {}),
      ...options.extra,
    });
  }

  /** A device with a fresh key that activates with the invitation of `requestId`. */
  async function activateDevice(wf: IssuanceWorkflow, requestId: string, device = Wallet.createRandom()) {
    const { token, code } = sms.invitation(requestId);
    const challenge = await wf.activationChallenge(token);
    const did = didForAddress(chainId, device.address);
    const signature = await device.signMessage(activationMessage(challenge, did));
    const record = await wf.activate({ token, code, did, publicKey: device.signingKey.publicKey, signature });
    return { record, device, did };
  }

  /** Runs a requested request through approval, identity verification and invitation. */
  async function toInvited(wf: IssuanceWorkflow, requestId: string, row: HrRow = hrRow()) {
    await wf.approve(requestId, "dept-head:7001");
    await wf.startIdentityVerification(requestId);
    await wf.verifyIdentity(requestId, { name: row.name, employeeRef: row.employeeRef, code: sms.otp(requestId) });
    await wf.invite(requestId);
  }

  return {
    ...env, chainId, dir, holderSecret, sms, clock, centralKey, localKey, workflow, activateDevice, toInvited,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export type IssuanceEnv = Awaited<ReturnType<typeof issuanceEnv>>;
