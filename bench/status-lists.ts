/**
 * Section 4: standard status lists and offline snapshots at national scale, from a synthetic ledger state (no
 * chain: what is measured is building, signing, sizes and verifying). N credentials over the organisations, a
 * share of them non-valid at random positions (3 revoked : 1 locked), each organisation's list padded to
 * 131,072 entries (herd privacy) — and, for comparison, the same N as one national list and unpadded lists.
 */
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { performance } from "node:perf_hooks";
import { Wallet, type SigningKey } from "ethers";
import { CredentialState, OrgKind, OrgStatus, ReasonCode, credentialTypeId, CIVIL_SERVANT_ID_TYPE } from "../sdk/chain/codes.js";
import {
  buildBundle,
  buildSnapshot,
  compressStatuses,
  signSnapshot,
  statusValues,
  verifyBundle,
  verifySnapshot,
  type IssuerKeyState,
  type LedgerState,
  type OrganisationState,
} from "../sdk/status-list/index.js";
import { fixed, int, table } from "./lib.js";

export interface StatusListRun {
  readonly nonValidShare: number;
  readonly credentials: number;
  readonly organisations: number;
  /** One list of all N entries (no padding): lst bytes (base64url), and the zlib stream's own bytes. */
  readonly nationalListLstBytes: number;
  readonly nationalListZlibBytes: number;
  /** Bundle of per-organisation lists padded to 131,072 entries: JSON bytes, build and verify CPU ms. */
  readonly bundleBytes: number;
  /** The bundle as sent with HTTP Content-Encoding: gzip. */
  readonly bundleGzipBytes: number;
  readonly bundleBuildCpuMs: number;
  readonly bundleVerifyCpuMs: number;
  /** Same bundle without padding. */
  readonly bundleUnpaddedBytes: number;
}

export interface StatusListResults {
  readonly runs: StatusListRun[];
  readonly snapshot: { readonly credentials: number; readonly bytes: number; readonly buildCpuMs: number; readonly verifyCpuMs: number };
  readonly tables: string[];
}

const cpuMs = <T>(fn: () => T): { value: T; ms: number } => {
  const c0 = process.cpuUsage();
  const value = fn();
  const c = process.cpuUsage(c0);
  return { value, ms: (c.user + c.system) / 1000 };
};

function syntheticState(n: number, organisations: number, nonValidShare: number, keys: readonly IssuerKeyState[], withDigests: boolean): LedgerState {
  const perOrg = Math.ceil(n / organisations);
  const orgs: OrganisationState[] = [];
  for (let i = 0; i < organisations; i++) {
    const count = Math.min(perOrg, n - i * perOrg);
    const statuses = new Uint8Array(count);
    for (let s = 0; s < count; s++) {
      if (Math.random() >= nonValidShare) continue;
      statuses[s] = Math.random() < 0.75 ? CredentialState.Revoked | (ReasonCode.LEFT_SERVICE << 2) : CredentialState.Locked | (ReasonCode.LOST_DEVICE << 2);
    }
    orgs.push({
      agencyCode: keys[i]!.agencyCode,
      kind: i % 2 === 0 ? OrgKind.CentralAgency : OrgKind.LocalGovernment,
      status: OrgStatus.Active,
      credentialTypes: [credentialTypeId(CIVIL_SERVANT_ID_TYPE).toLowerCase()],
      count,
      statuses,
      ...(withDigests ? { digests: new Uint8Array(randomBytes(count * 32)) } : {}),
    });
  }
  return {
    chainId: 2026,
    statusRegistry: "0x" + "11".repeat(20),
    issuerRegistry: "0x" + "22".repeat(20),
    blockNumber: 1_000_000,
    blockHash: "0x" + randomBytes(32).toString("hex"),
    blockTimestamp: Math.floor(Date.now() / 1000),
    organisations: orgs,
    keys,
  };
}

export function runStatusLists(options: { quick: boolean }): Promise<StatusListResults> {
  const n = options.quick ? 120_000 : 1_200_000;
  const organisations = options.quick ? 30 : 300;
  const signerKeys: SigningKey[] = Array.from({ length: organisations }, () => Wallet.createRandom().signingKey);
  const keys: IssuerKeyState[] = signerKeys.map((k, i) => {
    const issuer = new Wallet(k.privateKey).address;
    return { issuer, agencyCode: 1_000_000 + 7_919 * (i + 1), validFrom: 0, validUntil: 2 ** 40, compromised: false, didOwner: issuer, didDeactivated: false };
  });
  const signers = new Map(keys.map((k, i) => [k.agencyCode, signerKeys[i]!]));
  const runs: StatusListRun[] = [];
  for (const share of [0.01, 0.05]) {
    const state = syntheticState(n, organisations, share, keys, false);
    const all = new Uint8Array(n);
    let o = 0;
    for (const org of state.organisations) {
      all.set(statusValues(org, 0), o);
      o += org.count;
    }
    const issuedAt = state.blockTimestamp;
    const built = cpuMs(() => buildBundle(state, signers, { baseUri: "https://status.civil-id.go.kr", issuedAt }));
    const body = JSON.stringify(built.value);
    const verified = cpuMs(() => verifyBundle(body, { keys, now: issuedAt, maxAgeSeconds: 60 }));
    if (verified.value.size !== organisations) throw new Error("the bundle did not verify every list");
    const unpadded = JSON.stringify(buildBundle(state, signers, { baseUri: "https://status.civil-id.go.kr", issuedAt, minEntries: 0 }));
    const run: StatusListRun = {
      nonValidShare: share,
      credentials: n,
      organisations,
      nationalListLstBytes: compressStatuses(all).length,
      nationalListZlibBytes: Buffer.from(compressStatuses(all), "base64url").length,
      bundleBytes: Buffer.byteLength(body),
      bundleGzipBytes: gzipSync(body, { level: 9 }).length,
      bundleBuildCpuMs: built.ms,
      bundleVerifyCpuMs: verified.ms,
      bundleUnpaddedBytes: Buffer.byteLength(unpadded),
    };
    console.log(`  ${share * 100} % non-valid: bundle ${fixed(run.bundleBytes / 1024, 1)} KiB, built in ${fixed(run.bundleBuildCpuMs, 0)} CPU-ms`);
    runs.push(run);
  }
  const snapState = syntheticState(n, organisations, 0.05, keys, true);
  const members = Array.from({ length: 3 }, () => Wallet.createRandom());
  const snap = cpuMs(() => members.reduce((doc, m) => signSnapshot(doc, m.signingKey, snapState.blockTimestamp), buildSnapshot(snapState)));
  const snapText = JSON.stringify(snap.value);
  const t0 = performance.now();
  const snapVerify = cpuMs(() => verifySnapshot(snapText, { trusted: members.map((m) => m.address), threshold: 3, chainId: snapState.chainId, statusRegistry: snapState.statusRegistry }));
  if (snapVerify.value.state.organisations.length !== organisations) throw new Error("the snapshot did not verify");
  console.log(`  snapshot: ${fixed(Buffer.byteLength(snapText) / 2 ** 20, 1)} MiB, verified in ${fixed(performance.now() - t0, 0)} ms`);
  const snapshot = { credentials: n, bytes: Buffer.byteLength(snapText), buildCpuMs: snap.ms, verifyCpuMs: snapVerify.ms };
  const kib = (b: number) => fixed(b / 1024, 1);
  const tables = [
    table(
      `4a. Token Status Lists: ${int(n)} credentials over ${organisations} organisations (2 bits, zlib 9, random non-valid positions, 3 revoked : 1 locked)`,
      ["measure", ...runs.map((r) => `${r.nonValidShare * 100} % non-valid`)],
      [
        ["one national list of N entries: zlib stream (KiB)", ...runs.map((r) => kib(r.nationalListZlibBytes))],
        ["one national list of N entries: lst, base64url (KiB)", ...runs.map((r) => kib(r.nationalListLstBytes))],
        ["national bundle, lists padded to 131,072 (KiB, JSON)", ...runs.map((r) => kib(r.bundleBytes))],
        ["  the same, sent with Content-Encoding: gzip (KiB)", ...runs.map((r) => kib(r.bundleGzipBytes))],
        ["national bundle, unpadded lists (KiB, JSON)", ...runs.map((r) => kib(r.bundleUnpaddedBytes))],
        ["bundle build + sign, all organisations (CPU ms)", ...runs.map((r) => fixed(r.bundleBuildCpuMs, 0))],
        ["bundle verify, all lists (CPU ms)", ...runs.map((r) => fixed(r.bundleVerifyCpuMs, 0))],
      ],
    ),
    table(`4b. Offline gate snapshot: ${int(n)} credentials with binding digests, 3 member signatures`, ["measure", "value"], [
      ["snapshot size (MiB, JSON)", fixed(snapshot.bytes / 2 ** 20, 1)],
      ["build + 3 signatures (CPU ms)", fixed(snapshot.buildCpuMs, 0)],
      ["verify (CPU ms)", fixed(snapshot.verifyCpuMs, 0)],
    ]),
  ];
  return Promise.resolve({ runs, snapshot, tables });
}
