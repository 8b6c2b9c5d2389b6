import { CivilIdError } from "../../sdk/errors.js";
import { Interrupted } from "./output.js";

/**
 * Reads a secret (password, PIN) from an environment variable or, on a terminal, from a prompt without echo.
 * Secrets are never taken from the command line, where they would land in shell history and `ps`.
 */
export async function readSecret(envName: string, prompt: string): Promise<string> {
  const fromEnv = process.env[envName];
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  if (!process.stdin.isTTY) {
    throw new CivilIdError("INVALID_INPUT", `No terminal to ask for the secret: set ${envName}.`);
  }
  return promptHidden(prompt);
}

/**
 * The prompt itself: the terminal in raw mode, so nothing is echoed and nothing redraws (readline's line editor
 * would erase the prompt it did not print). Enter ends the entry, Backspace deletes, Ctrl-C interrupts the command
 * (exit 130, as a shell reports SIGINT), Ctrl-D on an empty entry cancels it. The prompt goes to stderr, so stdout
 * stays the command's result.
 */
function promptHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let entry = "";
    const finish = (outcome: () => void) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      outcome();
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return finish(() => resolve(entry));
        if (ch === "\u0003") return finish(() => reject(new Interrupted()));
        if (ch === "\u0004" && entry.length === 0) return finish(() => reject(new CivilIdError("INVALID_INPUT", "No secret entered; nothing was changed.")));
        if (ch === "\u007f" || ch === "\b") entry = entry.slice(0, -1);
        else if (ch >= " ") entry += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.setEncoding("utf8");
    stdin.on("data", onData);
    stdin.resume();
  });
}

/**
 * Reads a new secret (e.g. a new wallet PIN): from the environment variable, or typed twice at a prompt without echo
 * (a typo would otherwise lock the holder out of a key only they can open).
 */
export async function readNewSecret(envName: string, prompt: string): Promise<string> {
  const fromEnv = process.env[envName];
  if (fromEnv !== undefined && fromEnv.length > 0) return fromEnv;
  const first = await readSecret(envName, prompt);
  const second = await readSecret(envName, "Again, to confirm: ");
  if (first !== second) throw new CivilIdError("INVALID_INPUT", "The two entries differ; nothing was changed.");
  return first;
}
