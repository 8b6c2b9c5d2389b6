/** The import boundaries are enforced by ESLint, and chain errors are typed once (no caller re-decodes `cause`). */
import { expect } from "chai";
import { ESLint } from "eslint";
import { Interface, makeError } from "ethers";
import { network } from "hardhat";
import { toCivilIdError } from "../../../sdk/chain/errors.js";

describe("import boundaries (eslint no-restricted-imports)", function () {
  this.timeout(60_000);
  const forbidden: readonly (readonly [string, string])[] = [
    ["sdk/verifier/probe.ts", 'export { draftCredential } from "../issuer/index.js";'],
    ["sdk/verifier/probe.ts", 'export { HolderWallet } from "../wallet/index.js";'],
    ["sdk/wallet/probe.ts", 'export { IssuanceWorkflow } from "../issuer/workflow.js";'],
    ["sdk/issuer/probe.ts", 'export { HolderWallet } from "../wallet/wallet.js";'],
    ["sdk/credential/probe.ts", 'export { POLICIES } from "../verifier/policies.js";'],
    ["sdk/protocol/probe.ts", 'export { HolderWallet } from "../wallet/wallet.js";'],
    ["sdk/status/probe.ts", 'export { EXIT } from "../../scripts/cli/output.js";'],
  ];
  const allowed: readonly (readonly [string, string])[] = [
    ["sdk/verifier/probe.ts", 'export { parseCredentialJwt } from "../credential/parse.js";'],
    ["sdk/wallet/probe.ts", 'export { signPresentation } from "../protocol/presentation.js";'],
    ["sdk/issuer/probe.ts", 'export { checkPossessionProof } from "../protocol/activation.js";'],
  ];

  async function restricted(file: string, code: string): Promise<boolean> {
    // Only the boundary rules (the type-aware rules need files on disk).
    const config = (await import(new URL("../../../eslint.config.js", import.meta.url).href)) as { boundaries: () => unknown[] };
    const eslint = new ESLint({ overrideConfigFile: true, overrideConfig: config.boundaries() as never, cwd: new URL("../../../", import.meta.url).pathname });
    const [result] = await eslint.lintText(code, { filePath: file });
    return (result?.messages ?? []).some((m) => m.ruleId === "no-restricted-imports");
  }

  for (const [file, code] of forbidden) it(`refuses in ${file}: ${code}`, async () => expect(await restricted(file, code)).to.equal(true));
  for (const [file, code] of allowed) it(`allows in ${file}: ${code}`, async () => expect(await restricted(file, code)).to.equal(false));
});

describe("chain errors: one typed code per kind of failure", () => {
  const iface = new Interface(["error UnknownCredential(uint64 id)", "error NotAuthorised(address account)"]);

  it("CONTRACT_REVERTED only for a decoded revert, with its name and arguments", () => {
    const data = iface.encodeErrorResult("UnknownCredential", [42n]);
    const error = toCivilIdError(makeError("execution reverted", "CALL_EXCEPTION", { action: "call", data, reason: null, transaction: { to: null, data: "0x" }, invocation: null, revert: null }), iface, "Status query");
    expect(error.code).to.equal("CONTRACT_REVERTED");
    expect(error.details).to.deep.equal({ error: "UnknownCredential", args: ["42"] });
    const auth = toCivilIdError(makeError("execution reverted", "CALL_EXCEPTION", { action: "call", data: iface.encodeErrorResult("NotAuthorised", ["0x000000000000000000000000000000000000dEaD"]), reason: null, transaction: { to: null, data: "0x" }, invocation: null, revert: null }), iface, "Lock");
    expect(auth.code).to.equal("NOT_AUTHORISED");
  });

  it("decodes the revert data of an EIP-1193 error (Hardhat's in-process provider), wrapped or not", () => {
    const data = iface.encodeErrorResult("UnknownCredential", [7n]);
    const eip1193 = Object.assign(new Error("VM Exception while processing transaction: reverted with custom error"), { code: 3, data });
    expect(toCivilIdError(eip1193, iface, "Register").details).to.deep.equal({ error: "UnknownCredential", args: ["7"] });
    const wrapped = new Error("request failed", { cause: eip1193 });
    expect(toCivilIdError(wrapped, iface, "Register").code).to.equal("CONTRACT_REVERTED");
    const unknown = Object.assign(new Error("reverted"), { code: 3, data: "0x12345678" });
    expect(toCivilIdError(unknown, iface, "Register").code).to.equal("CHAIN_CALL_FAILED");
  });

  it("CHAIN_CALL_FAILED for a revert nobody can decode", () => {
    const error = toCivilIdError(makeError("execution reverted", "CALL_EXCEPTION", { action: "call", data: "0xdeadbeef", reason: null, transaction: { to: null, data: "0x" }, invocation: null, revert: null }), iface, "Status query");
    expect(error.code).to.equal("CHAIN_CALL_FAILED");
    expect(error.details).to.deep.equal({ data: "0xdeadbeef" });
  });

  it("TRANSACTION_REJECTED when the node refuses the transaction (replacement fee too low, nonce, underpriced, funds)", () => {
    const cases: readonly (readonly [string, string])[] = [
      ["replacement fee too low", "REPLACEMENT_UNDERPRICED"],
      ["replacement transaction underpriced", "REPLACEMENT_UNDERPRICED"],
      ["nonce too low: next nonce 5, tx nonce 4", "NONCE"],
      ["transaction underpriced", "UNDERPRICED"],
      ["insufficient funds for gas * price + value", "INSUFFICIENT_FUNDS"],
    ];
    for (const [message, refusal] of cases) {
      const rpc = makeError("could not coalesce error", "UNKNOWN_ERROR", { error: { code: -32000, message } });
      const error = toCivilIdError(rpc, iface, "Register");
      expect(error.code, message).to.equal("TRANSACTION_REJECTED");
      expect(error.details, message).to.deep.equal({ refusal });
    }
    expect(toCivilIdError(makeError("nonce has already been used", "NONCE_EXPIRED", { transaction: {} }), iface, "Register").details).to.deep.equal({ refusal: "NONCE" });
  });

  it("TRANSACTION_REJECTED for a real node's nonce refusal (embedded Hardhat network)", async () => {
    const connection = await network.create();
    try {
      const [a, b] = await connection.ethers.getSigners();
      await (await a!.sendTransaction({ to: b!.address, value: 1n })).wait();
      const stale = await a!.sendTransaction({ to: b!.address, value: 1n, nonce: 0 }).then(() => undefined, (error: unknown) => error);
      const typed = toCivilIdError(stale, iface, "Transfer");
      expect(typed.code, typed.message).to.equal("TRANSACTION_REJECTED");
      expect(typed.details).to.deep.equal({ refusal: "NONCE" });
    } finally {
      await connection.close();
    }
  });

  it("CHAIN_UNREACHABLE for transport failures", () => {
    expect(toCivilIdError(new Error("connect ECONNREFUSED 127.0.0.1:8545"), iface, "Status query").code).to.equal("CHAIN_UNREACHABLE");
  });
});
