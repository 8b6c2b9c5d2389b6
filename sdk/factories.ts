/**
 * The two ways in for most integrators: a verifier for a gate or a login page, and an issuing server's workflow,
 * each assembled from a deployment and an RPC endpoint (or a provider) instead of by hand.
 */
import { JsonRpcProvider, Wallet, type Provider } from "ethers";
import { CivilIdError } from "./errors.js";
import { connectLedger } from "./chain/contracts.js";
import { parseDeployment, type Deployment } from "./chain/deployment.js";
import { issuerFromPrivateKey } from "./credential/builder.js";
import { LedgerIndex } from "./status/ledger-index.js";
import { OnlineLedgerView, type LedgerView } from "./status/ledger-view.js";
import { ChallengeRegistry, type ChallengeStore } from "./verifier/challenges.js";
import { PresentationVerifier, type VerifierOptions } from "./verifier/verifier.js";
import { IssuanceWorkflow, type IssuanceWorkflowOptions } from "./issuer/workflow.js";

/** Where the chain is: an RPC URL, or a provider you already have (exactly one). */
export type ChainAccess = { readonly rpc: string; readonly provider?: undefined } | { readonly provider: Provider; readonly rpc?: undefined };

export type CreateVerifierOptions = ChainAccess & Omit<VerifierOptions, "ledger" | "fallback" | "challenges"> & {
  /** The consortium's deployment (the JSON `mcid deploy` writes, as parsed JSON), validated here. */
  readonly deployment: unknown;
  /**
   * "online": status and trust read from the chain per verification. "index": a local index of the chain's events
   * (no RPC per tap; a gate's mode), kept in sync in the background; verifications refuse INDEX_STALE when it lags.
   */
  readonly ledger: "online" | "index";
  /** With "online": also keep an index and answer from it when the node is unreachable. Default false. */
  readonly indexFallback?: boolean;
  /** Default: in memory (one process). Several processes share a `SqliteChallengeStore`. */
  readonly challenges?: ChallengeStore;
  /** Index mode: how often it follows the chain (ms). Default 2 000. */
  readonly followIntervalMs?: number;
  /** Index mode: refuse when the index is older than this (ms). Default 10 000. */
  readonly maxStalenessMs?: number;
  /** Told about background sync failures (verifications fail closed meanwhile). Default: ignored after recording. */
  readonly onIndexError?: (error: unknown) => void;
};

/** A verifier with its ledger view; `close()` stops the background index and the RPC provider it opened. */
export interface ManagedVerifier {
  readonly verifier: PresentationVerifier;
  readonly ledger: LedgerView;
  readonly deployment: Deployment;
  issueChallenge(): string;
  verify: PresentationVerifier["verify"];
  verifySignedDocument: PresentationVerifier["verifySignedDocument"];
  /** The last background sync failure of the index, if any. */
  lastIndexError(): unknown;
  close(): void;
}

function providerFor(access: ChainAccess): { provider: Provider; owned: boolean } {
  if (access.provider !== undefined && access.rpc === undefined) return { provider: access.provider, owned: false };
  if (typeof access.rpc === "string" && access.provider === undefined && /^(https?|wss?):\/\//.test(access.rpc)) {
    return { provider: new JsonRpcProvider(access.rpc, undefined, { staticNetwork: true }), owned: true };
  }
  throw new CivilIdError("INVALID_INPUT", "Give exactly one of rpc (an http(s) or ws(s) URL) or provider.");
}

async function checkedChain(provider: Provider, deployment: Deployment): Promise<void> {
  let chainId: bigint;
  try {
    chainId = (await provider.getNetwork()).chainId;
  } catch (error) {
    throw new CivilIdError("CHAIN_UNREACHABLE", `The node did not answer its chain id: ${error instanceof Error ? error.message : String(error)}. Check the RPC URL.`, { cause: error });
  }
  if (chainId !== BigInt(deployment.chainId)) {
    throw new CivilIdError("CHAIN_ID_MISMATCH", `The node serves chain ${chainId}, the deployment is for chain ${deployment.chainId}.`);
  }
}

/** Assembles a verifier from a deployment and chain access; the index (if any) is synced before it returns. */
export async function createVerifier(options: CreateVerifierOptions): Promise<ManagedVerifier> {
  const { deployment: rawDeployment, ledger: mode, indexFallback, challenges, followIntervalMs, maxStalenessMs, onIndexError, rpc, provider: given, ...verifierOptions } = options;
  if (mode !== "online" && mode !== "index") throw new CivilIdError("INVALID_INPUT", 'ledger must be "online" or "index".');
  const deployment = parseDeployment(rawDeployment);
  const { provider, owned } = providerFor({ rpc, provider: given } as ChainAccess);
  let index: LedgerIndex | undefined;
  let lastError: unknown;
  const close = () => {
    index?.stop();
    if (owned) (provider as JsonRpcProvider).destroy();
  };
  try {
    await checkedChain(provider, deployment);
    const online = new OnlineLedgerView(connectLedger(deployment, provider), provider);
    if (mode === "index" || indexFallback === true) {
      index = new LedgerIndex({ provider, deployment, maxStalenessMs: maxStalenessMs ?? 10_000 });
      await index.sync();
      index.follow(followIntervalMs ?? 2_000, (error) => {
        lastError = error;
        onIndexError?.(error);
      });
    }
    const ledger: LedgerView = mode === "index" ? index! : online;
    const verifier = new PresentationVerifier({
      ...verifierOptions,
      ledger,
      ...(mode === "online" && index !== undefined ? { fallback: index } : {}),
      challenges: challenges ?? new ChallengeRegistry(),
    });
    return {
      verifier, ledger, deployment,
      issueChallenge: () => verifier.issueChallenge(),
      verify: (presentation, o) => verifier.verify(presentation, o),
      verifySignedDocument: (input) => verifier.verifySignedDocument(input),
      lastIndexError: () => lastError,
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}

export type OpenIssuingServerOptions = ChainAccess & Omit<IssuanceWorkflowOptions, "ledger" | "issuer" | "chainId"> & {
  /** The consortium's deployment (parsed JSON), validated here. */
  readonly deployment: unknown;
  /** The organisation's Registrar account (hex private key): it registers credentials on chain. */
  readonly registrarKey: string;
  /** The organisation's accredited issuer key (hex private key): it signs credentials. */
  readonly issuerKey: string;
};

/** An issuing server's workflow from its config (a thin factory over {@link IssuanceWorkflow}); `close()` it. */
export async function openIssuingServer(options: OpenIssuingServerOptions): Promise<IssuanceWorkflow> {
  const { deployment: rawDeployment, registrarKey, issuerKey, rpc, provider: given, ...workflowOptions } = options;
  const deployment = parseDeployment(rawDeployment);
  const { provider } = providerFor({ rpc, provider: given } as ChainAccess);
  await checkedChain(provider, deployment);
  let registrar: Wallet;
  try {
    registrar = new Wallet(registrarKey, provider);
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", "registrarKey is not a private key.", { cause: error });
  }
  return IssuanceWorkflow.open({
    ...workflowOptions,
    ledger: connectLedger(deployment, registrar),
    issuer: issuerFromPrivateKey(deployment.chainId, issuerKey),
    chainId: deployment.chainId,
  });
}
