/** Every output file of the generator, and writing them (atomically, never replacing a running genesis unasked). */
import { createHash } from "node:crypto";
import { mkdir, stat } from "node:fs/promises";
import { isIP } from "node:net";
import path from "node:path";
import { CivilIdError } from "../../sdk/errors.js";
import { writeFileAtomic } from "../../sdk/util/atomic-file.js";
import { buildDockerCompose } from "./compose.js";
import type { ConsortiumConfig } from "./config.js";
import { buildGenesis, compareWithGenesis, faultTolerance, qbftQuorum } from "./genesis.js";
import { buildNodeConfigToml, buildStaticNodes } from "./node-config.js";
import { buildPermissionsToml } from "./permissioning.js";

/** Summary for operators and SDK configuration. */
export function buildNetworkSummary(config: ConsortiumConfig, genesisSha256: string): Record<string, unknown> {
  return {
    format: "mobile-civil-id/consortium-network@1",
    chainId: config.chainId,
    genesisSha256,
    validators: config.nodes.map((n) => ({
      name: n.name,
      agencyCode: n.agencyCode,
      address: n.address,
      enode: n.enode,
      rpcUrl: n.rpc ? `http://${isIP(n.host) === 6 ? `[${n.host}]` : n.host}:${n.rpcPort}` : null,
    })),
    faultTolerance: faultTolerance(config.nodes.length),
    quorum: qbftQuorum(config.nodes.length),
    accounts: config.accounts.map((a) => ({ name: a.name, address: a.address })),
  };
}

/** Every output file, keyed by path relative to the output directory. */
export interface ConsortiumFiles {
  readonly files: ReadonlyMap<string, string>;
  readonly warnings: readonly string[];
  readonly genesisSha256: string;
  /**
   * Only when built against an existing genesis: validators of the input that the genesis lacks (to be voted in
   * with qbft_proposeValidatorVote(address, true)) and genesis validators no longer in the input (to vote out).
   */
  readonly validatorChanges?: { readonly add: readonly string[]; readonly remove: readonly string[] };
}

/**
 * Builds every output file. With `existingGenesis` (the text of the genesis.json the network already runs), no
 * genesis is generated: the node files are rebuilt for the current input (e.g. after a ministry joined) and
 * checked against that genesis: same chain id and QBFT parameters, or INVALID_INPUT.
 */
export function buildConsortiumFiles(config: ConsortiumConfig, options: { existingGenesis?: string } = {}): ConsortiumFiles {
  const files = new Map<string, string>();
  let genesis: string;
  let validatorChanges: ConsortiumFiles["validatorChanges"];
  if (options.existingGenesis === undefined) {
    genesis = JSON.stringify(buildGenesis(config), null, 2) + "\n";
    files.set("genesis.json", genesis);
  } else {
    genesis = options.existingGenesis;
    validatorChanges = compareWithGenesis(config, genesis);
  }
  const genesisSha256 = createHash("sha256").update(genesis).digest("hex");
  const permissions = buildPermissionsToml(config);
  for (const node of config.nodes) {
    files.set(`nodes/${node.name}/config.toml`, buildNodeConfigToml(config, node));
    files.set(`nodes/${node.name}/static-nodes.json`, buildStaticNodes(config, node));
    files.set(`nodes/${node.name}/permissions_config.toml`, permissions);
  }
  const compose = buildDockerCompose(config);
  files.set("docker-compose.yml", compose.yaml);
  files.set("network.json", JSON.stringify(buildNetworkSummary(config, genesisSha256), null, 2) + "\n");
  return {
    files,
    warnings: [...config.warnings, ...compose.warnings],
    genesisSha256,
    ...(validatorChanges === undefined ? {} : { validatorChanges }),
  };
}

/**
 * Writes the files under `outDir`, each atomically (temp file + rename), readable by the node's service user
 * (mode 0644: nothing here is secret). Refuses to replace an existing genesis.json unless `force`, because a
 * regenerated genesis is a different chain. Output built against an existing genesis contains no genesis.json
 * and never touches the one in `outDir`.
 */
export async function writeConsortiumFiles(
  outDir: string,
  output: ConsortiumFiles,
  options: { force?: boolean } = {},
): Promise<string[]> {
  const genesisPath = path.join(outDir, "genesis.json");
  if (output.files.has("genesis.json") && !options.force && (await exists(genesisPath))) {
    throw new CivilIdError(
      "INVALID_INPUT",
      `${genesisPath} already exists. A new genesis file is a new chain: use --nodes-only to rebuild the node ` +
        "files of a running network, or --force only if no node runs on the old genesis.",
    );
  }
  const written: string[] = [];
  for (const [relative, content] of output.files) {
    const file = path.join(outDir, ...relative.split("/"));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFileAtomic(file, content, 0o644);
    written.push(file);
  }
  return written;
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}
