import { CivilIdError, type ErrorCode } from "../../sdk/errors.js";

/** Exit codes of `mcid` (documented in docs/CLI.md). */
export const EXIT = {
  OK: 0,
  /** A verification ran and refused the credential / presentation / document. */
  REFUSED: 1,
  /** Bad command line or bad input file: nothing was changed. */
  USAGE: 2,
  /** The chain node (or another service) could not be reached, answered garbage or refused the transaction. */
  INFRASTRUCTURE: 3,
  /** The ledger or the workflow refused the operation (role, state, organisation). */
  OPERATION_REFUSED: 4,
  /** A transaction was sent but its outcome is not known yet (not mined within --tx-timeout): check it later. */
  PENDING: 5,
  /** Interrupted (Ctrl-C), as a shell reports SIGINT: nothing more was sent. */
  INTERRUPTED: 130,
} as const;

/** Codes the CLI adds to the SDK's: situations of the command line itself. */
export type CliErrorCode = "TRANSACTION_PENDING" | "DEPLOYMENT_EXISTS" | "UNSAFE_OUTPUT_PATH" | "INTERRUPTED" | "INTERNAL";

/** An error of the CLI layer (not of the SDK), with its code and exit code. */
export class CliError extends Error {
  constructor(readonly code: CliErrorCode, message: string, readonly exit: number, readonly details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CliError";
  }
}

/** Ctrl-C at a prompt or while waiting. */
export class Interrupted extends CliError {
  constructor() {
    super("INTERRUPTED", "Interrupted; nothing more was sent.", EXIT.INTERRUPTED);
  }
}

const INFRA: ReadonlySet<ErrorCode> = new Set([
  "CHAIN_UNREACHABLE", "INDEX_STALE", "CHAIN_ID_MISMATCH", "TRANSACTION_REJECTED", "CHAIN_CALL_FAILED", "WRONG_CHAIN", "LEDGER_DISAGREEMENT",
]);
const USAGE: ReadonlySet<ErrorCode> = new Set([
  "INVALID_INPUT", "INVALID_DEPLOYMENT", "DEPLOYMENT_NOT_FOUND", "DEPLOYMENT_MISMATCH", "INVALID_AGENCY_CODE", "INVALID_CREDENTIAL_ID", "MALFORMED_JWT",
  "WEAK_PIN", "WALLET_NOT_FOUND", "WALLET_EXISTS", "WALLET_CORRUPT", "REQUEST_NOT_FOUND",
]);

/**
 * What a node answers when it refuses a transaction before it runs: nonce and fee rules of the mempool, funds. Not
 * a contract refusal: nothing was executed, and sending again (later, or with another fee) may succeed.
 */
const NODE_REJECTION = /nonce too (low|high)|replacement (fee|transaction)[^"]*(too low|underpriced)|already known|known transaction|transaction underpriced|fee[^"]*less than (the )?block base ?fee|max fee per gas less than|gas ?price[^"]*(below|too low)|insufficient funds|intrinsic gas too low|exceeds block gas limit/i;
const NODE_REJECTION_CODES = new Set(["NONCE_EXPIRED", "REPLACEMENT_UNDERPRICED", "INSUFFICIENT_FUNDS", "TRANSACTION_REPLACED"]);

/** Every message and ethers code in an error's chain (cause, ethers' `error`, `info.error`). */
function chainOf(error: unknown): { messages: string[]; codes: string[] } {
  const messages: string[] = [];
  const codes: string[] = [];
  const seen = new Set<unknown>();
  const visit = (e: unknown, depth: number) => {
    if (e === null || typeof e !== "object" || seen.has(e) || depth > 6) return;
    seen.add(e);
    const o = e as { message?: unknown; shortMessage?: unknown; code?: unknown; cause?: unknown; error?: unknown; info?: { error?: unknown } };
    if (typeof o.shortMessage === "string") messages.push(o.shortMessage);
    else if (typeof o.message === "string") messages.push(o.message);
    if (typeof o.code === "string") codes.push(o.code);
    visit(o.cause, depth + 1);
    visit(o.error, depth + 1);
    visit(o.info?.error, depth + 1);
  };
  visit(error, 0);
  return { messages, codes };
}

/** The node's own words for a rejected transaction, if this error is one. */
function nodeRejection(error: unknown): string | undefined {
  const { messages, codes } = chainOf(error);
  const message = messages.find((m) => NODE_REJECTION.test(m));
  if (message !== undefined) return message;
  return codes.some((c) => NODE_REJECTION_CODES.has(c)) ? (messages.at(-1) ?? "refused") : undefined;
}

/** Long hex (calldata, bytecode) and ethers' JSON dumps make a message unreadable: keep their size only. */
export function readable(message: string): string {
  let text = message.replace(/0x[0-9a-fA-F]{80,}/g, (hex) => `0x…(${(hex.length - 2) / 2} bytes)`);
  text = text.replace(/\s*\((?:error|payload|transaction|info|data|code)=[\s\S]*$/, "");
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/** SDK messages that speak to a programmer, in the words of the CLI. */
function forOperator(code: string, message: string): string {
  if (code === "WALLET_NOT_FOUND") return message.replace("activate the ID first.", "create one with `mcid wallet create` (or check --wallet / MCID_WALLET).");
  return message.replace(/run reconcile\(\) later/g, "run `mcid request reconcile` later").replace(/`?reconcile\(\)`?/g, "`mcid request reconcile`");
}

export interface DescribedError {
  readonly code: string;
  readonly message: string;
  readonly details: Record<string, unknown> | undefined;
  readonly exit: number;
}

/** The code, message and exit code the CLI reports for an error. */
export function describeError(error: unknown): DescribedError {
  if (error instanceof CliError) return { code: error.code, message: error.message, details: error.details, exit: error.exit };
  // The SDK names node refusals TRANSACTION_REJECTED itself (sdk/chain/errors.ts); errors from outside it (a deploy,
  // ethers directly) are recognised here by the node's words, so both read the same.
  const rejection = error instanceof CivilIdError && error.code === "TRANSACTION_REJECTED" ? (nodeRejection(error) ?? error.message) : nodeRejection(error);
  if (rejection !== undefined) {
    return {
      code: "TRANSACTION_REJECTED",
      message: `The node refused the transaction before running it: ${readable(rejection)}. Nothing was changed. ` +
        "Another command may be sending from the same key (wait for it and retry), or the fee is wrong for this chain (--gas-price).",
      details: undefined,
      exit: EXIT.INFRASTRUCTURE,
    };
  }
  if (error instanceof CivilIdError) {
    const exit = INFRA.has(error.code) ? EXIT.INFRASTRUCTURE : USAGE.has(error.code) ? EXIT.USAGE : EXIT.OPERATION_REFUSED;
    return { code: error.code, message: forOperator(error.code, readable(error.message)), details: error.details, exit };
  }
  const { messages } = chainOf(error);
  const text = messages.join(" — ");
  if (/ECONNREFUSED|ENOTFOUND|fetch failed|socket hang up|ETIMEDOUT|ECONNRESET/i.test(text)) {
    return { code: "CHAIN_UNREACHABLE", message: `Cannot reach the chain node (${readable(messages[0] ?? text)}). Check --rpc-url and that the node is running.`, details: undefined, exit: EXIT.INFRASTRUCTURE };
  }
  return { code: "INTERNAL", message: readable(messages[0] ?? String(error)), details: undefined, exit: EXIT.INFRASTRUCTURE };
}

export function exitCodeFor(error: unknown): number {
  return describeError(error).exit;
}

/** Human-readable output by default; with --json exactly one JSON object on stdout. Progress only on a TTY. */
export class Output {
  constructor(readonly json: boolean, private readonly stream: NodeJS.WriteStream = process.stdout) {}

  /** Prints the command's result: `lines` for people, `data` for --json. */
  result(data: Record<string, unknown>, lines: readonly string[]): void {
    if (this.json) this.stream.write(JSON.stringify(data, replacer) + "\n");
    else if (lines.length > 0) this.stream.write(lines.join("\n") + "\n");
  }

  /** A line of news while the command works (a transaction sent, waiting for its block): stderr, never under --json. */
  note(line: string): void {
    if (!this.json) process.stderr.write(line + "\n");
  }

  /** Prints an error the same way and returns the exit code to use. */
  error(error: unknown): number {
    const { code, message, details, exit } = describeError(error);
    if (this.json) {
      process.stdout.write(JSON.stringify({ ok: false, error: { code, message, details } }, replacer) + "\n");
    } else {
      process.stderr.write(`error [${code}]: ${message}\n`);
    }
    return exit;
  }

  /** A progress reporter for long work; silent under --json or when stderr is not a terminal. */
  progress(label: string, total: number): (done: number) => void {
    if (this.json || !process.stderr.isTTY) return () => undefined;
    let last = -1;
    return (done: number) => {
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      if (pct === last) return;
      last = pct;
      const width = 30;
      const bar = "█".repeat(Math.round((pct / 100) * width)).padEnd(width, "·");
      process.stderr.write(`\r${label} ${bar} ${done}/${total} (${pct}%)${done >= total ? "\n" : ""}`);
    };
  }
}

function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
