/**
 * The device key at rest: an ethers v3 JSON keystore (scrypt KDF, AES-128-CTR, keccak-256 MAC) under the PIN.
 * No cryptography here beyond choosing the scrypt cost and telling a wrong PIN apart from a damaged keystore.
 *
 * Cost: six digits are 10^6 candidates, so the KDF cost is what an offline guesser who copied the wallet file
 * pays per guess. The production default is N = 2^17, r = 8, p = 1 (128 MiB, about a second on a phone); lower
 * costs are refused except through the frozen `TEST_ONLY_SCRYPT` object, which exists so test suites stay fast.
 */
import {
  SigningKey,
  computeAddress,
  decryptKeystoreJson,
  encryptKeystoreJson,
  getAddress,
  hexlify,
  isError,
  randomBytes,
  type KeystoreAccount,
} from "ethers";
import { CivilIdError } from "../errors.js";

export interface ScryptCost {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Production default: N = 2^17, r = 8, p = 1. */
export const PRODUCTION_SCRYPT: ScryptCost = Object.freeze({ N: 2 ** 17, r: 8, p: 1 });

/** Low cost for test suites only. Accepted by identity: a copy with the same numbers is refused. */
export const TEST_ONLY_SCRYPT: ScryptCost = Object.freeze({ N: 2 ** 10, r: 8, p: 1 });

const MIN_PRODUCTION_WORK = PRODUCTION_SCRYPT.N * PRODUCTION_SCRYPT.r; // memory-hardness: 128 * N * r bytes
const MAX_MEMORY_BYTES = 512 * 1024 * 1024;

/** Validates a scrypt cost for a new keystore (undefined: the production default). */
export function resolveScryptCost(cost: ScryptCost | undefined): ScryptCost {
  if (cost === undefined) return PRODUCTION_SCRYPT;
  if (cost === TEST_ONLY_SCRYPT) return cost;
  const { N, r, p } = cost;
  const valid =
    Number.isSafeInteger(N) && N > 1 && (N & (N - 1)) === 0 && Number.isSafeInteger(r) && r > 0 && Number.isSafeInteger(p) && p > 0;
  if (!valid) {
    throw new CivilIdError("INVALID_INPUT", "scrypt cost: N must be a power of two > 1, r and p positive integers.");
  }
  if (N * r < MIN_PRODUCTION_WORK) {
    throw new CivilIdError(
      "INVALID_INPUT",
      `scrypt cost N*r = ${N * r} is below the production minimum ${MIN_PRODUCTION_WORK} (N = 2^17, r = 8); tests use TEST_ONLY_SCRYPT.`,
    );
  }
  if (128 * N * r > MAX_MEMORY_BYTES) {
    throw new CivilIdError("INVALID_INPUT", `scrypt cost needs ${128 * N * r} bytes of memory; at most ${MAX_MEMORY_BYTES} are allowed.`);
  }
  return cost;
}

/** The secp256k1 group order. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** A fresh device key from the platform CSPRNG (rejection sampling keeps it uniform in [1, n-1]). */
export function generateDeviceKey(): SigningKey {
  for (;;) {
    const candidate = randomBytes(32);
    const scalar = BigInt(hexlify(candidate));
    if (scalar > 0n && scalar < SECP256K1_N) return new SigningKey(candidate);
  }
}

/** An ethers v3 keystore, as parsed JSON. Only the fields the wallet checks are typed. */
export interface KeystoreJson {
  version: 3;
  address: string;
  crypto: { kdf: string; ciphertext: string; mac: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** Encrypts `key` under `pin` with the given scrypt cost. */
export async function encryptDeviceKey(key: SigningKey, pin: string, cost: ScryptCost): Promise<KeystoreJson> {
  const account: KeystoreAccount = { address: addressOf(key), privateKey: key.privateKey };
  const json = await encryptKeystoreJson(account, pin, { scrypt: { N: cost.N, r: cost.r, p: cost.p } });
  // ethers writes the section as "Crypto" and reads it case-insensitively; store it as "crypto", the spelling of
  // the Web3 Secret Storage definition, so the wallet file has one canonical form.
  const { Crypto, ...rest } = JSON.parse(json) as Record<string, unknown>;
  return { ...rest, crypto: Crypto } as KeystoreJson;
}

/** The scrypt cost a keystore was written with (used to keep the cost when the PIN changes). */
export function keystoreScryptCost(keystore: KeystoreJson): ScryptCost {
  const params = keystore.crypto["kdfparams"] as { n?: unknown; r?: unknown; p?: unknown } | undefined;
  const N = Number(params?.n);
  const r = Number(params?.r);
  const p = Number(params?.p);
  if (N === TEST_ONLY_SCRYPT.N && r === TEST_ONLY_SCRYPT.r && p === TEST_ONLY_SCRYPT.p) return TEST_ONLY_SCRYPT;
  return { N, r, p };
}

export type DecryptResult = { ok: true; key: SigningKey } | { ok: false; reason: "WRONG_PIN" | "CORRUPT" };

/**
 * Decrypts the keystore. A MAC mismatch is a wrong PIN; anything else (bad structure, unknown cipher, address
 * mismatch) is a damaged keystore. Never throws and never puts keystore contents in a message.
 */
export async function decryptDeviceKey(keystore: KeystoreJson, pin: string, expectedAddress: string): Promise<DecryptResult> {
  let account: KeystoreAccount;
  try {
    account = await decryptKeystoreJson(JSON.stringify(keystore), pin);
  } catch (error) {
    if (isError(error, "INVALID_ARGUMENT") && error.argument === "password") return { ok: false, reason: "WRONG_PIN" };
    return { ok: false, reason: "CORRUPT" };
  }
  if (getAddress(account.address) !== getAddress(expectedAddress)) return { ok: false, reason: "CORRUPT" };
  return { ok: true, key: new SigningKey(account.privateKey) };
}

/** The Ethereum address of a signing key. */
export function addressOf(key: SigningKey): string {
  return computeAddress(key.publicKey);
}
