/**
 * The issuing server as the CLI runs it: one organisation's `IssuanceWorkflow` over its database
 * `<data-dir>/issuance-<agency>.sqlite`, configured with the registrar account (the global --key), the issuer key
 * (--issuer-key) and the consortium holder-reference secret. Passwords are asked only by the commands that sign
 * (`request issue`, `request reconcile`); the others use the keystores' addresses, read without the password.
 */
import { readFile, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Command } from "commander";
import type { Issuer } from "did-jwt-vc";
import { VoidSigner, type Signer } from "ethers";
import { CivilIdError } from "../../sdk/errors.js";
import { parseAgencyCode } from "../../sdk/chain/codes.js";
import { connectLedger } from "../../sdk/chain/contracts.js";
import { didForAddress } from "../../sdk/did/did.js";
import { issuerFromPrivateKey } from "../../sdk/credential/index.js";
import { LoggingSmsGateway, type SmsGateway } from "../../sdk/issuer/sms.js";
import { IssuanceWorkflow } from "../../sdk/issuer/workflow.js";
import { decryptKeystore, loadLedger, readKeystore } from "./context.js";
import type { CommandContext } from "./run.js";

export interface ServerOptions {
  agency: string;
  issuerKey?: string;
  holderSecretFile?: string;
  sms: string;
  activationUrl: string;
  actor?: string;
}

export const DEFAULT_ACTIVATION_URL = "https://m-id.example.go.kr/install";
export const NO_CARRIER = "no SMS carrier configured (--sms outbox): the message waits in the outbox, see `mcid sms outbox`";

/** Adds the issuing server's configuration options to a command. */
export function serverOptions(command: Command): Command {
  return command
    .requiredOption("--agency <code>", "the organisation whose issuing server this is (7-digit 기관코드)")
    .option("--issuer-key <keystore>", "the organisation's issuer key (default MCID_ISSUER_KEY; password MCID_ISSUER_KEY_PASSWORD or prompt, asked only to sign)", process.env.MCID_ISSUER_KEY || undefined)
    .option("--holder-secret-file <file>", "consortium holder-reference secret as hex (default MCID_HOLDER_SECRET_FILE, else the hex in MCID_HOLDER_SECRET)", process.env.MCID_HOLDER_SECRET_FILE || undefined)
    .option("--sms <gateway>", "outbox: SMS wait in the outbox for `mcid sms outbox` (no carrier) | log: printed on stderr and marked sent", process.env.MCID_SMS || "outbox")
    .option("--activation-url <url>", "install/activation page the invitation SMS links to (https)", process.env.MCID_ACTIVATION_URL || DEFAULT_ACTIVATION_URL)
    .option("--actor <id>", "who is acting, for the audit trail (default operator:<login name>)");
}

/** The consortium holder-reference secret from --holder-secret-file or MCID_HOLDER_SECRET: hex, at least 32 bytes. */
export async function readHolderSecret(file: string | undefined): Promise<Uint8Array> {
  let text: string;
  let source: string;
  if (file !== undefined) {
    source = path.resolve(file);
    try {
      text = await readFile(source, "utf8");
    } catch (error) {
      throw new CivilIdError("INVALID_INPUT", `--holder-secret-file: cannot read ${source}.`, { cause: error });
    }
  } else {
    const fromEnv = process.env.MCID_HOLDER_SECRET;
    if (fromEnv === undefined || fromEnv.length === 0) {
      throw new CivilIdError("INVALID_INPUT", "The consortium holder-reference secret is needed: --holder-secret-file <file> or MCID_HOLDER_SECRET (hex, at least 32 bytes).");
    }
    text = fromEnv;
    source = "MCID_HOLDER_SECRET";
  }
  const hex = text.trim().replace(/^0x/i, "");
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex) || hex.length < 64) {
    throw new CivilIdError("INVALID_INPUT", `${source} must hold the holder-reference secret as hex, at least 32 bytes (64 hex digits).`);
  }
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

export function actorOf(o: { actor?: string }): string {
  if (o.actor !== undefined) return o.actor;
  let login = "cli";
  try {
    login = os.userInfo().username || login;
  } catch {
    // no user database entry (some containers): the audit still says it came from the CLI
  }
  return `operator:${login}`;
}

export function databasePath(dataDir: string, agencyCode: number): string {
  return path.join(dataDir, `issuance-${agencyCode}.sqlite`);
}

function smsGateway(mode: string): SmsGateway {
  if (mode === "outbox") return { send: () => Promise.reject(new Error(NO_CARRIER)) };
  if (mode === "log") {
    return new LoggingSmsGateway((m) => void process.stderr.write(`SMS #${m.id} to ${m.to} (${m.purpose}, ${m.requestId}): ${m.body}\n`));
  }
  throw new CivilIdError("INVALID_INPUT", `--sms ${JSON.stringify(mode)}: use outbox (no carrier: read them with mcid sms outbox) or log (print them).`);
}

/** An issuer whose DID is the keystore's and whose key stays locked: for the workflow steps that sign nothing. */
function lockedIssuer(chainId: number, address: string): Issuer {
  return {
    did: didForAddress(chainId, address),
    alg: "ES256K",
    signer: () => Promise.reject(new CivilIdError("INVALID_INPUT", "This command does not unlock the issuer key; credentials are signed by `mcid request issue` and `mcid request reconcile`.")),
  };
}

/**
 * Opens the issuing server's workflow. `sign`: unlock the registrar and issuer keys (passwords) because the command
 * registers on chain and signs credentials. `create`: the database may be created (an HR import); every other
 * command refuses a missing database rather than leaving an empty one behind.
 */
export async function openWorkflow(ctx: CommandContext, o: ServerOptions, mode: { sign: boolean; create: boolean }): Promise<IssuanceWorkflow> {
  const agencyCode = parseAgencyCode(o.agency);
  const sms = smsGateway(o.sms);
  const holderSecret = await readHolderSecret(o.holderSecretFile);
  if (!ctx.global.key) throw new CivilIdError("INVALID_INPUT", "The issuing server's registrar account is needed: --key <keystore.json> (or MCID_KEY).");
  if (!o.issuerKey) throw new CivilIdError("INVALID_INPUT", "The organisation's issuer key is needed: --issuer-key <keystore.json> (or MCID_ISSUER_KEY).");
  const [registrarFile, issuerFile] = await Promise.all([readKeystore(ctx.global.key, "--key"), readKeystore(o.issuerKey, "--issuer-key")]);
  const dbPath = databasePath(ctx.global.dataDir, agencyCode);
  if (!mode.create && !(await stat(dbPath).then((s) => s.isFile(), () => false))) {
    throw new CivilIdError("INVALID_INPUT", `No issuance database of organisation ${agencyCode} at ${dbPath}: import its HR requests first (mcid hr import), or check --agency and --data-dir.`);
  }
  const chain = await ctx.chain();
  // The deployment is checked before any password is asked.
  const { deployment } = await loadLedger(ctx.global, chain, chain.provider);
  let registrar: Signer;
  let issuer: Issuer;
  if (mode.sign) {
    registrar = await ctx.signer();
    issuer = issuerFromPrivateKey(chain.chainId, (await decryptKeystore(issuerFile, "MCID_ISSUER_KEY_PASSWORD")).privateKey);
  } else {
    registrar = new VoidSigner(registrarFile.address, chain.provider);
    issuer = lockedIssuer(chain.chainId, issuerFile.address);
  }
  return IssuanceWorkflow.open({
    dbPath, create: mode.create, agencyCode, ledger: connectLedger(deployment, registrar), issuer, chainId: chain.chainId, holderSecret, sms, invitation: { baseUrl: o.activationUrl },
  });
}

/** Runs `fn` with the workflow open and closes it whatever happens. */
export async function withWorkflow<T>(ctx: CommandContext, o: ServerOptions, mode: { sign: boolean; create: boolean }, fn: (wf: IssuanceWorkflow) => Promise<T> | T): Promise<T> {
  const wf = await openWorkflow(ctx, o, mode);
  try {
    return await fn(wf);
  } finally {
    await wf.close();
  }
}
