/**
 * Section 2: gate verification against a local JSON-RPC node (Hardhat's in-process server on 127.0.0.1, so
 * every chain read goes over HTTP as at a real gate). One process, one sequential loop per mode: throughput is
 * verifications per second on one core; latency is per verification. Each measured iteration uses its own fresh
 * challenge and presentation, generated before the timed loop. Then lock propagation: from the lock
 * transaction's inclusion to the first refusal at an indexed gate that follows the chain.
 */
import { createHash, randomBytes as nodeRandomBytes } from "node:crypto";
import { secp256k1 } from "@noble/curves/secp256k1";
import { performance } from "node:perf_hooks";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { AbiCoder, JsonRpcProvider, Network, ParamType, Wallet, getBytes, hexlify, keccak256, randomBytes } from "ethers";
import { ES256KSigner } from "did-jwt";
import { createVerifiablePresentationJwt, verifyCredential, verifyPresentation } from "did-jwt-vc";
import { Resolver } from "did-resolver";
import { getResolver } from "ethr-did-resolver";
import { deployConsortium } from "../sdk/chain/deploy.js";
import { connectLedger } from "../sdk/chain/contracts.js";
import { CIVIL_SERVANT_ID_TYPE, OperatorRole, OrgKind, ReasonCode } from "../sdk/chain/codes.js";
import { GovernanceActions, GovernanceClient } from "../sdk/governance/client.js";
import { StatusClient } from "../sdk/status/client.js";
import { holderReference } from "../sdk/status/holder-ref.js";
import { OnlineLedgerView } from "../sdk/status/ledger-view.js";
import { LedgerIndex } from "../sdk/status/ledger-index.js";
import { indexedGateLedger } from "../sdk/status/gate-ledger.js";
import { didForAddress } from "../sdk/did/did.js";
import { deviceKeyJwk, draftCredential, issuerFromPrivateKey, signCredential } from "../sdk/credential/index.js";
import { bindingDigest, type CredentialBinding } from "../sdk/credential/binding.js";
import { parseCredentialJwt } from "../sdk/credential/parse.js";
import { ChallengeRegistry, POLICIES, PresentationVerifier } from "../sdk/verifier/index.js";
import type { Deployment } from "../sdk/chain/deployment.js";
import { importPublicJwk as importDeviceKey, verifyEs256k } from "../sdk/credential/jws-verify.js";
import { collectGarbage, fixed, int, mean, median, percentile, ratio, sleep, table, yieldToLoop } from "./lib.js";

const AUD = "gate:sejong-complex-1";
const BINDING_ABI = [
  "string", "string", "string", "string", "string", "uint32", "string", "string", "string", "string",
  "string", "string", "string", "uint64", "uint64", "uint64",
].map((t) => ParamType.from(t));
const AGENCY = 1741000;
const SECRET = new Uint8Array(32).fill(0x24);

interface Holder {
  readonly wallet: Wallet;
  readonly did: string;
  readonly jwt: string;
  readonly credentialId: bigint;
  readonly signer: ReturnType<typeof ES256KSigner>;
}

interface Tap {
  readonly vp: string;
  readonly challenge: string;
  readonly credentialId: bigint;
}

export interface GateMode {
  readonly mode: string;
  readonly description: string;
  readonly iterations: number;
  readonly warmup: number;
  readonly perSecond: number;
  /** Verifications per second of this process's CPU time (user + system): less sensitive to other load. */
  readonly perCpuSecond: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly maxMs: number;
  /** The one-verify floor measured interleaved with this mode's taps (indexed modes; see measure()). */
  readonly floor?: InterleavedFloor;
}

/**
 * The OpenSSL floor measured in the same rounds as a mode's taps: blocks of floor verifications and blocks of taps
 * alternate, so both see the same machine (other processes, CPU frequency, caches); each round's ratio is
 * its taps per CPU-second over its floor verifications per CPU-second.
 */
export interface InterleavedFloor {
  /** Floor verifications per CPU-second over all rounds. */
  readonly perCpuSecond: number;
  readonly rounds: readonly {
    readonly taps: number; readonly tapsPerCpuSecond: number; readonly floorPerCpuSecond: number; readonly ratio: number;
    /** The same ratio in main-thread CPU time (diagnostic: the gap to `ratio` is other threads, mostly GC's). */
    readonly mainThreadRatio: number;
  }[];
  /** Per-round ratios (taps per CPU-s ÷ floor verifications per CPU-s): median, min, max. */
  readonly ratioMedian: number;
  readonly ratioMin: number;
  readonly ratioMax: number;
}

export interface PropagationResult {
  readonly config: string;
  readonly followIntervalMs: number;
  readonly trials: number;
  readonly samplesMs: number[];
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  readonly sendToMinedMeanMs: number;
}

export interface GateResults {
  readonly rpc: string;
  readonly modes: GateMode[];
  /** CPU the gate process spends per second with the index following (250 ms) and no tap: the follower's cost. */
  readonly idle: { readonly processCpuMsPerSecond: number; readonly mainThreadCpuMsPerSecond: number };
  readonly propagation: PropagationResult[];
  readonly targets: { name: string; measured: number; limit: number; met: boolean }[];
  readonly tables: string[];
}

async function present(h: Holder, challenge: string): Promise<string> {
  const t = Math.floor(Date.now() / 1000);
  return createVerifiablePresentationJwt(
    {
      vp: { "@context": ["https://www.w3.org/2018/credentials/v1"], type: ["VerifiablePresentation"], verifiableCredential: [h.jwt] },
      iat: t,
      exp: t + 60,
    },
    { did: h.did, signer: h.signer, alg: "ES256K" },
    { challenge, domain: AUD },
  );
}

/** Presentations for `holders` in order, each answering a fresh challenge from `issue`. Not timed. */
async function makeTaps(holders: readonly Holder[], issue: () => string): Promise<Tap[]> {
  const taps: Tap[] = [];
  for (const h of holders) {
    const challenge = issue();
    taps.push({ vp: await present(h, challenge), challenge, credentialId: h.credentialId });
    // Signing is CPU-bound and its awaits are microtasks: yield now and then so timers run (an indexed gate's
    // follower keeps syncing; on a loaded machine 2,000 signatures outlast the index's 5 s staleness bound).
    if (taps.length % 50 === 0) await yieldToLoop();
  }
  return taps;
}

/** The floor's signed message and signature (ES256K, low-s) by `h`'s device key. */
function floorSignature(h: Holder) {
  const message = Buffer.from("eyJhbGciOiJFUzI1NksiLCJ0eXAiOiJKV1QifQ.eyJub25jZSI6ImJlbmNoIn0", "ascii");
  const digest = createHash("sha256").update(message).digest();
  const sig = secp256k1.sign(digest, getBytes(h.wallet.privateKey), { lowS: true });
  const compact = Buffer.from(sig.toCompactRawBytes());
  const jws = { header: { alg: "ES256K" }, payload: {}, signingInput: message.toString("ascii"), signature: compact };
  const key = importDeviceKey(deviceKeyJwk(h.wallet.signingKey.publicKey));
  return { digest, compact, jws, key };
}

/** One OpenSSL verification of one ES256K signature, as the verifier checks a presentation (the one-verify floor). */
function opensslFloor(h: Holder): () => boolean {
  const { jws, key } = floorSignature(h);
  return () => verifyEs256k(jws, key);
}

/** secp256k1 verification rates (the per-tap floor: a repeat tap verifies one signature, with OpenSSL). */
function cryptoFloor(h: Holder, quick: boolean): GateMode[] {
  const { digest, compact } = floorSignature(h);
  const openssl = opensslFloor(h);
  const pub = getBytes(h.wallet.signingKey.publicKey);
  const run = (mode: string, description: string, n: number, fn: () => boolean): GateMode => {
    for (let i = 0; i < Math.ceil(n / 10); i++) if (!fn()) throw new Error(`${mode}: signature did not verify`);
    const lat = new Array<number>(n);
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      if (!fn()) throw new Error(`${mode}: signature did not verify`);
      lat[i] = performance.now() - t0;
    }
    const elapsed = performance.now() - start;
    const cpu = process.cpuUsage(cpu0);
    return { mode, description, iterations: n, warmup: Math.ceil(n / 10), perSecond: n / (elapsed / 1000), perCpuSecond: n / ((cpu.user + cpu.system) / 1e6), p50Ms: percentile(lat, 50), p95Ms: percentile(lat, 95), p99Ms: percentile(lat, 99), meanMs: mean(lat), maxMs: Math.max(...lat) };
  };
  // A first tap also recomputes the credential's binding digest: ours (fixed layout) beside ethers' generic ABI
  // coder over the same fields (what it used before), both checked against the digest the issuer registered.
  const parsed = parseCredentialJwt(h.jwt);
  const binding: CredentialBinding = {
    issuerDid: parsed.issuerDid, subjectDid: parsed.subjectDid, credentialType: parsed.types[1]!, claims: parsed.claims,
    deviceKey: parsed.deviceKey, issuedAt: parsed.issuedAt, validFrom: parsed.validFrom, validUntil: parsed.validUntil,
  };
  const coderDigest = () => keccak256(AbiCoder.defaultAbiCoder().encode(BINDING_ABI, [
    "mcid-credential-binding/v2", binding.issuerDid, binding.subjectDid, binding.credentialType, binding.claims.name,
    binding.claims.agencyCode, binding.claims.organisation, binding.claims.department, binding.claims.position,
    binding.claims.employeeRef, binding.deviceKey.crv, binding.deviceKey.x, binding.deviceKey.y, binding.issuedAt,
    binding.validFrom, binding.validUntil,
  ]));
  const out = [
    run("(floor) secp256k1 verify, OpenSSL", "node:crypto verify of one ES256K signature (the verifier's presentation check), tight loop", quick ? 1_000 : 10_000, openssl),
    run("(floor) secp256k1 verify, noble", "@noble/curves secp256k1.verify (what did-jwt uses)", quick ? 200 : 2_000, () => secp256k1.verify(compact, digest, pub)),
    run("(component) binding digest, fixed layout", "bindingDigest: keccak256 over the binding's precomputed ABI layout (a first tap's digest)", quick ? 1_000 : 10_000, () => bindingDigest(binding) === parsed.bindingDigest),
    run("(component) binding digest, ethers ABI coder", "the same digest through ethers' AbiCoder (the previous implementation)", quick ? 300 : 3_000, () => coderDigest() === parsed.bindingDigest),
  ];
  for (const m of out) console.log(`  ${m.mode}: ${fixed(m.perSecond, 0)}/s`);
  return out;
}

/**
 * A CPU profiler that records only between resume() and pause(): V8's profiler cannot pause, so each recorded
 * stretch is its own profile and stop() merges them into one file: one root whose children are the stretches'
 * call trees (ids shifted), their samples and time deltas concatenated.
 */
type Profile = import("node:inspector").Profiler.Profile;

async function startProfiler() {
  const { Session } = await import("node:inspector/promises");
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  const parts: Profile[] = [];
  let running = false;
  return {
    async resume(): Promise<void> {
      if (running) return;
      await session.post("Profiler.start");
      running = true;
    },
    async pause(): Promise<void> {
      if (!running) return;
      parts.push((await session.post("Profiler.stop")).profile);
      running = false;
    },
    async stop(): Promise<string> {
      await this.pause();
      session.disconnect();
      // One root (id 1) whose children are the stretches' own roots, every id shifted past the previous stretch's.
      const root = { id: 1, callFrame: { functionName: "(root)", scriptId: "0", url: "", lineNumber: -1, columnNumber: -1 }, hitCount: 0, children: [] as number[] };
      const merged: Profile = { nodes: [root], startTime: parts[0]?.startTime ?? 0, endTime: parts.at(-1)?.endTime ?? 0, samples: [], timeDeltas: [] };
      let offset = 1;
      for (const part of parts) {
        const maxId = Math.max(0, ...part.nodes.map((n) => n.id));
        root.children.push(part.nodes[0]!.id + offset);
        merged.nodes.push(...part.nodes.map((n) => ({ ...n, id: n.id + offset, ...(n.children ? { children: n.children.map((c) => c + offset) } : {}) })));
        merged.samples!.push(...(part.samples ?? []).map((id) => id + offset));
        merged.timeDeltas!.push(...(part.timeDeltas ?? []));
        offset += maxId;
      }
      const file = path.join(os.tmpdir(), `gate-${Date.now()}.cpuprofile`);
      writeFileSync(file, JSON.stringify(merged));
      return file;
    },
  };
}

/** Presentations are made in chunks just before they are used (a presentation lives 60 s), never while timed. */
const CHUNK = 2_000;
/** With an interleaved floor: floor verifications and taps alternate in blocks of this many. */
const FLOOR_BLOCK = 20;

/** Process CPU time (user + system, every thread), µs. */
function cpuMicros(): number {
  const c = process.cpuUsage();
  return c.user + c.system;
}

/** This thread's CPU time (user + system), µs: the ratios without GC's helper threads and libuv's pool. */
function threadMicros(): number {
  const c = process.threadCpuUsage();
  return c.user + c.system;
}

interface MeasureOptions {
  /**
   * Measure this one-verify floor interleaved with the taps (see {@link InterleavedFloor}): the timed taps are split
   * into `rounds` rounds, each made of alternating blocks of FLOOR_BLOCK floor verifications (a tight loop, as the
   * floor row) and FLOOR_BLOCK taps (each yielding to the event loop, as a server does). Timers therefore fire in
   * the tap blocks: the index's follower and the event-loop turns are charged to the taps, never to the floor.
   */
  readonly floor?: { readonly verify: () => boolean; readonly rounds: number };
}

/**
 * The sequential measured loop over `sequence` (one tap per entry, each with a fresh challenge and presentation).
 * The first `warmup` taps are not timed. Every verification must succeed (a refusal would mean we timed a refusal).
 * Before each timed chunk or round the wallets' signing garbage is collected, so a major GC of the harness's own
 * allocations does not land inside the timed taps.
 */
async function measure(
  mode: string,
  description: string,
  sequence: readonly Holder[],
  warmup: number,
  issue: () => string,
  check: (tap: Tap) => Promise<true | string>,
  options: MeasureOptions = {},
): Promise<GateMode> {
  const n = sequence.length - warmup;
  const latencies: number[] = [];
  let timedMs = 0;
  let tapCpu = 0;
  // Diagnostics: BENCH_PROFILE_MODE=<mode name> writes a CPU profile of that mode's timed verifications to $TMPDIR:
  // the profiler runs only while taps are verified (paused while the wallets sign the next chunk's presentations).
  const profiler = process.env.BENCH_PROFILE_MODE === mode ? await startProfiler() : undefined;
  const tap = async (t: Tap, label: string): Promise<void> => {
    const r = await check(t);
    if (r !== true) throw new Error(`${mode}: ${label} refused: ${r}`);
  };
  // Warm-up, untimed.
  for (let offset = 0; offset < warmup; offset += CHUNK) {
    const taps = await makeTaps(sequence.slice(offset, Math.min(warmup, offset + CHUNK)), issue);
    for (let i = 0; i < taps.length; i++) {
      await tap(taps[i]!, `warm-up verification ${offset + i}`);
      await yieldToLoop();
    }
  }
  const timed = sequence.slice(warmup);
  const floor = options.floor;
  const roundSize = floor ? Math.ceil(n / floor.rounds) : CHUNK;
  const rounds: { taps: number; tapsPerCpuSecond: number; floorPerCpuSecond: number; ratio: number; mainThreadRatio: number }[] = [];
  let floorCpu = 0;
  let floorOps = 0;
  for (let offset = 0; offset < n; offset += roundSize) {
    const taps = await makeTaps(timed.slice(offset, offset + roundSize), issue);
    collectGarbage();
    // V8 sweeps concurrently after a full GC: let its helper threads finish before the timed blocks (in quick mode
    // their CPU time landed in the first floor block and lifted the process-time ratio above the main thread's).
    await sleep(100);
    await profiler?.resume();
    let roundTapCpu = 0;
    let roundFloorCpu = 0;
    let roundFloorOps = 0;
    let roundTapThread = 0;
    let roundFloorThread = 0;
    for (let i = 0; i < taps.length; i += floor ? FLOOR_BLOCK : taps.length) {
      if (floor) {
        const t0 = threadMicros();
        const c0 = cpuMicros();
        for (let k = 0; k < FLOOR_BLOCK; k++) if (!floor.verify()) throw new Error(`${mode}: the floor signature did not verify`);
        roundFloorCpu += cpuMicros() - c0;
        roundFloorThread += threadMicros() - t0;
        roundFloorOps += FLOOR_BLOCK;
      }
      const end = Math.min(taps.length, i + (floor ? FLOOR_BLOCK : taps.length));
      const start = performance.now();
      const t0 = threadMicros();
      const c0 = cpuMicros();
      for (let k = i; k < end; k++) {
        const t0 = performance.now();
        await tap(taps[k]!, `verification ${warmup + offset + k}`);
        latencies.push(performance.now() - t0);
        // A gate receives each tap as an I/O event: yield to the loop between taps (this also lets the index follow).
        await yieldToLoop();
      }
      roundTapCpu += cpuMicros() - c0;
      roundTapThread += threadMicros() - t0;
      timedMs += performance.now() - start;
    }
    await profiler?.pause();
    tapCpu += roundTapCpu;
    if (floor) {
      floorCpu += roundFloorCpu;
      floorOps += roundFloorOps;
      const tapsPerCpuSecond = taps.length / (roundTapCpu / 1e6);
      const floorPerCpuSecond = roundFloorOps / (roundFloorCpu / 1e6);
      const mainThreadRatio = (taps.length / roundTapThread) / (roundFloorOps / roundFloorThread);
      rounds.push({ taps: taps.length, tapsPerCpuSecond, floorPerCpuSecond, ratio: tapsPerCpuSecond / floorPerCpuSecond, mainThreadRatio });
    }
  }
  if (profiler) console.log(`  CPU profile of "${mode}" written to ${await profiler.stop()}`);
  const ratios = rounds.map((r) => r.ratio);
  const m: GateMode = {
    mode,
    description,
    iterations: n,
    warmup,
    perSecond: n / (timedMs / 1000),
    perCpuSecond: n / (tapCpu / 1e6),
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    p99Ms: percentile(latencies, 99),
    meanMs: mean(latencies),
    maxMs: Math.max(...latencies),
    ...(floor ? {
      floor: { perCpuSecond: floorOps / (floorCpu / 1e6), rounds, ratioMedian: median(ratios), ratioMin: Math.min(...ratios), ratioMax: Math.max(...ratios) },
    } : {}),
  };
  console.log(`  ${mode}: ${int(n)} verifications, ${fixed(m.perSecond, 0)}/s (${fixed(m.perCpuSecond, 0)} per CPU-s), p99 ${fixed(m.p99Ms, 3)} ms`);
  if (m.floor) {
    console.log(`    interleaved floor ${fixed(m.floor.perCpuSecond, 0)} per CPU-s; per-round ratio median ${fixed(m.floor.ratioMedian, 3)} [${fixed(m.floor.ratioMin, 3)}–${fixed(m.floor.ratioMax, 3)}] over ${rounds.length} rounds: ${ratios.map((r) => fixed(r, 3)).join(" ")}`);
    console.log(`    in main-thread CPU time: median ${fixed(median(rounds.map((r) => r.mainThreadRatio)), 3)}: ${rounds.map((r) => fixed(r.mainThreadRatio, 3)).join(" ")}`);
  }
  return m;
}

export async function runGate(options: { quick: boolean }): Promise<GateResults> {
  const q = options.quick;
  const plan = {
    baseline: { n: q ? 60 : 1_000, warm: q ? 10 : 100 },
    baselineDefaults: { n: q ? 30 : 300, warm: q ? 5 : 30 },
    onlineWarm: { n: q ? 100 : 2_000, warm: q ? 20 : 200 },
    onlineCold: { n: q ? 60 : 1_000, warm: q ? 10 : 100 },
    indexedWarm: { n: q ? 1_000 : 20_000, warm: q ? 200 : 2_000, rounds: q ? 5 : 10 },
    indexedCold: { n: q ? 100 : 2_000, warm: q ? 20 : 200, rounds: 5 },
    propagationTrials: q ? 3 : 20,
  };
  const warmHolders = q ? 30 : 500;
  const coldPool = Math.max(plan.onlineCold.n + plan.onlineCold.warm, plan.indexedCold.n + plan.indexedCold.warm);

  const node = await startNode();
  const url = node.url;
  const probe = new JsonRpcProvider(url);
  const chainId = Number((await probe.getNetwork()).chainId);
  probe.destroy();
  // One provider configuration for every measured mode: a fixed network (no eth_chainId check), no request batching
  // (ethers' default waits 10 ms to fill a batch: +10 ms on every sequential round trip) and no response cache
  // (ethers' default serves an identical request from a 250 ms cache: "online" reads would not all reach the node).
  // The baseline is also run once with ethers' defaults, to show what the out-of-the-box provider does.
  const providerOptions = { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 } as const;
  const provider = new JsonRpcProvider(url, Network.from(chainId), providerOptions);
  const followers: LedgerIndex[] = [];
  try {
    const accounts = await provider.listAccounts();
    const [deployer, m0, m1, m2, m3, orgAdmin, registrarSigner, helpDeskSigner] = accounts;
    console.log("  setting up the consortium over JSON-RPC ...");
    const ledger = await deployConsortium(deployer!, { members: [m0!, m1!, m2!, m3!].map((m) => m.address), threshold: 3 });
    const deployment: Deployment = ledger.deployment;
    const members = [m0!, m1!, m2!];
    const actions = new GovernanceActions(ledger.governor, ledger.issuerRegistry);
    const proposal = await new GovernanceClient(ledger.governor.connect(members[0])).propose(
      await actions.accredit(AGENCY, OrgKind.CentralAgency, orgAdmin!.address, [CIVIL_SERVANT_ID_TYPE]),
    );
    for (const m of members.slice(1)) await new GovernanceClient(ledger.governor.connect(m)).approve(proposal.proposalId);
    await new GovernanceClient(ledger.governor.connect(members[0])).execute(proposal.proposalId);
    const status = ledger.statusRegistry;
    await (await status.connect(orgAdmin).setOperator(registrarSigner!.address, AGENCY, OperatorRole.Registrar)).wait();
    await (await status.connect(orgAdmin).setOperator(helpDeskSigner!.address, AGENCY, OperatorRole.LockOnly)).wait();
    const issuerWallet = new Wallet(hexlify(randomBytes(32)));
    const chainNow = (await provider.getBlock("latest"))!.timestamp;
    await (await ledger.issuerRegistry.connect(orgAdmin).addIssuerKey(AGENCY, issuerWallet.address, 0, chainNow + 365 * 86_400)).wait();
    const issuer = issuerFromPrivateKey(chainId, issuerWallet.privateKey);

    // Holders: a set that taps repeatedly (warm), a pool each used once (first taps), and propagation holders.
    const registrar = new StatusClient(status.connect(registrarSigner));
    let personCounter = 0;
    async function makeHolders(n: number): Promise<Holder[]> {
      const wallets = Array.from({ length: n }, () => new Wallet(hexlify(randomBytes(32))));
      const out: Holder[] = [];
      for (let i = 0; i < n; i += 1000) {
        const chunk = wallets.slice(i, i + 1000);
        // Issuance as the workflow does it: draft (binding digest) → register → sign with the assigned id.
        const t = Math.max(Math.floor(Date.now() / 1000), (await provider.getBlock("latest"))!.timestamp);
        const drafts = chunk.map((w, k) => draftCredential(issuer, {
          chainId,
          statusRegistry: deployment.statusRegistry,
          holderDid: didForAddress(chainId, w.address),
          deviceKey: deviceKeyJwk(w.signingKey.publicKey),
          claims: { name: `공무원${i + k}`, agencyCode: AGENCY, organisation: "행정안전부", department: "디지털정부국", position: "행정사무관", employeeRef: `E-${i + k}` },
          issuedAt: t,
          validUntil: t + 3 * 365 * 86_400,
        }));
        const regs = await registrar.registerBatch(chunk.map((_, k) => ({
          holderRef: holderReference(SECRET, `gate-person-${personCounter++}`),
          credentialDigest: drafts[k]!.digest,
        })));
        for (let k = 0; k < chunk.length; k++) {
          const w = chunk[k]!;
          const jwt = await signCredential(issuer, drafts[k]!, regs[k]!.credentialId);
          out.push({ wallet: w, did: drafts[k]!.subjectDid, jwt, credentialId: regs[k]!.credentialId, signer: ES256KSigner(getBytes(w.privateKey)) });
        }
      }
      return out;
    }
    console.log(`  issuing ${int(warmHolders + coldPool + 2 * plan.propagationTrials)} credentials ...`);
    const warm = await makeHolders(warmHolders);
    const cold = await makeHolders(coldPool);
    const propagationHolders = await makeHolders(2 * plan.propagationTrials);
    const cycle = (n: number) => Array.from({ length: n }, (_, i) => warm[i % warm.length]!);

    // --- baseline: did-jwt-vc + unmodified ethr-did-resolver (no cache) + eth_call statusOf
    const chainHex = "0x" + chainId.toString(16);
    const baselineFor = (p: JsonRpcProvider) => {
      const resolver = new Resolver(
        getResolver({ networks: [{ name: chainHex, chainId, registry: deployment.didRegistry, provider: p as never }] }) as never,
      );
      const statusRegistry = connectLedger(deployment, p).statusRegistry;
      return async (tap: Tap): Promise<true | string> => {
        const vp = await verifyPresentation(tap.vp, resolver, { challenge: tap.challenge, domain: AUD });
        const vcJwt = (vp.payload.vp as { verifiableCredential: string[] }).verifiableCredential[0]!;
        const vc = await verifyCredential(vcJwt, resolver);
        if (vc.payload.sub !== vp.payload.iss) return "holder is not the credential subject";
        const ref = (vc.verifiableCredential.credentialStatus as unknown as { credentialId: string }).credentialId;
        const [registered, state] = await statusRegistry.statusOf(BigInt(ref));
        return registered && state === 0n ? true : `status ${state}`;
      };
    };

    const ours = (v: PresentationVerifier) => async (tap: Tap): Promise<true | string> => {
      const r = await v.verify(tap.vp, { challenge: tap.challenge, audience: AUD, policy: POLICIES.buildingGate });
      return r.ok ? true : r.reasons.join(",");
    };
    const onlineVerifier = (memo: boolean) =>
      new PresentationVerifier({
        ledger: new OnlineLedgerView(connectLedger(deployment, provider), provider),
        challenges: new ChallengeRegistry(),
        ...(memo ? {} : { credentialMemoTtlMs: 0 }),
      });
    async function followingIndex(intervalMs: number): Promise<LedgerIndex> {
      // The gate's configured form (`indexedGateLedger`: native fetch and JSON.parse per node), as the CLI and the
      // services build it; through an ethers provider the follower's ticks cost the gate ≈ 4× the CPU.
      const index = indexedGateLedger({ deployment, rpcUrls: [url] });
      await index.sync();
      index.follow(intervalMs, (e) => console.error("  index follow error:", e));
      followers.push(index);
      return index;
    }
    const indexedVerifier = (index: LedgerIndex, memo: boolean) =>
      new PresentationVerifier({ ledger: index, challenges: new ChallengeRegistry(), ...(memo ? {} : { credentialMemoTtlMs: 0 }) });

    const modes: GateMode[] = [];
    // Reference floor measured on this machine in this run: one secp256k1 signature verification.
    modes.push(...cryptoFloor(warm[0]!, q));
    // The same floor again inside the indexed modes' rounds, interleaved with their taps (the figures' floor).
    const floorVerify = opensslFloor(warm[0]!);
    const randomChallenge = () => nodeRandomBytes(16).toString("base64url");
    {
      modes.push(await measure("baseline", "did-jwt-vc verifyPresentation + verifyCredential, ethr-did-resolver (no cache) over JSON-RPC, eth_call statusOf", cycle(plan.baseline.n + plan.baseline.warm), plan.baseline.warm, randomChallenge, baselineFor(provider)));
    }
    {
      const defaults = new JsonRpcProvider(url);
      modes.push(await measure("baseline, ethers provider defaults", "as baseline, with new JsonRpcProvider(url): 10 ms request batching, 250 ms response cache", cycle(plan.baselineDefaults.n + plan.baselineDefaults.warm), plan.baselineDefaults.warm, randomChallenge, baselineFor(defaults)));
      defaults.destroy();
    }
    {
      const v = onlineVerifier(true);
      // Steady state: every holder of the warm set has tapped once (credential memoised) before the timed loop.
      modes.push(await measure("ours, online (repeat taps)", "PresentationVerifier + OnlineLedgerView over JSON-RPC; holder seen in the last 10 min", [...warm, ...cycle(plan.onlineWarm.n + plan.onlineWarm.warm)], warm.length + plan.onlineWarm.warm, () => v.issueChallenge(), ours(v)));
    }
    {
      const v = onlineVerifier(false);
      modes.push(await measure("ours, online (first taps)", "as above, credential never seen by this gate (issuer DID resolution cached)", cold.slice(0, plan.onlineCold.n + plan.onlineCold.warm), plan.onlineCold.warm, () => v.issueChallenge(), ours(v)));
    }
    const index = await followingIndex(250);
    let idle = { processCpuMsPerSecond: NaN, mainThreadCpuMsPerSecond: NaN };
    {
      const v = indexedVerifier(index, true);
      modes.push(await measure("ours, indexed (repeat taps)", "PresentationVerifier + LedgerIndex (indexedGateLedger: one node over fetch, synced, following every 250 ms); holder seen in the last 10 min", [...warm, ...cycle(plan.indexedWarm.n + plan.indexedWarm.warm)], warm.length + plan.indexedWarm.warm, () => v.issueChallenge(), ours(v), { floor: { verify: floorVerify, rounds: plan.indexedWarm.rounds } }));
    }
    {
      // What the gate process spends with nothing to verify (the follower, timers), per second, in the steady state
      // (after the repeat taps: the index's first state check and backfill are long done).
      const idleProfiler = process.env.BENCH_PROFILE_IDLE ? await startProfiler() : undefined;
      await idleProfiler?.resume();
      const c0 = process.cpuUsage();
      const t0 = process.threadCpuUsage();
      const w0 = performance.now();
      await sleep(q ? 1_000 : 3_000);
      const wall = (performance.now() - w0) / 1000;
      const c = process.cpuUsage(c0);
      const t = process.threadCpuUsage(t0);
      if (idleProfiler) console.log(`  CPU profile of the idle gate written to ${await idleProfiler.stop()}`);
      idle = { processCpuMsPerSecond: (c.user + c.system) / 1000 / wall, mainThreadCpuMsPerSecond: (t.user + t.system) / 1000 / wall };
      console.log(`  idle, index following: process CPU ${fixed(idle.processCpuMsPerSecond, 1)} ms/s, main thread ${fixed(idle.mainThreadCpuMsPerSecond, 1)} ms/s`);
    }
    {
      const v = indexedVerifier(index, false);
      modes.push(await measure("ours, indexed (first taps)", "as above, credential never seen by this gate (parse, binding digest, issuer signature by OpenSSL against the issuer key cached per address)", cold.slice(0, plan.indexedCold.n + plan.indexedCold.warm), plan.indexedCold.warm, () => v.issueChallenge(), ours(v), { floor: { verify: floorVerify, rounds: plan.indexedCold.rounds } }));
    }
    index.stop();
    await index.sync();

    // --- lock propagation: once with the gate's provider (no response cache), once with ethers' defaults
    const followIntervalMs = 50;
    const defaultsProvider = new JsonRpcProvider(url); // ethers defaults: 10 ms batching, 250 ms response cache
    const propagation: PropagationResult[] = [];
    const helpDeskAddress = helpDeskSigner!.address;
    for (const [label, indexProvider, holders, tapsPerTrial] of [
      ["index on the gate's provider (cacheTimeout -1, no batching)", provider, propagationHolders.slice(0, plan.propagationTrials), 150],
      ["index on ethers JsonRpcProvider defaults (250 ms cache, 10 ms batching)", defaultsProvider, propagationHolders.slice(plan.propagationTrials), 400],
    ] as const) {
      const gateIndex = new LedgerIndex({ provider: indexProvider, deployment });
      await gateIndex.sync();
      gateIndex.follow(followIntervalMs, (e) => console.error("  index follow error:", e));
      followers.push(gateIndex);
      const gate = indexedVerifier(gateIndex, true);
      const samples: number[] = [];
      const sendToMined: number[] = [];
      for (const h of holders) {
        const taps = await makeTaps(Array.from({ length: tapsPerTrial }, () => h), () => gate.issueChallenge());
        const first = await ours(gate)(taps[0]!);
        if (first !== true) throw new Error(`propagation: the credential was refused before the lock: ${first}`);
        const tapper = (async () => {
          for (const tap of taps.slice(1)) {
            const r = await gate.verify(tap.vp, { challenge: tap.challenge, audience: AUD, policy: POLICIES.buildingGate });
            if (!r.ok) return { at: performance.now(), reasons: r.reasons };
            await sleep(1);
          }
          return { at: NaN, reasons: ["NEVER_REFUSED"] };
        })();
        await sleep(10 + Math.random() * followIntervalMs); // lock at a random phase of the follow interval
        const data = status.interface.encodeFunctionData("lock", [h.credentialId, ReasonCode.LOST_DEVICE]);
        const sentAt = performance.now();
        const hash = (await provider.send("eth_sendTransaction", [{ from: helpDeskAddress, to: deployment.statusRegistry, data }])) as string;
        const minedAt = performance.now(); // automine: the block holding the lock exists when the node answers
        const refused = await tapper;
        const receipt = await provider.getTransactionReceipt(hash);
        if (!receipt || receipt.status !== 1) throw new Error("propagation: the lock transaction was not mined");
        if (!refused.reasons.includes("CREDENTIAL_LOCKED")) throw new Error(`propagation: expected CREDENTIAL_LOCKED, got ${refused.reasons.join(",")}`);
        samples.push(refused.at - minedAt);
        sendToMined.push(minedAt - sentAt);
      }
      gateIndex.stop();
      await gateIndex.sync().catch(() => undefined); // let an in-flight sync finish before the provider goes
      propagation.push({
        config: label,
        followIntervalMs,
        trials: samples.length,
        samplesMs: samples.map((x) => Number(x.toFixed(2))),
        p50Ms: percentile(samples, 50),
        p95Ms: percentile(samples, 95),
        maxMs: Math.max(...samples),
        meanMs: mean(samples),
        sendToMinedMeanMs: mean(sendToMined),
      });
    }
    defaultsProvider.destroy();

    const indexedWarm = modes.find((m) => m.mode === "ours, indexed (repeat taps)")!;
    const indexedCold = modes.find((m) => m.mode === "ours, indexed (first taps)")!;
    const repeatFloor = indexedWarm.floor!;
    const firstFloor = indexedCold.floor!;
    const targets = [
      { name: "indexed gate ≥ 3,000 verifications/s per core (repeat taps)", measured: indexedWarm.perSecond, limit: 3000, met: indexedWarm.perSecond >= 3000 },
      { name: "indexed gate p99 ≤ 5 ms (repeat taps)", measured: indexedWarm.p99Ms, limit: 5, met: indexedWarm.p99Ms <= 5 },
      { name: "indexed gate ≥ 3,000 verifications/s per core (first taps)", measured: indexedCold.perSecond, limit: 3000, met: indexedCold.perSecond >= 3000 },
      { name: "indexed gate p99 ≤ 5 ms (first taps)", measured: indexedCold.p99Ms, limit: 5, met: indexedCold.p99Ms <= 5 },
      // Issue #13: per CPU-second, as fractions of the OpenSSL floor measured interleaved with the taps (median of the
      // rounds' ratios; one verify per repeat tap, two per first tap: the presentation's and the issuer's signature).
      { name: "indexed repeat taps ≥ 0.85 × one-verify floor (per CPU-s, median round)", measured: repeatFloor.ratioMedian, limit: 0.85, met: repeatFloor.ratioMedian >= 0.85 },
      { name: "indexed repeat taps p99 ≤ 2 ms", measured: indexedWarm.p99Ms, limit: 2, met: indexedWarm.p99Ms <= 2 },
      { name: "indexed first taps ≥ 0.5 × two-verify floor (per CPU-s, median round)", measured: 2 * firstFloor.ratioMedian, limit: 0.5, met: 2 * firstFloor.ratioMedian >= 0.5 },
    ];
    const base = modes.find((m) => m.mode === "baseline")!;
    const tables = [
      table(
        "2a. Gate verification, one core, sequential, JSON-RPC over HTTP to a local node",
        ["mode", "verifications", "per second", "vs baseline", "per CPU-second", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        modes.map((m) => [m.mode, int(m.iterations), fixed(m.perSecond, 0), ratio(m.perSecond, base.perSecond, 1), fixed(m.perCpuSecond, 0), fixed(m.p50Ms, 3), fixed(m.p95Ms, 3), fixed(m.p99Ms, 3), fixed(m.maxMs, 1)]),
      ),
      table(
        `2b. Lock propagation: lock included → first refusal at an indexed gate (LedgerIndex.follow every ${followIntervalMs} ms)`,
        ["index provider", "trials", "p50 ms", "p95 ms", "max ms", "mean ms", "(send → included, ms)"],
        propagation.map((p) => [p.config, String(p.trials), fixed(p.p50Ms, 1), fixed(p.p95Ms, 1), fixed(p.maxMs, 1), fixed(p.meanMs, 1), fixed(p.sendToMinedMeanMs, 1)]),
      ),
      table(
        "2c. Indexed taps against the one-verify floor, interleaved: per round, taps per CPU-s ÷ floor verifications per CPU-s",
        ["mode", "rounds", "taps per round", "floor per CPU-s", "taps per CPU-s", "median ratio", "min", "max", "main thread (median)", "per round"],
        [indexedWarm, indexedCold].map((m) => [
          m.mode, String(m.floor!.rounds.length), int(m.floor!.rounds[0]!.taps), fixed(m.floor!.perCpuSecond, 0), fixed(m.perCpuSecond, 0),
          fixed(m.floor!.ratioMedian, 3), fixed(m.floor!.ratioMin, 3), fixed(m.floor!.ratioMax, 3), fixed(median(m.floor!.rounds.map((r) => r.mainThreadRatio)), 3),
          m.floor!.rounds.map((r) => fixed(r.ratio, 2)).join(" "),
        ]),
      ),
      table("2d. Gate targets", ["target", "measured", "met"], targets.map((t) => [t.name, fixed(t.measured, t.limit < 10 ? 3 : 0), t.met ? "met" : "MISSED"])),
    ];
    return { rpc: "Hardhat JSON-RPC server in a child process on 127.0.0.1 (HTTP), ethers JsonRpcProvider (staticNetwork, no batching)", modes, idle, propagation, targets, tables };
  } finally {
    for (const f of followers) f.stop();
    provider.destroy();
    await node.stop();
  }
}

/**
 * Starts bench/node-server.ts in a child process (the same node and loader as this one) and answers its URL. The
 * child exits when its stdin closes: `stop()`, or this process ending in any way.
 */
async function startNode(): Promise<{ url: string; stop: () => Promise<void> }> {
  const file = fileURLToPath(new URL("./node-server.ts", import.meta.url));
  const child = spawn(process.execPath, [...process.execArgv, file], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let text = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      text += chunk;
      const line = text.split("\n")[0];
      if (text.includes("\n") && line !== undefined) resolve((JSON.parse(line) as { url: string }).url);
    });
    child.once("exit", (code) => reject(new Error(`the bench node exited (${code}) before listening`)));
    child.once("error", reject);
  });
  return {
    url,
    stop: async () => {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
