import { readFileSync } from "node:fs";
import { z } from "zod";
import { CivilIdError } from "../../sdk/errors.js";

/**
 * Configuration of the services: defaults from the zod schema, then a JSON file, then environment variables,
 * then explicit overrides (command-line flags) — later sources win. The merged object is validated once, and a
 * refusal names every offending key.
 *
 * Environment variables: `<PREFIX><SECTION>__<KEY>` in SCREAMING_SNAKE_CASE maps to `section.key` in camelCase,
 * e.g. `MCID_ISSUER__PUBLIC_URL=https://id.example.go.kr` → `{ issuer: { publicUrl: … } }`. Numbers, booleans
 * and JSON arrays/objects are parsed; anything else stays a string.
 */
export interface ConfigSources {
  file?: string;
  env?: Record<string, string | undefined>;
  /** Prefix of the environment variables read (default "MCID_"). */
  envPrefix?: string;
  overrides?: Record<string, unknown>;
}

type Json = Record<string, unknown>;

function isPlainObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Deep merge of plain objects; arrays and scalars of `b` replace those of `a`. */
export function mergeConfig(a: Json, b: Json): Json {
  const out: Json = { ...a };
  for (const [key, value] of Object.entries(b)) {
    if (value === undefined) continue;
    const existing = out[key];
    out[key] = isPlainObject(existing) && isPlainObject(value) ? mergeConfig(existing, value) : value;
  }
  return out;
}

const camel = (segment: string) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

function parseEnvValue(raw: string): unknown {
  if (/^(-?\d+(\.\d+)?|true|false|null)$/.test(raw) || /^[[{]/.test(raw)) {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw; // not JSON after all: keep the text, the schema decides
    }
  }
  return raw;
}

/** The configuration object described by the environment variables under `prefix`. */
export function configFromEnv(env: Record<string, string | undefined>, prefix = "MCID_"): Json {
  let out: Json = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(prefix) || raw === undefined) continue;
    const segments = name.slice(prefix.length).split("__").filter((s) => s !== "").map(camel);
    if (segments.length === 0) continue;
    let value: unknown = parseEnvValue(raw);
    for (const segment of [...segments].reverse()) value = { [segment]: value };
    out = mergeConfig(out, value as Json);
  }
  return out;
}

function readConfigFile(file: string): Json {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `Cannot read the configuration file ${file}: give an existing JSON file.`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `The configuration file ${file} is not valid JSON.`, { cause: error });
  }
  if (!isPlainObject(parsed)) throw new CivilIdError("INVALID_INPUT", `The configuration file ${file} must hold a JSON object.`);
  return parsed;
}

/** Loads and validates a configuration; throws CivilIdError INVALID_INPUT naming each bad key. */
export function loadConfig<S extends z.ZodType>(schema: S, sources: ConfigSources = {}): z.output<S> {
  let merged: Json = {};
  if (sources.file !== undefined) merged = mergeConfig(merged, readConfigFile(sources.file));
  if (sources.env !== undefined) merged = mergeConfig(merged, configFromEnv(sources.env, sources.envPrefix));
  if (sources.overrides !== undefined) merged = mergeConfig(merged, sources.overrides);
  const result = schema.safeParse(merged);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new CivilIdError("INVALID_INPUT", `The service configuration is invalid — ${problems}. Fix the file, the MCID_* variables or the flags.`);
  }
  return result.data;
}

/** Settings every service shares (one section per service in the configuration object). */
export const listenConfigSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: z.number().int().min(0).max(65535).default(0),
    /** Public base URL when behind a reverse proxy / TLS terminator (no trailing slash). */
    publicUrl: z
      .url({ protocol: /^https?$/ })
      .refine((u) => !u.endsWith("/"), "no trailing slash")
      .optional(),
    trustProxy: z.union([z.boolean(), z.number().int().min(0), z.string(), z.array(z.string())]).default(false),
    bodyLimit: z.number().int().min(1024).max(10 * 1024 * 1024).default(64 * 1024),
    rateLimit: z
      .object({ max: z.number().int().min(1).default(300), windowMs: z.number().int().min(100).default(60_000) })
      .prefault({}),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  })
  .strict();
export type ListenConfig = z.output<typeof listenConfigSchema>;
