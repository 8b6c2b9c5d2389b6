/**
 * A verifier world for the service tests: the consortium with an accredited issuer (test/ts/helpers/world.ts), a
 * relying party listed by governance with a gate key, a holder with a credential, and a verifier service on a
 * SQLite store in a temporary folder. `injectFetch` lets the wallet-side check fetch request objects from the
 * app without sockets.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Wallet, getBytes, type HDNodeWallet } from "ethers";
import { ES256KSigner } from "did-jwt";
import { createVerifiablePresentationJwt } from "did-jwt-vc";
import { didForAddress } from "../../../../sdk/did/did.js";
import { civilIdWorld } from "../../helpers/world.js";
import { governed } from "../../helpers/fixture.js";
import { RelyingPartyActions, RelyingPartyAdmin, OnChainRelyingPartyDirectory, connectRelyingPartyRegistry } from "../../../../sdk/relying-party/registry.js";
import type { UseId } from "../../../../sdk/relying-party/uses.js";
import { generateBearerToken, hashBearerToken } from "../../../../services/common/auth.js";
import { buildVerifierService, verifierConfigSchema, type VerifierConfig } from "../../../../services/verifier/service.js";
import type { ServiceApp } from "../../../../services/common/app.js";
import type { VerifierStore } from "../../../../services/verifier/store.js";

export const BASE_URL = "https://verifier.test";

export async function verifierWorld() {
  const w = await civilIdWorld();
  const signers = await w.ethers.getSigners();
  const rpAdmin = signers[13]!;
  const registry = connectRelyingPartyRegistry(w.ledger.deployment, rpAdmin);
  const directory = new OnChainRelyingPartyDirectory(registry);
  let listed = 0;
  /** Lists a relying party by governance and a fresh key for `keyUses`; returns the key. */
  async function listVerifier(name: string, uses: readonly UseId[], keyUses: readonly UseId[] = uses) {
    const action = await new RelyingPartyActions(registry).list(name, rpAdmin.address, uses);
    await (await governed(w.ledger, w.actors.members, action.target, action.data)).wait();
    listed += 1;
    const key = Wallet.createRandom();
    const now = (await w.provider.getBlock("latest"))!.timestamp;
    await new RelyingPartyAdmin(registry).addVerifierKey(listed, key.address, keyUses, now + 365 * 86_400);
    return { key, relyingPartyId: listed };
  }
  // Automining runs the chain ahead of the wall clock (one block, one second, per transaction): the services'
  // clock follows the chain, as it would on a consortium chain whose block times track real time.
  let drift = 0;
  const syncClock = async () => {
    const ts = (await w.provider.getBlock("latest"))!.timestamp * 1000;
    drift = Math.max(drift, ts - Date.now());
  };
  const now = () => Date.now() + drift;
  /** Issues a credential (the world's issuer) and keeps the clock in step. */
  async function issue(holder: Wallet | HDNodeWallet, personId: string) {
    const issued = await w.issueTo(holder, personId);
    await syncClock();
    return issued;
  }
  /** The holder's VP JWT for a nonce and audience (did-jwt-vc, as the wallet signs it), at the chain-following clock. */
  async function present(holder: Wallet | HDNodeWallet, credential: string, nonce: string, audience: string) {
    const t = Math.floor(now() / 1000);
    return createVerifiablePresentationJwt(
      {
        vp: { "@context": ["https://www.w3.org/2018/credentials/v1"], type: ["VerifiablePresentation"], verifiableCredential: [credential] },
        nonce, aud: audience, iat: t, nbf: t, exp: t + 60,
      },
      { did: didForAddress(w.chainId, holder.address), signer: ES256KSigner(getBytes(holder.privateKey)), alg: "ES256K" },
    );
  }
  const dirs: string[] = [];
  const apps: ServiceApp[] = [];
  /** A verifier service signing with `key`, on its own SQLite file unless a store config is given. */
  async function startVerifier(key: Wallet | HDNodeWallet, overrides: Partial<VerifierConfig> = {}, baseUrl = BASE_URL, baseUrlOf?: () => string) {
    const dataDir = mkdtempSync(path.join(tmpdir(), "mcid-verifier-"));
    dirs.push(dataDir);
    const token = generateBearerToken();
    const config = verifierConfigSchema.parse({
      signingKey: key.privateKey,
      uses: ["building-gate", "library-card"],
      terminals: [{ id: "gate-1", roles: ["terminal"], tokenHash: hashBearerToken(token) }],
      logLevel: "silent",
      ...overrides,
    });
    const service = await buildVerifierService({ config, provider: w.provider, chainId: w.chainId, deployment: w.ledger.deployment, dataDir, baseUrl: baseUrlOf ?? (() => baseUrl), logLevel: "silent", now });
    apps.push(service.app);
    if (baseUrlOf === undefined) await service.app.ready();
    return { ...service, token, auth: { authorization: `Bearer ${token}` } };
  }
  /** A verifier service listening on 127.0.0.1 (real HTTP); `onUrl` receives its base URL. */
  async function startVerifierListening(key: Wallet | HDNodeWallet, overrides: Partial<VerifierConfig>, onUrl: (url: string) => void) {
    let url = "";
    const started = await startVerifier(key, overrides, "", () => url);
    await started.app.listen({ host: "127.0.0.1", port: 0 });
    url = `http://127.0.0.1:${(started.app.server.address() as { port: number }).port}`;
    onUrl(url);
    return started;
  }
  async function cleanup() {
    for (const app of apps.splice(0)) await app.close();
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
  return { ...w, rpAdmin, registry, directory, listVerifier, startVerifier, startVerifierListening, cleanup, issue, present, now, syncClock };
}

/** A fetch that answers `https://verifier.test/...` from the app (fastify inject); anything else fails. */
export function injectFetch(app: ServiceApp, base = BASE_URL): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    if (url.origin !== new URL(base).origin) throw new Error(`unexpected fetch of ${url.href}`);
    const method = (init?.method ?? "GET") as "GET" | "POST";
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = typeof init?.body === "string" ? init.body : init?.body === undefined || init.body === null ? undefined : String(init.body as unknown as string);
    const res = await app.inject({ method, url: url.pathname + url.search, headers, ...(body === undefined ? {} : { payload: body }) });
    return new Response(res.rawPayload.length === 0 ? null : res.rawPayload, { status: res.statusCode, headers: res.headers as Record<string, string> });
  }) as typeof fetch;
}

/** The form body of a wallet's direct_post. */
export function directPost(vp: string, state: string): string {
  return new URLSearchParams({ vp_token: JSON.stringify({ civil_servant_id: [vp] }), state }).toString();
}

export const FORM = { "content-type": "application/x-www-form-urlencoded" };

export type Store = VerifierStore;
