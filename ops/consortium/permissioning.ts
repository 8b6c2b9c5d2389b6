/** Local permissioning: the node and account allowlists, identical on every node. */
import type { ConsortiumConfig } from "./config.js";
import { tomlArray } from "./toml.js";

/** `permissions_config.toml`: the same allowlists on every node (Besu checks them per node). */
export function buildPermissionsToml(config: ConsortiumConfig): string {
  const lines = [
    "# Local permissioning of the consortium. Identical on every node; regenerate and reload",
    "# (perm_reloadPermissionsFromFile or restart) on all nodes together.",
    "",
  ];
  if (config.permissioning.nodes) {
    lines.push("# Nodes allowed to peer: every member ministry's validator.", `nodes-allowlist=${tomlArray(config.nodes.map((n) => n.enode))}`, "");
  }
  if (config.permissioning.accounts) {
    lines.push("# Accounts allowed to send transactions.");
    for (const a of config.accounts) lines.push(`#   ${a.address.toLowerCase()}  ${a.name.replace(/[\r\n]/g, " ")}`);
    lines.push(`accounts-allowlist=${tomlArray(config.accounts.map((a) => a.address.toLowerCase()))}`, "");
  }
  return lines.join("\n");
}
