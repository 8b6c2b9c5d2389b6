import { expect } from "chai";
import { parseServeArgs } from "../../../../scripts/serve.js";
import { startServe } from "../../../../services/serve.js";
import { isCivilIdError } from "../../../../sdk/errors.js";
import { loadConfig } from "../../../../services/common/index.js";
import { issuerConfigSchema, issuerStoreLocations } from "../../../../services/issuer/config.js";

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (error) {
    expect(isCivilIdError(error), String(error)).to.be.true;
    return (error as Error).message;
  }
  throw new Error("expected a refusal");
}

describe("npm run serve: arguments and refusals before anything starts", () => {
  it("parses the flags, keeps stdout for the ready line in --json mode", () => {
    const o = parseServeArgs(["--demo", "--json", "--only", "issuer, verifier", "--host", "0.0.0.0"]);
    expect(o).to.include({ demo: true, json: true, host: "0.0.0.0", logLevel: "warn" });
    expect(o.only).to.deep.equal(["issuer", "verifier"]);
    expect(parseServeArgs(["--rpc-url", "http://127.0.0.1:8545", "--chain-id", "2026"])).to.include({ rpcUrl: "http://127.0.0.1:8545", chainId: 2026, logLevel: "info" });
    expect(() => parseServeArgs(["--chain-id", "x"])).to.throw(/chain id/);
    expect(() => parseServeArgs(["--colour"])).to.throw();
  });

  it("issuer.store: SQLite files in the data folder by default, PostgreSQL schemas per organisation; anything else refused by name", () => {
    const sqlite = issuerStoreLocations(loadConfig(issuerConfigSchema, { overrides: {} }).store, "/data/issuer");
    expect(sqlite.workflow(1741000)).to.deep.equal({ kind: "sqlite", file: "/data/issuer/issuance-1741000.sqlite" });
    expect(sqlite.service).to.deep.equal({ kind: "sqlite", file: "/data/issuer/issuer-service.sqlite" });
    const url = "postgres://issuer@db.internal:5432/mcid";
    const shared = issuerStoreLocations(loadConfig(issuerConfigSchema, { overrides: { store: { kind: "postgres", url } } }).store, "/data/issuer");
    expect(shared.workflow(1741000)).to.deep.equal({ kind: "postgres", url, schema: "mcid_issuance_1741000" });
    expect(shared.passkeys).to.deep.equal({ kind: "postgres", url, schema: "mcid_issuer" });
    const refused = (store: unknown) => {
      try {
        loadConfig(issuerConfigSchema, { overrides: { store } });
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error("expected a refusal");
    };
    expect(refused({ kind: "mysql" })).to.match(/store\.kind: kind must be "sqlite" .* or "postgres"/);
    expect(refused({ kind: "postgres", url: "http://db.internal" })).to.match(/store\.url: a postgres:\/\/user@host:port\/database URL/);
    expect(refused({ kind: "postgres" })).to.match(/store\.url/);
    expect(refused({ kind: "sqlite", url })).to.match(/store/);
  });

  it("refuses an unknown service, --demo against an RPC node, and --rpc-url without its chain id", async () => {
    expect(await refusal(startServe({ only: ["mailer"], env: {} }))).to.match(/Unknown service mailer/);
    expect(await refusal(startServe({ rpcUrl: "http://127.0.0.1:1", chainId: 1, demo: true, env: {} }))).to.match(/--demo/);
    expect(await refusal(startServe({ rpcUrl: "http://127.0.0.1:1", env: {} }))).to.match(/--chain-id/);
  });
});
