import { readFile } from "node:fs/promises";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Command } from "commander";
import { CivilIdError, isCivilIdError } from "../../../sdk/errors.js";
import { parseAgencyCode } from "../../../sdk/chain/codes.js";
import { LedgerIndex } from "../../../sdk/status/ledger-index.js";
import { OnlineLedgerView, type LedgerView } from "../../../sdk/status/ledger-view.js";
import { indexedGateLedger, onlineGateLedger, parseRpcUrls, type GateLedgerConfig } from "../../../sdk/status/gate-ledger.js";
import { loadDeployment } from "../../../sdk/chain/deployment.js";
import { SqliteChallengeStore, type ChallengeScope } from "../../../sdk/verifier/challenge-store.js";
import { ChallengeRegistry, type ChallengeStore } from "../../../sdk/verifier/challenges.js";
import { POLICIES, acceptingUnanchoredSignatures, restrictToOrganisations, type UsePolicy } from "../../../sdk/verifier/policies.js";
import { QuorumAnchorReader, contractAnchorReader, type DocumentAnchorReader } from "../../../sdk/anchor/reader.js";
import { readSignatureFile } from "./anchor.js";
import { PresentationVerifier, type VerificationAuditRecord, type VerificationResult } from "../../../sdk/verifier/verifier.js";
import { EXIT } from "../output.js";
import { duration, oneOf } from "../parse.js";
import { run, type CommandContext } from "../run.js";
import { LOCALHOST, expectedChainId } from "../context.js";

/** The uses a presentation can be verified for (document signatures have their own command). */
const USES: Record<string, UsePolicy> = Object.fromEntries(
  [POLICIES.buildingGate, POLICIES.mailLogin, POLICIES.businessSystemLogin, POLICIES.libraryCard, POLICIES.onDutyIdentity].map((p) => [p.id, p]),
);
const USE_IDS = Object.keys(USES);
/** Presentations and signature files are a few kilobytes; anything much larger is not one. */
const MAX_INPUT_BYTES = 256 * 1024;

function challengeStore(ctx: CommandContext, ttlMs?: number): SqliteChallengeStore {
  return new SqliteChallengeStore(path.join(ctx.global.dataDir, "verifier.sqlite"), ttlMs === undefined ? {} : { ttlMs });
}

async function readText(file: string, flag: string): Promise<string> {
  let bytes: Buffer;
  try {
    bytes = file === "-" ? await readStdin() : await readFile(file);
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `${flag}: cannot read ${file === "-" ? "standard input" : path.resolve(file)}.`, { cause: error });
  }
  if (bytes.length > MAX_INPUT_BYTES) throw new CivilIdError("INVALID_INPUT", `${flag}: ${file} is larger than ${MAX_INPUT_BYTES} bytes; it is not a presentation or signature.`);
  const text = bytes.toString("utf8").trim();
  if (text.length === 0) throw new CivilIdError("INVALID_INPUT", `${flag}: ${file === "-" ? "standard input" : file} is empty.`);
  return text;
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    chunks.push(buffer);
    if (size > MAX_INPUT_BYTES) break;
  }
  return Buffer.concat(chunks);
}

/**
 * The ledger view the verifier reads status and trust from: online (the chain, per verification) or a local index
 * synced from the chain's events (a gate). The one place that decides it.
 *
 * On a real chain (--rpc-url, a named network, --network localhost) the reads go through a quorum of nodes
 * (sdk/status/gate-ledger.ts): `--rpc-url a,b,c --quorum k` accepts an answer only when k nodes give it identically
 * at the same block, refuses LEDGER_DISAGREEMENT when they differ, and skips a node that is down. One URL is a
 * quorum of 1 of 1 (still checking the node's chain id and the deployment block's hash). The deployment file is
 * read by chain id without asking any one node, so the command works while any n − k nodes are down (even the first).
 * The embedded network has one in-process node and keeps the single-provider view.
 */
export async function ledgerViewFor(ctx: CommandContext, index: boolean): Promise<{ view: LedgerView; description: string }> {
  const urls = gateRpcUrls(ctx.global);
  if (urls === undefined) {
    if (ctx.global.quorum !== undefined) throw new CivilIdError("INVALID_INPUT", "--quorum needs --rpc-url with the nodes to ask (comma-separated).");
    const ledger = await ctx.ledger();
    const { provider } = await ctx.chain();
    if (!index) return { view: new OnlineLedgerView(ledger, provider), description: "online" };
    const local = new LedgerIndex({ provider, deployment: ledger.deployment, maxStalenessMs: 60_000 });
    const block = await local.sync();
    return { view: local, description: `index synced to block ${block}` };
  }
  const config: GateLedgerConfig = {
    deployment: await loadDeployment(ctx.global.deployments, expectedChainId(ctx.global)),
    rpcUrls: urls,
    ...(ctx.global.quorum === undefined ? {} : { quorum: parseQuorum(ctx.global.quorum, urls.length) }),
    onDissent: (event) => process.stderr.write(`warning: node ${event.node} disagreed with the quorum on ${event.what} at block ${event.block}; alert its operator.\n`),
  };
  const k = config.quorum ?? Math.floor(urls.length / 2) + 1;
  const quorum = `quorum ${k} of ${urls.length} node${urls.length === 1 ? "" : "s"}`;
  if (!index) {
    const online = onlineGateLedger(config);
    // Too few nodes reachable is the infrastructure's failure (exit 3), found before any challenge is consumed.
    try {
      await online.quorum.head();
    } catch (error) {
      if (isCivilIdError(error, "CHAIN_UNREACHABLE")) {
        throw new CivilIdError("CHAIN_UNREACHABLE", `Cannot reach the nodes: ${error.message} Check --rpc-url and that the nodes are running.`, { cause: error });
      }
      throw error;
    }
    return { view: online, description: `online, ${quorum}` };
  }
  const local = indexedGateLedger(config, { maxStalenessMs: 60_000 });
  const block = await local.sync();
  return { view: local, description: `index synced to block ${block}, ${quorum}` };
}

/** Where document signatures are dated: DocumentAnchor through the same quorum as the view (or the one embedded node). */
async function anchorReaderFor(ctx: CommandContext, view: LedgerView): Promise<DocumentAnchorReader | undefined> {
  if (view instanceof OnlineLedgerView && gateRpcUrls(ctx.global) !== undefined) {
    return view.quorum.deployment.documentAnchor === undefined ? undefined : new QuorumAnchorReader(view.quorum);
  }
  const ledger = await ctx.ledger();
  return ledger.documentAnchor === undefined || ledger.deployment.documentAnchor === undefined ? undefined : contractAnchorReader(ledger.documentAnchor, ledger.deployment.documentAnchor);
}

/** The nodes a verifier command reads from: --rpc-url's list (or a named network's), localhost's node, or none (embedded). */
function gateRpcUrls(global: CommandContext["global"]): string[] | undefined {
  if (global.rpcUrl !== undefined) return parseRpcUrls(global.rpcUrl);
  if (global.network === "localhost") return [LOCALHOST.url];
  return undefined;
}

function parseQuorum(text: string, nodes: number): number {
  const k = /^[0-9]{1,3}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(k) || k < 1 || k > nodes) {
    throw new CivilIdError("INVALID_INPUT", `--quorum ${JSON.stringify(text)} must be an integer from 1 to the number of --rpc-url nodes (${nodes}).`);
  }
  return k;
}

async function verifierFor(ctx: CommandContext, challenges: ChallengeStore, index: boolean): Promise<{ verifier: PresentationVerifier; view: string; audited: () => VerificationAuditRecord | undefined }> {
  const { view, description } = await ledgerViewFor(ctx, index);
  // The operator running this command is the gate's audit log: it is shown the credential id the audit hook receives.
  let audited: VerificationAuditRecord | undefined;
  const verifier = new PresentationVerifier({ ledger: view, challenges, audit: (record) => (audited = record) });
  return { verifier, view: description, audited: () => audited };
}

/**
 * "This verifier did not issue this challenge" misleads when it did, for another use: says which policy and audience
 * the challenge was issued for (the challenge is not consumed by a refused scope, so a corrected command works).
 */
function explainUnknownChallenge(ctx: CommandContext, challenge: string, scope: ChallengeScope): string | undefined {
  let db: DatabaseSync | undefined;
  try {
    db = new DatabaseSync(path.join(ctx.global.dataDir, "verifier.sqlite"), { readOnly: true });
    const row = db.prepare("SELECT audience, policy FROM challenges WHERE challenge = ?").get(challenge) as { audience: string; policy: string } | undefined;
    if (row === undefined || (row.audience === scope.audience && row.policy === scope.policy)) return undefined;
    return `This challenge was issued for --policy ${row.policy} --audience ${row.audience}, not --policy ${scope.policy} --audience ${scope.audience}: verify with the same --policy and --audience as given to mcid challenge.`;
  } catch {
    return undefined; // no verifier database yet: the refusal stands as it is
  } finally {
    db?.close();
  }
}

function verdictLines(result: VerificationResult, what: string, credentialId: string | undefined): string[] {
  if (result.ok) {
    const claims = Object.entries(result.claims ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(", ");
    return [`ACCEPTED ${what}: credential ${credentialId}; ${claims}`];
  }
  return [
    `REFUSED ${what}: ${result.reasons.join(", ")}${result.statusReason ? ` (${result.statusReason})` : ""}`,
    ...result.details.map((d) => `  ${d}`),
  ];
}

export function registerVerifier(program: Command): void {
  program
    .command("challenge")
    .summary("Issue a single-use challenge for a verifier and a use")
    .description(`Issue a single-use challenge for a verifier and a use, kept in <data-dir>/verifier.sqlite until \`mcid verify\` consumes it`)
    .requiredOption("--audience <id>", "this verifier's identifier (gate, login URL, …): the presentation must name it")
    .requiredOption("--policy <use>", USE_IDS.join(" | "))
    .option("--ttl <duration>", "how long it may be answered (1s to 60m)", "2m")
    .addHelpText("after", "\nPrints the challenge alone on standard output (for C=$(mcid challenge …)); --json prints it with its expiry.\n\nExample:\n  mcid challenge --audience gate:sejong-east --policy building-gate")
    .action(run((ctx, o: { audience: string; policy: string; ttl: string }) => {
      const policy = oneOf(o.policy, "--policy", USE_IDS);
      const ttlMs = duration(o.ttl, "--ttl") * 1000;
      const store = challengeStore(ctx);
      try {
        const issued = store.issue({ audience: o.audience, policy }, ttlMs);
        if (!ctx.global.json) process.stderr.write(`Challenge for ${o.audience} (${policy}), valid until ${issued.expiresAt}. The wallet answers:\n  mcid wallet present --challenge ${issued.challenge} --audience ${o.audience}\n`);
        ctx.out.result({ ok: true, ...issued }, [issued.challenge]);
      } finally {
        store.close();
      }
      return Promise.resolve();
    }));

  program
    .command("verify")
    .summary("Verify a presentation for one use (exit 1 when refused)")
    .description("Verify a presentation for one use: signature, holder binding, challenge (consumed), times, issuer accreditation and on-chain status. Exit 1 when refused")
    .requiredOption("--policy <use>", USE_IDS.join(" | "))
    .requiredOption("--audience <id>", "this verifier's identifier, as given to `mcid challenge`")
    .requiredOption("--challenge <challenge>", "the challenge this verifier issued for this use")
    .requiredOption("--presentation <file>", "the presentation JWT, or - for standard input")
    .option("--index", "sync a local ledger index from the chain's events first and answer from it (a gate's mode)", false)
    .option("--organisations <codes>", "accept only these organisations (comma-separated agency codes), e.g. a ministry's own business system")
    .addHelpText("after", "\nExample:\n  mcid verify --policy building-gate --audience gate:sejong-east --challenge Xy3… --presentation vp.jwt --network localhost\n  mcid wallet present … | mcid verify --policy mail-login --audience https://mail.korea.kr --challenge Xy3… --presentation - --network localhost")
    .action(run(async (ctx, o: { policy: string; audience: string; challenge: string; presentation: string; index: boolean; organisations?: string }) => {
      const id = oneOf(o.policy, "--policy", USE_IDS);
      const policy = o.organisations === undefined ? USES[id]! : restrictToOrganisations(USES[id]!, o.organisations.split(",").map((c) => parseAgencyCode(c.trim())));
      const presentation = await readText(o.presentation, "--presentation");
      const scope: ChallengeScope = { audience: o.audience, policy: id };
      const store = challengeStore(ctx);
      try {
        const { verifier, view, audited } = await verifierFor(ctx, store.scoped(scope), o.index);
        let result = await verifier.verify(presentation, { challenge: o.challenge, audience: o.audience, policy });
        const explained = result.reasons.includes("CHALLENGE_UNKNOWN") ? explainUnknownChallenge(ctx, o.challenge, scope) : undefined;
        if (explained !== undefined) result = { ...result, details: [...result.details.filter((d) => !/did not issue this challenge/.test(d)), explained] };
        const credentialId = audited()?.credentialId;
        ctx.out.result({ ...result, credentialId, ledgerView: view }, verdictLines(result, `for ${id} at ${o.audience}`, credentialId));
        return result.ok ? EXIT.OK : EXIT.REFUSED;
      } finally {
        store.close();
      }
    }));

  program
    .command("verify-document")
    .summary("Verify a document e-signature (exit 1 when refused)")
    .description("Verify a document e-signature: made by the credential's device key over exactly this document, anchored on chain (its signing time is the anchoring block's), by an accredited issuer's credential that was valid and active at that block. Exit 1 when refused (DOCUMENT_ALTERED for a changed document, SIGNATURE_UNANCHORED without an anchor)")
    .requiredOption("--file <file>", "the document as received")
    .requiredOption("--signature <file>", "the signature file written by `mcid wallet sign` (and anchored by `mcid anchor`)")
    .option("--allow-unanchored", "also accept a signature without an anchor, judged as if made now (its credential must be valid and active now)", false)
    .addHelpText("after", "\nExample:\n  mcid verify-document --file 출장신청서.pdf --signature 출장신청서.sig.json --network localhost")
    .action(run(async (ctx, o: { file: string; signature: string; allowUnanchored: boolean }) => {
      const sig = await readSignatureFile(o.signature, "--signature");
      let document: Uint8Array;
      try {
        document = new Uint8Array(await readFile(o.file));
      } catch (error) {
        throw new CivilIdError("INVALID_INPUT", `--file: cannot read ${path.resolve(o.file)}.`, { cause: error });
      }
      const { view } = await ledgerViewFor(ctx, false);
      let audited: VerificationAuditRecord | undefined;
      const verifier = new PresentationVerifier({ ledger: view, challenges: new ChallengeRegistry(), anchors: await anchorReaderFor(ctx, view), audit: (record) => (audited = record) });
      const policy = o.allowUnanchored ? acceptingUnanchoredSignatures(POLICIES.documentSignature) : POLICIES.documentSignature;
      const result = await verifier.verifySignedDocument({ signature: sig.signature.jwt, document, credential: sig.signature.credential, anchor: sig.anchor, policy });
      const credentialId = audited?.credentialId;
      const when = result.signingTime?.anchored === true
        ? `signed by block ${result.signingTime.blockNumber} (${result.signingTime.at})`
        : `unanchored (the signer claims ${result.signingTime?.claimed ?? "?"}; judged as of now)`;
      ctx.out.result({ ...result, credentialId }, result.ok
        ? [`VALID signature of ${path.basename(o.file)} by credential ${credentialId}, ${when}${result.purpose === undefined ? "" : ` for ${result.purpose}`}; ${Object.entries(result.claims ?? {}).map(([k, v]) => `${k}=${String(v)}`).join(", ")}`]
        : verdictLines(result, `signature of ${path.basename(o.file)}`, credentialId));
      return result.ok ? EXIT.OK : EXIT.REFUSED;
    }));
}
