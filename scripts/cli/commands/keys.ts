import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import { Wallet, encryptKeystoreJson, getAddress, isHexString } from "ethers";
import { CivilIdError } from "../../../sdk/errors.js";
import { writeFileAtomic } from "../../../sdk/util/atomic-file.js";
import { readSecret } from "../secrets.js";
import { run } from "../run.js";

async function refuseOverwrite(file: string): Promise<void> {
  const exists = await stat(file).then(() => true, () => false);
  if (exists) throw new CivilIdError("INVALID_INPUT", `${file} exists; choose another --out (keys are never overwritten).`);
}

async function save(wallet: Wallet, file: string): Promise<void> {
  const password = await readSecret("MCID_KEY_PASSWORD", "New keystore password: ");
  if (password.length < 8) throw new CivilIdError("INVALID_INPUT", "The keystore password must have at least 8 characters.");
  // ethers' default scrypt cost (N = 2^17): slow on purpose.
  const json = await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, password);
  await writeFileAtomic(file, json, 0o600);
}

export function registerKeys(program: Command): void {
  const key = program.command("key").description("Encrypted keystore files (ethers JSON keystore) for operators, members and issuers");
  key
    .command("new")
    .description("Create a new key in an encrypted keystore (password from MCID_KEY_PASSWORD or a prompt)")
    .requiredOption("--out <file>", "keystore file to write")
    .addHelpText("after", "\nExample:\n  MCID_KEY_PASSWORD=… mcid key new --out keys/registrar.json")
    .action(run(async (ctx, o: { out: string }) => {
      const file = path.resolve(o.out);
      await refuseOverwrite(file);
      const wallet = Wallet.createRandom();
      await save(new Wallet(wallet.privateKey), file);
      ctx.out.result({ ok: true, address: wallet.address, file }, [`New key ${wallet.address} in ${file}`]);
    }));
  key
    .command("import")
    .description("Encrypt an existing private key (from MCID_IMPORT_PRIVATE_KEY or a prompt) into a keystore")
    .requiredOption("--out <file>", "keystore file to write")
    .addHelpText("after", "\nExample:\n  MCID_IMPORT_PRIVATE_KEY=0x… MCID_KEY_PASSWORD=… mcid key import --out keys/ministry-1.json")
    .action(run(async (ctx, o: { out: string }) => {
      const file = path.resolve(o.out);
      await refuseOverwrite(file);
      const pk = (await readSecret("MCID_IMPORT_PRIVATE_KEY", "Private key (0x…): ")).trim();
      if (!isHexString(pk, 32)) throw new CivilIdError("INVALID_INPUT", "The private key must be 0x followed by 64 hex digits.");
      const wallet = new Wallet(pk);
      await save(wallet, file);
      ctx.out.result({ ok: true, address: wallet.address, file }, [`Imported ${wallet.address} into ${file}`]);
    }));
  key
    .command("show")
    .description("Show the address of a keystore (no password needed)")
    .requiredOption("--key-file <file>", "keystore file")
    .addHelpText("after", "\nExample:\n  mcid key show --key-file keys/registrar.json")
    .action(run(async (ctx, o: { keyFile: string }) => {
      let json: { address?: unknown };
      try {
        json = JSON.parse(await readFile(o.keyFile, "utf8")) as { address?: unknown };
      } catch (error) {
        throw new CivilIdError("INVALID_INPUT", `${o.keyFile} is not a readable JSON keystore.`, { cause: error });
      }
      if (typeof json.address !== "string") throw new CivilIdError("INVALID_INPUT", `${o.keyFile} has no address field.`);
      const address = getAddress(json.address.startsWith("0x") ? json.address : `0x${json.address}`);
      ctx.out.result({ ok: true, address }, [address]);
    }));
}
