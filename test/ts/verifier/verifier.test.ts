import { expect } from "chai";
import { Wallet } from "ethers";
import { civilIdWorld } from "../helpers/world.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import { ChallengeRegistry } from "../../../sdk/verifier/challenges.js";
import { PresentationVerifier } from "../../../sdk/verifier/verifier.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";

const AUD = "gate:sejong-complex-1";

describe("PresentationVerifier (online ledger view)", () => {
  it("accepts a fresh credential at the gate and refuses a replay", async () => {
    const w = await civilIdWorld();
    const holder = Wallet.createRandom();
    const { jwt } = await w.issueTo(holder, "person-1");
    const verifier = new PresentationVerifier({
      ledger: new OnlineLedgerView(w.ledger, w.provider),
      challenges: new ChallengeRegistry(),
    });
    const challenge = verifier.issueChallenge();
    const vp = await w.present(holder, jwt, challenge, AUD);
    const ok = await verifier.verify(vp, { challenge, audience: AUD, policy: POLICIES.buildingGate });
    expect(ok.reasons, ok.details.join("; ")).to.deep.equal([]);
    expect(ok.ok).to.equal(true);
    expect(ok.claims).to.deep.equal({ name: "홍길동", agencyCode: 1741000, organisation: "행정안전부" });
    const again = await verifier.verify(vp, { challenge, audience: AUD, policy: POLICIES.buildingGate });
    expect(again.reasons).to.deep.equal(["CHALLENGE_REPLAYED"]);
  });
});
