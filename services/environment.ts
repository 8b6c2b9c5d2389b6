import type { Provider, Signer } from "ethers";
import type { Deployment } from "../sdk/chain/deployment.js";
import type { ServiceDefinition } from "./common/registry.js";

/**
 * What `npm run serve` hands every service: the chain it runs against, the consortium deployment, a data
 * folder for its databases, the raw configuration object (each service validates its own section), and —
 * with `--demo` only — the seeded demo consortium's accounts.
 */
export interface ServeEnvironment {
  readonly provider: Provider;
  readonly chainId: number;
  readonly deployment: Deployment;
  /** Folder for SQLite databases and other state; services keep one sub-folder each. */
  readonly dataDir: string;
  /** The whole configuration object (file + MCID_* env + flags); a service reads the section named after it. */
  readonly config: Readonly<Record<string, unknown>>;
  /** pino level for every service ("silent" in tests). */
  readonly logLevel: string;
  /** Where service logs go (default stderr: stdout is for `serve --json`'s one line). */
  readonly logStream?: NodeJS.WritableStream;
  /** The services' clock (ms since the epoch; default `Date.now`): tests pass the chain's. */
  readonly now?: () => number;
  /** Set with `--demo`: the seeded consortium (see scripts/serve.ts). */
  readonly demo: DemoConsortium | undefined;
}

/** The demo consortium `serve --demo` seeds on the embedded chain (development only: keys live in memory). */
export interface DemoConsortium {
  /** Deployer and the four member ministries (3 of 4 approve governance actions). */
  readonly deployer: Signer;
  readonly ministries: readonly Signer[];
  /** Funded spare accounts a service may use for its own demo seeding (e.g. a relying-party operator). */
  readonly spare: readonly Signer[];
  readonly organisations: readonly DemoOrganisation[];
  /** The consortium holder-reference secret shared by every issuing server. */
  readonly holderSecret: Uint8Array;
}

export interface DemoOrganisation {
  readonly code: number;
  readonly name: string;
  readonly admin: Signer;
  /** Registrar operator used only by the issuance workflow. */
  readonly registrar: Signer;
  /** Registrar operator for staff unlock / revoke. */
  readonly statusOfficer: Signer;
  /** LockOnly operator (lost-phone locks). */
  readonly helpDesk: Signer;
  /** The issuer DID key registered for the organisation (hex private key). */
  readonly issuerPrivateKey: string;
}

export type ServeDefinition = ServiceDefinition<ServeEnvironment>;
