/**
 * The wallet file: one JSON document, replaced atomically on every state change.
 *
 * ```json
 * {
 *   "format": "mobile-civil-id/holder-wallet",
 *   "version": 1,
 *   "body": {
 *     "meta": { "chainId": "31337", "address": "0xAbC…", "did": "did:ethr:0x7a69:0xAbC…", "createdAt": "2025-…Z" },
 *     "failedAttempts": 0,
 *     "lockout": null,                         // { "at", "reason": "PIN_LOCKOUT", "credentialStatusId" } once locked
 *     "keystore": { "version": 3, "crypto": { "kdf": "scrypt", … } },   // null once locked
 *     "credential": "eyJ…"                    // the held VC JWT, or null
 *   },
 *   "checksum": "<sha-256 hex of JSON.stringify(body)>"
 * }
 * ```
 *
 * The checksum detects accidental damage (a torn copy, a flipped bit) so that a damaged keystore is reported as
 * WALLET_CORRUPT instead of being counted as wrong PINs until lockout. It is not a defence against someone who
 * can write the file: on a phone the file lives in app-private storage, and such a person could as well replace
 * the whole wallet.
 */
import { readFile } from "node:fs/promises";
import { getAddress, sha256, toUtf8Bytes } from "ethers";
import { CivilIdError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic-file.js";
import { MAX_CREDENTIAL_JWT_LENGTH } from "../credential/model.js";
import { didForAddress as holderDid, parseChainId } from "../did/did.js";
import type { KeystoreJson } from "./keystore.js";
import { MAX_FAILED_ATTEMPTS } from "./pin.js";

export const WALLET_FORMAT = "mobile-civil-id/holder-wallet";
export const WALLET_VERSION = 1;
// The lockout limit is part of the PIN rule (pin.ts, browser-safe: the web wallet applies the same limit).
export { MAX_FAILED_ATTEMPTS };

const MAX_WALLET_FILE_BYTES = 1024 * 1024;

export interface WalletMeta {
  /** Decimal. */
  chainId: string;
  /** Checksummed address of the device key. */
  address: string;
  did: string;
  /** ISO 8601. */
  createdAt: string;
}

export interface WalletLockout {
  /** ISO 8601. */
  at: string;
  reason: "PIN_LOCKOUT";
  /** Status id of the credential that was held, so the app can ask the issuer to lock it on chain. */
  credentialStatusId: string | null;
}

export interface WalletState {
  meta: WalletMeta;
  failedAttempts: number;
  lockout: WalletLockout | null;
  keystore: KeystoreJson | null;
  credential: string | null;
}

function corrupt(reason: string): CivilIdError {
  // Never include file contents: the message may end up in logs or crash reports.
  return new CivilIdError("WALLET_CORRUPT", `The wallet file is damaged (${reason}); re-activate the ID to get a new wallet.`);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isIsoDate(value: unknown): value is string {
  return typeof value === "string" && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value));
}

function checksumOf(body: unknown): string {
  return sha256(toUtf8Bytes(JSON.stringify(body))).slice(2);
}

export function serializeWallet(state: WalletState): string {
  const body = {
    meta: state.meta,
    failedAttempts: state.failedAttempts,
    lockout: state.lockout,
    keystore: state.keystore,
    credential: state.credential,
  };
  return `${JSON.stringify({ format: WALLET_FORMAT, version: WALLET_VERSION, body, checksum: checksumOf(body) }, null, 2)}\n`;
}

function parseMeta(value: unknown): WalletMeta {
  if (!isObject(value)) throw corrupt("no metadata");
  const { chainId, address, did, createdAt } = value;
  if (typeof chainId !== "string" || typeof address !== "string" || typeof did !== "string" || !isIsoDate(createdAt)) {
    throw corrupt("bad metadata");
  }
  let expectedDid: string;
  try {
    expectedDid = holderDid(parseChainId(chainId), address);
  } catch {
    throw corrupt("bad chain id or address");
  }
  if (did !== expectedDid || address !== getAddress(address)) throw corrupt("DID does not match chain and address");
  return { chainId, address, did, createdAt };
}

function parseKeystore(value: unknown, address: string): KeystoreJson {
  if (!isObject(value) || value["version"] !== 3 || typeof value["address"] !== "string" || !isObject(value["crypto"])) {
    throw corrupt("bad keystore");
  }
  const crypto = value["crypto"];
  const params = crypto["kdfparams"];
  const hex = (v: unknown, length?: number) =>
    typeof v === "string" && /^[0-9a-f]+$/i.test(v) && (length === undefined || v.length === length);
  const posInt = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v > 0;
  if (
    crypto["kdf"] !== "scrypt" ||
    crypto["cipher"] !== "aes-128-ctr" ||
    !hex(crypto["ciphertext"], 64) ||
    !hex(crypto["mac"], 64) ||
    !isObject(params) ||
    !posInt(params["n"]) ||
    ((params["n"] as number) & ((params["n"] as number) - 1)) !== 0 ||
    !posInt(params["r"]) ||
    !posInt(params["p"]) ||
    params["dklen"] !== 32 ||
    !hex(params["salt"])
  ) {
    throw corrupt("bad keystore parameters");
  }
  if (`0x${value["address"]}`.toLowerCase() !== address.toLowerCase()) throw corrupt("keystore is for another key");
  return value as KeystoreJson;
}

function parseLockout(value: unknown): WalletLockout | null {
  if (value === null) return null;
  if (
    !isObject(value) ||
    !isIsoDate(value["at"]) ||
    value["reason"] !== "PIN_LOCKOUT" ||
    !(value["credentialStatusId"] === null || typeof value["credentialStatusId"] === "string")
  ) {
    throw corrupt("bad lockout record");
  }
  return { at: value["at"], reason: "PIN_LOCKOUT", credentialStatusId: value["credentialStatusId"] };
}

/** Parses and validates the file's text; throws WALLET_CORRUPT on any deviation. */
export function parseWallet(text: string): WalletState {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw corrupt("not JSON"); // the SyntaxError quotes file contents: do not chain it
  }
  if (!isObject(document) || document["format"] !== WALLET_FORMAT) throw corrupt("not a holder wallet");
  if (document["version"] !== WALLET_VERSION) throw corrupt(`unsupported version ${JSON.stringify(document["version"])}`);
  const body = document["body"];
  if (!isObject(body) || document["checksum"] !== checksumOf(body)) throw corrupt("checksum mismatch");

  const meta = parseMeta(body["meta"]);
  const failedAttempts = body["failedAttempts"];
  if (typeof failedAttempts !== "number" || !Number.isInteger(failedAttempts) || failedAttempts < 0 || failedAttempts > MAX_FAILED_ATTEMPTS) {
    throw corrupt("bad attempt counter");
  }
  const lockout = parseLockout(body["lockout"]);
  const credential = body["credential"];
  if (!(credential === null || (typeof credential === "string" && credential.length <= MAX_CREDENTIAL_JWT_LENGTH))) {
    throw corrupt("bad credential");
  }
  if (lockout !== null) {
    if (body["keystore"] !== null || credential !== null) throw corrupt("locked wallet still holds key material");
    return { meta, failedAttempts, lockout, keystore: null, credential: null };
  }
  return { meta, failedAttempts, lockout, keystore: parseKeystore(body["keystore"], meta.address), credential };
}

/** Reads and validates a wallet file: WALLET_NOT_FOUND when absent, WALLET_CORRUPT when damaged. */
export async function readWalletFile(file: string): Promise<WalletState> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new CivilIdError("WALLET_NOT_FOUND", `No wallet at ${file}; activate the ID first.`);
    }
    throw error;
  }
  if (bytes.length > MAX_WALLET_FILE_BYTES) throw corrupt("file too large");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw corrupt("not UTF-8");
  }
  return parseWallet(text);
}

/** Replaces the wallet file atomically (temp file, fsync, rename, fsync dir), owner-only permissions. */
export async function writeWalletFile(file: string, state: WalletState): Promise<void> {
  await writeFileAtomic(file, serializeWallet(state), 0o600);
}
