/**
 * HTTP load run of the verifier service (issue #11): verifications per second through HTTP and their p99, beside the
 * in-process figure of the same service measured in the same run on the same machine.
 *
 *   tsx bench/http.ts [--quick] [--connections=8]   (npm run bench:http; also a section of npm run bench)
 *
 * Set-up (not timed): an embedded Hardhat chain with the demo consortium, a relying party listed by governance, a
 * few holders with registered credentials, and the verifier service (SQLite store, rate limit lifted) listening on
 * 127.0.0.1. Each verification answers its own presentation request (single-use nonce), so the requests and the
 * holders' presentations are made before the clock starts. The timed part is the wallet's `direct_post`:
 * - HTTP: autocannon posts the prepared answers over loopback with a bounded number of connections;
 * - in-process: the same PresentationService.respond() called directly (what the route handler calls), one at a time;
 * - between them, the route through fastify's inject (the HTTP stack without sockets), one at a time.
 * Every answer must be accepted: a refusal or a non-2xx response fails the run (a fast error is no throughput).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import autocannon from "autocannon";
import { network } from "hardhat";
import { Wallet, getBytes, type HDNodeWallet } from "ethers";
import { ES256KSigner } from "did-jwt";
import { createVerifiablePresentationJwt } from "did-jwt-vc";
import { setGlobalConfig } from "@openid4vc/utils";
import { connectLedger } from "../sdk/chain/contracts.js";
import { deviceKeyJwk, draftCredential, issuerFromPrivateKey, signCredential } from "../sdk/credential/index.js";
import { didForAddress } from "../sdk/did/did.js";
import { StatusClient } from "../sdk/status/client.js";
import { holderReference } from "../sdk/status/holder-ref.js";
import { seedDemoConsortium } from "../services/demo-consortium.js";
import { RESPONSE_PATH } from "../services/verifier/presentations.js";
import { buildVerifierService, seedDemoRelyingParty, verifierConfigSchema } from "../services/verifier/service.js";
import { POLICIES } from "../sdk/verifier/index.js";
import { BENCH_HARDFORK, fixed, mean, percentile, ratio, table } from "./lib.js";

export interface HttpResults {
  readonly tables: string[];
  readonly holders: number;
  readonly http: { readonly verifications: number; readonly connections: number; readonly perSecond: number; readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  readonly inProcess: { readonly verifications: number; readonly perSecond: number; readonly p50Ms: number; readonly p99Ms: number; readonly meanMs: number };
  /** The route through fastify's inject: the HTTP stack without sockets. */
  readonly inject: { readonly verifications: number; readonly perSecond: number; readonly p50Ms: number; readonly p99Ms: number; readonly meanMs: number };
  /** HTTP throughput ÷ in-process throughput (what the HTTP stack and the connections cost or gain). */
  readonly httpOverInProcess: number;
}

interface Prepared {
  readonly id: string;
  /** The form body the wallet posts. */
  readonly body: string;
  /** What the route handler passes to PresentationService.respond() for that body (vp_token parsed). */
  readonly fields: { readonly vp_token: unknown; readonly state: string };
}

const decodePayload = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString("utf8")) as { nonce: string; client_id: string };
/** The terminal the benchmark stands for (it starts the presentations in-process and reads their outcomes). */
const BENCH_TERMINAL = "bench-gate";

export async function runHttp(options: { quick: boolean; connections?: number }): Promise<HttpResults> {
  const httpCount = options.quick ? 200 : 1_000;
  const inProcessCount = options.quick ? 100 : 500;
  const connections = options.connections ?? 8;
  const holderCount = options.quick ? 4 : 16;
  const connection = await network.create({ override: { hardfork: BENCH_HARDFORK, allowBlocksWithSameTimestamp: true } as never });
  const dataDir = mkdtempSync(path.join(tmpdir(), "mcid-bench-http-"));
  setGlobalConfig({ allowInsecureUrls: true }); // loopback http
  let close: (() => Promise<void>) | undefined;
  try {
    const provider = connection.ethers.provider;
    const chainId = Number((await provider.getNetwork()).chainId);
    const { ledger, demo } = await seedDemoConsortium(provider, await connection.ethers.getSigners());
    const deployment = ledger.deployment;
    const signingKey = await seedDemoRelyingParty({ deployment, ministries: demo.ministries, admin: demo.spare[0] ?? demo.deployer, name: "bench gate", uses: ["building-gate"] });

    // Holders with registered credentials (chain time: automining runs the chain ahead of the wall clock).
    const org = demo.organisations[0]!;
    const issuer = issuerFromPrivateKey(chainId, org.issuerPrivateKey);
    const registrar = new StatusClient(connectLedger(deployment, org.registrar).statusRegistry);
    const holders: { wallet: HDNodeWallet; jwt: string }[] = [];
    for (let i = 0; i < holderCount; i++) {
      const wallet = Wallet.createRandom();
      const t = (await provider.getBlock("latest"))!.timestamp;
      const draft = draftCredential(issuer, {
        chainId, statusRegistry: deployment.statusRegistry, holderDid: didForAddress(chainId, wallet.address), deviceKey: deviceKeyJwk(wallet.signingKey.publicKey),
        claims: { name: `벤치 ${i}`, agencyCode: org.code, organisation: org.name, department: "벤치마크과", position: "주무관", employeeRef: `BENCH-${i}` },
        issuedAt: t, validUntil: t + 365 * 86_400,
      });
      const { credentialId } = await registrar.register(holderReference(demo.holderSecret, `bench-${i}`), draft.digest);
      holders.push({ wallet, jwt: await signCredential(issuer, draft, credentialId) });
    }
    const drift = Math.max(0, (await provider.getBlock("latest"))!.timestamp * 1000 - Date.now());
    const now = () => Date.now() + drift;

    const config = verifierConfigSchema.parse({
      signingKey, uses: ["building-gate"], logLevel: "silent", rateLimit: { max: 1_000_000, windowMs: 60_000 }, requestTtlSeconds: 600,
    });
    let baseUrl = "";
    const service = await buildVerifierService({ config, provider, chainId, deployment, dataDir, baseUrl: () => baseUrl, logLevel: "silent", now });
    await service.app.listen({ host: "127.0.0.1", port: 0 });
    baseUrl = `http://127.0.0.1:${(service.app.server.address() as { port: number }).port}`;
    close = () => service.app.close();

    // The gate accepts presentations valid this long at most: each batch is prepared right before it is timed.
    const lifetime = POLICIES.buildingGate.maxPresentationLifetimeSeconds;
    /** One presentation request and the holder's answer to it (a fresh nonce each: single use). Not timed. */
    const prepare = async (n: number): Promise<Prepared[]> => {
      const out: Prepared[] = [];
      for (let i = 0; i < n; i++) {
        const created = await service.presentations.create({ use: "building-gate", flow: "cross-device", requester: BENCH_TERMINAL });
        const request = decodePayload(await service.presentations.requestObject(created.id));
        const holder = holders[i % holders.length]!;
        const t = Math.floor(now() / 1000);
        const vp = await createVerifiablePresentationJwt(
          { vp: { "@context": ["https://www.w3.org/2018/credentials/v1"], type: ["VerifiablePresentation"], verifiableCredential: [holder.jwt] }, nonce: request.nonce, aud: request.client_id, iat: t, nbf: t, exp: t + lifetime },
          { did: didForAddress(chainId, holder.wallet.address), signer: ES256KSigner(getBytes(holder.wallet.privateKey)), alg: "ES256K" },
        );
        const vpToken = { civil_servant_id: [vp] };
        out.push({ id: created.id, fields: { vp_token: vpToken, state: created.id }, body: new URLSearchParams({ vp_token: JSON.stringify(vpToken), state: created.id }).toString() });
      }
      return out;
    };

    // Warm-up (not counted): the verifier's caches of issuer keys and status, the JIT, the HTTP stack.
    for (const p of await prepare(Math.min(20, holderCount * 2))) {
      const { outcome } = await service.presentations.respond(p.fields);
      if (outcome.status !== "accepted") throw new Error(`warm-up presentation refused: ${JSON.stringify(outcome.result?.reasons)}`);
    }

    // In-process: the route handler's call, one verification at a time.
    const local = await prepare(inProcessCount);
    const latencies: number[] = [];
    const t0 = performance.now();
    for (const p of local) {
      const s = performance.now();
      const { outcome } = await service.presentations.respond(p.fields);
      latencies.push(performance.now() - s);
      if (outcome.status !== "accepted") throw new Error(`in-process presentation refused: ${JSON.stringify(outcome.result?.reasons)}`);
    }
    const inProcessSeconds = (performance.now() - t0) / 1000;

    // The same route through fastify's inject (parsing, validation, hooks, serialisation; no socket), one at a time:
    // tells the HTTP stack's cost apart from the sockets' and the load generator's.
    const injected = await prepare(inProcessCount);
    const injectLatencies: number[] = [];
    const t1 = performance.now();
    for (const p of injected) {
      const s = performance.now();
      const r = await service.app.inject({ method: "POST", url: RESPONSE_PATH, headers: { "content-type": "application/x-www-form-urlencoded" }, payload: p.body });
      injectLatencies.push(performance.now() - s);
      if (r.statusCode !== 200) throw new Error(`injected presentation refused: ${r.body}`);
    }
    const injectSeconds = (performance.now() - t1) / 1000;

    // HTTP: autocannon posts each prepared answer once over loopback.
    const remote = await prepare(httpCount);
    let next = 0;
    const result = await autocannon({
      url: baseUrl, connections, amount: httpCount, timeout: 30,
      requests: [{
        method: "POST", path: RESPONSE_PATH, headers: { "content-type": "application/x-www-form-urlencoded" },
        setupRequest: (request) => ({ ...request, body: remote[next++ % remote.length]!.body }),
      }],
    });
    if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0 || result["2xx"] !== httpCount) {
      throw new Error(`HTTP load run: ${result["2xx"]} of ${httpCount} accepted, ${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
    }
    for (const p of remote) {
      const status = await service.presentations.status(p.id, BENCH_TERMINAL);
      if (status.status !== "accepted") throw new Error(`HTTP presentation ${p.id} was not accepted: ${status.status}`);
    }
    const http = {
      verifications: httpCount, connections, perSecond: httpCount / result.duration,
      p50Ms: result.latency.p50, p99Ms: result.latency.p99, maxMs: result.latency.max,
    };
    const inProcess = {
      verifications: inProcessCount, perSecond: inProcessCount / inProcessSeconds,
      p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), meanMs: mean(latencies),
    };
    const inject = {
      verifications: inProcessCount, perSecond: inProcessCount / injectSeconds,
      p50Ms: percentile(injectLatencies, 50), p99Ms: percentile(injectLatencies, 99), meanMs: mean(injectLatencies),
    };
    const rows = [
      ["HTTP direct_post (autocannon, loopback)", String(http.verifications), `${connections} connections`, fixed(http.perSecond, 0), fixed(http.p50Ms, 1), fixed(http.p99Ms, 1)],
      ["fastify inject (route, no socket)", String(inject.verifications), "1 at a time", fixed(inject.perSecond, 0), fixed(inject.p50Ms, 2), fixed(inject.p99Ms, 2)],
      ["in-process PresentationService.respond()", String(inProcess.verifications), "1 at a time", fixed(inProcess.perSecond, 0), fixed(inProcess.p50Ms, 2), fixed(inProcess.p99Ms, 2)],
    ];
    const tables = [table("Verifier service: verifications through HTTP and in process (same run)", ["path", "verifications", "concurrency", "per s", "p50 ms", "p99 ms"], rows)];
    console.log(`  HTTP ÷ in-process throughput: ${ratio(http.perSecond, inProcess.perSecond)}`);
    return { tables, holders: holderCount, http, inject, inProcess, httpOverInProcess: http.perSecond / inProcess.perSecond };
  } finally {
    await close?.();
    setGlobalConfig({ allowInsecureUrls: false });
    await connection.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

// Run on its own: `npm run bench:http` (tsx bench/http.ts [--quick]).
if (import.meta.url === `file://${process.argv[1]}`) {
  const connectionsArg = process.argv.find((a) => a.startsWith("--connections="));
  const results = await runHttp({ quick: process.argv.includes("--quick"), ...(connectionsArg === undefined ? {} : { connections: Number(connectionsArg.slice(14)) }) });
  console.log(JSON.stringify({ http_verify_per_s: Math.round(results.http.perSecond), http_verify_p99_ms: results.http.p99Ms, inproc_verify_per_s: Math.round(results.inProcess.perSecond) }));
  process.exit(0);
}
