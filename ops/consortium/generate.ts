/**
 * Generates the Hyperledger Besu QBFT network files of the consortium from one input JSON file.
 *
 *   ./node_modules/.bin/tsx ops/consortium/generate.ts --input ops/consortium/example.json --out build/consortium
 *
 * Writes genesis.json, network.json, docker-compose.yml (documentation only) and, per ministry,
 * nodes/<name>/{config.toml, static-nodes.json, permissions_config.toml}. See docs/CONSORTIUM.md.
 * Exit codes: 0 done, 1 invalid input (every problem is listed), 2 wrong command line.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { isCivilIdError } from "../../sdk/errors.js";
import {
  buildConsortiumFiles,
  faultTolerance,
  parseConsortiumInput,
  qbftQuorum,
  writeConsortiumFiles,
} from "./index.js";

const USAGE = `Usage: generate.ts --input <consortium.json> --out <directory> [--force | --nodes-only]

  --input, -i   consortium description (schema: docs/CONSORTIUM.md, sample: ops/consortium/example.json)
  --out, -o     output directory (created if missing)
  --force       replace an existing genesis.json in the output directory (a new genesis is a new chain)
  --nodes-only  keep the running network's <out>/genesis.json and rebuild only the node files, e.g. after a
                ministry joined; prints the validators to vote in or out
  --help, -h    show this help`;

async function main(argv: string[]): Promise<number> {
  let values: { input?: string; out?: string; force?: boolean; "nodes-only"?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        input: { type: "string", short: "i" },
        out: { type: "string", short: "o" },
        force: { type: "boolean", default: false },
        "nodes-only": { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (!values.input || !values.out) {
    process.stderr.write(`error: --input and --out are required\n\n${USAGE}\n`);
    return 2;
  }
  if (values.force && values["nodes-only"]) {
    process.stderr.write(`error: --force and --nodes-only exclude each other\n\n${USAGE}\n`);
    return 2;
  }

  const inputPath = path.resolve(values.input);
  const outDir = path.resolve(values.out);
  try {
    let text: string;
    try {
      text = await readFile(inputPath, "utf8");
    } catch (error) {
      process.stderr.write(`error: cannot read ${inputPath}: ${(error as Error).message}\n`);
      return 1;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      process.stderr.write(`error: ${inputPath} is not valid JSON: ${(error as Error).message}\n`);
      return 1;
    }
    const config = await parseConsortiumInput(json, { baseDir: path.dirname(inputPath) });
    let existingGenesis: string | undefined;
    if (values["nodes-only"]) {
      const genesisPath = path.join(outDir, "genesis.json");
      try {
        existingGenesis = await readFile(genesisPath, "utf8");
      } catch (error) {
        process.stderr.write(`error: --nodes-only needs the running network's genesis at ${genesisPath}: ${(error as Error).message}\n`);
        return 1;
      }
    }
    const output = buildConsortiumFiles(config, existingGenesis === undefined ? {} : { existingGenesis });
    for (const warning of output.warnings) process.stderr.write(`warning: ${warning}\n`);
    const written = await writeConsortiumFiles(outDir, output, { force: values.force === true });

    const n = config.nodes.length;
    process.stdout.write(
      [
        `Consortium chain ${config.chainId}: ${n} QBFT validator${n === 1 ? "" : "s"}, ` +
          `quorum ${qbftQuorum(n)}, tolerates ${faultTolerance(n)} faulty.`,
        ...config.nodes.map((node) => `  ${node.name.padEnd(16)} ${node.agencyCode}  ${node.address}  ${node.enode}`),
        `genesis.json sha256 ${output.genesisSha256} (every ministry must run the same file)` +
          (existingGenesis === undefined ? "" : " - kept unchanged"),
        ...validatorVotes(output.validatorChanges),
        `Wrote ${written.length} files under ${outDir}`,
        "",
      ].join("\n"),
    );
    return 0;
  } catch (error) {
    if (isCivilIdError(error)) {
      process.stderr.write(`error [${error.code}]: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** Guidance after --nodes-only: the validator-set changes relative to the genesis, as QBFT votes. */
function validatorVotes(changes: { add: readonly string[]; remove: readonly string[] } | undefined): string[] {
  if (!changes || (changes.add.length === 0 && changes.remove.length === 0)) return [];
  return [
    "Validator set differs from the genesis. Compare with qbft_getValidatorsByBlockNumber(\"latest\"), then have more",
    "than half of the current validators' operators call (QBFT API, loopback only):",
    ...changes.add.map((a) => `  qbft_proposeValidatorVote("${a}", true)`),
    ...changes.remove.map((a) => `  qbft_proposeValidatorVote("${a}", false)`),
  ];
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`unexpected error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
