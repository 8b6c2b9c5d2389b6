import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { CivilIdError } from "../../../sdk/errors.js";
import { anchorSignatures } from "../../../sdk/anchor/client.js";
import { MAX_ANCHOR_BATCH } from "../../../sdk/anchor/merkle.js";
import { DOCUMENT_SIGNATURE_FORMAT, type DocumentSignature } from "../../../sdk/protocol/document-signature.js";
import { writeFileAtomic } from "../../../sdk/util/atomic-file.js";
import { run } from "../run.js";

/** Signature files are a few kilobytes (a JWT, a credential, a proof). */
const MAX_SIGNATURE_FILE_BYTES = 256 * 1024;

/** Reads a signature file written by `mcid wallet sign` (refusing anything else, and one anchored already). */
export async function readSignatureFile(file: string, flag: string): Promise<{ signature: DocumentSignature; anchor: unknown }> {
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_SIGNATURE_FILE_BYTES) throw new CivilIdError("INVALID_INPUT", `${flag}: ${file} is larger than ${MAX_SIGNATURE_FILE_BYTES} bytes; it is not a signature file.`);
    text = bytes.toString("utf8");
  } catch (error) {
    if (error instanceof CivilIdError) throw error;
    throw new CivilIdError("INVALID_INPUT", `${flag}: cannot read ${path.resolve(file)}.`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `${flag}: ${file} is not JSON; give the file \`mcid wallet sign\` wrote.`, { cause: error });
  }
  const sig = parsed as { format?: unknown; version?: unknown; jwt?: unknown; credential?: unknown; anchor?: unknown };
  if (typeof sig !== "object" || sig === null || sig.format !== DOCUMENT_SIGNATURE_FORMAT || typeof sig.jwt !== "string" || typeof sig.credential !== "string") {
    throw new CivilIdError("INVALID_INPUT", `${flag}: ${file} is not a ${DOCUMENT_SIGNATURE_FORMAT} file (format, jwt and credential).`);
  }
  // The anchor stays untrusted here: the verifier parses it and recomputes the root (parseSignatureAnchor).
  return { signature: { format: DOCUMENT_SIGNATURE_FORMAT, version: 1, jwt: sig.jwt, credential: sig.credential }, anchor: sig.anchor };
}

export function registerAnchor(program: Command): void {
  program
    .command("anchor")
    .summary("Anchor document signatures on chain (their signing time), one or a batch in one transaction")
    .description(
      "Anchor document e-signatures in DocumentAnchor: the Merkle root of the signatures' digests in one transaction, whose block time becomes their signing time " +
        "(verify-document refuses an unanchored signature). Each file gets its anchor (contract and Merkle proof) written into it.",
    )
    .argument("<signature-files...>", "signature files written by `mcid wallet sign`")
    .addHelpText("after", "\nAny funded account may anchor: an anchor only proves that the signatures existed at its block.\n\nExample:\n  mcid anchor 출장신청서.sig.json 예산안.sig.json --key keys/docsys.json --network localhost")
    .action(run(async (ctx, _o: Record<string, never>, files: string[]) => {
      if (files.length === 0) throw new CivilIdError("INVALID_INPUT", "Give at least one signature file.");
      if (files.length > MAX_ANCHOR_BATCH) throw new CivilIdError("INVALID_INPUT", `At most ${MAX_ANCHOR_BATCH} signatures per anchor.`);
      const resolved = files.map((f) => path.resolve(f));
      if (new Set(resolved).size !== resolved.length) throw new CivilIdError("INVALID_INPUT", "A signature file is named twice.");
      const read = await Promise.all(resolved.map((f) => readSignatureFile(f, "signature file")));
      const already = resolved.filter((_f, i) => read[i]!.anchor !== undefined);
      if (already.length > 0) throw new CivilIdError("INVALID_INPUT", `Already anchored (its signing time is fixed): ${already.join(", ")}.`);
      const ledger = await ctx.signedLedger();
      if (ledger.documentAnchor === undefined) {
        throw new CivilIdError("INVALID_DEPLOYMENT", "This deployment has no DocumentAnchor contract: redeploy (mcid deploy) or add documentAnchor to the deployment file.");
      }
      const { batch, signatures: anchored } = await anchorSignatures(ledger.documentAnchor, read.map((f) => f.signature));
      await Promise.all(anchored.map((s, i) => writeFileAtomic(resolved[i]!, JSON.stringify(s, null, 2) + "\n")));
      const block = await (await ctx.chain()).provider.getBlock(batch.blockNumber);
      const at = block ? new Date(block.timestamp * 1000).toISOString() : undefined;
      ctx.out.result(
        { ok: true, files: resolved, root: batch.root, txHash: batch.txHash, blockNumber: batch.blockNumber, anchoredAt: at ?? null, gasUsed: batch.gasUsed.toString() },
        [`Anchored ${resolved.length} signature${resolved.length === 1 ? "" : "s"} in block ${batch.blockNumber}${at ? ` (${at}: their signing time)` : ""}; root ${batch.root}.`],
      );
    }));
}
