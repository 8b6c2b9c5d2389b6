import type { Command } from "commander";
import { getAddress, isAddress } from "ethers";
import { CivilIdError } from "../../../sdk/errors.js";
import { deployConsortium } from "../../../sdk/chain/deploy.js";
import { saveDeployment } from "../../../sdk/chain/deployment.js";
import { openSigner } from "../context.js";
import { run } from "../run.js";

export function registerDeploy(program: Command): void {
  program
    .command("deploy")
    .description("Deploy the consortium contracts (governor, issuer registry, status registry, DID registry) and write the deployment file")
    .requiredOption("--members <addresses>", "comma-separated accounts of the founding member ministries")
    .requiredOption("--threshold <n>", "approvals a governance proposal needs")
    .addHelpText("after", "\nExample:\n  mcid deploy --network localhost --key keys/deployer.json --members 0xA…,0xB…,0xC…,0xD… --threshold 3")
    .action(run(async (ctx, opts: { members: string; threshold: string }) => {
      const members = opts.members.split(",").map((m) => m.trim());
      for (const m of members) if (!isAddress(m)) throw new CivilIdError("INVALID_INPUT", `--members: ${JSON.stringify(m)} is not an address.`);
      if (!/^[0-9]+$/.test(opts.threshold)) throw new CivilIdError("INVALID_INPUT", "--threshold must be a positive integer.");
      const chain = await ctx.chain();
      const signer = chain.embedded && !ctx.global.key ? chain.devSigners[0]! : await openSigner(ctx.global, chain);
      const ledger = await deployConsortium(signer, { members: members.map((m) => getAddress(m)), threshold: Number(opts.threshold) });
      const file = chain.embedded ? undefined : await saveDeployment(ctx.global.deployments, ledger.deployment);
      ctx.out.result({ ok: true, deployment: ledger.deployment, file: file ?? null }, [
        `Deployed on chain ${ledger.deployment.chainId} at block ${ledger.deployment.deploymentBlock}:`,
        `  governor         ${ledger.deployment.governor} (${members.length} members, threshold ${opts.threshold})`,
        `  issuer registry  ${ledger.deployment.issuerRegistry}`,
        `  status registry  ${ledger.deployment.statusRegistry}`,
        `  DID registry     ${ledger.deployment.didRegistry}`,
        file ? `Deployment file: ${file}` : "Embedded network: nothing persists after this command (use --network localhost to keep it).",
      ]);
    }));
}
