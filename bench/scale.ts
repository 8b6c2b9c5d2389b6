/**
 * Section 3: scale. N credentials across ~300 organisations, registered with registerBatch through the SDK's
 * StatusClient on a fresh chain served over JSON-RPC (30 M gas blocks, Cancun); then a separate gate process
 * builds the status index from events (time, peak memory) and times lookups at that size; then DID resolution
 * with the unmodified ethr-did-resolver for an issuer DID with 0, 10 and 100 key changes.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { network } from "hardhat";
import { AbiCoder, JsonRpcProvider, JsonRpcSigner, Network, Wallet, encodeBytes32String, hexlify, keccak256, randomBytes, toBeHex, type TransactionRequest } from "ethers";
import { Resolver } from "did-resolver";
import { getResolver } from "ethr-did-resolver";
import { deployConsortium } from "../sdk/chain/deploy.js";
import { CIVIL_SERVANT_ID_TYPE, OperatorRole, OrgKind } from "../sdk/chain/codes.js";
import { GovernanceActions, GovernanceClient } from "../sdk/governance/client.js";
import { StatusClient } from "../sdk/status/client.js";
import { holderReference } from "../sdk/status/holder-ref.js";
import { didForAddress } from "../sdk/did/did.js";
import { BENCH_HARDFORK, fixed, int, median, table } from "./lib.js";

const BLOCK_GAS = 30_000_000;
const BATCH = 1_000; // ≈ 26.6 M gas: one registerBatch fills most of one 30 M block
const SECRET = new Uint8Array(32).fill(0x33);

/** Sends with an explicit gas limit: skips eth_estimateGas (which would execute every 1,000-item batch twice). */
class FixedGasSigner extends JsonRpcSigner {
  override sendUncheckedTransaction(tx: TransactionRequest): Promise<string> {
    return super.sendUncheckedTransaction({ ...tx, gasLimit: tx.gasLimit ?? BLOCK_GAS });
  }
}

const TRANSPORT_LABELS: Record<string, string> = {
  snapshot: "snapshot from state (as shipped)",
  events: "event replay, raw JSON-RPC",
  ethers: "event replay, ethers provider (previous design)",
  lean: "event replay, ethers + native fetch (diagnostic)",
};

/** What one index child process measured (see scale-index.ts). */
export interface IndexRun {
  readonly transport: string;
  readonly blocksPerQuery: number;
  readonly head: number;
  readonly credentials: number;
  readonly syncMs: number;
  /** Snapshot mode: the background digest backfill after the index already serves (0 for event replay). */
  readonly backfillMs: number;
  /** Kernel high-water mark (VmHWM) at the end of catch-up, and after the backfill. */
  readonly catchUpPeakRssMB: number;
  readonly peakRssWithBackfillMB: number;
  /** The in-process sampler's peak (kept to show how much it under-reads). */
  readonly sampledPeakRssMB: number;
  readonly baselineRssMB: number;
  readonly baselineHeapMB: number;
  readonly peakRssMB: number;
  readonly rssAfterSyncMB: number;
  readonly externalAfterSyncMB: number;
  readonly peakExternalMB: number;
  readonly rssAfterGcMB: number;
  readonly peakHeapMB: number;
  readonly retainedHeapMB: number;
  readonly retainedArrayBuffersMB: number;
  readonly nodeServeMs: number;
  readonly responseMB: number;
  readonly lookups: number;
  readonly lookupsRegistered: number;
  readonly lookupP50Us: number;
  readonly lookupP99Us: number;
  readonly lookupMaxUs: number;
}

export interface ScaleResults {
  readonly n: number;
  readonly requestedN: number;
  readonly organisations: number;
  readonly registration: {
    readonly transactions: number;
    readonly totalGas: number;
    readonly gasPerCredential: number;
    readonly blocksUsed: number;
    readonly blocksIdealPacking: number;
    readonly wallSeconds: number;
    readonly stoppedByTimeBudget: boolean;
  };
  readonly index: IndexRun;
  readonly indexRuns: IndexRun[];
  /** The snapshot catch-up at 1.2 M credentials written into storage (full runs). */
  readonly synthetic?: IndexRun;
  /** The catch-up figures for the summary line (catchup_s_per_million, catchup_peak_rss_mb). */
  readonly catchup: { readonly secondsPerMillion: number; readonly seconds1_2M: number; readonly peakRssMB: number; readonly measuredAt: string };
  readonly extrapolated1_2M?: Record<string, number | string>;
  readonly didResolution: { changes: number; medianMs: number; rpcRequests: number; verificationMethods: number }[];
  readonly targets: { name: string; measured: number; limit: number; met: boolean; note?: string }[];
  readonly tables: string[];
}

export async function runScale(options: { quick: boolean; n?: number }): Promise<ScaleResults> {
  const requestedN = options.n ?? (options.quick ? 20_000 : 1_200_000);
  // --n=<N> changes the number of organisations, never the registerBatch size (batches of BATCH, as in production).
  const defaultOrganisations = options.quick ? 20 : 300;
  const organisations = options.n === undefined ? defaultOrganisations : Math.max(1, Math.min(defaultOrganisations, Math.floor(requestedN / BATCH)));
  const perOrg = Math.ceil(requestedN / organisations);
  let n = perOrg * organisations;
  const registrationBudgetSeconds = options.quick ? Infinity : Number(process.env.BENCH_SCALE_BUDGET_S ?? 480);
  const blocksPerQuery = 2; // ≈ 2,000 CredentialRegistered logs per eth_getLogs answer (see PERFORMANCE.md)
  const resolutions = options.quick ? 5 : 20;

  const server = await network.createServer(
    { override: { hardfork: BENCH_HARDFORK, blockGasLimit: BigInt(BLOCK_GAS), initialBaseFeePerGas: 0 } as never },
    "127.0.0.1",
    0,
  );
  const { address, port } = await server.listen();
  const url = `http://${address}:${port}`;
  const probe = new JsonRpcProvider(url);
  const chainId = Number((await probe.getNetwork()).chainId);
  probe.destroy();
  const provider = new JsonRpcProvider(url, Network.from(chainId), { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  const tmp = mkdtempSync(path.join(os.tmpdir(), "mcid-bench-"));
  try {
    const accounts = await provider.listAccounts();
    const deployer = new FixedGasSigner(provider, accounts[0]!.address);
    const member = new FixedGasSigner(provider, accounts[1]!.address);
    const orgAdmin = new FixedGasSigner(provider, accounts[2]!.address);
    // Set-up (not measured): a 1-of-1 governor accredits the organisations; each gets its own registrar account.
    const ledger = await deployConsortium(deployer, { members: [member.address], threshold: 1 });
    const deployment = ledger.deployment;
    const actions = new GovernanceActions(ledger.governor, ledger.issuerRegistry);
    const gov = new GovernanceClient(ledger.governor.connect(member));
    const orgs: { agencyCode: number; registrar: FixedGasSigner }[] = [];
    console.log(`  accrediting ${organisations} organisations ...`);
    for (let i = 0; i < organisations; i++) {
      const agencyCode = 1_000_000 + 7_919 * (i + 1); // distinct 7-digit codes
      const kind = i % 2 === 0 ? OrgKind.CentralAgency : OrgKind.LocalGovernment;
      const p = await gov.propose(await actions.accredit(agencyCode, kind, orgAdmin.address, [CIVIL_SERVANT_ID_TYPE]));
      await gov.execute(p.proposalId);
      const registrarAddress = Wallet.createRandom().address;
      await provider.send("hardhat_impersonateAccount", [registrarAddress]);
      await provider.send("hardhat_setBalance", [registrarAddress, "0xd3c21bcecceda1000000"]);
      await (await ledger.statusRegistry.connect(orgAdmin).setOperator(registrarAddress, agencyCode, OperatorRole.Registrar)).wait();
      orgs.push({ agencyCode, registrar: new FixedGasSigner(provider, registrarAddress) });
    }

    // Bulk registration: rounds over the organisations, each registering its next 1,000 credentials in one
    // registerBatch (StatusClient). Full mode stops when the time budget runs out, so that the whole section stays
    // within ~20 minutes on a small machine; the achieved N is reported and 1.2 M extrapolated (labelled).
    console.log(`  registering up to ${int(n)} credentials in registerBatch transactions of ${int(BATCH)} ...`);
    const firstBlock = await provider.getBlockNumber();
    const counts = new Map<number, number>(orgs.map((o) => [o.agencyCode, 0]));
    let totalGas = 0;
    let transactions = 0;
    let person = 0;
    const regStart = performance.now();
    let lastReport = regStart;
    let stoppedEarly = false;
    rounds: for (let done = 0; done < perOrg; done += BATCH) {
      const k = Math.min(BATCH, perOrg - done);
      for (const org of orgs) {
        if ((performance.now() - regStart) / 1000 > registrationBudgetSeconds) {
          stoppedEarly = true;
          break rounds;
        }
        const entries = Array.from({ length: k }, () => ({
          holderRef: holderReference(SECRET, `scale-${person++}`),
          credentialDigest: hexlify(randomBytes(32)),
        }));
        // EIP-1559 raises the base fee ≥ 1 wei and ~10 % after every block above the 15 M target: without a reset,
        // hundreds of back-to-back full blocks price a batch out of any balance. Reset it (not measured).
        await provider.send("hardhat_setNextBlockBaseFeePerGas", ["0x0"]);
        const out = await new StatusClient(ledger.statusRegistry.connect(org.registrar)).registerBatch(entries);
        if (out.length !== k) throw new Error(`registerBatch returned ${out.length} registrations, expected ${k}`);
        totalGas += Number(out[0]!.gasUsed);
        transactions++;
        counts.set(org.agencyCode, counts.get(org.agencyCode)! + k);
        if (performance.now() - lastReport > 30_000) {
          lastReport = performance.now();
          console.log(`    ${int(person)} registered, ${fixed((lastReport - regStart) / 1000, 0)} s`);
        }
      }
    }
    const wallSeconds = (performance.now() - regStart) / 1000;
    n = person;
    if (stoppedEarly) console.log(`    time budget reached: N = ${int(n)} (of ${int(requestedN)} requested)`);
    const lastBlock = await provider.getBlockNumber();
    const registration = {
      transactions,
      totalGas,
      gasPerCredential: totalGas / n,
      blocksUsed: lastBlock - firstBlock,
      blocksIdealPacking: Math.ceil(totalGas / BLOCK_GAS),
      wallSeconds,
      stoppedByTimeBudget: stoppedEarly,
    };

    // Status index catch-up in a separate gate process.
    console.log("  index catch-up in a separate process ...");
    const deploymentFile = path.join(tmp, "deployment.json");
    const orgsFile = path.join(tmp, "orgs.json");
    writeFileSync(deploymentFile, JSON.stringify(deployment));
    writeFileSync(orgsFile, JSON.stringify(orgs.map((o) => ({ agencyCode: o.agencyCode, count: counts.get(o.agencyCode)! }))));
    // Quick mode runs only the shipped transport (the lean one is a diagnostic of the full run).
    // The shipped mode first (its figures are the headline), then event replay over the same raw transport.
    const defaultConfigs = options.quick ? `snapshot:${blocksPerQuery}` : `snapshot:${blocksPerQuery},events:${blocksPerQuery}`;
    const configs = (process.env.BENCH_INDEX_CONFIGS ?? defaultConfigs).split(",").map((c) => {
      const [transport, bpq] = c.split(":");
      return { transport: transport!, blocksPerQuery: Number(bpq) };
    });
    const indexRuns: IndexRun[] = [];
    for (const c of configs) {
      const r = await indexChild(url, deploymentFile, c.blocksPerQuery, options.quick ? 20_000 : 200_000, orgsFile, c.transport);
      if (r.credentials !== n) throw new Error(`the index holds ${r.credentials} credentials, expected ${n}`);
      console.log(`    ${c.transport}: catch-up ${fixed(Number(r.syncMs) / 1000, 2)} s, peak RSS ${fixed(Number(r.peakRssMB), 0)} MB (kernel); backfill ${fixed(Number(r.backfillMs) / 1000, 2)} s, peak RSS with it ${fixed(Number(r.peakRssWithBackfillMB), 0)} MB`);
      indexRuns.push(r);
    }
    const index = indexRuns[0]!;

    // DID resolution with the unmodified ethr-did-resolver (no cache) for DIDs with 0, 10 and 100 key changes.
    console.log("  DID resolution ...");
    const didResolution = await didResolutionTimes(provider, chainId, ledger.didRegistry, deployment.didRegistry, resolutions);

    // Catch-up at the full national size from state: the organisations' status words and counts written straight
    // into the registry's storage (hardhat_setStorageAt) up to SYNTHETIC_N credentials, then a fresh gate process
    // snapshots them. Registering 1.2 M credentials for real takes ~30 min here; the snapshot reads state only, so
    // state is all it needs (no logs: the backfill is measured at the real N above). Runs last: it rewrites the chain.
    let synthetic: IndexRun | undefined;
    if (!options.quick || process.env.BENCH_SYNTHETIC === "1") {
      const syntheticN = Number(process.env.BENCH_SYNTHETIC_N ?? 1_200_000);
      console.log(`  catch-up from state at ${int(syntheticN)} credentials (synthetic storage) ...`);
      const perOrgSynthetic = Math.ceil(syntheticN / orgs.length);
      await writeSyntheticStatus(provider, url, deployment.statusRegistry, orgs.map((o) => o.agencyCode), counts, perOrgSynthetic);
      const syntheticOrgs = path.join(tmp, "orgs-synthetic.json");
      writeFileSync(syntheticOrgs, JSON.stringify(orgs.map((o) => ({ agencyCode: o.agencyCode, count: perOrgSynthetic }))));
      synthetic = await indexChild(url, deploymentFile, blocksPerQuery, 0, syntheticOrgs, "snapshot-state");
      if (synthetic.credentials !== perOrgSynthetic * orgs.length) throw new Error(`the synthetic index holds ${synthetic.credentials} credentials`);
      console.log(`    snapshot at ${int(synthetic.credentials)}: ${fixed(synthetic.syncMs / 1000, 2)} s, peak RSS ${fixed(synthetic.catchUpPeakRssMB, 0)} MB (kernel)`);
    }

    const extrapolated1_2M =
      n < 1_200_000
        ? {
            basis: `linear in N from the measured N = ${n}`,
            registrationGas: registration.gasPerCredential * 1_200_000,
            blocks30M: Math.ceil((registration.gasPerCredential * 1_200_000) / BLOCK_GAS),
            indexSyncSeconds: (index.syncMs / 1000) * (1_200_000 / n),
            indexRetainedHeapMB: index.baselineHeapMB + (index.retainedHeapMB - index.baselineHeapMB) * (1_200_000 / n),
            indexRetainedTypedArraysMB: (index.retainedArrayBuffersMB * 1_200_000) / n,
          }
        : undefined;

    // The catch-up targets are judged at 1.2 M: measured (real N ≥ 1.2 M, or the synthetic state run), never extrapolated
    // when a measurement exists.
    const full = n >= 1_200_000 ? index : synthetic;
    const syncS = (full ?? index).syncMs / 1000;
    const label = full === index ? `N = ${int(n)}` : full ? `${int(full.credentials)} credentials in synthetic state` : `EXTRAPOLATED linearly from N = ${int(n)}`;
    const measuredS = full ? syncS : (syncS * 1_200_000) / n;
    const peakMB = (full ?? index).catchUpPeakRssMB;
    const targets = [
      { name: `index catch-up ≤ 10 s at 1.2 M (${label})`, measured: measuredS, limit: 10, met: measuredS <= 10 },
      { name: `index catch-up peak RSS ≤ 150 MB at 1.2 M (${full ? label : `N = ${int(n)}`}, kernel VmHWM)`, measured: peakMB, limit: 150, met: peakMB <= 150 },
    ];
    const catchup = { secondsPerMillion: (measuredS * 1_000_000) / 1_200_000, seconds1_2M: measuredS, peakRssMB: peakMB, measuredAt: label };
    const tables = [
      table(`3a. Scale: bulk registration of ${int(n)} credentials across ${organisations} organisations (registerBatch of ${int(BATCH)}, 30 M gas blocks)`, ["measure", "value"], [
        ["registerBatch transactions", int(transactions)],
        ["total gas", int(totalGas)],
        ["gas per credential", int(registration.gasPerCredential)],
        ["30 M-gas blocks used (one batch per block)", int(registration.blocksUsed)],
        ["30 M-gas blocks, ideal packing", int(registration.blocksIdealPacking)],
        ["wall time on the in-process node (s)", fixed(wallSeconds, 1)],
        ...(extrapolated1_2M
          ? [
              ["EXTRAPOLATED (linear) to 1.2 M: total gas", int(extrapolated1_2M.registrationGas)],
              ["EXTRAPOLATED (linear) to 1.2 M: 30 M-gas blocks, ideal packing", int(extrapolated1_2M.blocks30M)],
            ]
          : []),
      ]),
      table(
        `3b. Scale: status index catch-up in a separate gate process (snapshot: status words from state, then digests from logs in the background; events: eth_getLogs over ${blocksPerQuery} blocks ≈ ${int(2 * BATCH)} logs per call)`,
        ["measure", ...indexRuns.map((r) => TRANSPORT_LABELS[r.transport] ?? r.transport)],
        [
          ["credentials indexed", ...indexRuns.map((r) => int(Number(r.credentials)))],
          ["catch-up time until the index serves (s)", ...indexRuns.map((r) => fixed(Number(r.syncMs) / 1000, 2))],
          ["  then background digest backfill (s; a tap meanwhile may cost one look-up)", ...indexRuns.map((r) => fixed(Number(r.backfillMs) / 1000, 2))],
          ["peak RSS until the index serves (MB, kernel VmHWM)", ...indexRuns.map((r) => fixed(Number(r.catchUpPeakRssMB), 0))],
          ["peak RSS including the backfill (MB, kernel VmHWM)", ...indexRuns.map((r) => fixed(Number(r.peakRssWithBackfillMB), 0))],
          ["  the old 10 ms sampler's peak (MB): under-reads", ...indexRuns.map((r) => fixed(Number(r.sampledPeakRssMB), 0))],
          ["  of which the node serving eth_getLogs (s, measured apart)", ...indexRuns.map((r) => fixed(Number(r.nodeServeMs) / 1000, 2))],
          ["eth_getLogs response bytes (MB)", ...indexRuns.map((r) => fixed(Number(r.responseMB), 0))],
          ["RSS right after catch-up (MB)", ...indexRuns.map((r) => fixed(Number(r.rssAfterSyncMB), 0))],
          ["peak JS heap (MB)", ...indexRuns.map((r) => fixed(Number(r.peakHeapMB), 0))],
          ["peak external memory, sampled (MB): buffers outside the JS heap", ...indexRuns.map((r) => fixed(Number(r.peakExternalMB), 0))],
          ["RSS before catch-up (MB): Node + tsx + ethers", ...indexRuns.map((r) => fixed(Number(r.baselineRssMB), 0))],
          ["retained heap after GC (MB)", ...indexRuns.map((r) => fixed(Number(r.retainedHeapMB), 1))],
          ["retained typed arrays after GC (MB)", ...indexRuns.map((r) => fixed(Number(r.retainedArrayBuffersMB), 1))],
          [`lookup p50 / p99 (µs), random ids`, ...indexRuns.map((r) => `${fixed(Number(r.lookupP50Us), 2)} / ${fixed(Number(r.lookupP99Us), 2)}`)],
          ...(n < 1_200_000
            ? [["EXTRAPOLATED (linear) to 1.2 M: catch-up (s)", ...indexRuns.map((r) => fixed((Number(r.syncMs) / 1000) * (1_200_000 / n), 1))]]
            : []),
        ],
      ),
      table(`3c. DID resolution, unmodified ethr-did-resolver over JSON-RPC, median of ${resolutions}`, ["issuer DID", "median ms", "RPC requests", "verification methods", "vs no changes"], didResolution.map((d) => [
        `${d.changes} key changes`,
        fixed(d.medianMs, 2),
        String(d.rpcRequests),
        String(d.verificationMethods),
        `${fixed(d.medianMs / didResolution[0]!.medianMs, 1)}×`,
      ])),
      table("3d. Scale targets", ["target", "measured", "met"], targets.map((t) => [t.name, fixed(t.measured, 1), t.met ? "met" : `MISSED by ${fixed(t.measured - t.limit, 1)}`])),
    ];
    if (synthetic) {
      tables.splice(2, 0, table(`3b'. Scale: catch-up from state at ${int(synthetic.credentials)} credentials (${orgs.length} organisations; status words written into storage, no logs)`, ["measure", "value"], [
        ["catch-up time until the index serves (s)", fixed(synthetic.syncMs / 1000, 2)],
        ["peak RSS until the index serves (MB, kernel VmHWM)", fixed(synthetic.catchUpPeakRssMB, 0)],
        ["  the old 10 ms sampler's peak (MB)", fixed(synthetic.sampledPeakRssMB, 0)],
        ["RSS before catch-up (MB): Node + tsx + ethers", fixed(synthetic.baselineRssMB, 0)],
        ["retained typed arrays after GC (MB)", fixed(synthetic.retainedArrayBuffersMB, 1)],
      ]));
    }
    return { n, requestedN, organisations, registration, index, indexRuns, ...(synthetic ? { synthetic } : {}), catchup, ...(extrapolated1_2M ? { extrapolated1_2M } : {}), didResolution, targets, tables };
  } finally {
    provider.destroy();
    await server.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

function indexChild(url: string, deploymentFile: string, blocksPerQuery: number, lookups: number, orgsFile: string, transport: string): Promise<IndexRun> {
  const script = fileURLToPath(new URL("./scale-index.ts", import.meta.url));
  return new Promise((resolve, reject) => {
    const profile = process.env.BENCH_PROFILE_INDEX ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_INDEX}`] : [];
    const child = spawn(process.execPath, ["--expose-gc", ...profile, "--import", "tsx", script, url, deploymentFile, String(blocksPerQuery), String(lookups), orgsFile, transport], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error(`index child exited with ${code}: ${out}`));
      const line = out.trim().split("\n").pop() ?? "";
      try {
        resolve(JSON.parse(line) as IndexRun);
      } catch (e) {
        reject(new Error(`index child printed no result: ${out}`, { cause: e }));
      }
    });
  });
}

async function didResolutionTimes(
  provider: JsonRpcProvider,
  chainId: number,
  didRegistry: import("../sdk/chain/contracts.js").DIDRegistry,
  registryAddress: string,
  runs: number,
) {
  const chainHex = "0x" + chainId.toString(16);
  const resolver = new Resolver(getResolver({ networks: [{ name: chainHex, chainId, registry: registryAddress, provider: provider as never }] }) as never);
  const name = encodeBytes32String("did/pub/Secp256k1/veriKey/hex");
  let requests = 0;
  const onDebug = (e: { action?: string }) => {
    if (e.action === "sendRpcPayload") requests++;
  };
  await provider.on("debug", onDebug);
  const out: { changes: number; medianMs: number; rpcRequests: number; verificationMethods: number }[] = [];
  for (const changes of [0, 10, 100]) {
    const identity = Wallet.createRandom().connect(provider);
    await provider.send("hardhat_setBalance", [identity.address, "0x56bc75e2d63100000"]);
    const reg = didRegistry.connect(identity);
    for (let i = 0; i < changes; i++) {
      // A key rotation: a new veriKey attribute (each in its own block: automine), alternating with a delegate.
      if (i % 2 === 0) await (await reg.setAttribute(identity.address, name, hexlify(randomBytes(33)), 365 * 86_400)).wait();
      else await (await reg.addDelegate(identity.address, encodeBytes32String("veriKey"), Wallet.createRandom().address, 365 * 86_400)).wait();
    }
    const did = didForAddress(chainId, identity.address);
    const times: number[] = [];
    let methods = 0;
    requests = 0;
    for (let r = 0; r < runs + 1; r++) {
      const t0 = performance.now();
      const res = await resolver.resolve(did);
      const dt = performance.now() - t0;
      if (res.didResolutionMetadata.error) throw new Error(`resolution failed: ${res.didResolutionMetadata.error}`);
      methods = res.didDocument?.verificationMethod?.length ?? 0;
      if (r > 0) times.push(dt); // the first is a warm-up
    }
    out.push({ changes, medianMs: median(times), rpcRequests: Math.round(requests / (runs + 1)), verificationMethods: methods });
  }
  await provider.off("debug", onDebug);
  return out;
}

/** Low 48 bits of the registry's organisation record: its counter (next sequence). */
const COUNTER_MASK = (1n << 48n) - 1n;

/**
 * Writes `perOrg` credentials' status into the registry's storage for every organisation: its count (nextSequence)
 * and packed words (2 % locked or revoked). The storage slots of `nextSequence` and the status words are found by
 * probing against the real registrations made above, so a change of the contract's layout cannot silently write
 * elsewhere (the probe then fails).
 */
async function writeSyntheticStatus(provider: JsonRpcProvider, url: string, registry: string, agencies: readonly number[], realCounts: ReadonlyMap<number, number>, perOrg: number): Promise<void> {
  const abi = AbiCoder.defaultAbiCoder();
  const mappingSlot = (key: bigint, slot: number) => keccak256(abi.encode(["uint256", "uint256"], [key, slot]));
  // The status words are a fixed-size array: word `id >> 5` at its first slot + (id >> 5).
  const arraySlot = (index: bigint, slot: number) => toBeHex(BigInt(slot) + index, 32);
  const probeAgency = agencies.find((a) => (realCounts.get(a) ?? 0) > 0)!;
  const storage = async (slot: string) => BigInt((await provider.send("eth_getStorageAt", [registry, slot, "latest"])) as string);
  let countSlot = -1;
  let wordSlot = -1;
  for (let slot = 0; slot < 16 && (countSlot < 0 || wordSlot < 0); slot++) {
    // The organisation record: the counter in the low 48 bits, the mirrored accreditation status above it.
    if (countSlot < 0 && ((await storage(mappingSlot(BigInt(probeAgency), slot))) & COUNTER_MASK) === BigInt(realCounts.get(probeAgency)!)) countSlot = slot;
    // Word 0 of a registered organisation carries the marker bit of sequence 0 (bit 7 of its lowest byte).
    if (wordSlot < 0 && ((await storage(arraySlot(BigInt(probeAgency) << 35n, slot))) & 0x80n) === 0x80n) wordSlot = slot;
  }
  if (countSlot < 0 || wordSlot < 0) throw new Error("could not locate the status registry's storage slots");
  const requests: { method: string; params: unknown[] }[] = [];
  let seed = 7;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  for (const agency of agencies) {
    const recordSlot = mappingSlot(BigInt(agency), countSlot);
    const record = ((await storage(recordSlot)) & ~COUNTER_MASK) | BigInt(perOrg); // the status byte is kept
    requests.push({ method: "hardhat_setStorageAt", params: [registry, recordSlot, "0x" + record.toString(16).padStart(64, "0")] });
    for (let w = 0; w * 32 < perOrg; w++) {
      let word = 0n;
      for (let j = 0; j < 32 && w * 32 + j < perOrg; j++) {
        const r = random();
        const byte = (j === 0 ? 0x80 : 0) | (r < 0.01 ? 1 | (1 << 2) : r < 0.02 ? 2 | (6 << 2) : 0);
        word |= BigInt(byte) << BigInt(8 * j);
      }
      requests.push({ method: "hardhat_setStorageAt", params: [registry, arraySlot((BigInt(agency) << 35n) + BigInt(w), wordSlot), "0x" + word.toString(16).padStart(64, "0")] });
    }
  }
  for (let i = 0; i < requests.length; i += 500) {
    const body = requests.slice(i, i + 500).map((r, k) => ({ jsonrpc: "2.0", id: i + k, ...r }));
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const answers = (await response.json()) as { error?: unknown }[];
    if (answers.some((a) => a.error)) throw new Error(`hardhat_setStorageAt failed: ${JSON.stringify(answers.find((a) => a.error))}`);
  }
  await provider.send("evm_mine", []);
}
