import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { CivilIdError } from "../errors.js";

/**
 * Opens (creating its folder) a SQLite database the way every store of the SDK needs it: WAL journal, FULL
 * synchronous commits (a committed transition survives a power cut), a busy timeout for concurrent processes,
 * foreign keys enforced, and `schema` applied when given. Closes the handle again if any of that fails.
 */
export function openDurableDatabase(file: string, schema?: string): DatabaseSync {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new DatabaseSync(file);
  try {
    db.exec("PRAGMA busy_timeout = 5000");
    const mode = db.prepare("PRAGMA journal_mode = WAL").get() as { journal_mode: string } | undefined;
    if (mode?.journal_mode !== "wal") throw new CivilIdError("INVALID_INPUT", `${file}: the database cannot use WAL mode.`);
    db.exec("PRAGMA synchronous = FULL;");
    db.exec("PRAGMA foreign_keys = ON;");
    if (schema !== undefined) db.exec(schema);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}
