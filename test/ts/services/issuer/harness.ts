import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Signer } from "ethers";
import { network } from "hardhat";
import { issuerFromPrivateKey } from "../../../../sdk/credential/builder.js";
import type { WorkflowHooks } from "../../../../sdk/issuer/workflow.js";
import { generateBearerToken, hashBearerToken, loadConfig } from "../../../../services/common/index.js";
import { seedDemoConsortium } from "../../../../services/demo-consortium.js";
import type { DemoConsortium } from "../../../../services/environment.js";
import { issuerConfigSchema } from "../../../../services/issuer/config.js";
import { seedDemoRequest } from "../../../../services/issuer/demo.js";
import { buildIssuerApp, type IssuerApp } from "../../../../services/issuer/service.js";
import type { Deployment } from "../../../../sdk/chain/deployment.js";
import { STAFF_ROLES, type StaffRole } from "../../../../services/issuer/staff.js";

export const BASE_URL = "http://127.0.0.1:4999";

export interface Chain {
  provider: import("ethers").Provider;
  chainId: number;
  deployment: Deployment;
  demo: DemoConsortium;
  close(): Promise<void>;
}

export async function startChain(): Promise<Chain> {
  const connection = await network.create({ override: { allowBlocksWithSameTimestamp: true } });
  const provider = connection.ethers.provider;
  const seeded = await seedDemoConsortium(provider, (await connection.ethers.getSigners()) as unknown as Signer[]);
  return { provider, chainId: Number((await provider.getNetwork()).chainId), deployment: seeded.ledger.deployment, demo: seeded.demo, close: () => connection.close() };
}

export interface IssuerHarness {
  issuer: IssuerApp;
  tokens: Record<StaffRole, string>;
  dataDir: string;
  /** Re-opens the service on the same databases (a restart). */
  restart(options?: { hooks?: WorkflowHooks }): Promise<IssuerApp>;
  close(): Promise<void>;
}

export async function startIssuer(chain: Chain, overrides: Record<string, unknown> = {}, options: { hooks?: WorkflowHooks; dataDir?: string; baseUrl?: string } = {}): Promise<IssuerHarness> {
  const dataDir = options.dataDir ?? mkdtempSync(path.join(tmpdir(), "mcid-issuer-svc-"));
  const tokens = Object.fromEntries(STAFF_ROLES.map((r) => [r, generateBearerToken()])) as Record<StaffRole, string>;
  const config = loadConfig(issuerConfigSchema, {
    overrides: {
      logLevel: "silent",
      openid4vci: { credentialWaitMs: 5000 },
      ...overrides,
      staff: [
        ...STAFF_ROLES.map((role) => ({ id: `t-${role}`, roles: [role], tokenHash: hashBearerToken(tokens[role]) })),
        ...((overrides.staff as unknown[] | undefined) ?? []),
      ],
    },
  });
  const build = (hooks?: WorkflowHooks) =>
    buildIssuerApp({
      config, chainId: chain.chainId, deployment: chain.deployment, dataDir,
      agencies: chain.demo.organisations.map((o) => ({ code: o.code, name: o.name, issuer: issuerFromPrivateKey(chain.chainId, o.issuerPrivateKey), registrar: o.registrar, statusOfficer: o.statusOfficer, helpDesk: o.helpDesk })),
      holderSecret: chain.demo.holderSecret,
      sms: { send: () => Promise.reject(new Error("test: SMS wait in the outbox")) },
      baseUrl: () => options.baseUrl ?? BASE_URL,
      logger: process.env.MCID_TEST_LOG === "1" ? { level: "error", stream: process.stderr } : false,
      ...(hooks === undefined ? {} : { workflowHooks: hooks }),
    });
  let issuer = await build(options.hooks);
  await issuer.app.ready();
  await issuer.agencies.open();
  return {
    get issuer() {
      return issuer;
    },
    tokens,
    dataDir,
    async restart(o = {}) {
      await issuer.app.close();
      issuer = await build(o.hooks);
      await issuer.app.ready();
      await issuer.agencies.open();
      return issuer;
    },
    async close() {
      await issuer.app.close();
      if (options.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
    },
  } as IssuerHarness;
}

export { seedDemoRequest };

/** The holder's identity re-check in the app (the code read from the outbox, as the carrier would deliver it). */
export async function recheckIdentity(h: IssuerHarness, agency: number, requestId: string, token: string, evidence: { name: string; employeeRef: string }): Promise<void> {
  const started = await h.issuer.app.inject({ method: "POST", url: "/credential-offer/identity", payload: { token } });
  if (started.statusCode !== 200) throw new Error(`identity re-check refused: ${started.body}`);
  const sms = (await h.issuer.agencies.get(agency).workflow.undeliveredSms()).filter((m) => m.requestId === requestId && m.purpose === "identity-code").at(-1)!;
  const code = /([0-9]{6})/.exec(sms.body)![1]!;
  const verified = await h.issuer.app.inject({ method: "POST", url: "/credential-offer/identity/verify", payload: { token, ...evidence, code } });
  if (verified.statusCode !== 200) throw new Error(`identity re-check failed: ${verified.body}`);
}

export const PRE_AUTH = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
export const form = (fields: Record<string, string>) => ({ payload: new URLSearchParams(fields).toString(), headers: { "content-type": "application/x-www-form-urlencoded" } });

/** The demo request's credential offer (the SMS link's path), its tx_code and request id. */
export interface Offer { path: string; txCode: string; requestId: string }

export async function invited(h: IssuerHarness): Promise<Offer> {
  const demo = await seedDemoRequest(h.issuer, BASE_URL);
  const url = new URL(demo.credentialOfferUri as string);
  return { path: url.pathname + url.search, txCode: demo.txCode as string, requestId: demo.requestId as string };
}

/** Fetches the offer behind the link: a fresh pre-authorized code. */
export async function preAuthorizedCode(h: IssuerHarness, offer: Offer): Promise<string> {
  const r = await h.issuer.app.inject({ method: "GET", url: offer.path });
  expect(r.statusCode, r.body).to.equal(200);
  return (r.json<{ grants: Record<string, { "pre-authorized_code": string }> }>().grants[PRE_AUTH]!)["pre-authorized_code"];
}
