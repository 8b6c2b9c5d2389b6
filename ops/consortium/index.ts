/**
 * Hyperledger Besu QBFT network files for the consortium, generated from one input description (docs/CONSORTIUM.md):
 * `genesis.json` (genesis.ts), per node `config.toml` and `static-nodes.json` (node-config.ts) and
 * `permissions_config.toml` (permissioning.ts), `docker-compose.yml` for rehearsals (compose.ts) and `network.json`
 * (files.ts). Input validation is in input.ts, node keys in keys.ts. Operations tooling: no SDK code imports it.
 */
export * from "./config.js";
export { parseConsortiumInput, type ParseOptions } from "./input.js";
export { normalisePublicKey, publicKeyOfNodeKey } from "./keys.js";
export { buildGenesis, faultTolerance, qbftExtraData, qbftQuorum, validatorsFromExtraData } from "./genesis.js";
export { buildNodeConfigToml, buildStaticNodes } from "./node-config.js";
export { buildPermissionsToml } from "./permissioning.js";
export { buildDockerCompose } from "./compose.js";
export { buildConsortiumFiles, buildNetworkSummary, writeConsortiumFiles, type ConsortiumFiles } from "./files.js";
