/**
 * One small async SQL layer under every store that must run on one machine (SQLite, the embedded default) and on
 * several (PostgreSQL, instances behind a load balancer): `all/one/run/exec` with positional `?` parameters
 * (rewritten to `$n` for PostgreSQL) and `transaction(fn)`, whose body may await. Nested calls — a store method
 * that opens a transaction, called inside another — join the open one (AsyncLocalStorage), so a rule written
 * as "read, check, write" stays one atomic step.
 *
 * - SQLite: one connection (node:sqlite, WAL, FULL sync, see openDurableDatabase); a transaction is
 *   `BEGIN IMMEDIATE … COMMIT`, and an in-process queue keeps other callers' statements out of it while its body
 *   awaits. Other processes on the same file wait on SQLite's write lock (busy timeout).
 * - PostgreSQL: a pool (node-postgres); a transaction holds one pooled client and first takes a transaction-level
 *   advisory lock of the store (`lockKey`), so of the store's transactions, across every instance, one runs at a
 *   time — the same guarantee BEGIN IMMEDIATE gives on SQLite — and single-use steps stay conditional UPDATEs.
 *   BIGINT columns are read as numbers (our integers are Unix milliseconds and row ids, safe as doubles).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { createHash } from "node:crypto";
import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import pg from "pg";
import { CivilIdError } from "../errors.js";
import { openDurableDatabase } from "./sqlite.js";

export type SqlDialect = "sqlite" | "postgres";
export type SqlValue = string | number | bigint | Uint8Array | null;
export type SqlRow = Record<string, unknown>;

/** Where a store lives: a SQLite file, or a PostgreSQL database (optionally in its own schema). */
export type StoreLocation = { readonly kind: "sqlite"; readonly file: string } | { readonly kind: "postgres"; readonly url: string; readonly schema?: string };

export interface SqlDatabase {
  readonly dialect: SqlDialect;
  readonly isOpen: boolean;
  /** Runs a script of statements without parameters (schema). */
  exec(script: string): Promise<void>;
  all(sql: string, params?: readonly SqlValue[]): Promise<SqlRow[]>;
  one(sql: string, params?: readonly SqlValue[]): Promise<SqlRow | undefined>;
  /** A write; `changes` is the number of rows it touched. */
  run(sql: string, params?: readonly SqlValue[]): Promise<{ changes: number }>;
  /** Runs `fn` in one transaction (or joins the caller's); a throw rolls everything back. */
  transaction<T>(fn: () => Promise<T>): Promise<T>;
  /** Whether the caller runs inside one of this database's transactions. */
  readonly inTransaction: boolean;
  close(): Promise<void>;
}

/** Per-dialect column types for schema text shared by both backends. */
export function sqlTypes(dialect: SqlDialect): { int: string; id: string; serial: string; strict: string } {
  return dialect === "sqlite"
    ? { int: "INTEGER", id: "INTEGER PRIMARY KEY", serial: "INTEGER PRIMARY KEY AUTOINCREMENT", strict: " STRICT" }
    : { int: "BIGINT", id: "BIGSERIAL PRIMARY KEY", serial: "BIGSERIAL PRIMARY KEY", strict: "" };
}

/** Schema text that makes `table` append-only (UPDATE and DELETE refused; TRUNCATE too on PostgreSQL). */
export function appendOnly(dialect: SqlDialect, table: string): string {
  if (dialect === "sqlite") {
    return `
CREATE TRIGGER IF NOT EXISTS ${table}_no_update BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ${table}_no_delete BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END;`;
  }
  return `
CREATE OR REPLACE FUNCTION mcid_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
CREATE OR REPLACE TRIGGER ${table}_no_change BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION mcid_append_only();
CREATE OR REPLACE TRIGGER ${table}_no_truncate BEFORE TRUNCATE ON ${table} FOR EACH STATEMENT EXECUTE FUNCTION mcid_append_only();`;
}

/** What every store over this layer has: its database, `transaction` and `close`. */
export abstract class SqlStore {
  protected constructor(protected readonly db: SqlDatabase) {}

  /** One transaction (joined by the store's calls inside it); any throw rolls it back. */
  transaction<T>(fn: () => Promise<T>): Promise<T> {
    return this.db.transaction(fn);
  }

  /** Closes the database (waiting for a transaction in progress). */
  close(): Promise<void> {
    return this.db.close();
  }
}

/** Opens a store's database at `location` and applies `schema(dialect)` (idempotent; serialised across instances on PostgreSQL). */
export async function openSqlDatabase(location: StoreLocation, schema: (dialect: SqlDialect) => string, name: string): Promise<SqlDatabase> {
  if (location.kind === "sqlite") return Promise.resolve(new SqliteDatabase(openDurableDatabase(location.file, schema("sqlite"))));
  return PostgresDatabase.open(location, schema("postgres"), name);
}

type Frame = { readonly owner: object };

class SqliteDatabase implements SqlDatabase {
  readonly dialect = "sqlite" as const;
  private readonly frames = new AsyncLocalStorage<Frame>();
  /** Resolves when the transaction in progress (if any) ends. */
  private busy: Promise<void> | undefined;

  constructor(private readonly db: DatabaseSync) {}

  get isOpen(): boolean {
    return this.db.isOpen;
  }

  get inTransaction(): boolean {
    return this.frames.getStore()?.owner === this;
  }

  /**
   * Whether another caller's transaction is open on the connection. Callers loop `while (blocked()) await busy`
   * and then run their statement synchronously, so nothing slips in between the check and the statement.
   */
  private blocked(): boolean {
    return this.busy !== undefined && !this.inTransaction;
  }

  private checkOpen(): void {
    if (!this.db.isOpen) throw new CivilIdError("INVALID_WORKFLOW_STATE", "The database is closed.");
  }

  async exec(script: string): Promise<void> {
    while (this.blocked()) await this.busy;
    this.checkOpen();
    this.db.exec(script);
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    while (this.blocked()) await this.busy;
    this.checkOpen();
    return this.db.prepare(sql).all(...(params as SQLInputValue[]));
  }

  async one(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow | undefined> {
    while (this.blocked()) await this.busy;
    this.checkOpen();
    return this.db.prepare(sql).get(...(params as SQLInputValue[]));
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    while (this.blocked()) await this.busy;
    this.checkOpen();
    return { changes: Number(this.db.prepare(sql).run(...(params as SQLInputValue[])).changes) };
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn();
    while (this.busy !== undefined) await this.busy;
    this.checkOpen();
    let release!: () => void;
    this.busy = new Promise((resolve) => (release = resolve));
    try {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        const out = await this.frames.run({ owner: this }, fn);
        this.db.exec("COMMIT");
        return out;
      } catch (error) {
        if (this.db.isOpen && this.db.isTransaction) this.db.exec("ROLLBACK");
        throw error;
      }
    } finally {
      this.busy = undefined;
      release();
    }
  }

  async close(): Promise<void> {
    while (this.busy !== undefined) await this.busy;
    if (this.db.isOpen) this.db.close();
  }
}

// BIGINT (int8) and COUNT(*) come back as strings by default; ours are safe integers.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: (oid: number, format?: string): unknown => (oid === INT8_OID ? Number : (pg.types.getTypeParser(oid, format as "text") as unknown)),
} as unknown as pg.CustomTypesConfig;

/** `?` parameters → `$1, $2, …`; a `?` inside a quoted literal or identifier ('…', "…") is text and stays. */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/'(?:[^']|'')*'|"(?:[^"]|"")*"|\?/g, (token) => (token === "?" ? `$${++n}` : token));
}

/**
 * Runs `body` in one transaction on a pooled `client` and releases it. The body's error is the one reported; a
 * client whose ROLLBACK failed too is unusable, so it is handed back as broken (the pool discards it) instead of
 * going to the next caller mid-transaction.
 */
async function inPgTransaction<T>(client: pg.PoolClient, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let broken: Error | undefined;
  try {
    await client.query("BEGIN");
    const out = await body(client);
    await client.query("COMMIT");
    return out;
  } catch (error) {
    await client.query("ROLLBACK").catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

function lockKey(name: string): string {
  // A signed 64-bit key from the store's name (and schema): each store serialises only its own transactions.
  return createHash("sha256").update(name).digest().readBigInt64BE(0).toString();
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

class PostgresDatabase implements SqlDatabase {
  readonly dialect = "postgres" as const;
  private readonly frames = new AsyncLocalStorage<{ owner: object; client: pg.PoolClient }>();
  private open = true;

  private constructor(private readonly pool: pg.Pool, private readonly lock: string) {}

  static async open(location: Extract<StoreLocation, { kind: "postgres" }>, schema: string, name: string): Promise<PostgresDatabase> {
    if (location.schema !== undefined && !SCHEMA_NAME.test(location.schema)) {
      throw new CivilIdError("INVALID_INPUT", `PostgreSQL schema name ${JSON.stringify(location.schema)}: lower-case letters, digits and _ only.`);
    }
    let url: URL;
    try {
      url = new URL(location.url);
      if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") throw new Error("not a postgres: URL");
    } catch (error) {
      throw new CivilIdError("INVALID_INPUT", "A PostgreSQL store needs a postgres://user@host:port/database URL.", { cause: error });
    }
    const pool = new pg.Pool({
      connectionString: location.url, max: 5, types: pgTypes,
      ...(location.schema === undefined ? {} : { options: `-c search_path=${location.schema}` }),
    });
    // An idle client's connection error must not crash the process: the next query reports it.
    pool.on("error", () => undefined);
    const qualified = `${name}:${location.schema ?? "public"}`;
    try {
      await inPgTransaction(await pool.connect(), async (client) => {
        // Instances starting at once: serialise the DDL (CREATE … IF NOT EXISTS is not safe concurrently).
        await client.query("SELECT pg_advisory_xact_lock(72616002)");
        if (location.schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${location.schema}`);
        await client.query(schema);
      });
    } catch (error) {
      await pool.end();
      throw new CivilIdError(
        "INVALID_INPUT",
        `Cannot open the PostgreSQL store ${name} at ${url.host}${url.pathname}: ${error instanceof Error ? error.message : String(error)}. Check the URL and that the server runs.`,
        { cause: error },
      );
    }
    return new PostgresDatabase(pool, lockKey(qualified));
  }

  get isOpen(): boolean {
    return this.open;
  }

  get inTransaction(): boolean {
    return this.frames.getStore()?.owner === this;
  }

  private async query(sql: string, params: readonly SqlValue[]): Promise<pg.QueryResult> {
    if (!this.open) throw new CivilIdError("INVALID_WORKFLOW_STATE", "The database is closed.");
    const frame = this.frames.getStore();
    const values = params.map((v) => (typeof v === "bigint" ? v.toString() : v instanceof Uint8Array ? Buffer.from(v) : v));
    return (frame?.owner === this ? frame.client : this.pool).query(numbered(sql), values);
  }

  async exec(script: string): Promise<void> {
    await this.query(script, []);
  }

  async all(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow[]> {
    return (await this.query(sql, params)).rows as SqlRow[];
  }

  async one(sql: string, params: readonly SqlValue[] = []): Promise<SqlRow | undefined> {
    return (await this.query(sql, params)).rows[0] as SqlRow | undefined;
  }

  async run(sql: string, params: readonly SqlValue[] = []): Promise<{ changes: number }> {
    return { changes: (await this.query(sql, params)).rowCount ?? 0 };
  }

  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    if (this.inTransaction) return fn();
    if (!this.open) throw new CivilIdError("INVALID_WORKFLOW_STATE", "The database is closed.");
    return inPgTransaction(await this.pool.connect(), async (client) => {
      await client.query("SELECT pg_advisory_xact_lock($1)", [this.lock]);
      return this.frames.run({ owner: this, client }, fn);
    });
  }

  async close(): Promise<void> {
    if (!this.open) return;
    this.open = false;
    await this.pool.end();
  }
}
