/**
 * `npm start`: the main job. Runs the whole story (scripts/story/story.ts) on an embedded, in-process Hardhat
 * network and exits non-zero if any step does not behave as expected.
 */
import { network } from "hardhat";
import { runStory } from "./story/story.js";

const started = performance.now();
// Blocks may share a timestamp, so the embedded chain's clock follows the wall clock like a QBFT chain's does.
const connection = await network.create({ override: { allowBlocksWithSameTimestamp: true } });
try {
  process.stdout.write("mobile-civil-id — the life of a mobile civil-servant ID, on an embedded consortium chain\n");
  const narrator = await runStory({
    provider: connection.ethers.provider,
    signers: (await connection.ethers.getSigners()).slice(0, 10),
    write: (line) => process.stdout.write(line + "\n"),
  });
  const failed = narrator.failed;
  const gas = narrator.steps.reduce((a, s) => a + s.gasUsed, 0n);
  process.stdout.write(
    `\n${narrator.steps.length - failed.length}/${narrator.steps.length} steps behaved as expected; ` +
      `${gas.toLocaleString("en-US")} gas in all; ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
  );
  if (failed.length > 0) {
    for (const f of failed) process.stderr.write(`FAILED: ${f.chapter} / ${f.title}: ${f.detail}\n`);
    process.exitCode = 1;
  }
} finally {
  await connection.close();
}
