import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import { ES256KSigner } from "did-jwt";
import { createVerifiableCredentialJwt } from "did-jwt-vc";
import { Resolver, type DIDResolutionResult, type ParsedDID } from "did-resolver";
import { Wallet, getAddress, getBytes } from "ethers";
import { isCivilIdError, type ErrorCode } from "../../../sdk/errors.js";
import { holderDid } from "../../../sdk/wallet/did.js";
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

/** A civil-servant credential JWT for `subject`, signed by `issuer`. */
export async function issueCredential(
  issuer: { did: string; key: Wallet },
  subject: string,
  options: { statusId?: string; expiresInSeconds?: number; name?: string } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return createVerifiableCredentialJwt(
    {
      sub: subject,
      nbf: now - 10,
      ...(options.expiresInSeconds === undefined ? {} : { exp: now + options.expiresInSeconds }),
      jti: `urn:uuid:${crypto.randomUUID()}`,
      vc: {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        type: ["VerifiableCredential", "CivilServantIdCredential"],
        credentialSubject: { name: options.name ?? "홍길동", agencyCode: 1741000 },
        credentialStatus: { id: options.statusId ?? "civil-id-status:31337:7658138174324736", type: "CivilIdStatusRegistry2025" },
      },
    },
    { did: issuer.did, signer: ES256KSigner(getBytes(issuer.key.privateKey)), alg: "ES256K" },
  );
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
