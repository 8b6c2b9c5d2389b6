import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { isAddress, getAddress } from "ethers";
import { CivilIdError } from "../errors.js";
import { writeFileAtomic } from "../util/atomic-file.js";

/** Addresses and metadata of one consortium deployment, stored per chain id as `<dir>/chain-<chainId>.json`. */
export interface Deployment {
  readonly format: "mobile-civil-id/deployment@1";
  readonly chainId: number;
  readonly deployedAt: string;
  readonly deploymentBlock: number;
  /**
   * Hash of `deploymentBlock` on the chain deployed to: pins the chain itself, not only its id (another chain with the
   * same id and deployer has the same contract addresses but another block hash there). Files written before this
   * field existed lack it; a verifier then learns it from a quorum of its nodes (sdk/status/quorum.ts).
   */
  readonly deploymentBlockHash?: string;
  readonly deployer: string;
  readonly governor: string;
  readonly issuerRegistry: string;
  readonly statusRegistry: string;
  readonly didRegistry: string;
  /** Relying-party listing (verifier authentication); absent in deployments made before it existed. */
  readonly relyingPartyRegistry?: string;
  /** DocumentAnchor (document e-signature timestamps); optional so that older deployment files stay readable. */
  readonly documentAnchor?: string;
  readonly members: readonly string[];
  readonly threshold: number;
}

const ADDRESS_FIELDS = ["deployer", "governor", "issuerRegistry", "statusRegistry", "didRegistry"] as const;

export function deploymentPath(dir: string, chainId: number): string {
  return path.join(dir, `chain-${chainId}.json`);
}

/** Validates an untrusted JSON value as a {@link Deployment}; throws INVALID_DEPLOYMENT saying which field is wrong. */
export function parseDeployment(value: unknown, source = "deployment"): Deployment {
  const fail = (why: string): never => {
    throw new CivilIdError("INVALID_DEPLOYMENT", `${source}: ${why}. Re-run the deploy command to write a fresh file.`);
  };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("not a JSON object");
  const v = value as Record<string, unknown>;
  if (v.format !== "mobile-civil-id/deployment@1") fail(`unknown format ${JSON.stringify(v.format)}`);
  for (const key of ["chainId", "deploymentBlock", "threshold"] as const) {
    if (!Number.isSafeInteger(v[key]) || (v[key] as number) < 0) fail(`${key} must be a non-negative integer`);
  }
  const out: Record<string, unknown> = { ...v };
  for (const key of ADDRESS_FIELDS) {
    if (typeof v[key] !== "string" || !isAddress(v[key])) fail(`${key} must be an address`);
    out[key] = getAddress(v[key] as string);
  }
  if (v.documentAnchor !== undefined) {
    if (typeof v.documentAnchor !== "string" || !isAddress(v.documentAnchor)) fail("documentAnchor must be an address");
    out.documentAnchor = getAddress(v.documentAnchor as string);
  }
  if (!Array.isArray(v.members) || !v.members.every((m) => typeof m === "string" && isAddress(m))) {
    fail("members must be a list of addresses");
  }
  if (v.relyingPartyRegistry !== undefined) {
    if (typeof v.relyingPartyRegistry !== "string" || !isAddress(v.relyingPartyRegistry)) fail("relyingPartyRegistry must be an address");
    out.relyingPartyRegistry = getAddress(v.relyingPartyRegistry as string);
  }
  out.members = (v.members as string[]).map((m) => getAddress(m));
  if (typeof v.deployedAt !== "string") fail("deployedAt must be an ISO date string");
  if (v.deploymentBlockHash !== undefined) {
    if (typeof v.deploymentBlockHash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(v.deploymentBlockHash)) fail("deploymentBlockHash must be a 32-byte hex hash");
    out.deploymentBlockHash = (v.deploymentBlockHash as string).toLowerCase();
  }
  return out as unknown as Deployment;
}

/** Reads and validates the deployment file of `chainId` in `dir`. */
export async function loadDeployment(dir: string, chainId: number): Promise<Deployment> {
  const file = deploymentPath(dir, chainId);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new CivilIdError(
      "DEPLOYMENT_NOT_FOUND",
      `No deployment for chain ${chainId} at ${file}. Deploy first (mcid deploy) or pass --deployments <dir>.`,
      { cause: error },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CivilIdError("INVALID_DEPLOYMENT", `${file} is not valid JSON. Re-run the deploy command.`, { cause: error });
  }
  const deployment = parseDeployment(json, file);
  if (deployment.chainId !== chainId) {
    throw new CivilIdError("INVALID_DEPLOYMENT", `${file} is for chain ${deployment.chainId}, not ${chainId}.`);
  }
  return deployment;
}

/** Writes the deployment file atomically (temp file + rename), creating `dir` if needed. */
export async function saveDeployment(dir: string, deployment: Deployment): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = deploymentPath(dir, deployment.chainId);
  await writeFileAtomic(file, JSON.stringify(deployment, null, 2) + "\n");
  return file;
}
