/**
 * The multi-terminal walkthrough of docs/CLI.md, run through the spawned CLI on a fresh chain: the consortium
 * accredits a ministry, its issuing server takes an HR request to an issued credential, the phone activates and
 * collects it, the gate accepts it, the help desk locks it and the gate refuses it. The last test checks that the
 * walkthrough in the documentation runs the same commands in the same order.
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { startCliChain, mcid, serverEnv, otpOf, invitationOf, REPO, DEV_PASSWORD, PIN, type CliChain, type CliResult, type Role } from "../helpers/cli.js";

const R = "e-saram:ES-2026-000123";

/** `mcid <leading words>`: what identifies a command in the walkthrough (its options and values aside). */
function commandPath(args: readonly string[]): string {
  const words: string[] = [];
  for (const a of args) {
    if (!/^[a-z][a-z-]*$/.test(a)) break;
    words.push(a);
  }
  return ["mcid", ...words].join(" ");
}

function ok(r: CliResult, what: string): Record<string, unknown> {
  expect(r.code, `${what}: exit ${r.code}\n${r.stderr}${r.stdout}`).to.equal(0);
  expect(r.json, `${what}: one JSON object on stdout`).to.be.an("object");
  return r.json!;
}

describe("mcid walkthrough (docs/CLI.md) on a local node", function () {
  this.timeout(180_000);
  let chain: CliChain;
  const ran: string[] = [];
  const K = (role: Role) => chain.keyFile[role];
  const run = (args: string[], env: Record<string, string> = {}, input?: string) => {
    ran.push(commandPath(args));
    return mcid(chain, [...args, "--json"], { env, ...(input === undefined ? {} : { input }) });
  };

  before(async () => {
    chain = await startCliChain();
  });
  after(async () => {
    await chain?.close();
  });

  it("issuance → wallet → gate accepts → lost phone locked → gate refuses", async () => {
    const keys = { MCID_KEY_PASSWORD: DEV_PASSWORD };
    // ── terminal 1: the consortium (member ministries) and the organisation admin
    const [admin, issuer, registrar, helpDesk] = await Promise.all(
      (["org-admin-central", "issuer-central", "registrar-central", "help-desk-central"] as const).map((role) => run(["key", "show", "--key-file", K(role)])),
    );
    expect(admin!.json?.address).to.equal(chain.address["org-admin-central"]);
    const proposed = ok(await run(["governance", "propose", "accredit", "--agency", "1741000", "--kind", "central", "--admin", String(admin!.json?.address), "--key", K("ministry-1")], keys), "propose");
    expect(proposed).to.include({ proposalId: "1", approvals: 1, threshold: 3 });
    const approvals = await Promise.all([
      run(["governance", "approve", "1", "--key", K("ministry-2")], keys),
      run(["governance", "approve", "1", "--key", K("ministry-3")], keys),
    ]);
    approvals.forEach((a, i) => ok(a, `approve ${i}`));
    ok(await run(["governance", "execute", "1", "--key", K("ministry-1")], keys), "execute");
    ok(await run(["org", "add-key", "--agency", "1741000", "--issuer", String(issuer!.json?.address), "--key", K("org-admin-central")], keys), "add-key");
    ok(await run(["org", "set-operator", "--agency", "1741000", "--operator", String(registrar!.json?.address), "--role", "registrar", "--key", K("org-admin-central")], keys), "registrar");
    ok(await run(["org", "set-operator", "--agency", "1741000", "--operator", String(helpDesk!.json?.address), "--role", "lock-only", "--key", K("org-admin-central")], keys), "help desk");
    expect(await chain.ledger.issuerRegistry.isOrganisationActive(1741000)).to.equal(true);

    // ── terminal 2: the issuing server of 1741000
    const server = serverEnv(chain);
    const imported = ok(await run(["hr", "import", "--source", "e-saram", "--file", "docs/examples/e-saram-requests.json", "--agency", "1741000"], server), "import");
    expect(imported).to.deep.include({ rows: 1, created: [R], refused: [] });
    const listed = ok(await run(["request", "list", "--agency", "1741000"], server), "list");
    expect(listed.requests).to.have.length(1).and.to.have.nested.property("[0].state", "requested");
    ok(await run(["request", "approve", R, "--approver", "dept-head:과장 김결재", "--agency", "1741000"], server), "approve");
    const started = ok(await run(["request", "verify-identity-start", R, "--agency", "1741000"], server), "verify-identity-start");
    expect(started.sms).to.deep.include({ delivered: false });
    const codeSms = ok(await run(["sms", "outbox", "--agency", "1741000"], server), "outbox") as { messages: { purpose: string; to: string; body: string }[] };
    expect(codeSms.messages).to.have.length(1);
    expect(codeSms.messages[0]).to.include({ purpose: "identity-code", to: "+821023456789" });
    const verified = ok(await run(["request", "verify-identity", R, "--name", "홍길동", "--employee-ref", "MOIS-20150042", "--code", otpOf(codeSms.messages[0]!.body), "--agency", "1741000"], server), "verify-identity");
    expect(verified).to.have.nested.property("request.state", "identity_verified");
    ok(await run(["request", "invite", R, "--agency", "1741000"], server), "invite");
    const inviteSms = ok(await run(["sms", "outbox", "--agency", "1741000"], server), "outbox") as { messages: { purpose: string; body: string }[] };
    expect(inviteSms.messages.map((m) => m.purpose)).to.deep.equal(["invitation"]); // the used identity code is gone
    const invitation = invitationOf(inviteSms.messages[0]!.body);

    // ── terminal 3: the phone (the issuing server's configuration, no passwords: it plays the server's API)
    const wallet = path.join(chain.dataDir, "phone.json");
    const phone = { MCID_WALLET: wallet, MCID_PIN: PIN, MCID_KEY: server.MCID_KEY!, MCID_ISSUER_KEY: server.MCID_ISSUER_KEY!, MCID_HOLDER_SECRET_FILE: server.MCID_HOLDER_SECRET_FILE! };
    const created = ok(await run(["wallet", "create"], phone), "wallet create");
    expect(String(created.did)).to.match(/^did:ethr:0x7a69:0x[0-9a-fA-F]{40}$/);
    const activated = ok(await run(["wallet", "activate", "--token", invitation.link, "--code", invitation.code, "--agency", "1741000"], phone), "activate");
    expect(activated).to.include({ requestId: R, state: "activated", did: created.did });

    // ── terminal 2: issue
    const issued = ok(await run(["request", "issue", R, "--agency", "1741000"], server), "issue") as { request: { state: string; credentialId: string; subjectDid: string } };
    expect(issued.request).to.include({ state: "issued", subjectDid: created.did });
    const credentialId = issued.request.credentialId;
    expect(credentialId).to.equal(((1741000n << 40n) | 0n).toString());

    // ── terminal 3: collect and check
    const collected = ok(await run(["wallet", "collect", "--agency", "1741000"], phone), "collect");
    expect(collected).to.include({ requestId: R, credentialId });
    const status = ok(await run(["wallet", "status"], phone), "wallet status");
    expect(status).to.include({ locked: false, attemptsLeft: 5, credentialId });

    // ── terminal 4: the building gate; the phone answers its challenge
    const gate = ["--audience", "gate:sejong-east"];
    const challenge = ok(await run(["challenge", ...gate, "--policy", "building-gate"]), "challenge");
    const vp = path.join(chain.dataDir, "vp.jwt");
    ok(await run(["wallet", "present", "--challenge", String(challenge.challenge), ...gate, "--out", vp], phone), "present");
    const accepted = ok(await run(["verify", "--policy", "building-gate", ...gate, "--challenge", String(challenge.challenge), "--presentation", vp]), "verify");
    expect(accepted).to.deep.include({ ok: true, credentialId, claims: { name: "홍길동", agencyCode: 1741000, organisation: "행정안전부" } });
    const replay = await run(["verify", "--policy", "building-gate", ...gate, "--challenge", String(challenge.challenge), "--presentation", vp]);
    expect([replay.code, replay.json?.reasons]).to.deep.equal([1, ["CHALLENGE_REPLAYED"]]);

    // ── the phone e-signs a document; anyone checks it, and a forged copy is refused
    const signature = path.join(chain.dataDir, "travel-request.sig.json");
    ok(await run(["wallet", "sign", "--file", "docs/examples/travel-request.txt", "--purpose", "출장 신청서 결재", "--out", signature], phone), "sign");
    const valid = ok(await run(["verify-document", "--file", "docs/examples/travel-request.txt", "--signature", signature]), "verify-document");
    expect(valid).to.deep.include({ ok: true, credentialId });
    const forged = path.join(chain.dataDir, "forged.txt");
    writeFileSync(forged, readFileSync(path.join(REPO, "docs/examples/travel-request.txt"), "utf8").replace("서울", "부산"));
    const refusedDocument = await run(["verify-document", "--file", forged, "--signature", signature]);
    expect([refusedDocument.code, refusedDocument.json?.reasons]).to.deep.equal([1, ["DOCUMENT_ALTERED"]]);

    // ── terminal 2: the phone is reported lost; the help desk locks the credential
    const locked = ok(await run(["lock", credentialId, "--reason", "lost-device", "--key", K("help-desk-central")], keys), "lock");
    expect(locked).to.have.nested.property("statuses[0].stateName", "locked");
    expect(ok(await run(["status", credentialId]), "status")).to.include({ stateName: "locked", reason: "LOST_DEVICE" });

    // ── terminal 4: the gate refuses the locked credential (exit 1, with the reason)
    const next = ok(await run(["challenge", ...gate, "--policy", "building-gate"]), "challenge");
    const presented = ok(await run(["wallet", "present", "--challenge", String(next.challenge), ...gate], phone), "present");
    const refused = await run(["verify", "--policy", "building-gate", ...gate, "--challenge", String(next.challenge), "--presentation", "-"], {}, String(presented.presentation));
    expect(refused.code, refused.stderr).to.equal(1);
    expect(refused.json).to.deep.include({ ok: false, reasons: ["CREDENTIAL_LOCKED"], statusReason: "LOST_DEVICE", credentialId });

    // ── terminal 2: the holder's latest credential, looked up by person id (from the environment only)
    const holder = ok(await run(["status", "holder", "--person-id-env", "PERSON_ID", "--agency", "1741000"], { PERSON_ID: "850101-1234567", MCID_HOLDER_SECRET_FILE: chain.holderSecretFile }), "status holder");
    expect(holder).to.have.nested.property("credential.credentialId", credentialId);
    expect(holder).to.have.nested.property("credential.stateName", "locked");
    expect(JSON.stringify(holder)).to.not.contain("1234567");
  });

  it("is the walkthrough of docs/CLI.md, command for command", () => {
    const doc = readFileSync(path.join(REPO, "docs", "CLI.md"), "utf8");
    const section = doc.slice(doc.indexOf("## Walkthrough"), doc.indexOf("\n## ", doc.indexOf("## Walkthrough") + 1));
    const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const documented = blocks.flatMap((b) => b.split("\n").filter((l) => !l.trimStart().startsWith("#")))
      .flatMap((line) => [...line.matchAll(/\bmcid((?: [a-z][a-z-]*(?=[\s)]|$))+)/g)].map((m) => "mcid" + m[1]!));
    expect(documented).to.deep.equal(ran);
  });
});
