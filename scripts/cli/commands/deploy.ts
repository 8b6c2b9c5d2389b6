import { appendFile, mkdir, stat } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { getAddress, isAddress } from "ethers";
import { CivilIdError, isCivilIdError } from "../../../sdk/errors.js";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import { deploymentPath, loadDeployment, saveDeployment, type Deployment } from "../../../sdk/chain/deployment.js";
import { trackedSigner } from "../context.js";
import { CliError, EXIT } from "../output.js";
import { run, type CommandContext } from "../run.js";

/** Every deployment of a chain, one JSON line each, appended (never rewritten): what --replace replaced stays known. */
export function journalPath(dir: string, chainId: number): string {
  return path.join(dir, `chain-${chainId}.journal.jsonl`);
}

/**
 * Refuses to overwrite the deployment file of a chain (like Ignition's "already deployed"): a second deploy would
 * silently point every command at new, empty contracts. A file whose contracts are gone (a restarted development
 * node) is refused too, with that said; --replace replaces either, and the journal keeps the old one.
 */
async function refuseExisting(ctx: CommandContext, chainId: number, replace: boolean): Promise<Deployment | undefined> {
  const file = deploymentPath(ctx.global.deployments, chainId);
  if (!(await stat(file).then(() => true, () => false))) return undefined;
  let existing: Deployment | undefined;
  try {
    existing = await loadDeployment(ctx.global.deployments, chainId);
  } catch (error) {
    if (!isCivilIdError(error, "INVALID_DEPLOYMENT")) throw error;
  }
  if (replace) return existing;
  const live = existing !== undefined && (await (await ctx.chain()).provider.getCode(existing.statusRegistry)) !== "0x";
  throw new CliError("DEPLOYMENT_EXISTS", live
    ? `Chain ${chainId} already has a consortium deployment (${file}, block ${existing!.deploymentBlock}, ${existing!.deployedAt}) and its contracts are live: nothing was deployed. ` +
      "Use that one; to deploy a second consortium write it elsewhere (--deployments <dir>), or pass --replace."
    : `${file} exists but names no live contracts on chain ${chainId} (the node was reset?): nothing was deployed. Pass --replace to deploy anew (the journal keeps the old entry).`,
  EXIT.OPERATION_REFUSED, { file, live });
}

export function registerDeploy(program: Command): void {
  program
    .command("deploy")
    .description("Deploy the consortium contracts (governor, issuer registry, status registry, DID registry) and write the deployment file")
    .requiredOption("--members <addresses>", "comma-separated accounts of the founding member ministries")
    .requiredOption("--threshold <n>", "approvals a governance proposal needs")
    .option("--replace", "replace an existing deployment file of this chain (the journal keeps the old one)", false)
    .addHelpText("after", "\nExample:\n  mcid deploy --network localhost --key keys/deployer.json --members 0xA…,0xB…,0xC…,0xD… --threshold 3")
    .action(run(async (ctx, opts: { members: string; threshold: string; replace: boolean }) => {
      const members = opts.members.split(",").map((m) => m.trim());
      for (const m of members) if (!isAddress(m)) throw new CivilIdError("INVALID_INPUT", `--members: ${JSON.stringify(m)} is not an address.`);
      if (!/^[0-9]+$/.test(opts.threshold)) throw new CivilIdError("INVALID_INPUT", "--threshold must be a positive integer.");
      const chain = await ctx.chain();
      const replaced = chain.embedded ? undefined : await refuseExisting(ctx, chain.chainId, opts.replace);
      const signer = chain.embedded && !ctx.global.key ? trackedSigner(chain.devSigners[0]!, ctx.global, await ctx.tracker()) : await ctx.signer();
      const ledger = await deployConsortium(signer, { members: members.map((m) => getAddress(m)), threshold: Number(opts.threshold) });
      let file: string | null = null;
      if (!chain.embedded) {
        await mkdir(ctx.global.deployments, { recursive: true });
        await appendFile(journalPath(ctx.global.deployments, chain.chainId), JSON.stringify({ ...ledger.deployment, replaced: replaced ?? null }) + "\n", { mode: 0o644 });
        file = await saveDeployment(ctx.global.deployments, ledger.deployment);
      }
      const d = ledger.deployment;
      ctx.out.result({ ok: true, deployment: d, file, journal: chain.embedded ? null : journalPath(ctx.global.deployments, chain.chainId), replaced: replaced ?? null }, [
        `Deployed on chain ${d.chainId} at block ${d.deploymentBlock}:`,
        `  governor         ${d.governor} (${members.length} members, threshold ${opts.threshold})`,
        `  issuer registry  ${d.issuerRegistry}`,
        `  status registry  ${d.statusRegistry}`,
        `  DID registry     ${d.didRegistry}`,
        file ? `Deployment file: ${file}${replaced ? ` (replacing the deployment of ${replaced.deployedAt})` : ""}` : "Embedded network: nothing persists after this command (use --network localhost to keep it).",
      ]);
    }));
}
