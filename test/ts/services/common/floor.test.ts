import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { z } from "zod";
import {
  createServiceApp,
  loadConfig,
  listenConfigSchema,
  ServiceError,
  StaffDirectory,
  generateBearerToken,
  hashBearerToken,
  startServices,
  configFromEnv,
  type ServiceApp,
  type ListenConfig,
} from "../../../../services/common/index.js";
import { CivilIdError, isCivilIdError } from "../../../../sdk/errors.js";

function captureLogs(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString("utf8"));
      callback();
    },
  });
  return { stream, text: () => chunks.join("") };
}

async function sampleApp(options: Partial<Parameters<typeof createServiceApp>[0]> = {}): Promise<ServiceApp> {
  const app = await createServiceApp({ title: "sample", logger: false, ...options });
  app.post(
    "/things",
    { schema: { body: z.object({ name: z.string().min(1).max(20), count: z.number().int().min(0) }).strict() } },
    (request) => ({ ok: true, count: request.body.count }),
  );
  app.post("/form", { schema: { body: z.object({ grant_type: z.string() }) } }, (request) => ({ grant: request.body.grant_type }));
  app.get("/boom", () => {
    throw new Error("secret internal detail");
  });
  app.get("/missing", () => {
    throw new CivilIdError("REQUEST_NOT_FOUND", "No such request.");
  });
  app.get("/refuse", () => {
    throw new ServiceError(400, "invalid_grant", "The code is used.", { extra: { c_nonce: "n1" } });
  });
  await app.ready();
  return app;
}

describe("services/common: the HTTP floor", () => {
  let app: ServiceApp;
  before(async () => {
    app = await sampleApp();
  });
  after(async () => {
    await app.close();
  });

  it("accepts a valid body and refuses an invalid one with the one error body, naming the fields only", async () => {
    const ok = await app.inject({ method: "POST", url: "/things", payload: { name: "a", count: 2 } });
    expect(ok.statusCode).to.equal(200);
    expect(ok.json()).to.deep.equal({ ok: true, count: 2 });
    const bad = await app.inject({ method: "POST", url: "/things", payload: { name: "010-1234-5678-too-long-value", count: -1, extra: 1 } });
    expect(bad.statusCode).to.equal(400);
    const body = bad.json<{ error: string; error_description: string; issues: { path: string }[] }>();
    expect(body.error).to.equal("invalid_request");
    expect(body.issues.map((i) => i.path)).to.include.members(["body.name", "body.count"]);
    expect(bad.body).not.to.contain("010-1234-5678");
    expect(bad.headers["cache-control"]).to.equal("no-store");
  });

  it("refuses malformed JSON, an empty body, an unknown media type and an oversize body", async () => {
    const malformed = await app.inject({ method: "POST", url: "/things", payload: '{"name":', headers: { "content-type": "application/json" } });
    expect(malformed.statusCode).to.equal(400);
    expect(malformed.json()).to.include({ error: "invalid_request" });
    const empty = await app.inject({ method: "POST", url: "/things", payload: "", headers: { "content-type": "application/json" } });
    expect(empty.statusCode).to.equal(400);
    const text = await app.inject({ method: "POST", url: "/things", payload: "hello", headers: { "content-type": "text/plain" } });
    expect(text.statusCode).to.equal(415);
    expect(text.json()).to.include({ error: "unsupported_media_type" });
    const huge = await app.inject({ method: "POST", url: "/things", payload: JSON.stringify({ name: "x".repeat(70_000), count: 1 }), headers: { "content-type": "application/json" } });
    expect(huge.statusCode).to.equal(413);
    expect(huge.json()).to.include({ error: "payload_too_large" });
  });

  it("parses form bodies and refuses a repeated parameter", async () => {
    const form = await app.inject({ method: "POST", url: "/form", payload: "grant_type=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.json()).to.deep.equal({ grant: "x" });
    const repeated = await app.inject({ method: "POST", url: "/form", payload: "grant_type=x&grant_type=y", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(repeated.statusCode).to.equal(400);
    expect(repeated.json()).to.include({ error: "invalid_request" });
  });

  it("renders unknown failures as a 500 without internals, SDK errors and service errors by their codes", async () => {
    const boom = await app.inject({ method: "GET", url: "/boom" });
    expect(boom.statusCode).to.equal(500);
    expect(boom.json()).to.include({ error: "server_error" });
    expect(boom.body).not.to.contain("secret internal detail");
    const missing = await app.inject({ method: "GET", url: "/missing" });
    expect(missing.statusCode).to.equal(404);
    expect(missing.json()).to.deep.equal({ error: "not_found", error_description: "No such request." });
    const refuse = await app.inject({ method: "GET", url: "/refuse" });
    expect(refuse.json()).to.deep.equal({ error: "invalid_grant", error_description: "The code is used.", c_nonce: "n1" });
    const unknown = await app.inject({ method: "GET", url: "/nowhere" });
    expect(unknown.statusCode).to.equal(404);
    expect(unknown.json()).to.include({ error: "not_found" });
  });

  it("serves the OpenAPI document generated from the route schemas, and a health probe", async () => {
    const doc = (await app.inject({ method: "GET", url: "/openapi.json" })).json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(doc.openapi).to.equal("3.1.0");
    expect(doc.paths).to.have.property("/things");
    expect(JSON.stringify(doc.paths["/things"])).to.contain('"count"');
    expect((await app.inject({ method: "GET", url: "/healthz" })).json()).to.deep.equal({ status: "ok" });
  });

  it("rate-limits per client address with the one error body and Retry-After", async () => {
    const limited = await sampleApp({ rateLimit: { max: 2, windowMs: 60_000 } });
    try {
      const codes: number[] = [];
      let last;
      for (let i = 0; i < 3; i++) {
        last = await limited.inject({ method: "GET", url: "/missing" });
        codes.push(last.statusCode);
      }
      expect(codes).to.deep.equal([404, 404, 429]);
      expect(last?.json()).to.include({ error: "rate_limited" });
      expect(last?.headers["retry-after"]).to.match(/^\d+$/);
      const other = await limited.inject({ method: "GET", url: "/missing", remoteAddress: "10.0.0.9" });
      expect(other.statusCode).to.equal(404);
    } finally {
      await limited.close();
    }
  });

  it("redacts personal data and secrets from the logs, and query strings from logged URLs", async () => {
    const logs = captureLogs();
    const logged = await createServiceApp({ title: "logged", logger: { stream: logs.stream, redactUrl: (p) => p.replace(/^\/offers\/[^/]+/, "/offers/:id") } });
    logged.get("/offers/:id", (request) => {
      request.log.info({ holder: { name: "홍길동", mobile: "010-9999-8888", personId: "P-777" }, tx_code: "12345678" }, "offer read");
      return { ok: true };
    });
    await logged.ready();
    await logged.inject({ method: "GET", url: "/offers/SECRETLINK?pre-authorized_code=SECRETCODE", headers: { authorization: "Bearer SECRETTOKEN" } });
    await logged.close();
    const text = logs.text();
    expect(text).to.contain("offer read");
    for (const secret of ["홍길동", "010-9999-8888", "P-777", "12345678", "SECRETLINK", "SECRETCODE", "SECRETTOKEN"]) expect(text).not.to.contain(secret);
    expect(text).to.contain("[redacted]");
  });
});

describe("services/common: staff bearer credentials", () => {
  const hrToken = generateBearerToken();
  const adminToken = generateBearerToken();
  const staff = new StaffDirectory<"hr" | "admin">([
    { id: "kim.hr", roles: ["hr"], tokenHash: hashBearerToken(hrToken) },
    { id: "lee.admin", roles: ["admin"], tokenHash: hashBearerToken(adminToken) },
  ]);

  it("stores only hashes and enforces roles: 401 without a valid token, 403 with the wrong role", async () => {
    expect(hashBearerToken(hrToken)).to.match(/^sha256:[0-9a-f]{64}$/).and.not.contain(hrToken);
    const app = await createServiceApp({ title: "staff", logger: false });
    app.get("/admin-only", (request) => ({ who: staff.authorize(request, ["admin"]).id }));
    await app.ready();
    try {
      const none = await app.inject({ method: "GET", url: "/admin-only" });
      expect(none.statusCode).to.equal(401);
      expect(none.json()).to.include({ error: "invalid_token" });
      expect(none.headers["www-authenticate"]).to.contain("Bearer");
      const wrong = await app.inject({ method: "GET", url: "/admin-only", headers: { authorization: `Bearer ${generateBearerToken()}` } });
      expect(wrong.statusCode).to.equal(401);
      const hr = await app.inject({ method: "GET", url: "/admin-only", headers: { authorization: `Bearer ${hrToken}` } });
      expect(hr.statusCode).to.equal(403);
      expect(hr.json()).to.include({ error: "insufficient_scope" });
      const admin = await app.inject({ method: "GET", url: "/admin-only", headers: { authorization: `Bearer ${adminToken}` } });
      expect(admin.json()).to.deep.equal({ who: "lee.admin" });
    } finally {
      await app.close();
    }
  });
});

describe("services/common: configuration and the service registry", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "mcid-config-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const schema = z.object({ issuer: listenConfigSchema.prefault({}), dataDir: z.string().default("data") }).strict();

  it("merges schema defaults < file < environment < overrides and validates the result", () => {
    const file = path.join(dir, "config.json");
    writeFileSync(file, JSON.stringify({ issuer: { port: 8080, logLevel: "warn" }, dataDir: "/var/lib/mcid" }));
    const config = loadConfig(schema, {
      file,
      env: { MCID_ISSUER__PORT: "9090", MCID_ISSUER__PUBLIC_URL: "https://id.example.go.kr", MCID_ISSUER__TRUST_PROXY: "true", OTHER: "x" },
      overrides: { issuer: { host: "0.0.0.0" } },
    });
    expect(config.issuer).to.include({ port: 9090, host: "0.0.0.0", logLevel: "warn", publicUrl: "https://id.example.go.kr", trustProxy: true });
    expect(config.issuer.rateLimit).to.deep.equal({ max: 300, windowMs: 60_000 });
    expect(config.dataDir).to.equal("/var/lib/mcid");
    expect(configFromEnv({ MCID_A__B_C: "[1,2]" })).to.deep.equal({ a: { bC: [1, 2] } });
  });

  it("refuses a bad configuration naming every offending key, and an unreadable or non-JSON file", () => {
    const bad = () => loadConfig(schema, { overrides: { issuer: { port: 70000, publicUrl: "ftp://x/", colour: "red" } } });
    expect(bad).to.throw(CivilIdError).that.satisfies((e: unknown) => isCivilIdError(e, "INVALID_INPUT"));
    try {
      bad();
    } catch (error) {
      expect((error as Error).message).to.contain("issuer.port").and.contain("issuer.publicUrl").and.contain("colour");
    }
    const notJson = path.join(dir, "bad.json");
    writeFileSync(notJson, "{ nope");
    expect(() => loadConfig(schema, { file: notJson })).to.throw(/not valid JSON/);
    expect(() => loadConfig(schema, { file: path.join(dir, "absent.json") })).to.throw(/Cannot read/);
  });

  it("starts registered services on loopback, links their URLs, and closes them all (running their onClose hooks)", async () => {
    const closed: string[] = [];
    const definition = (name: string, peer?: string) => ({
      name,
      async build(_env: null, links: { baseUrl(n: string): string }, _listen: ListenConfig) {
        const app = await createServiceApp({ title: name, logger: false });
        app.get("/peer", () => ({ peer: peer === undefined ? null : links.baseUrl(peer) }));
        app.addHook("onClose", () => {
          closed.push(name);
        });
        return { app, demo: () => Promise.resolve({ [`${name}Hint`]: true }) };
      },
    });
    const listen = listenConfigSchema.parse({});
    const running = await startServices([definition("first"), definition("second", "first")], null, () => listen);
    try {
      expect(running.urls.first).to.match(/^http:\/\/127\.0\.0\.1:\d+$/);
      const response = await fetch(`${running.urls.second}/peer`);
      expect(await response.json()).to.deep.equal({ peer: running.urls.first });
      expect(await running.demo()).to.deep.equal({ firstHint: true, secondHint: true });
    } finally {
      await running.close();
    }
    expect(closed).to.deep.equal(["second", "first"]);
  });
});
