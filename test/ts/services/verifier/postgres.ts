/**
 * A real PostgreSQL server for the shared-store tests: MCID_TEST_PG_URL when CI started one
 * (scripts/ci/postgres.sh), otherwise this process starts one through the same script (installing Debian's
 * postgresql if needed) and stops it afterwards — the test never passes without a server.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";

const SCRIPT = path.resolve(import.meta.dirname, "../../../../scripts/ci/postgres.sh");

export async function postgresServer(): Promise<{ url: string; databaseUrl: () => Promise<string>; stop: () => Promise<void> }> {
  let url = process.env.MCID_TEST_PG_URL;
  let dir: string | undefined;
  if (url === undefined || url === "") {
    dir = mkdtempSync(path.join(tmpdir(), "mcid-pg-"));
    const line = execFileSync(SCRIPT, ["start", dir], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 600_000 });
    const match = /MCID_TEST_PG_URL=(\S+)/.exec(line);
    if (match === null) throw new Error(`scripts/ci/postgres.sh printed no URL: ${line}`);
    url = match[1]!;
  }
  const created: string[] = [];
  const serverUrl = url;
  return {
    url: serverUrl,
    /** A fresh database on the server (dropped by stop). */
    async databaseUrl() {
      const name = `mcid_${randomBytes(6).toString("hex")}`;
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${name}`);
      } finally {
        await admin.end();
      }
      created.push(name);
      const u = new URL(serverUrl);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async stop() {
      if (dir !== undefined) {
        execFileSync(SCRIPT, ["stop", dir], { stdio: ["ignore", "ignore", "inherit"] });
        rmSync(dir, { recursive: true, force: true });
        return;
      }
      const admin = new pg.Client({ connectionString: serverUrl });
      await admin.connect();
      try {
        for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}
