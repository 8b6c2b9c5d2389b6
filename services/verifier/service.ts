/**
 * The verifier service: one listed verifier key (a gate operator's, a library's) speaking OpenID4VP 1.0 over
 * HTTP, on the shared floor (services/common). `buildVerifierService` wires the store, the SDK verifier (online
 * ledger view + DID resolver) and the routes; `verifierServeDefinition` plugs it into `npm run serve`, seeding a
 * listed relying party on the demo chain.
 */
import path from "node:path";
import { Wallet, type Provider, type Signer } from "ethers";
import { setGlobalConfig } from "@openid4vc/utils";
import { z } from "zod";
import { connectLedger } from "../../sdk/chain/contracts.js";
import type { Deployment } from "../../sdk/chain/deployment.js";
import { GovernanceClient } from "../../sdk/governance/client.js";
import { OnlineLedgerView } from "../../sdk/status/ledger-view.js";
import { RelyingPartyActions, RelyingPartyAdmin, connectRelyingPartyRegistry } from "../../sdk/relying-party/registry.js";
import { USE_BITS, type UseId } from "../../sdk/relying-party/uses.js";
import { verifierIdentity } from "../../sdk/relying-party/verifier-key.js";
import { createServiceApp, type ServiceApp } from "../common/app.js";
import { VERIFIER_WALLET_PATHS, registerCors, walletOrigins } from "../common/cors.js";
import { StaffDirectory, generateBearerToken, hashBearerToken, staffMemberSchema } from "../common/auth.js";
import { listenConfigSchema, loadConfig } from "../common/config.js";
import type { ServeDefinition } from "../environment.js";
import { registerPage } from "../common/pages.js";
import { verifierSigningKey } from "./keys.js";
import { KioskPairing, gatePairingUrl, registerKioskRoutes } from "./kiosk.js";
import { LedgerHealthMonitor } from "./ledger-health.js";
import { PostgresVerifierStore } from "./pg-store.js";
import { PresentationService, type PresentationServiceOptions } from "./presentations.js";
import { TERMINAL_ROLES, registerVerifierRoutes } from "./routes.js";
import { SqliteVerifierStore, type VerifierStore } from "./store.js";

const useSchema = z.enum(Object.keys(USE_BITS) as [UseId, ...UseId[]]);

export const verifierConfigSchema = listenConfigSchema.extend({
  /** The listed verifier key (0x + 64 hex). Required outside demo mode. */
  signingKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "0x + 64 hex digits").optional(),
  /** Uses this instance asks for; the listing must grant them to the key. */
  uses: z.array(useSchema).min(1).default(["building-gate", "library-card"]),
  clientName: z.string().min(1).max(128).optional(),
  requestTtlSeconds: z.number().int().min(10).max(600).default(120),
  store: z
    .discriminatedUnion("kind", [
      z.object({ kind: z.literal("sqlite"), file: z.string().min(1).optional() }).strict(),
      z.object({ kind: z.literal("postgres"), url: z.string().regex(/^postgres(ql)?:\/\//, "a postgres:// URL") }).strict(),
    ])
    .default({ kind: "sqlite" }),
  /** Gate terminals / back ends allowed to start presentations (bearer token hashes). */
  terminals: z.array(staffMemberSchema(TERMINAL_ROLES)).default([]),
  /** The gate's ledger probe (kiosk health strip; presentations are refused while it is not ok). */
  ledgerHealth: z
    .object({
      intervalMs: z.number().int().min(50).max(60_000).default(1_000),
      maxStalenessSeconds: z.number().min(1).max(3_600).default(10),
    })
    .strict()
    .default({ intervalMs: 1_000, maxStalenessSeconds: 10 }),
  /** Gate kiosks: lifetime of a pairing code and of the kiosk session it is exchanged for. */
  kiosk: z
    .object({
      pairingCodeMinutes: z.number().int().min(1).max(60).default(10),
      sessionDays: z.number().int().min(1).max(365).default(30),
    })
    .strict()
    .default({ pairingCodeMinutes: 10, sessionDays: 30 }),
});
export type VerifierConfig = z.output<typeof verifierConfigSchema>;

export interface VerifierServiceInput {
  readonly config: VerifierConfig;
  readonly provider: Provider;
  readonly chainId: number;
  readonly deployment: Deployment;
  readonly dataDir: string;
  /** Public base URL (known after listen when not configured). */
  readonly baseUrl: () => string;
  readonly logLevel?: string;
  readonly logStream?: NodeJS.WritableStream;
  readonly now?: () => number;
  /** The ledger the verifier reads (default: one node, the provider); tests inject a failing one. */
  readonly ledger?: OnlineLedgerView;
}

export interface VerifierService {
  readonly app: ServiceApp;
  readonly presentations: PresentationService;
  readonly store: VerifierStore;
  readonly health: LedgerHealthMonitor;
  readonly kiosks: KioskPairing;
}

/** The SDK verifier's ledger and clock for a deployment (its challenges are the service's; it checks issuer keys itself). */
export function sdkVerifierOptions(provider: Provider, deployment: Deployment, now?: () => number, ledger?: OnlineLedgerView): PresentationServiceOptions["verifier"] {
  return { ledger: ledger ?? new OnlineLedgerView(connectLedger(deployment, provider), provider), ...(now === undefined ? {} : { now }) };
}

export async function openVerifierStore(config: VerifierConfig, dataDir: string): Promise<VerifierStore> {
  if (config.store.kind === "postgres") return PostgresVerifierStore.open({ connectionString: config.store.url });
  return new SqliteVerifierStore(config.store.file ?? path.join(dataDir, "verifier", "verifier.sqlite"));
}

export async function buildVerifierService(input: VerifierServiceInput): Promise<VerifierService> {
  const { config } = input;
  if (config.signingKey === undefined) throw new Error("verifier.signingKey is required: the private key of the listed verifier key");
  const { address } = verifierSigningKey(config.signingKey);
  const store = await openVerifierStore(config, input.dataDir);
  try {
    const ledger = input.ledger ?? new OnlineLedgerView(connectLedger(input.deployment, input.provider), input.provider);
    const health = new LedgerHealthMonitor({ quorum: ledger.quorum, head: ledger, intervalMs: config.ledgerHealth.intervalMs, maxStalenessMs: config.ledgerHealth.maxStalenessSeconds * 1000 });
    const answered = new Set<(id: string) => void>();
    const presentations = new PresentationService({
      store,
      signingKey: config.signingKey,
      identity: verifierIdentity(input.chainId, address),
      verifier: sdkVerifierOptions(input.provider, input.deployment, input.now, ledger),
      baseUrl: input.baseUrl,
      uses: config.uses,
      ...(config.clientName === undefined ? {} : { clientName: config.clientName }),
      requestTtlMs: config.requestTtlSeconds * 1000,
      ...(input.now === undefined ? {} : { now: input.now }),
      admit: () => health.refusal(),
      onAnswered: (id) => {
        for (const listener of answered) listener(id);
      },
    });
    const app = await createServiceApp({
      title: "mobile-civil-id verifier (OpenID4VP 1.0)",
      description: "Presentation requests signed by a consortium-listed verifier key; DCQL per use; direct_post.",
      bodyLimit: config.bodyLimit,
      rateLimit: config.rateLimit,
      trustProxy: config.trustProxy,
      logger: { level: input.logLevel ?? config.logLevel, ...(input.logStream === undefined ? {} : { stream: input.logStream }), redactUrl: (url) => url.replace(/\/presentations\/[A-Za-z0-9_-]{22}/, "/presentations/:id") },
      publicUrl: input.baseUrl,
    });
    const kiosks = new KioskPairing({
      store, signingKey: config.signingKey, terminals: config.terminals, directory: new StaffDirectory(config.terminals),
      pairingTtlMs: config.kiosk.pairingCodeMinutes * 60_000, sessionTtlMs: config.kiosk.sessionDays * 86_400_000,
    });
    registerVerifierRoutes(app, presentations, kiosks);
    registerKioskRoutes(app, {
      pairing: kiosks, health, presentations, baseUrl: input.baseUrl,
      answered: { subscribe: (listener) => (answered.add(listener), () => answered.delete(listener)) },
    });
    await registerPage(app, "gate", { mount: "/gate" });
    health.start();
    app.addHook("onClose", async () => {
      health.stop();
      await store.close();
    });
    return { app, presentations, store, health, kiosks };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/**
 * Demo only: lists a relying party for `uses` by consortium vote (3 of the 4 demo ministries), with `admin` as
 * its admin, and lists a fresh verifier key for it. Returns the key's private key.
 */
export async function seedDemoRelyingParty(input: {
  deployment: Deployment; ministries: readonly Signer[]; admin: Signer; name: string; uses: readonly UseId[];
}): Promise<string> {
  const registry = connectRelyingPartyRegistry(input.deployment, input.admin);
  const action = await new RelyingPartyActions(registry).list(input.name, await input.admin.getAddress(), input.uses);
  const ledger = connectLedger(input.deployment, input.ministries[0]!);
  const { proposalId } = await new GovernanceClient(ledger.governor).propose(action, 3600);
  const threshold = input.deployment.threshold;
  for (let i = 1; i < threshold; i++) await new GovernanceClient(ledger.governor.connect(input.ministries[i])).approve(proposalId);
  await new GovernanceClient(ledger.governor).execute(proposalId);
  const id = Number(await registry.relyingPartyCount());
  const key = Wallet.createRandom();
  const block = await input.admin.provider!.getBlock("latest");
  await new RelyingPartyAdmin(registry).addVerifierKey(id, key.address, input.uses, (block?.timestamp ?? Math.floor(Date.now() / 1000)) + 365 * 86_400);
  return key.privateKey;
}

/** `npm run serve`: the verifier under the name "verifier" (section `verifier` of the configuration). */
export const verifierServeDefinition: ServeDefinition = {
  name: "verifier",
  async build(env, links, listen) {
    let config = loadConfig(verifierConfigSchema, { overrides: (env.config.verifier ?? {}) as Record<string, unknown> });
    let terminalToken: string | undefined;
    if (env.demo !== undefined) {
      const admin = env.demo.spare[0] ?? env.demo.deployer;
      const signingKey = config.signingKey ?? await seedDemoRelyingParty({
        deployment: env.deployment, ministries: env.demo.ministries, admin,
        name: "정부세종청사 출입·도서관 (demo)", uses: config.uses,
      });
      terminalToken = generateBearerToken();
      config = { ...config, signingKey, terminals: [...config.terminals, { id: "demo-terminal", roles: ["terminal"], tokenHash: hashBearerToken(terminalToken) }] };
    }
    // Plain-http base URLs (loopback demo, tests) need the OpenID4VC libraries' opt-in; behind TLS they are https.
    if (listen.publicUrl === undefined || listen.publicUrl.startsWith("http://")) setGlobalConfig({ allowInsecureUrls: true });
    let url: string | undefined = listen.publicUrl;
    const built = await buildVerifierService({
      config, provider: env.provider, chainId: env.chainId, deployment: env.deployment, dataDir: env.dataDir, logLevel: env.logLevel, ...(env.logStream === undefined ? {} : { logStream: env.logStream }),
      baseUrl: () => url ?? `http://${listen.host}:${(built.app.server.address() as { port: number }).port}`,
    });
    // The holder web wallet (its own origin) fetches request objects and posts its answers from the browser.
    registerCors(built.app, { origins: walletOrigins(env.config, links), paths: VERIFIER_WALLET_PATHS });
    built.app.addHook("onListen", () => {
      url ??= `http://${listen.host}:${(built.app.server.address() as { port: number }).port}`;
    });
    const gateUrl = async () => {
      const base = url ?? `http://${listen.host}:${(built.app.server.address() as { port: number }).port}`;
      if (terminalToken === undefined) return `${base}/gate/`;
      // Demo: a pairing code for the demo terminal, valid an hour, in the fragment (never sent to a server).
      const { code } = await built.kiosks.issuePairingCode("demo-terminal", 3_600_000);
      return gatePairingUrl(base, code);
    };
    return {
      app: built.app,
      pages: async () => ({ gate: await gateUrl() }),
      ...(terminalToken === undefined ? {} : { demo: () => Promise.resolve({ verifierTerminalToken: terminalToken }) }),
    };
  },
};
