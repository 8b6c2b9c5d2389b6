/** The factories in-process: a verifier assembled from a deployment (online and index), refusals of bad configs. */
import { expect } from "chai";
import { Wallet } from "ethers";
import { createVerifier } from "../../../sdk/factories.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";
import { civilIdWorld } from "../helpers/world.js";

describe("factories: createVerifier", function () {
  let w: Awaited<ReturnType<typeof civilIdWorld>>;
  let holder: Wallet;
  let jwt: string;

  before(async () => {
    w = await civilIdWorld();
    holder = new Wallet(Wallet.createRandom().privateKey);
    ({ jwt } = await w.issueTo(holder, "person-factory"));
  });

  for (const ledger of ["online", "index"] as const) {
    it(`verifies a presentation with ledger "${ledger}" from the deployment and a provider`, async () => {
      const gate = await createVerifier({ deployment: JSON.parse(JSON.stringify(w.ledger.deployment)), provider: w.provider, ledger, followIntervalMs: 60_000 });
      try {
        const challenge = gate.issueChallenge();
        const vp = await w.present(holder, jwt, challenge, "gate:1");
        const result = await gate.verify(vp, { challenge, audience: "gate:1", policy: POLICIES.buildingGate });
        expect(result.reasons, result.details.join(" | ")).to.deep.equal([]);
        expect(gate.ledger.chainId).to.equal(w.chainId);
      } finally {
        gate.close();
      }
    });
  }

  it("refuses a deployment of another chain, a malformed deployment, and ambiguous chain access", async () => {
    const other = { ...w.ledger.deployment, chainId: 2026 };
    await createVerifier({ deployment: other, provider: w.provider, ledger: "online" }).then(
      () => expect.fail("accepted a deployment of another chain"),
      (error: { code: string }) => expect(error.code).to.equal("CHAIN_ID_MISMATCH"),
    );
    await createVerifier({ deployment: { format: "nope" }, provider: w.provider, ledger: "online" }).then(
      () => expect.fail("accepted a malformed deployment"),
      (error: { code: string }) => expect(error.code).to.equal("INVALID_DEPLOYMENT"),
    );
    const both = { deployment: w.ledger.deployment, provider: w.provider, rpc: "http://127.0.0.1:1", ledger: "online" } as never;
    await createVerifier(both).then(
      () => expect.fail("accepted rpc and provider"),
      (error: { code: string }) => expect(error.code).to.equal("INVALID_INPUT"),
    );
    await createVerifier({ deployment: w.ledger.deployment, provider: w.provider, ledger: "sometimes" as never }).then(
      () => expect.fail("accepted an unknown ledger mode"),
      (error: { code: string }) => expect(error.code).to.equal("INVALID_INPUT"),
    );
  });
});
