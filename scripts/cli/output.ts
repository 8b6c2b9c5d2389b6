import { CivilIdError, type ErrorCode } from "../../sdk/errors.js";

/** Exit codes of `mcid` (documented in docs/CLI.md). */
export const EXIT = {
  OK: 0,
  /** A verification ran and refused the credential / presentation / document. */
  REFUSED: 1,
  /** Bad command line or bad input file: nothing was changed. */
  USAGE: 2,
  /** The chain node (or another service) could not be reached or answered garbage. */
  INFRASTRUCTURE: 3,
  /** The ledger or the workflow refused the operation (role, state, organisation). */
  OPERATION_REFUSED: 4,
} as const;

const INFRA: ReadonlySet<ErrorCode> = new Set(["CHAIN_UNREACHABLE", "INDEX_STALE", "CHAIN_ID_MISMATCH"]);
const USAGE: ReadonlySet<ErrorCode> = new Set([
  "INVALID_INPUT", "INVALID_DEPLOYMENT", "DEPLOYMENT_NOT_FOUND", "INVALID_AGENCY_CODE", "INVALID_CREDENTIAL_ID", "MALFORMED_JWT",
  "WEAK_PIN", "WALLET_NOT_FOUND", "WALLET_EXISTS", "WALLET_CORRUPT", "REQUEST_NOT_FOUND",
]);

export function exitCodeFor(error: unknown): number {
  if (error instanceof CivilIdError) {
    if (INFRA.has(error.code)) return EXIT.INFRASTRUCTURE;
    if (USAGE.has(error.code)) return EXIT.USAGE;
    return EXIT.OPERATION_REFUSED;
  }
  return EXIT.INFRASTRUCTURE;
}

/** Human-readable output by default; with --json exactly one JSON object on stdout. Progress only on a TTY. */
export class Output {
  constructor(readonly json: boolean, private readonly stream: NodeJS.WriteStream = process.stdout) {}

  /** Prints the command's result: `lines` for people, `data` for --json. */
  result(data: Record<string, unknown>, lines: readonly string[]): void {
    if (this.json) this.stream.write(JSON.stringify(data, replacer) + "\n");
    else this.stream.write(lines.join("\n") + "\n");
  }

  /** Prints an error the same way and returns the exit code to use. */
  error(error: unknown): number {
    const code = exitCodeFor(error);
    const typed = error instanceof CivilIdError ? error : undefined;
    const message = error instanceof Error ? error.message : String(error);
    if (this.json) {
      process.stdout.write(JSON.stringify({ ok: false, error: { code: typed?.code ?? "INTERNAL", message, details: typed?.details } }, replacer) + "\n");
    } else {
      process.stderr.write(`error${typed ? ` [${typed.code}]` : ""}: ${message}\n`);
    }
    return code;
  }

  /** A progress reporter for long work; silent under --json or when stderr is not a terminal. */
  progress(label: string, total: number): (done: number) => void {
    if (this.json || !process.stderr.isTTY) return () => undefined;
    let last = -1;
    return (done: number) => {
      const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
      if (pct === last) return;
      last = pct;
      process.stderr.write(`\r${label}: ${done}/${total} (${pct}%)${done >= total ? "\n" : ""}`);
    };
  }
}

function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? value.toString() : value;
}
