/**
 * The login service (OpenID Provider), on the shared floor: its own listed verifier key (granted "mail-login"
 * and/or "business-system-login"), its own presentation store, registered clients from the configuration.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, createHash } from "node:crypto";
import path from "node:path";
import type { Provider } from "ethers";
import { setGlobalConfig } from "@openid4vc/utils";
import { z } from "zod";
import type { Deployment } from "../../sdk/chain/deployment.js";
import { verifierIdentity } from "../../sdk/relying-party/verifier-key.js";
import type { Jwk } from "@openid4vc/oauth2";
import { createServiceApp, type ServiceApp } from "../common/app.js";
import { listenConfigSchema, loadConfig } from "../common/config.js";
import type { JwsKey } from "../common/jose.js";
import type { ServeDefinition } from "../environment.js";
import { verifierSigningKey } from "../verifier/keys.js";
import { PresentationService } from "../verifier/presentations.js";
import { registerWalletRoutes } from "../verifier/routes.js";
import { sdkVerifierOptions, seedDemoRelyingParty } from "../verifier/service.js";
import { SqliteVerifierStore } from "../verifier/store.js";
import { clientSchema, clientSecretHash, registerProviderRoutes, type RegisteredClient } from "./provider.js";
import { LoginStore } from "./store.js";
import { VERIFIER_WALLET_PATHS, registerCors, walletOrigins } from "../common/cors.js";

export const loginConfigSchema = listenConfigSchema.extend({
  /** The listed verifier key of the login service (0x + 64 hex). Required outside demo mode. */
  verifierKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/).optional(),
  /** ID token signing key: a P-256 private key in PKCS#8 PEM. Required outside demo mode. */
  idTokenKeyPem: z.string().includes("PRIVATE KEY").optional(),
  clients: z.array(clientSchema).default([]),
});
export type LoginConfig = z.output<typeof loginConfigSchema>;

/** An ES256 ID token key from a PKCS#8 PEM, with its JWK and a kid (JWK thumbprint-like digest). */
export function idTokenKeyFromPem(pem: string): JwsKey & { kid: string } {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== "ec" || privateKey.asymmetricKeyDetails?.namedCurve !== "prime256v1") throw new Error("the ID token key must be a P-256 (ES256) private key");
  const { kty, crv, x, y } = createPublicKey(privateKey).export({ format: "jwk" });
  const publicJwk = { kty, crv, x, y } as Jwk;
  const kid = createHash("sha256").update(JSON.stringify({ crv, kty, x, y })).digest("base64url").slice(0, 16);
  return { alg: "ES256", privateKey, publicJwk, kid };
}

export function generateIdTokenKeyPem(): string {
  return generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "pem", type: "pkcs8" }).toString();
}

export interface LoginServiceInput {
  readonly config: LoginConfig;
  readonly provider: Provider;
  readonly chainId: number;
  readonly deployment: Deployment;
  readonly dataDir: string;
  readonly issuer: () => string;
  readonly logLevel?: string;
  readonly logStream?: NodeJS.WritableStream;
  readonly now?: () => number;
}

export async function buildLoginService(input: LoginServiceInput): Promise<{ app: ServiceApp; presentations: PresentationService }> {
  const { config } = input;
  if (config.verifierKey === undefined || config.idTokenKeyPem === undefined) throw new Error("login.verifierKey and login.idTokenKeyPem are required");
  const uses = [...new Set(config.clients.map((c) => c.use))];
  const { address } = verifierSigningKey(config.verifierKey);
  const dir = path.join(input.dataDir, "login");
  const verifierStore = new SqliteVerifierStore(path.join(dir, "presentations.sqlite"), input.now);
  const store = new LoginStore(path.join(dir, "logins.sqlite"));
  const presentations = new PresentationService({
    store: verifierStore,
    signingKey: config.verifierKey,
    identity: verifierIdentity(input.chainId, address),
    verifier: sdkVerifierOptions(input.provider, input.deployment, input.now),
    baseUrl: input.issuer,
    uses: uses.length === 0 ? ["mail-login"] : uses,
    ...(input.now === undefined ? {} : { now: input.now }),
  });
  const app = await createServiceApp({
    title: "mobile-civil-id login (OpenID Provider)",
    description: "OpenID Connect for government mail and business systems; users authenticate with the mobile civil-servant ID (OpenID4VP).",
    bodyLimit: config.bodyLimit, rateLimit: config.rateLimit, trustProxy: config.trustProxy,
    logger: { level: input.logLevel ?? config.logLevel, ...(input.logStream === undefined ? {} : { stream: input.logStream }), redactUrl: (url) => url.replace(/([?&](code|response_code|login)=)[^&]+/g, "$1:redacted") },
    publicUrl: input.issuer,
  });
  registerWalletRoutes(app, presentations);
  registerProviderRoutes(app, {
    issuer: input.issuer, clients: config.clients, idTokenKey: idTokenKeyFromPem(config.idTokenKeyPem), presentations, store,
    ...(input.now === undefined ? {} : { now: input.now }),
  });
  app.addHook("onClose", async () => {
    store.close();
    await verifierStore.close();
  });
  return { app, presentations };
}

/** The demo's registered client: the government mail system on loopback. */
export const DEMO_CLIENT_SECRET = "demo-mail-secret";
export const DEMO_CLIENT: RegisteredClient = {
  clientId: "gov-mail", secretHash: clientSecretHash(DEMO_CLIENT_SECRET), name: "정부원격근무 메일 (demo)",
  redirectUris: ["http://127.0.0.1:8080/callback"], use: "mail-login", claims: ["name", "organisation", "department", "employee_ref"],
};

/** `npm run serve`: the login service under the name "login" (section `login`). */
export const loginServeDefinition: ServeDefinition = {
  name: "login",
  async build(env, links, listen) {
    let config = loadConfig(loginConfigSchema, { overrides: (env.config.login ?? {}) as Record<string, unknown> });
    const demoClient = env.demo !== undefined && config.clients.length === 0;
    if (env.demo !== undefined) {
      const clients = config.clients.length > 0 ? config.clients : [DEMO_CLIENT];
      const verifierKey = config.verifierKey ?? await seedDemoRelyingParty({
        deployment: env.deployment, ministries: env.demo.ministries, admin: env.demo.spare[1] ?? env.demo.deployer,
        name: "정부원격근무·메일 로그인 (demo)", uses: [...new Set(clients.map((c) => c.use))],
      });
      config = { ...config, clients, verifierKey, idTokenKeyPem: config.idTokenKeyPem ?? generateIdTokenKeyPem() };
    }
    // Plain-http base URLs (loopback demo, tests) need the OpenID4VC libraries' opt-in; behind TLS they are https.
    if (listen.publicUrl === undefined || listen.publicUrl.startsWith("http://")) setGlobalConfig({ allowInsecureUrls: true });
    let url: string | undefined = listen.publicUrl;
    const built = await buildLoginService({
      config, provider: env.provider, chainId: env.chainId, deployment: env.deployment, dataDir: env.dataDir, logLevel: env.logLevel, ...(env.logStream === undefined ? {} : { logStream: env.logStream }),
      issuer: () => url ?? `http://${listen.host}:${(built.app.server.address() as { port: number }).port}`,
    });
    // Same-device logins from the holder web wallet: its origin fetches the request object and posts the answer.
    registerCors(built.app, { origins: walletOrigins(env.config, links), paths: VERIFIER_WALLET_PATHS });
    built.app.addHook("onListen", () => {
      url ??= `http://${listen.host}:${(built.app.server.address() as { port: number }).port}`;
    });
    return { app: built.app, ...(!demoClient ? {} : { demo: () => Promise.resolve({ loginClient: { clientId: DEMO_CLIENT.clientId, clientSecret: DEMO_CLIENT_SECRET, redirectUri: DEMO_CLIENT.redirectUris[0] } }) }) };
  },
};
