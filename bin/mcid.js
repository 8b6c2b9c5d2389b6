#!/usr/bin/env node
// Launcher of the `mcid` CLI: runs the TypeScript entry point through tsx on Node >= 22.13 (Hardhat 3's minimum).
// Started by an older Node (the machines' default is 20), it re-runs itself on the project's pinned Node 22.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { hideSqliteNotice } from "./sqlite-notice.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 22 || (major === 22 && minor < 13)) {
  const node22 = path.join(root, "node_modules", ".bin", "node");
  if (!existsSync(node22)) {
    process.stderr.write("mcid needs Node >= 22.13; run `npx -y -p node@22.23.3 npm ci` in the project first (README.md, Quickstart).\n");
    process.exit(3);
  }
  // Asynchronous, so a signal sent to this process alone (kill, a supervisor's SIGTERM) reaches the real command too
  // instead of leaving it running; Ctrl-C reaches both anyway (one process group) and is not sent twice.
  const child = spawn(node22, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: "inherit" });
  for (const signal of ["SIGTERM", "SIGHUP", "SIGINT"]) {
    process.on(signal, () => {
      if (signal !== "SIGINT") child.kill(signal);
    });
  }
  child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 3)));
} else {
  await runCli();
}

async function runCli() {
  hideSqliteNotice();
  // The large dependencies are loaded natively, before tsx's loader hooks exist: the hooks would otherwise see each of
  // their hundreds of files, which doubles the start-up time of every command.
  await Promise.all([import("ethers"), import("commander"), import("did-jwt"), import("did-jwt-vc")]);
  const { register } = await import("tsx/esm/api");
  register();
  await import(path.join(root, "scripts", "cli", "mcid.ts"));
}
