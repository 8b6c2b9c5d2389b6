import { expect } from "chai";
import { parseServeArgs } from "../../../../scripts/serve.js";
import { startServe } from "../../../../services/serve.js";
import { isCivilIdError } from "../../../../sdk/errors.js";

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

  it("refuses an unknown service, --demo against an RPC node, and --rpc-url without its chain id", async () => {
    expect(await refusal(startServe({ only: ["mailer"], env: {} }))).to.match(/Unknown service mailer/);
    expect(await refusal(startServe({ rpcUrl: "http://127.0.0.1:1", chainId: 1, demo: true, env: {} }))).to.match(/--demo/);
    expect(await refusal(startServe({ rpcUrl: "http://127.0.0.1:1", env: {} }))).to.match(/--chain-id/);
  });
});
