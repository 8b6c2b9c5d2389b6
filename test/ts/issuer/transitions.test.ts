import { expect } from "chai";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { CANCELLABLE_STATES, FINAL_STATES, NEXT_STEP, TRANSITIONS, WORKFLOW_STATES, statesFor, transitionTableMarkdown } from "../../../sdk/issuer/transitions.js";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

describe("issuer/transitions: one state table for the code and the docs", () => {
  it("docs/ISSUANCE.md shows exactly the table the workflow moves by", () => {
    const doc = readFileSync(path.join(ROOT, "docs/ISSUANCE.md"), "utf8");
    expect(doc).to.include(transitionTableMarkdown());
  });

  it("every state is reachable and has a next step; final states have no way out", () => {
    const transitions = Object.values(TRANSITIONS);
    const reachable = new Set(transitions.map((t) => t.to));
    for (const state of WORKFLOW_STATES) {
      expect(reachable.has(state), state).to.equal(true);
      expect(NEXT_STEP[state]).to.be.a("string").and.not.equal("");
    }
    expect(FINAL_STATES).to.deep.equal(["refused", "rejected", "identity_failed", "cancelled", "issued"]);
    for (const state of FINAL_STATES) {
      expect(transitions.filter((t) => (t.from as readonly string[]).includes(state)), state).to.deep.equal([]);
      expect(NEXT_STEP[state]).to.match(/^none: /);
    }
    for (const [action, t] of Object.entries(TRANSITIONS)) expect(t.action).to.equal(action);
  });

  it("a request can be cancelled only before registration, and issue() resumes interrupted issuances", () => {
    expect(CANCELLABLE_STATES).to.deep.equal(["requested", "approved", "identity_verified", "invited", "activated"]);
    expect(statesFor("registration-intent", "register", "issue")).to.deep.equal(["activated", "registering", "registered"]);
    expect(statesFor("invite", "re-invite")).to.deep.equal(["identity_verified", "invited"]);
  });
});
