import { readFileSync } from "node:fs";
import { SigningKey } from "ethers";
import { z } from "zod";
import { connectLedger } from "../../sdk/chain/contracts.js";
import { LedgerIndex } from "../../sdk/status/ledger-index.js";
import { CivilIdError } from "../../sdk/errors.js";
import type { ServeDefinition } from "../environment.js";
import { buildStatusService } from "./app.js";
import { StatusListPublisher } from "./publisher.js";

/**
 * Configuration section `status` (its listen settings come from the runner, like every service's). Keys are read from files holding one 0x-hex private key each (mode 0600, kept
 * by the organisation / ministry that owns it); `--demo` signs with the demo consortium's issuer keys instead.
 */
export const statusConfigSchema = z
  .object({
    /** Lists' ttl and HTTP max-age (s). */
    ttlSeconds: z.number().int().min(1).max(86_400).default(60),
    /** exp − iat of every list (s). */
    validitySeconds: z.number().int().min(60).max(30 * 86_400).default(86_400),
    /** How often to look for a new finalized block (ms). */
    pollMs: z.number().int().min(100).default(2_000),
    confirmations: z.number().int().min(0).default(0),
    /** Agency code → file with the organisation's status signing key (an accredited issuer key). */
    signingKeyFiles: z.record(z.string().regex(/^[1-9][0-9]{6}$/), z.string().min(1)).default({}),
    /** Files with consortium members' keys that co-sign every list. */
    coSignerKeyFiles: z.array(z.string().min(1)).default([]),
    /** Files with consortium members' keys that sign the offline ledger snapshot (none: no snapshot). */
    snapshotSignerKeyFiles: z.array(z.string().min(1)).default([]),
  })
  .prefault({});
export type StatusConfig = z.output<typeof statusConfigSchema>;

function keyFromFile(file: string): SigningKey {
  let text: string;
  try {
    text = readFileSync(file, "utf8").trim();
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `Cannot read the key file ${file}.`, { cause: error });
  }
  if (!/^0x[0-9a-fA-F]{64}$/.test(text)) throw new CivilIdError("INVALID_INPUT", `${file} must hold one 0x-prefixed 32-byte hex private key.`);
  return new SigningKey(text);
}

export const statusServiceDefinition: ServeDefinition = {
  name: "status",
  async build(env, links, listen) {
    const parsed = statusConfigSchema.safeParse(env.config.status ?? {});
    if (!parsed.success) {
      throw new CivilIdError("INVALID_INPUT", `The status service configuration is invalid — ${parsed.error.issues.map((i) => `status.${i.path.join(".")}: ${i.message}`).join("; ")}.`);
    }
    const config = parsed.data;
    const signers = new Map<number, SigningKey>(Object.entries(config.signingKeyFiles).map(([agency, file]) => [Number(agency), keyFromFile(file)]));
    for (const org of env.demo?.organisations ?? []) if (!signers.has(org.code)) signers.set(org.code, new SigningKey(org.issuerPrivateKey));
    const snapshotSigners = config.snapshotSignerKeyFiles.map(keyFromFile);
    // Snapshots carry every binding digest: a LedgerIndex (synced by the publisher before each rebuild) keeps them
    // in typed arrays, 33 bytes per credential.
    const index = snapshotSigners.length > 0 ? new LedgerIndex({ provider: env.provider, deployment: env.deployment, confirmations: config.confirmations, maxStalenessMs: 60_000 }) : undefined;
    const publisher = new StatusListPublisher({
      ledger: connectLedger(env.deployment, env.provider),
      provider: env.provider,
      baseUri: () => listen.publicUrl ?? links.baseUrl("status"),
      signers,
      coSigners: config.coSignerKeyFiles.map(keyFromFile),
      snapshotSigners,
      ...(index ? { digests: index } : {}),
      confirmations: config.confirmations,
      ttlSeconds: config.ttlSeconds,
      validitySeconds: config.validitySeconds,
      ...(env.now ? { now: env.now } : {}),
    });
    const app = await buildStatusService({
      publisher,
      app: {
        logger: { level: env.logLevel },
        rateLimit: listen.rateLimit,
        trustProxy: listen.trustProxy,
        publicUrl: () => listen.publicUrl,
      },
    });
    // Build once listening (the lists' URIs need the public URL), then at each new finalized block.
    app.addHook("onListen", () => {
      const report = (what: string) => (error: unknown) => app.log.error({ err: error }, what);
      publisher.follow(config.pollMs, report("status list rebuild failed; serving the previous set"));
    });
    app.addHook("onClose", () => publisher.stop());
    return { app };
  },
};
