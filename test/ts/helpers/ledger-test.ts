/**
 * Small helpers shared by the contract test files: one fixture per `describe`, restored from a snapshot before
 * each test, plus deterministic holder references and bulk registration.
 */
import { keccak256, toUtf8Bytes, Signature, type ContractTransactionResponse } from "ethers";
import type { CredentialStatusRegistry } from "../../../sdk/chain/contracts.js";
import { deployFixture } from "./fixture.js";

export type Fixture = Awaited<ReturnType<typeof deployFixture>>;
type Snapshot = Awaited<ReturnType<Fixture["networkHelpers"]["takeSnapshot"]>>;

/** secp256k1 group order: a signature (r, s) also verifies as (r, n - s) with the other parity. */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * Deploys `deployFixture(options)` once in a `before` hook, runs `setup` (extra deployments the tests share) and
 * restores that state before every test of the enclosing `describe`. Returns a holder whose `f` is set once the
 * hook ran.
 */
export function useFixture(
  options: { accredit?: boolean } = {},
  setup?: (f: Fixture) => Promise<void>,
): { f: Fixture } {
  const holder = {} as { f: Fixture };
  let snapshot: Snapshot;
  before(async function () {
    holder.f = await deployFixture(options);
    if (setup) await setup(holder.f);
    snapshot = await holder.f.networkHelpers.takeSnapshot();
  });
  beforeEach(async function () {
    await snapshot.restore();
  });
  return holder;
}

/** A salted-hash holder reference, as the issuing server derives it (never personal data). */
export function holderRef(label: string | number): string {
  return keccak256(toUtf8Bytes(`test-salt|holder|${label}`));
}

/** Stand-in for keccak256 of a credential JWT. */
export function jwtDigest(label: string | number): string {
  return keccak256(toUtf8Bytes(`test-jwt|${label}`));
}

/** Mines `tx` and returns its receipt; fails the test if the receipt is missing. */
export async function mined(tx: Promise<ContractTransactionResponse>) {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("transaction was not mined");
  return receipt;
}

/**
 * Registers `count` credentials for distinct fresh holders (`${prefix}-${i}`) in chunks small enough for one
 * transaction each; returns the ids in order.
 */
export async function registerMany(
  status: CredentialStatusRegistry,
  count: number,
  prefix: string,
  chunk = 250,
): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (let start = 0; start < count; start += chunk) {
    const n = Math.min(chunk, count - start);
    const refs = Array.from({ length: n }, (_, i) => holderRef(`${prefix}-${start + i}`));
    const digests = Array.from({ length: n }, (_, i) => jwtDigest(`${prefix}-${start + i}`));
    const receipt = await mined(status.registerBatch(refs, digests));
    // The first id is in the first CredentialRegistered event; the others follow consecutively.
    const first = receipt.logs.map((log) => status.interface.parseLog(log)).find((e) => e?.name === "CredentialRegistered");
    if (!first) throw new Error("registerBatch emitted no CredentialRegistered event");
    for (let i = 0; i < n; i++) ids.push((first.args.credentialId as bigint) + BigInt(i));
  }
  return ids;
}

/** The same signature with s' = n - s and the other recovery id: valid for ecrecover, refused by OZ ECDSA. */
export function highS(sig: { v: number; r: string; s: string }): { v: number; r: string; s: string } {
  const s = SECP256K1_N - BigInt(sig.s);
  return { v: sig.v === 27 ? 28 : 27, r: sig.r, s: "0x" + s.toString(16).padStart(64, "0") };
}

/** 65-byte form of `highS`. */
export function highSBytes(signature: string): string {
  const sig = Signature.from(signature);
  const flipped = highS({ v: sig.v, r: sig.r, s: sig.s });
  return flipped.r + flipped.s.slice(2) + (flipped.v === 27 ? "1b" : "1c");
}
