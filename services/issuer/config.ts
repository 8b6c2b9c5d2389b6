import path from "node:path";
import { z } from "zod";
import type { StoreLocation } from "../../sdk/util/sql.js";
import { listenConfigSchema, staffMemberSchema } from "../common/index.js";
import { STAFF_ROLES } from "./staff.js";

/** The console's passkey database file (SQLite). */
export const PASSKEY_DB = "staff-passkeys.sqlite";

/** An encrypted JSON keystore (the CLI's format) whose password is read from an environment variable. */
const keystoreRef = z.object({ keystore: z.string().min(1), passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/) }).strict();
export type KeystoreRef = z.infer<typeof keystoreRef>;

/**
 * The `issuer` section of the services' configuration (file, `MCID_ISSUER__*` variables, flags). Keys are
 * keystores whose passwords come from the environment: nothing secret sits in the file itself.
 */
export const issuerConfigSchema = listenConfigSchema
  .extend({
    /** The organisations this service issues for, each with its keys. */
    agencies: z
      .array(
        z
          .object({
            code: z.number().int().min(1_000_000).max(9_999_999),
            name: z.string().min(1).max(100),
            /** The organisation's issuer DID key (signs credentials). */
            issuerKey: keystoreRef,
            /** Registrar operator used only by the issuance workflow (registrations). */
            registrarKey: keystoreRef,
            /** Registrar operator for staff unlock / revoke (kept apart from the workflow's nonces). */
            statusOfficerKey: keystoreRef,
            /** LockOnly operator for lost-phone locks (default: the status officer). */
            helpDeskKey: keystoreRef.optional(),
          })
          .strict(),
      )
      .default([]),
    /**
     * Public base URL of the status service (Token Status Lists). Credentials then carry the standard
     * `status.status_list` claim pointing at `<url>/status-lists/<agency>`. `npm run serve` defaults it to the
     * status service it starts.
     */
    statusListBaseUrl: z.url({ protocol: /^https?$/ }).regex(/[^/]$/, "no trailing slash").optional(),
    /** Hex file of the consortium holder-reference secret (>= 32 bytes). */
    holderSecretFile: z.string().min(1).optional(),
    /** outbox: SMS wait for a carrier integration polling /staff/sms/undelivered | log: written to the service log as sent. */
    sms: z.enum(["outbox", "log"]).default("outbox"),
    /**
     * Where the issuer's databases live. sqlite (default): files in `dir` (default: the service's data folder) —
     * `issuance-<agency>.sqlite` per organisation, `issuer-service.sqlite`, `staff-passkeys.sqlite`; one instance.
     * postgres: one database shared by every issuer instance behind a load balancer — each organisation's workflow
     * in schema `mcid_issuance_<agency>`, the service's and the console's tables in schema `mcid_issuer`.
     */
    store: z
      .discriminatedUnion("kind", [
        z.object({ kind: z.literal("sqlite"), dir: z.string().min(1).optional() }).strict(),
        z.object({ kind: z.literal("postgres"), url: z.string().regex(/^postgres(ql)?:\/\/[^\s]+$/, "a postgres://user@host:port/database URL") }).strict(),
      ], { error: 'kind must be "sqlite" (files in the data folder, one instance) or "postgres" (with url, shared by several instances)' })
      .default({ kind: "sqlite" }),
    /** Staff bearer credentials: hashes only (see `mcid`-independent `hashBearerToken`). */
    staff: z.array(staffMemberSchema(STAFF_ROLES)).default([]),
    invitation: z
      .object({ ttlSeconds: z.number().int().min(60).max(30 * 86_400).default(72 * 3600), maxAttempts: z.number().int().min(1).max(20).default(5) })
      .strict()
      .prefault({}),
    openid4vci: z
      .object({
        preAuthorizedCodeTtlSeconds: z.number().int().min(30).max(3600).default(600),
        accessTokenTtlSeconds: z.number().int().min(30).max(3600).default(900),
        nonceTtlSeconds: z.number().int().min(30).max(3600).default(300),
        credentialWaitMs: z.number().int().min(0).max(60_000).default(5000),
        deferredIntervalSeconds: z.number().int().min(1).max(600).default(5),
        /** Release the offer only after the holder re-checked their identity in the app. */
        identityRecheck: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type IssuerConfig = z.output<typeof issuerConfigSchema>;

/** The issuer's store configuration (see `store` above). */
export type IssuerStoreConfig = IssuerConfig["store"];

/** Where each of the issuer's stores lives, from the configuration and the service's data folder. */
export function issuerStoreLocations(store: IssuerStoreConfig, dataDir: string): {
  readonly service: StoreLocation;
  readonly passkeys: StoreLocation;
  readonly workflow: (agency: number) => StoreLocation;
} {
  if (store.kind === "postgres") {
    return {
      service: { kind: "postgres", url: store.url, schema: "mcid_issuer" },
      passkeys: { kind: "postgres", url: store.url, schema: "mcid_issuer" },
      workflow: (agency) => ({ kind: "postgres", url: store.url, schema: `mcid_issuance_${agency}` }),
    };
  }
  const dir = store.dir ?? dataDir;
  return {
    service: { kind: "sqlite", file: path.join(dir, "issuer-service.sqlite") },
    passkeys: { kind: "sqlite", file: path.join(dir, PASSKEY_DB) },
    workflow: (agency) => ({ kind: "sqlite", file: path.join(dir, `issuance-${agency}.sqlite`) }),
  };
}
