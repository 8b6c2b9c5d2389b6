import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { setGlobalConfig } from "@openid4vc/utils";
import { startServices } from "../../../../services/common/registry.js";
import { listenConfigSchema } from "../../../../services/common/config.js";
import type { ServeEnvironment } from "../../../../services/environment.js";
import { verifierServeDefinition } from "../../../../services/verifier/service.js";
import { loginServeDefinition } from "../../../../services/login/service.js";
import { HOLDER_SECRET } from "../../helpers/world.js";
import { verifierWorld } from "./helpers.js";

describe("npm run serve registry: verifier and login in demo mode", function () {
  it("seeds listed relying parties by consortium vote, listens, reports URLs and demo hints, closes", async function () {
    const w = await verifierWorld();
    const dataDir = mkdtempSync(path.join(tmpdir(), "mcid-serve-"));
    const signers = await w.ethers.getSigners();
    const env: ServeEnvironment = {
      provider: w.provider, chainId: w.chainId, deployment: w.ledger.deployment, dataDir, config: {}, logLevel: "silent",
      demo: { deployer: w.actors.deployer, ministries: w.actors.members, spare: [signers[14]!, signers[15]!], organisations: [], holderSecret: HOLDER_SECRET },
    };
    const running = await startServices([verifierServeDefinition, loginServeDefinition], env, () => listenConfigSchema.parse({ logLevel: "silent" }));
    try {
      expect(running.urls.verifier).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(running.urls.login).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      const demo = await running.demo();
      expect(demo.verifierTerminalToken).to.match(/^mcid_/);
      expect(demo.loginClient).to.have.property("clientId", "gov-mail");
      const discovery = await (await fetch(`${running.urls.login}/.well-known/openid-configuration`)).json() as { issuer: string; jwks_uri: string };
      expect(discovery.issuer).to.equal(running.urls.login);
      expect(((await (await fetch(discovery.jwks_uri)).json()) as { keys: unknown[] }).keys).to.have.length(1);
      const created = await fetch(`${running.urls.verifier}/presentations`, {
        method: "POST", headers: { authorization: `Bearer ${String(demo.verifierTerminalToken)}`, "content-type": "application/json" }, body: JSON.stringify({ use: "building-gate" }),
      });
      expect(created.status).to.equal(201);
      // Both seeded keys are listed, under their names.
      expect(Number(await w.registry.relyingPartyCount())).to.equal(2);
      expect(await w.registry.relyingPartyName(1)).to.match(/정부세종청사/);
      expect(await w.registry.relyingPartyName(2)).to.match(/메일/);
    } finally {
      await running.close();
      await w.cleanup();
      rmSync(dataDir, { recursive: true, force: true });
      setGlobalConfig({ allowInsecureUrls: false });
    }
  });
});
