import { createInterface } from "node:readline";
import { CivilIdError } from "../../sdk/errors.js";

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
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const mutable = rl as unknown as { _writeToOutput: (s: string) => void };
    process.stderr.write(prompt);
    mutable._writeToOutput = () => undefined; // no echo
    rl.question("", (answer) => {
      rl.close();
      process.stderr.write("\n");
      resolve(answer);
    });
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
