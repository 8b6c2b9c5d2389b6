/**
 * The wallet's state in IndexedDB (one record): it survives reloads and works offline. The device key is stored
 * as the CryptoKey object itself (structured clone keeps it non-extractable); destroying the record destroys the key.
 */
import type { P256Jwk } from "../../sdk/did/jwk-format.js";

export interface PinVerifier {
  /** PBKDF2-SHA-256 of the PIN (WebCrypto), with its salt and iteration count. */
  readonly salt: string;
  readonly hash: string;
  readonly iterations: number;
}

export interface BiometricEnrolment {
  /** WebAuthn credential id (base64url) and its public key (SPKI, base64url) for checking assertions here. */
  readonly credentialId: string;
  readonly publicKey: string;
  /** PRF (hmac-secret) salt and the SHA-256 of the authenticator's answer, when the authenticator supports PRF. */
  readonly prf?: { readonly salt: string; readonly check: string };
}

export interface HeldCredential {
  readonly jwt: string;
  readonly issuerUrl: string;
  readonly issuerName: string;
  readonly receivedAt: string;
}

export interface PresentationRecord {
  readonly at: string;
  readonly verifier: string;
  readonly use: string;
  readonly claims: readonly string[];
  readonly outcome: "accepted" | "refused" | "built-offline";
  readonly detail?: string;
}

export interface WalletRecord {
  readonly version: 1;
  readonly deviceKey: CryptoKey | null;
  readonly publicJwk: P256Jwk | null;
  readonly did: string | null;
  readonly pin: PinVerifier | null;
  readonly failedAttempts: number;
  readonly biometric: BiometricEnrolment | null;
  readonly credential: HeldCredential | null;
  /** Set when five wrong PINs destroyed the key: only re-activation recovers. */
  readonly lockout: { readonly at: string; readonly reason: "PIN_LOCKOUT" } | null;
  readonly history: readonly PresentationRecord[];
}

const DB_NAME = "mcid-wallet";
const STORE = "wallet";
const KEY = "state";

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB did not open"));
  });
}

async function transact<T>(mode: IDBTransactionMode, run: (store: IDBObjectStore) => IDBRequest<T> | undefined): Promise<T | undefined> {
  const db = await open();
  try {
    return await new Promise<T | undefined>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = run(tx.objectStore(STORE));
      // Resolve on commit, not on the request: a write is durable only once its transaction completes.
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  } finally {
    db.close();
  }
}

export async function loadWallet(): Promise<WalletRecord | undefined> {
  return (await transact<WalletRecord>("readonly", (store) => store.get(KEY) as IDBRequest<WalletRecord>)) ?? undefined;
}

export async function saveWallet(record: WalletRecord): Promise<void> {
  await transact("readwrite", (store) => store.put(record, KEY));
}

export async function deleteWallet(): Promise<void> {
  await transact("readwrite", (store) => store.delete(KEY));
}

export function emptyWallet(): WalletRecord {
  return { version: 1, deviceKey: null, publicJwk: null, did: null, pin: null, failedAttempts: 0, biometric: null, credential: null, lockout: null, history: [] };
}
