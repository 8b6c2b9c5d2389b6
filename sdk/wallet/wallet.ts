/**
 * The holder wallet: the phone's side of the mobile civil-servant ID, as a library.
 *
 * Security model
 * - The device key (secp256k1) is generated on the device and never leaves it. The holder's DID is
 *   `did:ethr:<chainIdHex>:<address>` of that key.
 * - At rest the key is an scrypt/AES keystore under the PIN: the PIN-derived key is what decrypts. A biometric
 *   check, when a {@link BiometricGate} is configured, gates every use of the key (presentation, document
 *   signature, PIN change) as a second factor: it is asked before the PIN is tried, so without the holder's
 *   biometrics nobody can even spend PIN attempts. Biometrics never replace the PIN.
 * - Five consecutive wrong PINs lock the wallet and destroy the key: the keystore and the credential are removed
 *   from the file, only the metadata and a lockout record stay. Only re-activation (a new wallet, new key, new
 *   credential from the issuer) recovers. A correct PIN resets the counter.
 * - Each PIN attempt is charged to the counter in the file *before* the keystore is tried, and every state change
 *   is written atomically before the call returns, so killing the process at any point can never give back an
 *   attempt. A crash in the middle of an attempt therefore counts as a wrong PIN; during the fifth, the next open
 *   completes the lockout.
 *
 * Limits (documented, not solved here): someone who copies the wallet file can guess PINs offline at the scrypt
 * cost per guess; on a phone the file belongs in app-private storage and the keystore should additionally be
 * wrapped by a hardware-backed key (Android Keystore / Secure Enclave) that is deleted at lockout. JavaScript
 * cannot wipe the decrypted key from memory; it is held only for the duration of one operation. The attempt
 * counter is serialised per file within one process; the wallet file must not be shared between processes.
 */
import path from "node:path";
import { stat } from "node:fs/promises";
import { hashMessage, type SigningKey } from "ethers";
import { CivilIdError } from "../errors.js";
import type { JwsSigner } from "../credential/jws.js";
import { didForAddress as holderDid, parseChainId } from "../did/did.js";
import { activationMessage, isActivationChallenge, type ActivationChallenge } from "../protocol/activation.js";
import { collectionMessage, isCollectionChallenge, type CollectionChallenge } from "../protocol/collection.js";
import { checkDocumentSigningRequest, signDocumentJwt, type DocumentSignature } from "../protocol/document-signature.js";
import { checkPresentationRequest, signPresentation, type PresentationRequest } from "../protocol/presentation.js";
import { es256kSigner } from "../protocol/signers.js";
import { describeCredential, inspectCredential, type HeldCredentialInfo } from "./credential.js";
import {
  addressOf,
  decryptDeviceKey,
  encryptDeviceKey,
  generateDeviceKey,
  keystoreScryptCost,
  resolveScryptCost,
  type ScryptCost,
} from "./keystore.js";
import { assertStrongPin, isWellFormedPin, type PinPolicyOptions } from "./pin.js";
import { MAX_FAILED_ATTEMPTS, readWalletFile, writeWalletFile, type WalletState } from "./wallet-file.js";

/** The phone's biometric prompt. `verify` resolves true only when the holder was recognised; a throw counts as a refusal. */
export interface BiometricGate {
  verify(reason: string): Promise<boolean>;
}

export interface WalletOptions {
  /** Second factor for every use of the key. Without one, the PIN alone unlocks. */
  biometricGate?: BiometricGate;
  /** Clock for timestamps (default: system clock). */
  clock?: () => Date;
  /** Extra values to refuse as a new PIN (e.g. the holder's birth date in other orders). */
  pinPolicy?: PinPolicyOptions;
}

export interface CreateWalletOptions extends WalletOptions {
  pin: string;
  chainId: number | bigint;
  /** scrypt cost of the keystore; default PRODUCTION_SCRYPT. Tests pass TEST_ONLY_SCRYPT. */
  scrypt?: ScryptCost;
  /**
   * Re-activation: replace whatever wallet is in the file (a locked one, or an active one whose key is then
   * lost for good). Without it, an existing file is refused with WALLET_EXISTS.
   */
  replaceExisting?: boolean;
}

export interface WalletStatus {
  did: string;
  address: string;
  chainId: bigint;
  createdAt: Date;
  locked: boolean;
  lockedAt: Date | undefined;
  failedAttempts: number;
  attemptsLeft: number;
  /** The held credential (undefined when none); for a locked wallet, only the status id of the one it held. */
  credential: { digest: string | undefined; statusId: string | undefined; expiresAt: Date | undefined } | undefined;
}

export interface PresentationOptions extends PresentationRequest {
  pin: string;
}

export interface SignDocumentOptions {
  pin: string;
  document: Uint8Array;
  /** Shown to the signer and bound into the signature, e.g. "결재" or "출장 신청서 승인". */
  purpose?: string;
}

// One queue per wallet file (by absolute path) so that concurrent calls cannot lose a counter update.
const queues = new Map<string, Promise<void>>();

async function exclusive<T>(file: string, task: () => Promise<T>): Promise<T> {
  const key = path.resolve(file);
  const previous = queues.get(key) ?? Promise.resolve();
  let release!: () => void;
  const current = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => current);
  queues.set(key, tail);
  try {
    await previous;
    return await task();
  } finally {
    release();
    if (queues.get(key) === tail) queues.delete(key);
  }
}

function lockedError(state: WalletState): CivilIdError {
  return new CivilIdError(
    "WALLET_LOCKED",
    `The wallet is locked after ${MAX_FAILED_ATTEMPTS} wrong PINs and its key was destroyed; re-activate the ID to get a new one.`,
    { details: { lockedAt: state.lockout?.at, reason: state.lockout?.reason, credentialStatusId: state.lockout?.credentialStatusId } },
  );
}

function requirePinFormat(pin: unknown): asserts pin is string {
  // A malformed PIN can never be the PIN: refused without spending an attempt.
  if (!isWellFormedPin(pin)) throw new CivilIdError("INVALID_INPUT", "A PIN is exactly 6 digits 0-9.");
}

export class HolderWallet {
  readonly file: string;
  readonly did: string;
  readonly address: string;
  readonly chainId: bigint;
  private readonly options: WalletOptions;

  private constructor(file: string, state: WalletState, options: WalletOptions) {
    this.file = file;
    this.did = state.meta.did;
    this.address = state.meta.address;
    this.chainId = BigInt(state.meta.chainId);
    this.options = options;
  }

  /**
   * Creates a wallet: a new device key under `pin` (checked against the PIN policy: WEAK_PIN), written to `file`.
   * WALLET_EXISTS when the file exists, unless `replaceExisting`.
   */
  static async create(file: string, options: CreateWalletOptions): Promise<HolderWallet> {
    const { pin, chainId, scrypt, replaceExisting, ...walletOptions } = options;
    assertStrongPin(pin, walletOptions.pinPolicy);
    const chain = parseChainId(chainId);
    const cost = resolveScryptCost(scrypt);
    return exclusive(file, async () => {
      if (replaceExisting !== true && (await exists(file))) {
        throw new CivilIdError("WALLET_EXISTS", `A wallet already exists at ${file}; re-activation must ask to replace it.`);
      }
      const key = generateDeviceKey();
      const address = addressOf(key);
      const state: WalletState = {
        meta: {
          chainId: chain.toString(),
          address,
          did: holderDid(chain, address),
          createdAt: (walletOptions.clock?.() ?? new Date()).toISOString(),
        },
        failedAttempts: 0,
        lockout: null,
        keystore: await encryptDeviceKey(key, pin, cost),
        credential: null,
      };
      await writeWalletFile(file, state);
      return new HolderWallet(file, state, walletOptions);
    });
  }

  /** Opens an existing wallet (WALLET_NOT_FOUND, WALLET_CORRUPT). A locked wallet opens; its key operations refuse. */
  static async open(file: string, options: WalletOptions = {}): Promise<HolderWallet> {
    return exclusive(file, async () => {
      const state = await loadAndRecover(file, options);
      return new HolderWallet(file, state, options);
    });
  }

  async status(): Promise<WalletStatus> {
    return exclusive(this.file, async () => {
      const state = await this.load();
      const held = state.credential === null ? undefined : describeCredential(state.credential);
      const lockedStatusId = state.lockout?.credentialStatusId ?? undefined;
      return {
        did: this.did,
        address: this.address,
        chainId: this.chainId,
        createdAt: new Date(state.meta.createdAt),
        locked: state.lockout !== null,
        lockedAt: state.lockout === null ? undefined : new Date(state.lockout.at),
        failedAttempts: state.failedAttempts,
        attemptsLeft: state.lockout === null ? MAX_FAILED_ATTEMPTS - state.failedAttempts : 0,
        credential:
          held !== undefined
            ? { digest: held.digest, statusId: held.statusId, expiresAt: held.expiresAt === undefined ? undefined : new Date(held.expiresAt * 1000) }
            : lockedStatusId !== undefined
              ? { digest: undefined, statusId: lockedStatusId, expiresAt: undefined }
              : undefined,
      };
    });
  }

  /** The held credential JWT, or undefined. WALLET_LOCKED when locked. */
  async credential(): Promise<string | undefined> {
    return exclusive(this.file, async () => {
      const state = await this.load();
      if (state.lockout !== null) throw lockedError(state);
      return state.credential ?? undefined;
    });
  }

  /**
   * Stores `jwt` as the wallet's one credential, replacing any previous one. It must be a signed VC JWT issued to
   * this wallet's DID and not expired (MALFORMED_JWT, CREDENTIAL_SUBJECT_MISMATCH, INVALID_INPUT). The credential
   * is public data bound to the DID, so no PIN is needed; the issuer's signature is checked by verifiers.
   */
  async storeCredential(jwt: string): Promise<HeldCredentialInfo> {
    return exclusive(this.file, async () => {
      const state = await this.load();
      if (state.lockout !== null) throw lockedError(state);
      const info = inspectCredential(jwt, this.did, this.nowSeconds());
      await writeWalletFile(this.file, { ...state, credential: jwt });
      return info;
    });
  }

  /**
   * Checks the PIN (spends an attempt when wrong: WRONG_PIN, then WALLET_LOCKED). Like every PIN attempt it goes
   * through the biometric gate first, when one is configured: without it a phone thief would have a PIN oracle
   * (and could wipe the key with five wrong PINs).
   */
  async verifyPin(pin: string): Promise<void> {
    await exclusive(this.file, async () => {
      const state = await this.load();
      if (state.lockout !== null) throw lockedError(state);
      requirePinFormat(pin);
      await this.requireBiometric("Confirm the PIN of your civil-servant ID");
      await this.unlock(state, pin);
    });
  }

  /** Re-encrypts the key under `newPin` (checked against the policy first: WEAK_PIN), keeping the scrypt cost. */
  async changePin(currentPin: string, newPin: string): Promise<void> {
    await exclusive(this.file, async () => {
      const state = await this.load();
      if (state.lockout !== null) throw lockedError(state);
      assertStrongPin(newPin, this.options.pinPolicy);
      requirePinFormat(currentPin);
      await this.requireBiometric("Change the PIN of your civil-servant ID");
      const { key, state: unlocked } = await this.unlock(state, currentPin);
      const cost = resolveScryptCost(keystoreScryptCost(unlocked.keystore!));
      await writeWalletFile(this.file, { ...unlocked, keystore: await encryptDeviceKey(key, newPin, cost) });
    });
  }

  /**
   * A VP JWT presenting the held credential to `audience`, answering `challenge`. Needs the PIN and, if
   * configured, the biometric gate. INVALID_INPUT, NO_CREDENTIAL, BIOMETRIC_REFUSED, WRONG_PIN, WALLET_LOCKED.
   */
  async createPresentation(options: PresentationOptions): Promise<string> {
    return exclusive(this.file, async () => {
      const state = await this.load();
      if (state.lockout !== null) throw lockedError(state);
      checkPresentationRequest(options);
      const credential = requireCredential(state);
      requirePinFormat(options.pin);
      await this.requireBiometric(`Present your civil-servant ID to ${options.audience}`);
      const { signer } = await this.unlockSigner(state, options.pin);
      return signPresentation({
        holder: this.did,
        signer,
        credential,
        challenge: options.challenge,
        audience: options.audience,
        ...(options.expiresInSeconds === undefined ? {} : { expiresInSeconds: options.expiresInSeconds }),
        now: this.nowSeconds(),
      });
    });
  }

  /**
   * A detached signature over `document`, bound to the held credential (see protocol/document-signature.ts). Needs the
   * PIN and, if configured, the biometric gate.
   */
  async signDocument(options: SignDocumentOptions): Promise<DocumentSignature> {
    return exclusive(this.file, async () => {
      const state = await this.load();
      if (state.lockout !== null) throw lockedError(state);
      checkDocumentSigningRequest(options.document, options.purpose);
      const credential = requireCredential(state);
      const info = describeCredential(credential);
      requirePinFormat(options.pin);
      await this.requireBiometric(options.purpose === undefined ? "Sign a document" : `Sign a document: ${options.purpose}`);
      const { signer } = await this.unlockSigner(state, options.pin);
      return signDocumentJwt({
        signerDid: this.did,
        signer,
        credential,
        credentialStatusId: info.statusId,
        document: options.document,
        ...(options.purpose === undefined ? {} : { purpose: options.purpose }),
        now: this.nowSeconds(),
      });
    });
  }

  /**
   * Proves possession of the device key to the issuer at activation: signs the issuer's challenge (an EIP-191
   * message naming the chain, the request, this wallet's DID and the challenge; see protocol/activation.ts) and
   * returns what `IssuanceWorkflow.activate` checks. Needs the PIN (this is also where the PIN is first proven)
   * and, if configured, the biometric gate. The wallet holds no credential yet at this point.
   */
  async activationProof(options: { pin: string; challenge: ActivationChallenge }): Promise<{ did: string; publicKey: string; signature: string }> {
    return exclusive(this.file, async () => {
      const state = await this.load();
      if (state.lockout !== null) throw lockedError(state);
      const c = options.challenge;
      if (!isActivationChallenge(c) || BigInt(c.chainId) !== this.chainId) {
        throw new CivilIdError("INVALID_INPUT", "The activation challenge is malformed or for another chain.");
      }
      requirePinFormat(options.pin);
      await this.requireBiometric("Activate your civil-servant ID on this phone");
      const { key } = await this.unlock(state, options.pin);
      const message = activationMessage(c, this.did);
      const signature = key.sign(hashMessage(message)).serialized;
      return { did: this.did, publicKey: key.publicKey, signature };
    });
  }

  /**
   * Proves possession of the device key again to collect the issued credential: signs the issuer's collection
   * challenge (an EIP-191 message naming the chain, the request, this wallet's DID, the challenge and its expiry;
   * see protocol/collection.ts) for `IssuanceWorkflow.collectCredential`. Needs the PIN and, if configured, the
   * biometric gate; store the credential it returns with {@link storeCredential}.
   */
  async collectionProof(options: { pin: string; challenge: CollectionChallenge }): Promise<{ did: string; signature: string }> {
    return exclusive(this.file, async () => {
      const state = await this.load();
      if (state.lockout !== null) throw lockedError(state);
      const c = options.challenge;
      if (!isCollectionChallenge(c) || BigInt(c.chainId) !== this.chainId) {
        throw new CivilIdError("INVALID_INPUT", "The collection challenge is malformed or for another chain.");
      }
      requirePinFormat(options.pin);
      await this.requireBiometric("Receive your civil-servant ID on this phone");
      const { key } = await this.unlock(state, options.pin);
      return { did: this.did, signature: key.sign(hashMessage(collectionMessage(c, this.did))).serialized };
    });
  }

  private nowSeconds(): number {
    return Math.floor((this.options.clock?.() ?? new Date()).getTime() / 1000);
  }

  private async load(): Promise<WalletState> {
    const state = await loadAndRecover(this.file, this.options);
    if (state.meta.address !== this.address) {
      throw new CivilIdError("WALLET_NOT_FOUND", `The wallet opened from ${this.file} was replaced by re-activation; open the file again.`);
    }
    return state;
  }

  private async requireBiometric(reason: string): Promise<void> {
    const gate = this.options.biometricGate;
    if (gate === undefined) return;
    let approved: boolean;
    try {
      approved = (await gate.verify(reason)) === true;
    } catch (error) {
      throw new CivilIdError("BIOMETRIC_REFUSED", "Biometric verification failed.", { cause: error });
    }
    if (!approved) throw new CivilIdError("BIOMETRIC_REFUSED", "Biometric verification was refused.");
  }

  /**
   * One PIN attempt: charge the counter in the file, try the keystore, then reset the counter (right PIN), lock
   * and destroy the key (fifth wrong PIN) or report the attempts left.
   */
  private async unlock(state: WalletState, pin: string): Promise<{ key: SigningKey; state: WalletState }> {
    const keystore = state.keystore;
    if (keystore === null) throw lockedError(state);
    const charged: WalletState = { ...state, failedAttempts: state.failedAttempts + 1 };
    await writeWalletFile(this.file, charged);
    const result = await decryptDeviceKey(keystore, pin, state.meta.address);
    if (result.ok) {
      const reset: WalletState = { ...charged, failedAttempts: 0 };
      await writeWalletFile(this.file, reset);
      return { key: result.key, state: reset };
    }
    if (result.reason === "CORRUPT") {
      await writeWalletFile(this.file, state); // the PIN was not what failed: give the attempt back
      throw new CivilIdError("WALLET_CORRUPT", "The wallet's keystore is damaged; re-activate the ID to get a new wallet.");
    }
    if (charged.failedAttempts >= MAX_FAILED_ATTEMPTS) {
      const locked = lockState(charged, this.options);
      await writeWalletFile(this.file, locked);
      throw lockedError(locked);
    }
    const attemptsLeft = MAX_FAILED_ATTEMPTS - charged.failedAttempts;
    throw new CivilIdError("WRONG_PIN", `Wrong PIN; ${attemptsLeft} attempt${attemptsLeft === 1 ? "" : "s"} left before the wallet locks.`, {
      details: { attemptsLeft, failedAttempts: charged.failedAttempts },
    });
  }

  private async unlockSigner(state: WalletState, pin: string): Promise<{ signer: JwsSigner }> {
    const { key } = await this.unlock(state, pin);
    return { signer: es256kSigner(key) };
  }
}

function requireCredential(state: WalletState): string {
  if (state.credential === null) {
    throw new CivilIdError("NO_CREDENTIAL", "The wallet holds no credential yet; finish activation to receive it.");
  }
  return state.credential;
}

/** The locked form of a wallet: metadata and the lockout record only; keystore and credential are gone. */
function lockState(state: WalletState, options: WalletOptions): WalletState {
  return {
    meta: state.meta,
    failedAttempts: MAX_FAILED_ATTEMPTS,
    lockout: {
      at: (options.clock?.() ?? new Date()).toISOString(),
      reason: "PIN_LOCKOUT",
      credentialStatusId: state.credential === null ? null : (describeCredential(state.credential).statusId ?? null),
    },
    keystore: null,
    credential: null,
  };
}

/** Reads the file; completes a lockout that a crash interrupted (counter at the limit, key still there). */
async function loadAndRecover(file: string, options: WalletOptions): Promise<WalletState> {
  const state = await readWalletFile(file);
  if (state.lockout === null && state.failedAttempts >= MAX_FAILED_ATTEMPTS) {
    const locked = lockState(state, options);
    await writeWalletFile(file, locked);
    return locked;
  }
  return state;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw error;
  }
}
