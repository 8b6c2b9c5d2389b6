/**
 * `npm run node`: a local development chain for running the story by hand in several terminals.
 * Starts a Hardhat JSON-RPC node on 127.0.0.1:8545, deploys the consortium (deployer = account 0, member
 * ministries = accounts 1-4, threshold 3), writes deployments/chain-31337.json and development keystores for
 * the well-known Hardhat accounts (password "dev-password", low scrypt cost — development only, never for real keys)
 * and a random holder-reference secret (holder-secret.hex) for the issuing servers. See docs/CLI.md for the walkthrough.
 */
import path from "node:path";
import { mkdir, stat } from "node:fs/promises";
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { network } from "hardhat";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, encryptKeystoreJson } from "ethers";
import { deployConsortium } from "../sdk/chain/deploy.js";
import { saveDeployment } from "../sdk/chain/deployment.js";
import { writeFileAtomic } from "../sdk/util/atomic-file.js";

const ROLES = [
  "deployer", "ministry-1", "ministry-2", "ministry-3", "ministry-4", "org-admin-central", "org-admin-local", "registrar-central", "help-desk-central",
  "registrar-local", "issuer-central", "issuer-local",
];
const DEV_PASSWORD = "dev-password";

const USAGE = "usage: npm run node [-- --port <8545> --deployments <deployments> --keys <data/dev-keys>]";

/** A wrong flag or a busy port ends with one clear line and exit code 2, not a stack trace. */
function refuse(message: string): never {
  process.stderr.write(`npm run node: ${message}\n${USAGE}\n`);
  process.exit(2);
}

if (process.argv.includes("--help") || process.argv.includes("-h")) {
  process.stdout.write(`${USAGE}\nA local Hardhat chain with the consortium deployed and development keys; see docs/CLI.md, Walkthrough.\n`);
  process.exit(0);
}
let values: { port: string; deployments: string; keys: string };
try {
  ({ values } = parseArgs({
    options: {
      port: { type: "string", default: "8545" },
      deployments: { type: "string", default: "deployments" },
      keys: { type: "string", default: path.join("data", "dev-keys") },
    },
  }));
} catch (error) {
  refuse(error instanceof Error ? error.message : String(error));
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65535) refuse(`--port ${values.port} is not a TCP port.`);

// Hardhat's server reports a busy port as an unhandled 'error' event (a stack trace): probe the port first.
const probe = createServer();
const busy = await new Promise<boolean>((resolve) => {
  probe.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE"));
  probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(false)));
});
if (busy) {
  refuse(`port ${port} on 127.0.0.1 is already in use: another node (npm run node, anvil) is probably running there. ` +
    `Stop it, or start this one elsewhere with \`npm run node -- --port ${port + 1}\` and give mcid --rpc-url http://127.0.0.1:${port + 1} --chain-id 31337.`);
}

// Blocks may share a timestamp, so the chain's clock follows the wall clock like a QBFT chain's does (otherwise a
// burst of transactions runs it ahead, and a credential issued "now" predates an issuer key added a moment ago).
const server = await network.createServer({ network: "default", override: { allowBlocksWithSameTimestamp: true } }, "127.0.0.1", port);
const { address, port: actualPort } = await server.listen();
const provider = new JsonRpcProvider(`http://${address}:${actualPort}`, 31337, { staticNetwork: true });
const signers = await Promise.all(ROLES.map((_, i) => provider.getSigner(i)));
const ledger = await deployConsortium(signers[0]!, { members: await Promise.all(signers.slice(1, 5).map((s) => s.getAddress())), threshold: 3 });
const file = await saveDeployment(values.deployments, ledger.deployment);

await mkdir(values.keys, { recursive: true });
const mnemonic = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
for (const [i, role] of ROLES.entries()) {
  const keyFile = path.join(values.keys, `${role}.json`);
  if (await stat(keyFile).then(() => true, () => false)) continue;
  const wallet = HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${i}`);
  const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, DEV_PASSWORD, { scrypt: { N: 1 << 12 } });
  await writeFileAtomic(keyFile, json);
}

// The consortium holder-reference secret every issuing server shares (development only: random per key directory).
const holderSecretFile = path.join(values.keys, "holder-secret.hex");
if (!(await stat(holderSecretFile).then(() => true, () => false))) await writeFileAtomic(holderSecretFile, randomBytes(32).toString("hex") + "\n");

process.stdout.write(
  [
    `Local chain 31337 at http://${address}:${actualPort}`,
    `Deployment: ${file}`,
    `  governor ${ledger.deployment.governor}, issuer registry ${ledger.deployment.issuerRegistry}, status registry ${ledger.deployment.statusRegistry}, DID registry ${ledger.deployment.didRegistry}`,
    `Development keystores (password "${DEV_PASSWORD}") in ${values.keys}: ${ROLES.join(", ")}`,
    `Development holder-reference secret: ${holderSecretFile}`,
    "Every mcid command now works with --network localhost. Ctrl-C stops the node (its state is not kept).",
  ].join("\n") + "\n",
);
await new Promise<void>((resolve) => process.once("SIGINT", () => resolve()));
await server.close();
