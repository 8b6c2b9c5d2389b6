/**
 * The web wallet's settings (GET /api/config, or the copy it keeps in local storage for offline use) are checked
 * before use: the relying-party look-ups go to this origin's RPC path and a registry address, nowhere else.
 */
import { expect } from "chai";
import { parseSettings } from "../../../web/wallet/settings.js";

describe("web wallet settings", () => {
  const good = { chainId: 31337, relyingPartyRegistry: "0x" + "ab".repeat(20), rpcPath: "/api/rpc" };

  it("accepts the wallet service's answer and keeps only its three fields", () => {
    expect(parseSettings({ ...good, extra: "ignored" })).to.deep.equal(good);
  });

  it("refuses a copy rewritten to send the look-ups elsewhere, or broken", () => {
    const refused = (value: unknown) => {
      try {
        parseSettings(value);
        return "accepted";
      } catch (error) {
        return (error as Error).message;
      }
    };
    for (const rpcPath of ["https://rogue.example/rpc", "//rogue.example/rpc", "api/rpc", "/api/rpc?x=1", "/api/rpc#x", "/" + "a".repeat(201), ""]) {
      expect(refused({ ...good, rpcPath }), rpcPath).to.match(/no valid rpcPath/);
    }
    for (const relyingPartyRegistry of ["0x1234", "ab".repeat(20), "0x" + "zz".repeat(20), 42]) {
      expect(refused({ ...good, relyingPartyRegistry }), String(relyingPartyRegistry)).to.match(/no valid relyingPartyRegistry/);
    }
    for (const chainId of [0, -1, 1.5, "31337", Number.MAX_SAFE_INTEGER + 2]) {
      expect(refused({ ...good, chainId }), String(chainId)).to.match(/no valid chainId/);
    }
    for (const value of [null, "x", 1, []]) expect(refused(value)).to.match(/no valid chainId/);
  });
});
