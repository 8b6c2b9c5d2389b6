/**
 * Files with personal data (a reissue request holds the national person id, name and mobile number) are written
 * only where they cannot end up in a commit or a package: by default under the data directory, which .gitignore
 * and .npmignore exclude; a path inside a git work tree that git does not ignore is refused unless the operator
 * says so (--allow-unignored-output).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { CliError, EXIT } from "./output.js";

/** The root of the git work tree holding `file`, if any (walks up looking for .git, as git does). */
export function gitWorkTreeOf(file: string): string | undefined {
  let dir = path.dirname(path.resolve(file));
  for (;;) {
    if (existsSync(path.join(dir, ".git"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** Whether git ignores `file` in its work tree; undefined when git cannot answer. */
function gitIgnores(root: string, file: string): boolean | undefined {
  const r = spawnSync("git", ["-C", root, "check-ignore", "-q", "--no-index", path.relative(root, file)], { stdio: "ignore" });
  if (r.error || r.status === null || r.status > 1) return undefined;
  return r.status === 0;
}

/** Refuses an output path for personal data that git would pick up; returns the resolved path. */
export function personalDataPath(file: string, allowUnignored: boolean): string {
  const resolved = path.resolve(file);
  if (allowUnignored) return resolved;
  const root = gitWorkTreeOf(resolved);
  if (root === undefined) return resolved;
  const ignored = gitIgnores(root, resolved);
  if (ignored === true) return resolved;
  throw new CliError("UNSAFE_OUTPUT_PATH",
    `${resolved} holds personal data (person id, name, mobile) and is inside the git work tree ${root}${ignored === undefined ? " (git could not say whether it is ignored)" : " without being ignored"}: ` +
      "it could be committed or packaged. Write it under the data directory (the default, --data-dir), or pass --allow-unignored-output if this place is safe.",
    EXIT.USAGE, { file: resolved, workTree: root });
}
