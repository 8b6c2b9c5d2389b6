/**
 * Gate kiosks (the `/gate/` page, docs/WEB.md): how an unattended screen gets a terminal credential, and the
 * kiosk's live routes.
 *
 * Pairing. A configured terminal (section `verifier.terminals`, role `terminal`) is paired with a kiosk by a
 * one-time pairing code: issued by facilities staff (role `kiosk-admin`, POST /kiosk/pairing-codes) or printed by
 * `npm run serve -- --demo` inside the gate URL's fragment (`/gate/#pair=<code>`: a fragment never reaches a
 * server, a proxy or an access log). The page exchanges it once (POST /kiosk/pair) for a kiosk session token, keeps
 * that in its own storage and drops the fragment from the address bar. A pairing code is single use across every
 * instance (it is a nonce of the shared verifier store) and carries an HMAC, so a copy of the database alone pairs
 * nothing. A session token is `mcidk.<terminal id>.<expiry>.<HMAC>`, keyed by a key derived (HKDF) from the
 * verifier's signing key: every instance accepts it, it survives restarts, and it is worth nothing once its
 * terminal leaves the configuration or loses the `terminal` role (that is how a stolen kiosk is cut off).
 *
 * Live routes (terminal role): GET /presentations/{id}/events (Server-Sent Events: `health` on connect and after
 * every ledger probe, `outcome` once the presentation is answered or expired, then the stream ends) and
 * GET /kiosk/health, GET /kiosk/session for polling clients.
 */
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { getBytes } from "ethers";
import { z } from "zod";
import { errorResponses, type ServiceApp } from "../common/app.js";
import type { StaffDirectory, StaffMember } from "../common/auth.js";
import { ServiceError } from "../common/errors.js";
import { LEDGER_HEALTH_STATES, type LedgerHealth } from "../../web/common/ledger-health.js";
import type { LedgerHealthMonitor } from "./ledger-health.js";
import type { PresentationService } from "./presentations.js";
import type { VerifierStore } from "./store.js";
import type { TerminalRole } from "./routes.js";

export const KIOSK_TOKEN_PREFIX = "mcidk.";
const PAIRING_POLICY = "kiosk-pairing";
export const DEFAULT_PAIRING_TTL_MS = 10 * 60_000;
export const DEFAULT_KIOSK_SESSION_MS = 30 * 86_400_000;

const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64url");
const unb64 = (s: string) => Buffer.from(s, "base64url").toString("utf8");

/** What authorises terminal routes: configured bearer tokens and kiosk session tokens. */
export interface TerminalAuthorizer {
  authorize(request: FastifyRequest, roles: readonly TerminalRole[]): StaffMember<TerminalRole>;
}

export interface KioskPairingOptions {
  readonly store: VerifierStore;
  /** The verifier's signing key (hex): the kiosk key is derived from it (HKDF-SHA256, its own label). */
  readonly signingKey: string;
  readonly terminals: readonly StaffMember<TerminalRole>[];
  readonly directory: StaffDirectory<TerminalRole>;
  readonly pairingTtlMs?: number;
  readonly sessionTtlMs?: number;
  /** Clock for session expiry (ms). */
  readonly now?: () => number;
}

export class KioskPairing implements TerminalAuthorizer {
  private readonly key: Buffer;
  private readonly terminals: ReadonlyMap<string, StaffMember<TerminalRole>>;
  private readonly pairingTtlMs: number;
  private readonly sessionTtlMs: number;
  private readonly now: () => number;

  constructor(private readonly options: KioskPairingOptions) {
    this.key = Buffer.from(hkdfSync("sha256", getBytes(options.signingKey), Buffer.alloc(0), "mobile-civil-id kiosk sessions v1", 32));
    this.terminals = new Map(options.terminals.map((t) => [t.id, t]));
    this.pairingTtlMs = options.pairingTtlMs ?? DEFAULT_PAIRING_TTL_MS;
    this.sessionTtlMs = options.sessionTtlMs ?? DEFAULT_KIOSK_SESSION_MS;
    this.now = options.now ?? Date.now;
  }

  private mac(...parts: string[]): string {
    return createHmac("sha256", this.key).update(parts.join("\n")).digest("base64url");
  }

  private kioskTerminal(id: string): StaffMember<TerminalRole> {
    const terminal = this.terminals.get(id);
    if (terminal === undefined || !terminal.roles.includes("terminal")) throw new ServiceError(400, "invalid_request", `No terminal "${id}" with the role terminal is configured.`);
    return terminal;
  }

  /** A one-time pairing code for a configured terminal (valid `pairingTtlMs`, or `ttlMs`). */
  async issuePairingCode(terminalId: string, ttlMs = this.pairingTtlMs): Promise<{ code: string; expiresAt: string }> {
    this.kioskTerminal(terminalId);
    const nonce = await this.options.store.issueNonce({ audience: `kiosk:${terminalId}`, policy: PAIRING_POLICY }, ttlMs);
    const id = b64(terminalId);
    return { code: `${id}.${nonce.challenge}.${this.mac("pair", id, nonce.challenge)}`, expiresAt: nonce.expiresAt };
  }

  /** Exchanges a pairing code, once, for a kiosk session token of its terminal. */
  async pair(code: string): Promise<{ token: string; terminalId: string; expiresAt: string }> {
    const invalid = () => new ServiceError(400, "invalid_grant", "This pairing code is not valid (mistyped, expired or already used): ask for a new one.");
    const parts = code.split(".");
    if (parts.length !== 3) throw invalid();
    const [id, challenge, mac] = parts as [string, string, string];
    if (!equal(mac, this.mac("pair", id, challenge))) throw invalid();
    const terminalId = unb64(id);
    const terminal = this.terminals.get(terminalId);
    if (terminal === undefined || !terminal.roles.includes("terminal")) throw invalid();
    const verdict = await this.options.store.consumeNonce({ audience: `kiosk:${terminalId}`, policy: PAIRING_POLICY }, challenge);
    if (verdict !== "ok") throw invalid();
    const expiry = Math.floor((this.now() + this.sessionTtlMs) / 1000);
    return { token: `${KIOSK_TOKEN_PREFIX}${id}.${expiry}.${this.mac("session", id, String(expiry))}`, terminalId, expiresAt: new Date(expiry * 1000).toISOString() };
  }

  /** The terminal of a kiosk session token, or undefined when the token is forged, expired or its terminal gone. */
  sessionTerminal(token: string): StaffMember<TerminalRole> | undefined {
    if (!token.startsWith(KIOSK_TOKEN_PREFIX)) return undefined;
    const parts = token.slice(KIOSK_TOKEN_PREFIX.length).split(".");
    if (parts.length !== 3) return undefined;
    const [id, expiry, mac] = parts as [string, string, string];
    if (!/^\d{1,12}$/.test(expiry) || !equal(mac, this.mac("session", id, expiry))) return undefined;
    if (Number(expiry) * 1000 <= this.now()) return undefined;
    const terminal = this.terminals.get(unb64(id));
    return terminal !== undefined && terminal.roles.includes("terminal") ? terminal : undefined;
  }

  /** Kiosk sessions act as their terminal with the `terminal` role only; other tokens go to the configured directory. */
  authorize(request: FastifyRequest, roles: readonly TerminalRole[]): StaffMember<TerminalRole> {
    const header = request.headers.authorization;
    const token = typeof header === "string" && header.startsWith(`Bearer ${KIOSK_TOKEN_PREFIX}`) ? header.slice(7) : undefined;
    if (token === undefined) return this.options.directory.authorize(request, roles);
    const terminal = this.sessionTerminal(token);
    if (terminal === undefined) {
      throw new ServiceError(401, "invalid_token", "This kiosk session is not valid any more (expired, or its terminal was removed): pair the kiosk again.", {
        headers: { "www-authenticate": 'Bearer realm="staff", error="invalid_token"' },
      });
    }
    if (!roles.includes("terminal")) {
      throw new ServiceError(403, "insufficient_scope", `This action needs the role ${roles.join(" or ")}; a kiosk session has the role terminal only.`, {
        headers: { "www-authenticate": 'Bearer realm="staff", error="insufficient_scope"' },
      });
    }
    return { ...terminal, roles: ["terminal"] };
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const healthSchema = z
  .object({
    state: z.enum(LEDGER_HEALTH_STATES),
    block: z.number(),
    stalenessMs: z.number().nullable(),
    maxStalenessMs: z.number(),
    nodesUsable: z.number(),
    nodesTotal: z.number(),
    quorum: z.number(),
    syncedAt: z.string().nullable(),
    lastError: z.string().optional(),
  })
  .meta({ id: "LedgerHealth" }) satisfies z.ZodType<LedgerHealth>;

const idSchema = z.string().regex(/^[A-Za-z0-9_-]{22}$/, "a presentation id");

export interface KioskRoutesInput {
  readonly pairing: KioskPairing;
  readonly health: LedgerHealthMonitor;
  readonly presentations: PresentationService;
  /** Subscribes to "this transaction took its answer" (in-process wake-up; other instances are polled). */
  readonly answered: { subscribe(listener: (id: string) => void): () => void };
  /** Public base URL of the verifier (for the gate URL of a new pairing code). */
  readonly baseUrl: () => string;
  /** How often the event stream re-reads the shared store (answers taken by another instance). Default 500 ms. */
  readonly pollMs?: number;
}

export function registerKioskRoutes(app: ServiceApp, input: KioskRoutesInput): void {
  const { pairing, health, presentations } = input;
  const pollMs = input.pollMs ?? 500;
  // Open event streams end when the service closes (a kiosk reconnects to another instance or after the restart).
  const streams = new Set<() => void>();
  app.addHook("preClose", (done) => {
    for (const finish of [...streams]) finish();
    done();
  });

  app.post("/kiosk/pair", {
    schema: {
      summary: "Exchange a one-time pairing code for a kiosk session token (the gate page does this once)",
      tags: ["kiosk"],
      body: z.object({ code: z.string().min(1).max(512) }).strict(),
      response: { 200: z.object({ token: z.string(), terminal_id: z.string(), expires_at: z.string() }), ...errorResponses(400, 429) },
    },
    config: { rateLimit: { max: 10, timeWindow: "1 minute" } },
  }, async (request, reply) => {
    const paired = await pairing.pair(request.body.code);
    return reply.header("cache-control", "no-store").send({ token: paired.token, terminal_id: paired.terminalId, expires_at: paired.expiresAt });
  });

  app.post("/kiosk/pairing-codes", {
    schema: {
      summary: "Issue a one-time pairing code for a configured terminal (role kiosk-admin)",
      tags: ["kiosk"],
      security: [{ bearer: [] }],
      body: z.object({ terminal_id: z.string().min(1).max(64) }).strict(),
      response: { 201: z.object({ code: z.string(), gate_url: z.string(), expires_at: z.string() }), ...errorResponses(400, 401, 403, 429) },
    },
  }, async (request, reply) => {
    pairing.authorize(request, ["kiosk-admin"]);
    const issued = await pairing.issuePairingCode(request.body.terminal_id);
    return reply.code(201).header("cache-control", "no-store").send({ code: issued.code, gate_url: gatePairingUrl(input.baseUrl(), issued.code), expires_at: issued.expiresAt });
  });

  app.get("/kiosk/session", {
    schema: {
      summary: "The kiosk's terminal and the uses this verifier asks for (terminal role)",
      tags: ["kiosk"],
      security: [{ bearer: [] }],
      response: { 200: z.object({ terminal_id: z.string(), uses: z.array(z.string()) }), ...errorResponses(401, 403) },
    },
  }, async (request, reply) => {
    const terminal = pairing.authorize(request, ["terminal"]);
    return reply.header("cache-control", "no-store").send({ terminal_id: terminal.id, uses: [...presentations.uses] });
  });

  app.get("/kiosk/health", {
    schema: {
      summary: "The gate's ledger health: synced block, staleness, nodes in quorum (terminal role)",
      tags: ["kiosk"],
      security: [{ bearer: [] }],
      response: { 200: healthSchema, ...errorResponses(401, 403) },
    },
  }, async (request, reply) => {
    pairing.authorize(request, ["terminal"]);
    return reply.header("cache-control", "no-store").send(health.current());
  });

  app.get("/presentations/:id/events", {
    schema: {
      summary: "Server-Sent Events of a presentation: `health` (ledger) and, once answered or expired, `outcome` (terminal role)",
      tags: ["kiosk"],
      security: [{ bearer: [] }],
      params: z.object({ id: idSchema }),
    },
  }, async (request, reply) => {
    const requester = pairing.authorize(request, ["terminal"]).id;
    const id = request.params.id;
    const first = await presentations.status(id, requester); // 404 before any byte of the stream for an unknown id
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no", // a reverse proxy must not buffer the stream
      connection: "keep-alive",
    });
    let closed = false;
    const cleanups: Array<() => void> = [];
    const finish = () => {
      if (closed) return;
      closed = true;
      streams.delete(finish);
      for (const c of cleanups) c();
      raw.end();
    };
    const send = (event: string, data: unknown) => {
      if (!closed) raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const sendHealth = (h: LedgerHealth) => send("health", h);
    let checking = false;
    const check = async () => {
      if (closed || checking) return;
      checking = true;
      try {
        const outcome = await presentations.status(id, requester);
        if (outcome.status !== "pending") {
          send("outcome", outcome);
          finish();
        }
      } catch (error) {
        send("error", { error: "server_error", error_description: error instanceof Error ? error.message.slice(0, 200) : "status unavailable" });
        finish();
      } finally {
        checking = false;
      }
    };
    raw.on("close", finish);
    streams.add(finish);
    sendHealth(health.current());
    if (first.status !== "pending") {
      send("outcome", first);
      finish();
      return;
    }
    cleanups.push(health.subscribe(sendHealth));
    cleanups.push(input.answered.subscribe((answered) => {
      if (answered === id) void check();
    }));
    const timer = setInterval(() => void check(), pollMs);
    // Health on a clock too: while a probe hangs, the staleness the kiosk shows keeps growing (and turns it red).
    const beat = setInterval(() => sendHealth(health.current()), 1_000);
    cleanups.push(() => clearInterval(timer), () => clearInterval(beat));
  });
}

/** The page URL a kiosk opens: the pairing code rides in the fragment, which browsers never send. */
export function gatePairingUrl(base: string, code: string): string {
  return `${base.replace(/\/+$/, "")}/gate/#pair=${encodeURIComponent(code)}`;
}
