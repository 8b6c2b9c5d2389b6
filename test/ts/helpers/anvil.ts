/**
 * A consortium on a spawned anvil node, for tests whose code runs in another process (the pack test runs the
 * installed package under plain Node): deployed, one organisation accredited, its registrar and issuer key set.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { HDNodeWallet, JsonRpcProvider, Mnemonic, Network, Wallet, type Signer } from "ethers";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import { CIVIL_SERVANT_ID_TYPE, OperatorRole, OrgKind, credentialTypeId } from "../../../sdk/chain/codes.js";
import type { Deployment } from "../../../sdk/chain/deployment.js";
import type { LedgerContracts } from "../../../sdk/chain/contracts.js";

const ANVIL_MNEMONIC = "test test test test test test test test test test test junk";
export const AGENCY = 1741000;

export interface AnvilConsortium {
  readonly rpc: string;
  readonly deployment: Deployment;
  readonly ledger: LedgerContracts;
  readonly provider: JsonRpcProvider;
  /** Funded keys by role (hex private keys). */
  readonly keys: { readonly registrar: string; readonly issuer: string };
  stop(): Promise<void>;
}

function account(index: number, provider: JsonRpcProvider): Wallet {
  const node = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ANVIL_MNEMONIC), `m/44'/60'/0'/0/${index}`);
  return new Wallet(node.privateKey, provider);
}

async function waitForNode(provider: JsonRpcProvider, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`anvil exited with ${child.exitCode}`);
    try {
      await provider.getBlockNumber();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100)); // not listening yet
    }
  }
  throw new Error("anvil did not start within 10 s");
}

export interface AnvilNode {
  readonly rpc: string;
  readonly provider: JsonRpcProvider;
  /** Ends the node process (SIGTERM: the npm launcher forwards it; SIGKILL would orphan the node). */
  stop(): Promise<void>;
}

/** Spawns an anvil node (on `port`, or a random one) and waits until it answers. */
export async function startAnvilNode(options: { port?: number; chainId?: number } = {}): Promise<AnvilNode> {
  const port = options.port ?? 20_000 + Math.floor(Math.random() * 30_000);
  const chainId = options.chainId ?? 2026;
  const anvil = createRequire(import.meta.url).resolve("@foundry-rs/anvil/package.json").replace(/package\.json$/, "");
  const bin = `${anvil}../../.bin/anvil`;
  // No EIP-170 size limit: under `npm test`'s coverage run the contracts are instrumented and outgrow 24 KiB (their
  // production size is held to the limit by the Hardhat network in the gas-target step).
  const child = spawn(bin, ["--port", String(port), "--silent", "--chain-id", String(chainId), "--disable-code-size-limit"], { stdio: "ignore" });
  const rpc = `http://127.0.0.1:${port}`;
  // No response cache: several transactions of one account in a row must each see the nonce the last one used.
  const network = Network.from(chainId);
  const provider = new JsonRpcProvider(rpc, network, { staticNetwork: network, pollingInterval: 50, cacheTimeout: -1 });
  const stop = async () => {
    provider.destroy();
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await exited;
    }
  };
  try {
    await waitForNode(provider, child);
  } catch (error) {
    await stop();
    throw error;
  }
  return { rpc, provider, stop };
}

export async function startAnvilConsortium(): Promise<AnvilConsortium> {
  const { rpc, provider, stop } = await startAnvilNode();
  try {
    const [deployer, m1, m2, m3, admin, registrar] = [0, 1, 2, 3, 4, 5].map((i) => account(i, provider)) as [Wallet, Wallet, Wallet, Wallet, Wallet, Wallet];
    const issuer = Wallet.createRandom();
    const ledger = await deployConsortium(deployer, { members: [m1.address, m2.address, m3.address], threshold: 2 });
    const reg = ledger.issuerRegistry;
    const governor = ledger.governor;
    const data = reg.interface.encodeFunctionData("accredit", [AGENCY, OrgKind.CentralAgency, admin.address, [credentialTypeId(CIVIL_SERVANT_ID_TYPE)]]);
    await (await governor.connect(m1 as Signer).propose(await reg.getAddress(), data, 3600, "accredit")).wait();
    const id = await governor.proposalCount();
    await (await governor.connect(m2 as Signer).approve(id)).wait();
    await (await governor.connect(m1 as Signer).execute(id)).wait();
    await (await ledger.statusRegistry.connect(admin as Signer).setOperator(registrar.address, AGENCY, OperatorRole.Registrar)).wait();
    const now = (await provider.getBlock("latest"))!.timestamp;
    await (await reg.connect(admin as Signer).addIssuerKey(AGENCY, issuer.address, 0, now + 365 * 86_400)).wait();
    return { rpc, deployment: ledger.deployment, ledger, provider, keys: { registrar: registrar.privateKey, issuer: issuer.privateKey }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
