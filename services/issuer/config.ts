import { z } from "zod";
import { listenConfigSchema, staffMemberSchema } from "../common/index.js";
import { STAFF_ROLES } from "./staff.js";

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
