/**
 * A gate for the browser tests: the verifier world (test/ts/services/verifier/helpers.ts), a listed gate key, and a
 * verifier service listening on loopback whose ledger connection the test can break (down: every request
 * refused; hanging: requests never answer), plus a phone that presents over real HTTP (the wallet library's
 * request check, a holder-signed VP, direct_post) as the PWA does.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { HDNodeWallet, Wallet } from "ethers";
import { setGlobalConfig } from "@openid4vc/utils";
import { ledgerNodeFromProvider } from "../../../sdk/status/ledger-node.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import { checkPresentationRequest } from "../../../sdk/relying-party/presentation-request.js";
import { generateBearerToken, hashBearerToken } from "../../../services/common/auth.js";
import { buildVerifierService, verifierConfigSchema, type VerifierConfig } from "../../../services/verifier/service.js";
import { gatePairingUrl } from "../../../services/verifier/kiosk.js";
import { providerWith } from "../helpers/faulty-provider.js";
import { directPost, FORM, verifierWorld } from "../services/verifier/helpers.js";

export type LedgerMode = "up" | "down" | "hanging";

export async function gateWorld(options: { maxStalenessSeconds?: number; nodeTimeoutMs?: number } = {}) {
  setGlobalConfig({ allowInsecureUrls: true }); // loopback http in tests; behind TLS in production
  const w = await verifierWorld();
  const { key } = await w.listVerifier("정부세종청사 출입관리", ["building-gate", "library-card"]);
  let mode: LedgerMode = "up";
  const refuse = () => Promise.reject(Object.assign(new Error("connect ECONNREFUSED 10.0.0.7:8545"), { code: "ECONNREFUSED" }));
  const hang = () => new Promise<never>(() => undefined);
  const gated = <A extends unknown[], R>(real: (...args: A) => Promise<R>) => (...args: A): Promise<R> =>
    mode === "up" ? real(...args) : mode === "down" ? refuse() : hang();
  const base = w.provider;
  const nodeProvider = providerWith(base, {
    getBlockNumber: gated(() => base.getBlockNumber()),
    getBlock: gated((tag: number) => base.getBlock(tag)),
    call: gated((tx: Parameters<typeof base.call>[0]) => base.call(tx)),
    getLogs: gated((filter: Parameters<typeof base.getLogs>[0]) => base.getLogs(filter)),
    getNetwork: gated(() => base.getNetwork()),
  });
  const ledger = new OnlineLedgerView({
    deployment: w.ledger.deployment,
    nodes: [ledgerNodeFromProvider(nodeProvider, { timeoutMs: options.nodeTimeoutMs ?? 6_000, name: "mois-node" })],
    quorum: 1,
    retryAfterMs: 200,
  });
  const dataDir = mkdtempSync(path.join(tmpdir(), "mcid-gate-"));
  const adminToken = generateBearerToken();
  const config: VerifierConfig = verifierConfigSchema.parse({
    signingKey: key.privateKey,
    uses: ["building-gate", "library-card"],
    terminals: [
      { id: "gate-1", roles: ["terminal"], tokenHash: hashBearerToken(generateBearerToken()) },
      { id: "facilities", roles: ["kiosk-admin"], tokenHash: hashBearerToken(adminToken) },
    ],
    logLevel: "silent",
    ledgerHealth: { intervalMs: 200, maxStalenessSeconds: options.maxStalenessSeconds ?? 2 },
  });
  let url = "";
  const service = await buildVerifierService({
    config, provider: w.provider, chainId: w.chainId, deployment: w.ledger.deployment, dataDir, baseUrl: () => url, logLevel: "silent", now: w.now, ledger,
  });
  await service.app.listen({ host: "127.0.0.1", port: 0 });
  url = `http://127.0.0.1:${(service.app.server.address() as { port: number }).port}`;

  /** A fresh kiosk URL: a one-time pairing code for gate-1 in the fragment. */
  async function kioskUrl(query = "?hold=3"): Promise<string> {
    const { code } = await service.kiosks.issuePairingCode("gate-1");
    return gatePairingUrl(url, code).replace("/gate/#", `/gate/${query}#`);
  }

  /** The phone: checks the request the QR carries, signs a VP for it, posts it (status of the direct_post returned). */
  async function tap(authorizationRequest: string, holder: Wallet | HDNodeWallet, credentialJwt: string): Promise<{ status: number; body: unknown }> {
    const checked = await checkPresentationRequest({ authorizationRequest, directory: w.directory, chainId: w.chainId });
    const vp = await w.present(holder, credentialJwt, checked.nonce, checked.verifier.clientId);
    const res = await fetch(checked.responseUri, { method: "POST", headers: FORM, body: directPost(vp, checked.state!) });
    return { status: res.status, body: await res.json() };
  }

  async function close(): Promise<void> {
    mode = "up";
    if (service.app.server.listening) await service.app.close();
    await w.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
    setGlobalConfig({ allowInsecureUrls: false });
  }

  return {
    w, service, adminToken, kioskUrl, tap, close,
    get url() {
      return url;
    },
    setLedger(next: LedgerMode) {
      mode = next;
    },
  };
}
