import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { Resolver, type DIDResolutionResult, type ParsedDID } from "did-resolver";
import { SigningKey, Wallet, decryptKeystoreJson, getAddress, type BaseWallet } from "ethers";
import { makeCredentialId } from "../../../sdk/chain/codes.js";
import { deviceKeyJwk, issueCredentialJwt, issuerFromPrivateKey, statusRef } from "../../../sdk/credential/index.js";
import { isCivilIdError, type ErrorCode } from "../../../sdk/errors.js";
import { didForAddress as holderDid } from "../../../sdk/did/did.js";
import { HolderWallet, TEST_ONLY_SCRYPT, type BiometricGate, type WalletOptions } from "../../../sdk/wallet/index.js";

export const CHAIN_ID = 31337;
export const PIN = "482915";
export const OTHER_PIN = "730461";

/**
 * The DID document ethr-did-resolver returns for a did:ethr with no on-chain changes: one
 * EcdsaSecp256k1RecoveryMethod2020 controller key identified by its blockchainAccountId.
 */
export function defaultEthrDocument(did: string, chainId: bigint, address: string): DIDResolutionResult {
  return {
    didResolutionMetadata: { contentType: "application/did+ld+json" },
    didDocumentMetadata: {},
    didDocument: {
      "@context": [
        "https://www.w3.org/ns/did/v1",
        "https://w3id.org/security/suites/secp256k1recovery-2020/v2",
        "https://w3id.org/security/v3-unstable",
      ],
      id: did,
      verificationMethod: [
        {
          id: `${did}#controller`,
          type: "EcdsaSecp256k1RecoveryMethod2020",
          controller: did,
          blockchainAccountId: `eip155:${chainId}:${address}`,
        },
      ],
      authentication: [`${did}#controller`],
      assertionMethod: [`${did}#controller`],
    },
  };
}

/**
 * A did-resolver Resolver with a stub `ethr` method (no chain): every `did:ethr:<chainId>:<address>` resolves to
 * its default document. `controllers` overrides the controlling address of a DID (a key rotation on chain);
 * `unresolvable` DIDs fail as a node outage would.
 */
export function stubEthrResolver(options: { controllers?: Map<string, string>; unresolvable?: Set<string> } = {}): Resolver {
  return new Resolver({
    ethr: async (did: string, parsed: ParsedDID): Promise<DIDResolutionResult> => {
      const match = /^(0x[0-9a-fA-F]+|[0-9]+):(0x[0-9a-fA-F]{40})$/.exec(parsed.id);
      if (match === null || options.unresolvable?.has(did)) {
        return { didResolutionMetadata: { error: "notFound", message: "stub: not resolvable" }, didDocumentMetadata: {}, didDocument: null };
      }
      const controller = options.controllers?.get(did) ?? getAddress(match[2]!);
      return defaultEthrDocument(did, BigInt(match[1]!), controller);
    },
  });
}

/** An issuer key with its did:ethr on the test chain. */
export function testIssuer(): { did: string; key: Wallet } {
  const key = new Wallet(Wallet.createRandom().privateKey);
  return { did: holderDid(CHAIN_ID, key.address), key };
}

/** The status registry the wallet tests' credentials point at (no chain: wallets never read it). */
export const TEST_STATUS_REGISTRY = "0x00000000000000000000000000000000000C1D01";

/** The `vc.credentialStatus.id` of a test credential id. */
export function statusIdOf(credentialId: bigint): string {
  return statusRef(CHAIN_ID, TEST_STATUS_REGISTRY, credentialId).id;
}

/** The device key of a test wallet, read from its file with the PIN (no gate, no counter: test only). */
export async function deviceSigningKey(wallet: HolderWallet, pin = PIN): Promise<SigningKey> {
  const file = JSON.parse(await readFile(wallet.file, "utf8")) as { body: { keystore: unknown } };
  const account = await decryptKeystoreJson(JSON.stringify(file.body.keystore), pin);
  return new SigningKey(account.privateKey);
}

export async function devicePublicKey(wallet: HolderWallet, pin = PIN): Promise<string> {
  return (await deviceSigningKey(wallet, pin)).publicKey;
}

/**
 * A civil-servant credential in the project's format (the SDK's builder), for a wallet or an ethers key, signed by
 * `issuer`. `subjectDid` overrides the subject (to test refusals); times default to "valid now".
 */
export async function issueCredential(
  issuer: { did: string; key: Wallet },
  holder: HolderWallet | BaseWallet,
  options: { credentialId?: bigint; expiresInSeconds?: number; name?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const publicKey = holder instanceof HolderWallet ? await devicePublicKey(holder) : holder.signingKey.publicKey;
  const holderDidValue = holder instanceof HolderWallet ? holder.did : holderDid(CHAIN_ID, holder.address);
  const validUntil = now + (options.expiresInSeconds ?? 365 * 86_400);
  const credentialId = options.credentialId ?? makeCredentialId(1741000, BigInt(Math.floor(Math.random() * 1_000_000)));
  return issueCredentialJwt(issuerFromPrivateKey(CHAIN_ID, issuer.key.privateKey), {
    chainId: CHAIN_ID,
    statusRegistry: TEST_STATUS_REGISTRY,
    holderDid: holderDidValue,
    deviceKey: deviceKeyJwk(publicKey),
    claims: {
      name: options.name ?? "홍길동", agencyCode: 1741000, organisation: "행정안전부", department: "디지털정부혁신실",
      position: "행정사무관", employeeRef: "MOIS-20150042",
    },
    issuedAt: Math.min(now - 10, validUntil - 20),
    validFrom: Math.min(now - 10, validUntil - 20),
    validUntil,
    credentialId,
  });
}

/** A biometric gate that answers from a script and records the reasons it was asked with. */
export class ScriptedGate implements BiometricGate {
  readonly reasons: string[] = [];
  constructor(public answer: boolean | Error = true) {}
  async verify(reason: string): Promise<boolean> {
    this.reasons.push(reason);
    if (this.answer instanceof Error) throw this.answer;
    return this.answer;
  }
}

export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "civil-id-wallet-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Creates a fast (TEST_ONLY_SCRYPT) wallet in `dir`. */
export async function newWallet(
  dir: string,
  options: WalletOptions & { pin?: string; name?: string; replaceExisting?: boolean } = {},
): Promise<HolderWallet> {
  const { pin, name, ...walletOptions } = options;
  return HolderWallet.create(path.join(dir, name ?? "wallet.json"), {
    pin: pin ?? PIN,
    chainId: CHAIN_ID,
    scrypt: TEST_ONLY_SCRYPT,
    ...walletOptions,
  });
}

/** Asserts that `promise` rejects with a CivilIdError of `code`; returns it. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<Error & { code: ErrorCode; details: Record<string, unknown> | undefined }> {
  try {
    await promise;
  } catch (error) {
    if (!isCivilIdError(error)) throw error;
    expect(error.code, error.message).to.equal(code);
    return error;
  }
  expect.fail(`expected a ${code} error`);
}
