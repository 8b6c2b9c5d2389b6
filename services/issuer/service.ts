import { readFile } from "node:fs/promises";
import path from "node:path";
import { Wallet, type Provider, type Signer } from "ethers";
import type { Issuer } from "did-jwt-vc";
import { connectLedger } from "../../sdk/chain/contracts.js";
import type { Deployment } from "../../sdk/chain/deployment.js";
import { CivilIdError } from "../../sdk/errors.js";
import { issuerFromPrivateKey } from "../../sdk/credential/builder.js";
import { LoggingSmsGateway, type SmsGateway } from "../../sdk/issuer/sms.js";
import { IssuanceWorkflow, type WorkflowHooks } from "../../sdk/issuer/workflow.js";
import { createServiceApp, generateBearerToken, HEALTH_PATH, hashBearerToken, loadConfig, StaffDirectory, type ServiceApp, type ServiceLoggerOptions } from "../common/index.js";
import type { ServeDefinition, ServeEnvironment } from "../environment.js";
import type { ServiceLinks } from "../common/registry.js";
import { Agencies } from "./agencies.js";
import { OFFICER_MOUNT, registerOfficerConsole, type OfficerConsole } from "./console.js";
import { consoleUrlFor } from "./passkeys.js";
import { issuerConfigSchema, issuerStoreLocations, type IssuerConfig, type KeystoreRef } from "./config.js";
import type { StoreLocation } from "../../sdk/util/sql.js";
import { seedDemoRequest } from "./demo.js";
import { Openid4vciEndpoints } from "./openid4vci.js";
import { registerStaffRoutes, STAFF_ROLES, type StaffRole } from "./staff.js";
import { IssuerServiceStore } from "./store.js";
import { ISSUER_WALLET_PATHS, registerCors, walletOrigins } from "../common/cors.js";

/** The keys of one organisation, unlocked. */
export interface AgencyKeyMaterial {
  readonly code: number;
  readonly name: string;
  readonly issuer: Issuer;
  readonly registrar: Signer;
  readonly statusOfficer: Signer;
  readonly helpDesk?: Signer | undefined;
}

export interface IssuerAppOptions {
  readonly config: IssuerConfig;
  readonly chainId: number;
  readonly deployment: Deployment;
  /** Folder of the databases: `issuance-<agency>.sqlite` per organisation and `issuer-service.sqlite` (config.store sqlite without `dir`). */
  readonly dataDir: string;
  readonly agencies: readonly AgencyKeyMaterial[];
  readonly holderSecret: Uint8Array;
  readonly sms: SmsGateway;
  /** The public base URL (a getter: known once the service listens). */
  readonly baseUrl: () => string;
  /** The status service's base URL (read when the workflows open); undefined: credentials carry no status-list entry. */
  readonly statusListBaseUrl?: () => string | undefined;
  readonly logger?: ServiceLoggerOptions | false;
  readonly clock?: () => number;
  /** Fault injection in tests (crash between issuance steps). */
  readonly workflowHooks?: WorkflowHooks;
}

export interface IssuerApp {
  readonly app: ServiceApp;
  readonly agencies: Agencies;
  readonly store: IssuerServiceStore;
  readonly openid4vci: Openid4vciEndpoints;
  /** The officer console (page, passkey sign-in): services/issuer/console.ts. */
  readonly officer: OfficerConsole;
}

const SECRET_PATH = /^\/credential-offer\?.*$/;

/**
 * The issuer service: OpenID4VCI issuance and the issuing-officer API over each organisation's IssuanceWorkflow.
 * Closing the app drains issuances in flight, then closes every database.
 */
export async function buildIssuerApp(options: IssuerAppOptions): Promise<IssuerApp> {
  const { config } = options;
  const now = options.clock ?? (() => Date.now());
  const app = await createServiceApp({
    title: "mobile-civil-id issuer",
    description: "OpenID4VCI 1.0 issuance (pre-authorized code + tx_code) and the issuing-officer API.",
    bodyLimit: config.bodyLimit,
    rateLimit: config.rateLimit,
    trustProxy: config.trustProxy,
    logger: options.logger ?? { level: config.logLevel, redactUrl: (p) => p.replace(SECRET_PATH, "/credential-offer") },
    publicUrl: () => {
      try {
        return options.baseUrl();
      } catch {
        return undefined; // not listening yet: the OpenAPI document lists no server
      }
    },
  });
  const locations = issuerStoreLocations(config.store, options.dataDir);
  const store = await IssuerServiceStore.open(locations.service);
  await store.prune(now()); // nonces and access tokens expired for more than a day: nothing live is touched
  const agencies = new Agencies(
    options.agencies.map((k) => {
      const ledger = connectLedger(options.deployment, k.registrar);
      return {
        code: k.code,
        name: k.name,
        ledger,
        statusOfficer: k.statusOfficer,
        helpDesk: k.helpDesk,
        workflow: () => {
          const statusListBaseUrl = options.statusListBaseUrl?.() ?? config.statusListBaseUrl;
          return IssuanceWorkflow.open({
            ...workflowLocation(locations.workflow(k.code)),
            agencyCode: k.code,
            ledger,
            issuer: k.issuer,
            chainId: options.chainId,
            holderSecret: options.holderSecret,
            sms: options.sms,
            invitation: { baseUrl: `${options.baseUrl()}${Openid4vciEndpoints.offerPath}`, ttlSeconds: config.invitation.ttlSeconds, maxAttempts: config.invitation.maxAttempts },
            ...(options.clock === undefined ? {} : { clock: options.clock }),
            ...(options.workflowHooks === undefined ? {} : { hooks: options.workflowHooks }),
            ...(statusListBaseUrl === undefined ? {} : { statusListBaseUrl }),
          });
        },
      };
    }),
  );
  const openid4vci = new Openid4vciEndpoints({ baseUrl: options.baseUrl, chainId: options.chainId, agencies, store, settings: config.openid4vci, now, log: app.log });
  openid4vci.register(app);
  const staff = new StaffDirectory<StaffRole>(config.staff);
  registerStaffRoutes(app, { agencies, store, staff, now });
  const provider = options.agencies.map((k) => k.registrar.provider).find((p) => p !== null);
  if (provider === undefined || provider === null) throw new CivilIdError("INVALID_INPUT", "The organisations' registrar keys must be connected to the chain.");
  const officer = await registerOfficerConsole(app, {
    dataDir: options.dataDir, passkeyStore: locations.passkeys, agencies, store, staff, deployment: options.deployment, provider, baseUrl: options.baseUrl, now,
    organisations: options.agencies.map((k) => ({
      code: k.code, name: k.name, issuerDid: k.issuer.did,
      operators: [
        { purpose: "workflow-registrar" as const, signer: k.registrar },
        { purpose: "status-officer" as const, signer: k.statusOfficer },
        ...(k.helpDesk === undefined ? [] : [{ purpose: "help-desk" as const, signer: k.helpDesk }]),
      ],
    })),
  });
  // The workflows open (binding each database to the deployment, which asks the node) once the public URL is
  // known: before the first request that is not the health check. A failed open is retried by the next request.
  app.addHook("onRequest", async (request) => {
    if (request.url !== HEALTH_PATH) await agencies.open();
  });
  app.addHook("onClose", async () => {
    await openid4vci.drain();
    await agencies.close();
    await store.close();
    await officer.close();
  });
  return { app, agencies, store, openid4vci, officer };
}

/** The workflow's options for its store: a SQLite file keeps `dbPath`; PostgreSQL adds `store` (dbPath names it in messages). */
function workflowLocation(location: StoreLocation): { dbPath: string; store?: StoreLocation } {
  return location.kind === "sqlite" ? { dbPath: location.file } : { dbPath: `postgres:${location.schema ?? "public"}`, store: location };
}

async function unlock(ref: KeystoreRef, provider: Provider | undefined, what: string): Promise<Wallet> {
  const password = process.env[ref.passwordEnv];
  if (password === undefined || password === "") throw new CivilIdError("INVALID_INPUT", `${what}: set ${ref.passwordEnv} to the password of ${ref.keystore}.`);
  let json: string;
  try {
    json = await readFile(ref.keystore, "utf8");
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `${what}: cannot read the keystore ${ref.keystore}.`, { cause: error });
  }
  try {
    const wallet = await Wallet.fromEncryptedJson(json, password);
    return (provider === undefined ? wallet : wallet.connect(provider)) as Wallet;
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `${what}: ${ref.keystore} is not a keystore this password opens.`, { cause: error });
  }
}

async function readHolderSecretFile(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `issuer.holderSecretFile: cannot read ${file}.`, { cause: error });
  }
  const hex = text.trim().replace(/^0x/i, "");
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex) || hex.length < 64) throw new CivilIdError("INVALID_INPUT", `${file} must hold the holder-reference secret as hex, at least 32 bytes.`);
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

function smsGateway(mode: IssuerConfig["sms"], log: (line: Record<string, unknown>) => void): SmsGateway {
  if (mode === "log") return new LoggingSmsGateway((m) => log({ smsId: m.id, requestId: m.requestId, purpose: m.purpose }));
  return { send: () => Promise.reject(new Error("no SMS carrier configured: the message waits in the outbox (GET /staff/sms/undelivered)")) };
}

/** The base URL of another service of this run, or undefined when it is not part of it (`mcid serve issuer` alone). */
function startedUrl(links: ServiceLinks, name: string): string | undefined {
  try {
    return links.baseUrl(name);
  } catch {
    return undefined; // that service was not started with this one: the only way baseUrl fails
  }
}

/** `npm run serve`'s issuer: configuration from the `issuer` section; in demo mode the seeded consortium's keys. */
export const issuerService: ServeDefinition = {
  name: "issuer",
  async build(env: ServeEnvironment, links, listen) {
    let config = loadConfig(issuerConfigSchema, { overrides: { ...((env.config.issuer as Record<string, unknown> | undefined) ?? {}), ...listen } });
    // Demo mode: one staff token per role, printed with the demo hints (development only).
    const demoStaff: Record<string, string> = {};
    if (env.demo !== undefined) {
      for (const role of STAFF_ROLES) demoStaff[role] = generateBearerToken();
      config = { ...config, staff: [...config.staff, ...STAFF_ROLES.map((role) => ({ id: `demo-${role}`, roles: [role], tokenHash: hashBearerToken(demoStaff[role]!) }))] };
    }
    let agencies: AgencyKeyMaterial[];
    let holderSecret: Uint8Array;
    if (env.demo !== undefined) {
      agencies = env.demo.organisations.map((o) => ({
        code: o.code, name: o.name, issuer: issuerFromPrivateKey(env.chainId, o.issuerPrivateKey), registrar: o.registrar, statusOfficer: o.statusOfficer, helpDesk: o.helpDesk,
      }));
      holderSecret = env.demo.holderSecret;
    } else {
      if (config.holderSecretFile === undefined) throw new CivilIdError("INVALID_INPUT", "issuer.holderSecretFile is required (the consortium holder-reference secret).");
      holderSecret = await readHolderSecretFile(config.holderSecretFile);
      agencies = [];
      for (const a of config.agencies) {
        const label = `issuer.agencies[${a.code}]`;
        const issuerWallet = await unlock(a.issuerKey, undefined, `${label}.issuerKey`);
        agencies.push({
          code: a.code, name: a.name, issuer: issuerFromPrivateKey(env.chainId, issuerWallet.privateKey),
          registrar: await unlock(a.registrarKey, env.provider, `${label}.registrarKey`),
          statusOfficer: await unlock(a.statusOfficerKey, env.provider, `${label}.statusOfficerKey`),
          helpDesk: a.helpDeskKey === undefined ? undefined : await unlock(a.helpDeskKey, env.provider, `${label}.helpDeskKey`),
        });
      }
      if (agencies.length === 0) throw new CivilIdError("INVALID_INPUT", "issuer.agencies is empty: configure at least one organisation with its keys.");
    }
    const logged: { log?: ServiceApp["log"] } = {};
    const built = await buildIssuerApp({
      config, chainId: env.chainId, deployment: env.deployment, dataDir: path.join(env.dataDir, "issuer"), agencies, holderSecret,
      sms: env.demo !== undefined ? { send: () => Promise.reject(new Error("demo: the SMS waits in the outbox")) } : smsGateway(config.sms, (line) => logged.log?.info(line, "SMS sent")),
      baseUrl: () => links.baseUrl("issuer"),
      // The configured status URL wins; otherwise the status service this run starts (it listens before the
      // workflows open, in afterListen); neither: credentials carry only the on-chain reference.
      statusListBaseUrl: () => config.statusListBaseUrl ?? startedUrl(links, "status"),
      logger: { level: env.logLevel === "info" ? config.logLevel : env.logLevel, stream: env.logStream ?? process.stderr, redactUrl: (p) => p.replace(SECRET_PATH, "/credential-offer") },
    });
    logged.log = built.app.log;
    // The holder web wallet (its own origin) calls the OpenID4VCI endpoints from the browser.
    registerCors(built.app, { origins: walletOrigins(env.config, links), paths: ISSUER_WALLET_PATHS });
    return {
      app: built.app,
      afterListen: async () => {
        // Finish what a previous run left half done (registrations in flight, queued SMS).
        await built.agencies.open();
        for (const a of built.agencies.all()) await a.workflow.reconcile("system:startup");
      },
      // The officer console (served on the issuer's origin; a loopback address spelled localhost for WebAuthn).
      pages: () => Promise.resolve({ officer: consoleUrlFor(links.baseUrl("issuer"), OFFICER_MOUNT) }),
      ...(env.demo === undefined
        ? {}
        : {
            demo: async () => ({
              ...(await seedDemoRequest(built, links.baseUrl("issuer"))),
              staffTokens: demoStaff,
              // A first passkey per demo role: open the link (or type the code) in the console and register.
              officerEnrolment: Object.fromEntries(
                await Promise.all(STAFF_ROLES.map(async (role) => {
                  const { code } = await built.officer.passkeys.issueEnrolmentCode(`demo-${role}`, "demo:serve");
                  return [role, { staffId: `demo-${role}`, code, link: `${consoleUrlFor(links.baseUrl("issuer"), OFFICER_MOUNT)}#enrol=${code}` }] as const;
                })),
              ),
            }),
          }),
    };
  },
};
