import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { decodeJWT } from "did-jwt";
import { CivilIdError } from "../../../sdk/errors.js";
import { HolderWallet } from "../../../sdk/wallet/wallet.js";
import { documentDigest } from "../../../sdk/protocol/document-signature.js";
import { writeFileAtomic } from "../../../sdk/util/atomic-file.js";
import { expectedChainId } from "../context.js";
import { duration } from "../parse.js";
import { run } from "../run.js";
import { readNewSecret, readSecret } from "../secrets.js";
import { serverOptions, withWorkflow, type ServerOptions } from "../server.js";

type WalletOpts = { wallet: string };

const READ = { sign: false, create: false };
const readPin = () => readSecret("MCID_PIN", "PIN (6 digits): ");

/** `--wallet <file>`, on every wallet command (default MCID_WALLET). */
function walletCommand(parent: Command, name: string, description: string, example: string): Command {
  return parent.command(name).description(description)
    .requiredOption("--wallet <file>", "the wallet file, the phone's app storage (default MCID_WALLET)", process.env.MCID_WALLET || undefined)
    .addHelpText("after", `\nExample:\n  ${example}`);
}

/** The token of an invitation: given alone, or as the whole link from the SMS. */
function invitationToken(value: string): string {
  if (!/^https?:\/\//i.test(value)) return value;
  let token: string | null;
  try {
    token = new URL(value).searchParams.get("token");
  } catch {
    token = null;
  }
  if (token === null) throw new CivilIdError("INVALID_INPUT", "--token: the link has no token parameter; paste the link from the latest invitation SMS.");
  return token;
}

async function refuseExisting(file: string): Promise<void> {
  if (await stat(file).then(() => true, () => false)) throw new CivilIdError("INVALID_INPUT", `${file} exists; choose another --out.`);
}

export function registerWallet(program: Command): void {
  const wallet = program.command("wallet").description("The phone's side: the holder wallet (device key under a PIN, one credential)");

  walletCommand(wallet, "create", "Create the wallet: a new device key under a new PIN (MCID_PIN or typed twice)",
    "MCID_PIN=… mcid wallet create --wallet phone.json --network localhost")
    .option("--replace", "re-activation: replace the wallet in the file (a locked one; an active one loses its key for good)", false)
    .action(run(async (ctx, o: WalletOpts & { replace: boolean }) => {
      const chainId = expectedChainId(ctx.global);
      const file = path.resolve(o.wallet);
      // The file is checked before the PIN is asked for.
      if (!o.replace && (await stat(file).then(() => true, () => false))) {
        throw new CivilIdError("WALLET_EXISTS", `A wallet already exists at ${file}; pass --replace to re-activate (its key is destroyed).`);
      }
      const pin = await readNewSecret("MCID_PIN", "New PIN (6 digits): ");
      const created = await HolderWallet.create(file, { pin, chainId, replaceExisting: o.replace });
      ctx.out.result({ ok: true, file, did: created.did, address: created.address, chainId }, [
        `Wallet ${file} created: device DID ${created.did}.`,
        "Next, with the invitation SMS: mcid wallet activate --token <token> --code <activation code> --agency <agency code>",
      ]);
    }));

  walletCommand(wallet, "status", "Show the wallet: DID, PIN attempts left, lockout and the credential held (no PIN needed)",
    "mcid wallet status --wallet phone.json")
    .action(run(async (ctx, o: WalletOpts) => {
      const s = await (await HolderWallet.open(path.resolve(o.wallet))).status();
      const credentialId = s.credential?.statusId?.split("#")[1];
      ctx.out.result({ ok: true, ...s, credentialId: credentialId ?? null }, [
        `${s.did} (chain ${s.chainId}), created ${s.createdAt.toISOString()}`,
        s.locked ? `LOCKED at ${s.lockedAt?.toISOString()} after too many wrong PINs: the key is destroyed; a reissue is needed.` : `PIN attempts left: ${s.attemptsLeft}`,
        s.credential === undefined
          ? "No credential yet."
          : `Credential ${credentialId ?? "(no status id)"}${s.credential.expiresAt ? `, valid until ${s.credential.expiresAt.toISOString()}` : ""}${s.locked ? " (held when the wallet locked)" : ""}`,
      ]);
    }));

  serverOptions(walletCommand(wallet, "activate",
    "Activate this phone with the invitation: proves possession of the device key (PIN) to the issuing server. " +
      "In this CLI the phone talks to the issuing server's database in --data-dir directly; a deployment puts the server's HTTPS API in between.",
    "MCID_PIN=… mcid wallet activate --wallet phone.json --token 3q2-… --code 12345678 --agency 1741000 --network localhost"))
    .requiredOption("--token <token>", "the token of the invitation link (or the whole link)")
    .requiredOption("--code <digits>", "the activation code from the SMS (single use)")
    .action(run(async (ctx, o: WalletOpts & ServerOptions & { token: string; code: string }) => {
      const token = invitationToken(o.token);
      const phone = await HolderWallet.open(path.resolve(o.wallet));
      const actor = o.actor ?? "device";
      const record = await withWorkflow(ctx, o, READ, async (wf) => {
        const challenge = await wf.activationChallenge(token, actor); // a dead link is refused before the PIN is asked
        const proof = await phone.activationProof({ pin: await readPin(), challenge });
        return await wf.activate({ token, code: o.code, ...proof }, actor);
      });
      ctx.out.result({ ok: true, requestId: record.id, state: record.state, did: phone.did }, [
        `Activated ${record.id} on this phone (${phone.did}).`,
        `Once the issuing server has issued it (mcid request issue ${record.id}): mcid wallet collect --agency ${o.agency}`,
      ]);
    }));

  serverOptions(walletCommand(wallet, "collect",
    "Receive the issued credential: the phone proves possession of its device key again (PIN) and stores the credential. " +
      "In this CLI the phone reads the issuing server's database in --data-dir directly.",
    "MCID_PIN=… mcid wallet collect --wallet phone.json --agency 1741000 --network localhost"))
    .action(run(async (ctx, o: WalletOpts & ServerOptions) => {
      const phone = await HolderWallet.open(path.resolve(o.wallet));
      const actor = o.actor ?? "device";
      const collected = await withWorkflow(ctx, o, READ, async (wf) => {
        const challenge = await wf.collectionChallenge(phone.did); // not issued yet: refused before the PIN is asked
        const proof = await phone.collectionProof({ pin: await readPin(), challenge });
        return await wf.collectCredential({ ...proof, challenge }, actor);
      });
      const held = await phone.storeCredential(collected.credentialJwt);
      ctx.out.result({ ok: true, requestId: collected.requestId, credentialId: collected.credentialId, statusId: held.statusId, expiresAt: held.expiresAt ? new Date(held.expiresAt * 1000).toISOString() : null }, [
        `Credential ${collected.credentialId} (${collected.requestId}) stored in the wallet${held.expiresAt ? `, valid until ${new Date(held.expiresAt * 1000).toISOString()}` : ""}.`,
      ]);
    }));

  walletCommand(wallet, "present", "Answer a verifier's challenge with a presentation of the credential (PIN); prints it, or writes it to --out",
    "MCID_PIN=… mcid wallet present --wallet phone.json --challenge Xy3… --audience gate:sejong-east --out vp.jwt")
    .requiredOption("--challenge <challenge>", "the verifier's one-time challenge (QR code / login page)")
    .requiredOption("--audience <id>", "the verifier's identifier, as it shows it")
    .option("--lifetime <duration>", "how long the presentation is valid (at most 300s; the verifier's policy may accept less)", "60s")
    .option("--out <file>", "write the presentation here instead of printing it")
    .action(run(async (ctx, o: WalletOpts & { challenge: string; audience: string; lifetime: string; out?: string }) => {
      const lifetime = duration(o.lifetime, "--lifetime");
      const phone = await HolderWallet.open(path.resolve(o.wallet));
      const presentation = await phone.createPresentation({ pin: await readPin(), challenge: o.challenge, audience: o.audience, expiresInSeconds: lifetime });
      const exp = decodeJWT(presentation).payload.exp;
      const expiresAt = exp === undefined ? null : new Date(exp * 1000).toISOString();
      if (o.out !== undefined) {
        const out = path.resolve(o.out);
        await writeFileAtomic(out, presentation + "\n");
        ctx.out.result({ ok: true, file: out, audience: o.audience, challenge: o.challenge, expiresAt }, [`Presentation for ${o.audience} written to ${out} (valid until ${expiresAt}).`]);
      } else {
        ctx.out.result({ ok: true, presentation, audience: o.audience, challenge: o.challenge, expiresAt }, [presentation]);
      }
    }));

  walletCommand(wallet, "sign", "E-sign a document with the device key (PIN): a detached signature bound to the credential",
    'MCID_PIN=… mcid wallet sign --wallet phone.json --file 출장신청서.pdf --purpose "출장 신청서 결재" --out 출장신청서.sig.json')
    .requiredOption("--file <file>", "the document")
    .option("--purpose <text>", "what the signature is for, shown to the signer and bound into the signature")
    .requiredOption("--out <file>", "where to write the signature (JSON)")
    .action(run(async (ctx, o: WalletOpts & { file: string; purpose?: string; out: string }) => {
      const out = path.resolve(o.out);
      await refuseExisting(out);
      let document: Uint8Array;
      try {
        document = new Uint8Array(await readFile(o.file));
      } catch (error) {
        throw new CivilIdError("INVALID_INPUT", `--file: cannot read ${path.resolve(o.file)}.`, { cause: error });
      }
      const phone = await HolderWallet.open(path.resolve(o.wallet));
      const signature = await phone.signDocument({ pin: await readPin(), document, ...(o.purpose === undefined ? {} : { purpose: o.purpose }) });
      await writeFileAtomic(out, JSON.stringify(signature, null, 2) + "\n");
      ctx.out.result({ ok: true, file: out, signer: phone.did, documentDigest: documentDigest(document), purpose: o.purpose ?? null }, [
        `Signed ${path.basename(o.file)} (sha-256 ${documentDigest(document)}) as ${phone.did}; signature in ${out}.`,
        `The document system anchors it on chain (its signing time): mcid anchor ${o.out} --key <account>; then anyone checks it: mcid verify-document --file ${o.file} --signature ${o.out}`,
      ]);
    }));
}
