import { expect } from "chai";
import { network } from "hardhat";
import { runStory } from "../../scripts/story/story.js";

describe("main job (npm start): the whole story behaves as expected", function () {
  this.timeout(300_000); // ~15 s on a quiet machine; CI machines are shared

  it("runs every step of the story successfully on a fresh embedded chain", async () => {
    const connection = await network.create({ override: { allowBlocksWithSameTimestamp: true } });
    try {
      const lines: string[] = [];
      const narrator = await runStory({
        provider: connection.ethers.provider,
        signers: (await connection.ethers.getSigners()).slice(0, 10),
        write: (line) => lines.push(line),
      });
      const failed = narrator.failed.map((s) => `${s.title}: ${s.detail}`);
      expect(failed, lines.join("\n")).to.deep.equal([]);
      expect(narrator.steps.length).to.equal(20);
      const titles = narrator.steps.map((s) => s.title).join("\n");
      for (const milestone of ["official names", "non-participating", "e-사람", "인사랑", "Building gate", "replayed", "mail login", "Business-system", "library", "E-signature", "locks the credential", "superseded", "Five wrong PINs"]) {
        expect(titles).to.contain(milestone);
      }
      expect(lines.join("\n")).to.contain("forged: refused DOCUMENT_ALTERED");
    } finally {
      await connection.close();
    }
  });
});
