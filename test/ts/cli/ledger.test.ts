/**
 * The consortium, organisation and status commands through the spawned CLI: keys, deploy, governance, org, lock /
 * unlock / revoke / status and watch. Each command succeeds once with its output checked, and is refused on bad
 * input with a clear message, the documented exit code and nothing changed on chain. Connection failures (closed
 * port, wrong chain id, missing deployment file) are here too.
 */
import { expect } from "chai";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Wallet, keccak256, toUtf8Bytes } from "ethers";
import { StatusClient } from "../../../sdk/status/client.js";
import { makeCredentialId } from "../../../sdk/chain/codes.js";
import { startCliChain, mcid, refused, privateKeyOf, unusedPort, CENTRAL, LOCAL, DEV_PASSWORD, type CliChain, type CliResult, type Role } from "../helpers/cli.js";

const PASSWORD = { MCID_KEY_PASSWORD: DEV_PASSWORD };

function ok(r: CliResult): Record<string, unknown> {
  expect(r.code, `exit ${r.code}\n${r.stderr}${r.stdout}`).to.equal(0);
  return r.json ?? {};
}

/** The ISO times of one issuer key in `org show --json`, checked for their format. */
function isoTimes(keys: readonly Record<string, string>[], issuer: string): Record<string, string> {
  const k = keys.find((x) => x.issuer === issuer)!;
  for (const f of ["validFrom", "validUntil", "addedAt"]) expect(k[f]).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  return { validFrom: k.validFrom!, validUntil: k.validUntil!, addedAt: k.addedAt! };
}


describe("mcid ledger commands (spawned CLI)", function () {
  this.timeout(120_000);
  let chain: CliChain;
  const key = (role: Role) => ["--key", chain.keyFile[role]];
  const run = (args: string[], env: Record<string, string> = {}) => mcid(chain, args, { env });

  before(async () => {
    chain = await startCliChain({ accredit: true });
  });
  after(async () => {
    await chain?.close();
  });

  it("key new / import / show: keystores whose password and private key never touch the command line", async () => {
    const file = (name: string) => path.join(chain.dir, name);
    const imported = Wallet.createRandom();
    const existing = chain.keyFile.outsider;
    const before = readFileSync(existing, "utf8");
    writeFileSync(file("notes.txt"), "not a keystore");
    const [created, importedKey, shown, overwrite, shortPassword, badPrivateKey, notKeystore, noTerminal] = await Promise.all([
      run(["key", "new", "--out", file("new.json"), "--json"], { MCID_KEY_PASSWORD: "correct horse battery" }),
      run(["key", "import", "--out", file("imported.json"), "--json"], { MCID_KEY_PASSWORD: "correct horse battery", MCID_IMPORT_PRIVATE_KEY: imported.privateKey }),
      run(["key", "show", "--key-file", chain.keyFile["registrar-central"]]),
      run(["key", "new", "--out", existing], { MCID_KEY_PASSWORD: "correct horse battery" }),
      run(["key", "new", "--out", file("short.json")], { MCID_KEY_PASSWORD: "short" }),
      run(["key", "import", "--out", file("bad.json")], { MCID_KEY_PASSWORD: "correct horse battery", MCID_IMPORT_PRIVATE_KEY: "0x1234" }),
      run(["key", "show", "--key-file", file("notes.txt")]),
      run(["key", "new", "--out", file("prompt.json")]),
    ]);
    const address = String(ok(created).address);
    expect(JSON.parse(readFileSync(file("new.json"), "utf8")).address.toLowerCase()).to.equal(address.slice(2).toLowerCase());
    expect(ok(importedKey).address).to.equal(imported.address);
    expect(shown.code).to.equal(0);
    expect(shown.stdout.trim()).to.equal(chain.address["registrar-central"]);
    refused(overwrite, 2, /exists; choose another --out \(keys are never overwritten\)/);
    expect(readFileSync(existing, "utf8")).to.equal(before);
    refused(shortPassword, 2, /at least 8 characters/);
    refused(badPrivateKey, 2, /0x followed by 64 hex digits/);
    refused(notKeystore, 2, /is not a readable JSON keystore/);
    refused(noTerminal, 2, /No terminal to ask for the secret: set MCID_KEY_PASSWORD/);
    for (const name of ["short.json", "bad.json", "prompt.json"]) expect(existsSync(file(name)), name).to.equal(false);
  });

  it("deploy: a consortium with its own deployment file; bad members or threshold deploy nothing", async () => {
    const members = (["ministry-1", "ministry-2", "ministry-3"] as const).map((m) => chain.address[m]).join(",");
    const own = path.join(chain.dir, "deployments-2");
    const deployed = ok(await mcid(chain, ["deploy", "--members", members, "--threshold", "2", ...key("deployer"), "--json", "--deployments", own], { env: PASSWORD }));
    expect(deployed).to.have.nested.property("deployment.threshold", 2);
    expect(deployed.file).to.equal(path.join(own, "chain-31337.json"));
    expect(JSON.parse(readFileSync(path.join(own, "chain-31337.json"), "utf8")).members).to.have.length(3);
    // A second deploy never overwrites the file silently (issue #14.5): refused, or --replace with the journal.
    const file = readFileSync(path.join(own, "chain-31337.json"), "utf8");
    const again = await mcid(chain, ["deploy", "--members", members, "--threshold", "2", ...key("deployer"), "--deployments", own], { env: PASSWORD });
    refused(again, 4, /error \[DEPLOYMENT_EXISTS\]: Chain 31337 already has a consortium deployment .* its contracts are live: nothing was deployed/);
    expect(readFileSync(path.join(own, "chain-31337.json"), "utf8")).to.equal(file);
    const replaced = ok(await mcid(chain, ["deploy", "--members", members, "--threshold", "2", ...key("deployer"), "--deployments", own, "--replace", "--json"], { env: PASSWORD }));
    expect(replaced).to.have.nested.property("replaced.governor", JSON.parse(file).governor);
    const journal = readFileSync(path.join(own, "chain-31337.journal.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { threshold: number });
    expect(journal.map((j) => j.threshold)).to.deep.equal([2, 2]);
    expect(replaced).to.not.have.nested.property("deployment.governor", JSON.parse(file).governor);

    const nonce = await chain.provider.getTransactionCount(chain.address.deployer);
    const untouched = path.join(chain.dir, "deployments-3");
    const [threshold, member] = await Promise.all([
      mcid(chain, ["deploy", "--members", members, "--threshold", "4", ...key("deployer"), "--deployments", untouched], { env: PASSWORD }),
      mcid(chain, ["deploy", "--members", `${members},0x12`, "--threshold", "2", ...key("deployer"), "--deployments", untouched], { env: PASSWORD }),
    ]);
    refused(threshold, 2, /Threshold 4 is not allowed for 3 members: use 2 \(a strict majority/);
    refused(member, 2, /--members: "0x12" is not an address/);
    expect(await chain.provider.getTransactionCount(chain.address.deployer)).to.equal(nonce);
    expect(existsSync(untouched)).to.equal(false);
  });

  it("governance propose / show / approve / execute; refusals leave the proposal and the organisation as they were", async () => {
    const proposed = ok(await run(["governance", "propose", "suspend", "--agency", String(LOCAL), ...key("ministry-1"), "--json"], PASSWORD));
    const id = String(proposed.proposalId);
    expect(proposed).to.include({ approvals: 1, threshold: 3 });
    expect(String(proposed.description)).to.match(/Suspend 6110000/);

    const [early, outsider, unknownAction, noAgency, noProposal] = await Promise.all([
      run(["governance", "execute", id, ...key("ministry-1")], PASSWORD),
      run(["governance", "approve", id, ...key("outsider")], PASSWORD),
      run(["governance", "propose", "frobnicate", ...key("ministry-1")], PASSWORD),
      run(["governance", "propose", "suspend", ...key("ministry-1")], PASSWORD),
      run(["governance", "show", "999"]),
    ]);
    refused(early, 4, /error \[CONTRACT_REVERTED\]: .*ThresholdNotReached.*Not enough members approved yet/);
    refused(outsider, 4, /error \[NOT_AUTHORISED\]: .*NotMember/);
    refused(unknownAction, 2, /Unknown action "frobnicate": use one of accredit, set-name, suspend/);
    refused(noAgency, 2, /This action needs --agency/);
    refused(noProposal, 2, /No proposal 999/);
    expect(await chain.ledger.issuerRegistry.isOrganisationActive(LOCAL)).to.equal(true);

    const shown = ok(await run(["governance", "show", id, "--json"]));
    expect(shown).to.include({ state: "open", approvals: 1, proposer: chain.address["ministry-1"] });
    const approvals = await Promise.all([run(["governance", "approve", id, ...key("ministry-2"), "--json"], PASSWORD), run(["governance", "approve", id, ...key("ministry-3"), "--json"], PASSWORD)]);
    approvals.forEach(ok);
    ok(await run(["governance", "execute", id, ...key("ministry-1"), "--json"], PASSWORD));
    expect(await chain.ledger.issuerRegistry.isOrganisationActive(LOCAL)).to.equal(false);
  });

  it("org add-key / rotate-key / retire-key / show; a non-admin or bad input changes nothing", async () => {
    const [first, second, stranger] = [Wallet.createRandom().address, Wallet.createRandom().address, Wallet.createRandom().address];
    const agency = ["--agency", String(CENTRAL)];
    const added = ok(await run(["org", "add-key", ...agency, "--issuer", first, "--valid-for", "30d", ...key("org-admin-central"), "--json"], PASSWORD));
    expect(added).to.include({ issuer: first, agencyCode: CENTRAL });
    ok(await run(["org", "rotate-key", ...agency, "--old", first, "--new", second, ...key("org-admin-central"), "--json"], PASSWORD));
    const retired = ok(await run(["org", "retire-key", ...agency, "--issuer", second, "--compromised", ...key("org-admin-central"), "--json"], PASSWORD));
    expect(retired).to.include({ issuer: second, compromised: true });
    expect((await chain.ledger.issuerRegistry.issuerKey(second)).compromised).to.equal(true);
    const shown = ok(await run(["org", "show", ...agency, "--json"]));
    expect(shown).to.include({ agencyCode: CENTRAL, kind: "central", status: "active", admin: chain.address["org-admin-central"] });
    expect(shown.issuerKeys).to.deep.include.members([
      { issuer: chain.address["issuer-central"], state: "valid", ...isoTimes(shown.issuerKeys as Record<string, string>[], chain.address["issuer-central"]) },
    ]);
    expect((shown.issuerKeys as { issuer: string; state: string }[]).map((k) => [k.issuer, k.state])).to.deep.include.members([[first, "retired"], [second, "compromised"]]);
    expect(shown.operators).to.deep.include.members([
      { operator: chain.address["registrar-central"], role: "registrar" },
      { operator: chain.address["help-desk-central"], role: "lock-only" },
    ]);

    const [notAdmin, badRole, badAddress, notAccredited, badCode, badDuration, unknownOld, retiredTwice] = await Promise.all([
      run(["org", "add-key", ...agency, "--issuer", stranger, ...key("outsider")], PASSWORD),
      run(["org", "set-operator", ...agency, "--operator", stranger, "--role", "boss", ...key("org-admin-central")], PASSWORD),
      run(["org", "add-key", ...agency, "--issuer", "0x12", ...key("org-admin-central")], PASSWORD),
      run(["org", "show", "--agency", "1320000"]),
      run(["org", "show", "--agency", "12"]),
      run(["org", "add-key", ...agency, "--issuer", stranger, "--valid-for", "3 weeks", ...key("org-admin-central")], PASSWORD),
      run(["org", "rotate-key", ...agency, "--old", stranger, "--new", Wallet.createRandom().address, ...key("org-admin-central")], PASSWORD),
      run(["org", "retire-key", ...agency, "--issuer", second, "--compromised", ...key("org-admin-central")], PASSWORD),
    ]);
    refused(notAdmin, 4, /error \[NOT_AUTHORISED\]: .*NotOrgAdmin.*Only the organisation's admin account may do this/);
    refused(badRole, 2, /--role "boss": use registrar, lock-only or none/);
    refused(badAddress, 2, /--issuer: "0x12" is not an address/);
    refused(notAccredited, 2, /Organisation 1320000 is not accredited in this consortium/);
    refused(badCode, 2, /error \[INVALID_AGENCY_CODE\]: "12" is not an agency code: use the 7-digit 기관코드/);
    refused(badDuration, 2, /--valid-for: "3 weeks" is not a duration like 30m, 12h or 7d/);
    refused(unknownOld, 4, /error \[CONTRACT_REVERTED\]: Key rotation refused by the contract: UnknownIssuerKey\(/);
    refused(retiredTwice, 4, /Key retirement refused by the contract: IssuerKeyAlreadyRetired\(/);
    expect((await chain.ledger.issuerRegistry.issuerKey(stranger)).agencyCode).to.equal(0n);
    expect((await chain.ledger.statusRegistry.operators(stranger)).role).to.equal(0n);
  });

  it("lock / unlock / revoke / status by role; refusals and failed connections leave the status as it was", async () => {
    const registrar = new StatusClient(chain.ledger.statusRegistry.connect(new Wallet(privateKeyOf("registrar-central"), chain.provider)));
    const ids: string[] = [];
    for (const person of ["p-1", "p-2", "p-3"]) {
      ids.push((await registrar.register(keccak256(toUtf8Bytes(person)), keccak256(toUtf8Bytes(`credential of ${person}`)))).credentialId.toString());
    }
    const [c0, c1, c2] = ids as [string, string, string];
    const locked = ok(await run(["lock", c0, "--reason", "lost-device", ...key("help-desk-central"), "--json"], PASSWORD));
    expect(locked).to.include({ action: "lock", count: 1 });
    expect(ok(await run(["status", c0, "--json"]))).to.include({ state: "locked", reason: "LOST_DEVICE" });
    const unlocked = ok(await run(["unlock", c0, "--reason", "found-device", ...key("registrar-central"), "--json"], PASSWORD));
    expect(unlocked).to.have.nested.property("statuses[0].state", "active");
    const list = path.join(chain.dir, "left-service.txt");
    writeFileSync(list, `# left the service\n${c1}\n\n${c2}\n`);
    const revoked = ok(await run(["revoke", "--file", list, "--reason", "left-service", ...key("registrar-central"), "--json"], PASSWORD));
    expect(revoked).to.include({ action: "revoke", count: 2 });
    expect((revoked.statuses as { state: string }[]).map((s) => s.state)).to.deep.equal(["revoked", "revoked"]);

    const port = await unusedPort();
    const empty = path.join(chain.dir, "no-deployments");
    mkdirSync(empty);
    const elsewhere = (flags: string[]) => mcid(chain, ["lock", c0, "--reason", "lost-device", ...key("help-desk-central"), ...flags], { env: PASSWORD, chain: false });
    const [helpDeskRevokes, wrongReason, notAnId, unknown, idAndFile, wrongPassword, unreachable, noDeployment, wrongChain, noKey] = await Promise.all([
      run(["revoke", c0, "--reason", "lost-device", ...key("help-desk-central")], PASSWORD),
      run(["unlock", c0, "--reason", "lost-device", ...key("registrar-central")], PASSWORD),
      run(["status", "1741000"]),
      run(["status", makeCredentialId(CENTRAL, 99n).toString()]),
      run(["lock", c0, "--file", list, "--reason", "lost-device", ...key("help-desk-central")], PASSWORD),
      run(["lock", c0, "--reason", "lost-device", ...key("help-desk-central")], { MCID_KEY_PASSWORD: "not the password" }),
      elsewhere(["--rpc-url", `http://127.0.0.1:${port}`, "--chain-id", "31337", "--deployments", chain.deployments]),
      elsewhere(["--rpc-url", chain.url, "--chain-id", "31337", "--deployments", empty]),
      elsewhere(["--rpc-url", chain.url, "--chain-id", "1", "--deployments", chain.deployments]),
      run(["lock", c0, "--reason", "lost-device"]),
    ]);
    refused(helpDeskRevokes, 4, /error \[NOT_AUTHORISED\]: Revoke refused by the contract: NotAuthorised\(.*\)\. The account has no status-operator role for this action/);
    refused(wrongReason, 2, /Reason "lost-device" is not allowed here; use one of: found-device, administrative/);
    refused(notAnId, 2, /error \[INVALID_CREDENTIAL_ID\]: "1741000" is not a credential id/);
    refused(unknown, 2, /Credential \d+ is not registered on this chain/);
    refused(idAndFile, 2, /Give one credential id, or --file with one id per line \(not both\)/);
    refused(wrongPassword, 2, /Cannot open .*help-desk-central\.json: wrong password \(MCID_KEY_PASSWORD\)/);
    refused(unreachable, 3, /error \[CHAIN_UNREACHABLE\]: Cannot reach the node at http:\/\/127\.0\.0\.1:\d+/);
    refused(noDeployment, 2, /error \[DEPLOYMENT_NOT_FOUND\]: No deployment for chain 31337 at .*no-deployments.*chain-31337\.json/);
    refused(wrongChain, 3, /error \[CHAIN_ID_MISMATCH\]: The node at .* is chain 31337, not 1/);
    refused(noKey, 2, /This command sends a transaction: pass --key/);
    const after = await registrar.statuses(ids.map(BigInt));
    expect(after.map((s) => s.stateName)).to.deep.equal(["active", "revoked", "revoked"]);
  });

  it("watch --once lists the consortium's events; bad options are refused", async () => {
    const [watched, badInterval] = await Promise.all([
      run(["watch", "--once", "--json"]),
      run(["watch", "--once", "--interval", "0"]),
    ]);
    // NDJSON: one event per line, enums as words and times in ISO 8601 (no role hashes, no Unix seconds, no calldata).
    expect(watched.code, watched.stderr).to.equal(0);
    const events = watched.stdout.trim().split("\n").map((l) => JSON.parse(l) as { event: string; time: string; args: Record<string, unknown> });
    const names = events.map((e) => e.event);
    expect(names).to.include.members(["OrganisationAccredited", "IssuerKeyAdded", "OperatorSet", "CredentialRegistered", "CredentialLocked", "CredentialsStatusChanged", "ProposalCreated"]);
    const batch = events.find((e) => e.event === "CredentialsStatusChanged")?.args;
    expect(batch).to.include({ state: "revoked", reason: "LEFT_SERVICE" });
    expect(batch?.credentialIds).to.be.an("array").with.length(2); // the packed ids, decoded
    expect(events.find((e) => e.event === "CredentialLocked")?.args).to.include({ reason: "LOST_DEVICE" });
    expect(events.find((e) => e.event === "OperatorSet")?.args.role).to.be.oneOf(["registrar", "lock-only"]);
    expect(events.find((e) => e.event === "ProposalCreated")?.args.call).to.match(/^accredit\(1741000, 1, 0x[0-9a-fA-F]{40}, \[CivilServantIdCredential\]\)$/);
    expect(events.find((e) => e.event === "IssuerKeyAdded")?.args.validUntil).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    for (const e of events) expect(e.time).to.match(/^\d{4}-\d\d-\d\dT/);
    expect(watched.stdout).to.not.match(/0x[0-9a-fA-F]{65,}/);
    const human = await run(["watch", "--once"]);
    expect(human.stdout).to.match(/OperatorSet operator=0x[0-9a-fA-F]{40} agencyCode=1741000 role=registrar/);
    expect(human.stdout).to.match(/RoleGranted role=GOVERNANCE_ROLE/);
    refused(badInterval, 2, /--interval: "0" must be an integer from 1 to 600000/);
  });
});
