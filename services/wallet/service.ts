/**
 * The holder web wallet's service (docs/WEB.md, "Holder wallet"): serves the PWA (web/wallet/) on an origin of its
 * own, and gives it the two things a browser cannot get elsewhere without trusting a verifier:
 *
 * - `GET /api/config`: the chain id and the address of the consortium's RelyingPartyRegistry (from the deployment
 *   this service was configured with), so the wallet checks who asks against the on-chain listing;
 * - `POST /api/rpc`: a **read-only** JSON-RPC endpoint onto this service's node — `eth_chainId`, `eth_blockNumber`
 *   and `eth_call` to the consortium's contracts only. No transaction, no account, no other method passes.
 *
 * The wallet talks to issuers (OpenID4VCI) and verifiers (OpenID4VP) directly; those services allow the wallet's
 * origin by CORS (services/common/cors.ts), and the page's CSP `connect-src` lists them (`connectSources`).
 */
import { isAddress, isHexString, toQuantity, type Provider } from "ethers";
import { z } from "zod";
import type { Deployment } from "../../sdk/chain/deployment.js";
import { createServiceApp, type ServiceApp } from "../common/app.js";
import { listenConfigSchema, loadConfig } from "../common/config.js";
import { registerPage, type BuiltPage } from "../common/pages.js";
import type { ServeDefinition } from "../environment.js";

export const WALLET_MOUNT = "/wallet";
export const RPC_PATH = "/api/rpc";
export const CONFIG_PATH = "/api/config";
/** Longest `eth_call` data accepted (a listing read is 68 bytes; this is generous). */
const MAX_CALL_DATA_HEX = 2 + 2 * 4096;
const MAX_BATCH = 10;

export const walletConfigSchema = listenConfigSchema.extend({
  /**
   * Extra CSP `connect-src` sources of the page: issuers' and verifiers' origins (e.g. `https://id.mois.go.kr`, or
   * `https:` for verifiers anywhere). The issuer, verifier and login services of the same serve are always listed.
   */
  connectSources: z.array(z.string().regex(/^(https?:\/\/[^\s/'";:]+(:(\d{1,5}|\*))?|https:)$/, "an origin (https://host[:port], port may be *) or https:")).default([]),
});
export type WalletConfig = z.output<typeof walletConfigSchema>;

export interface WalletServiceInput {
  readonly config: WalletConfig;
  readonly provider: Provider;
  readonly chainId: number;
  readonly deployment: Deployment;
  /** CSP connect-src origins besides `config.connectSources`. */
  readonly connectOrigins?: readonly string[];
  readonly logLevel?: string;
  readonly logStream?: NodeJS.WritableStream;
  /** The built page (tests build once); default: built from source or read from dist/web/. */
  readonly page?: BuiltPage;
}

const rpcRequestSchema = z.object({
  jsonrpc: z.literal("2.0"),
  id: z.union([z.string().max(64), z.number().int(), z.null()]),
  method: z.string().max(64),
  params: z.array(z.unknown()).max(2).optional(),
});
type RpcRequest = z.infer<typeof rpcRequestSchema>;
type RpcAnswer = { jsonrpc: "2.0"; id: RpcRequest["id"]; result?: unknown; error?: { code: number; message: string; data?: string } };

const callSchema = z.object({
  to: z.string().refine((v) => isAddress(v), "an address"),
  data: z.string().max(MAX_CALL_DATA_HEX).refine((v) => isHexString(v), "hex data"),
}).loose();
const blockTagSchema = z.union([z.literal("latest"), z.string().regex(/^0x[0-9a-f]{1,16}$/)]).default("latest");

/** The consortium contracts of a deployment (the only `to` an `eth_call` through this service may name). */
export function readableContracts(deployment: Deployment): Set<string> {
  const addresses = Object.values(deployment as unknown as Record<string, unknown>).filter((v): v is string => typeof v === "string" && isAddress(v));
  return new Set(addresses.map((a) => a.toLowerCase()));
}

/** Answers one read-only JSON-RPC call; everything but the three read methods is refused (-32601). */
export async function answerRpc(request: unknown, provider: Provider, chainId: number, contracts: ReadonlySet<string>): Promise<RpcAnswer> {
  const parsed = rpcRequestSchema.safeParse(request);
  if (!parsed.success) return { jsonrpc: "2.0", id: null, error: { code: -32600, message: "Invalid JSON-RPC request." } };
  const { id, method, params = [] } = parsed.data;
  const fail = (code: number, message: string, data?: string): RpcAnswer => ({ jsonrpc: "2.0", id, error: { code, message, ...(data === undefined ? {} : { data }) } });
  switch (method) {
    case "eth_chainId":
      return { jsonrpc: "2.0", id, result: toQuantity(chainId) };
    case "eth_blockNumber":
      return { jsonrpc: "2.0", id, result: toQuantity(await provider.getBlockNumber()) };
    case "eth_call": {
      const call = callSchema.safeParse(params[0]);
      const tag = blockTagSchema.safeParse(params[1]);
      if (!call.success || !tag.success) return fail(-32602, "eth_call takes { to, data } and a block tag.");
      if (!contracts.has(call.data.to.toLowerCase())) return fail(-32602, "eth_call is open for the consortium's contracts only.");
      try {
        return { jsonrpc: "2.0", id, result: await provider.call({ to: call.data.to, data: call.data.data, blockTag: tag.data }) };
      } catch (error) {
        const data = (error as { data?: unknown }).data;
        // A revert is an answer (the caller decodes its custom error); anything else is the node being unreachable.
        if (typeof data === "string" && isHexString(data)) return fail(3, "execution reverted", data);
        return fail(-32000, "The node did not answer; try again.");
      }
    }
    default:
      return fail(-32601, `${method} is not available: this endpoint is read-only (eth_chainId, eth_blockNumber, eth_call).`);
  }
}

export async function buildWalletService(input: WalletServiceInput): Promise<ServiceApp> {
  const { config, deployment } = input;
  if (deployment.relyingPartyRegistry === undefined) throw new Error("the deployment has no relyingPartyRegistry: the wallet cannot check verifiers");
  const app = await createServiceApp({
    title: "mobile-civil-id holder web wallet",
    description: "Serves the holder PWA; read-only chain access for its verifier checks.",
    bodyLimit: config.bodyLimit,
    rateLimit: config.rateLimit,
    trustProxy: config.trustProxy,
    logger: { level: input.logLevel ?? config.logLevel, ...(input.logStream === undefined ? {} : { stream: input.logStream }) },
  });
  const contracts = readableContracts(deployment);
  const walletSettings = { chainId: input.chainId, relyingPartyRegistry: deployment.relyingPartyRegistry, rpcPath: RPC_PATH };
  app.get(CONFIG_PATH, { schema: { summary: "What the wallet needs to check verifiers: chain id, listing contract, RPC path" } }, (_request, reply) => {
    void reply.header("cache-control", "no-cache");
    return walletSettings;
  });
  app.post(RPC_PATH, { schema: { summary: "Read-only JSON-RPC (eth_chainId, eth_blockNumber, eth_call to the consortium contracts)", body: z.unknown() } }, async (request, reply) => {
    void reply.header("cache-control", "no-store");
    const body = request.body;
    if (Array.isArray(body)) {
      if (body.length === 0 || body.length > MAX_BATCH) return { jsonrpc: "2.0", id: null, error: { code: -32600, message: `A batch holds 1 to ${MAX_BATCH} calls.` } };
      return Promise.all(body.map((one) => answerRpc(one, input.provider, input.chainId, contracts)));
    }
    return answerRpc(body, input.provider, input.chainId, contracts);
  });
  app.get("/", { schema: { hide: true } }, (_request, reply) => reply.redirect(`${WALLET_MOUNT}/`, 302));
  await registerPage(app, "wallet", {
    mount: WALLET_MOUNT,
    connectOrigins: [...new Set([...(input.connectOrigins ?? []), ...config.connectSources])],
    ...(input.page === undefined ? {} : { page: input.page }),
  });
  return app;
}

/**
 * The PWA's URL as `serve --json` prints it under `wallet`: the page, and in demo mode a link that opens the demo
 * credential offer (in the fragment, so the offer link never reaches a server log). A loopback service is named
 * `localhost`, the origin the issuer's and verifier's CORS allow for it (services/common/cors.ts `loopbackAliases`).
 */
export function walletPageUrl(baseUrl: string, credentialOfferUri?: string): string {
  // WebAuthn (biometric unlock) refuses IP-address origins: a loopback wallet is opened as localhost.
  const base = new URL(baseUrl);
  if (base.hostname === "127.0.0.1" || base.hostname === "[::1]") base.hostname = "localhost";
  const page = `${base.origin}${WALLET_MOUNT}/`;
  return credentialOfferUri === undefined ? page : `${page}#offer=${encodeURIComponent(credentialOfferUri)}`;
}

/** `npm run serve`: the wallet under the name "wallet" (section `wallet`), after the issuer, verifier and login. */
export const walletServeDefinition: ServeDefinition = {
  name: "wallet",
  async build(env, links, listen) {
    const config = loadConfig(walletConfigSchema, { overrides: { ...((env.config.wallet as Record<string, unknown> | undefined) ?? {}), ...listen } });
    const siblings: string[] = [];
    for (const name of ["issuer", "verifier", "login"]) {
      try {
        siblings.push(new URL(links.baseUrl(name)).origin);
      } catch {
        // not started in this serve (`--only`): its origin is not needed in the CSP
      }
    }
    const app = await buildWalletService({
      config, provider: env.provider, chainId: env.chainId, deployment: env.deployment, connectOrigins: siblings,
      logLevel: env.logLevel, ...(env.logStream === undefined ? {} : { logStream: env.logStream }),
    });
    return { app };
  },
};
