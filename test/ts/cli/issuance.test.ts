/**
 * The issuing server's commands (hr import, request …, reissue, sms outbox) and the phone's wallet commands through
 * the spawned CLI, on one organisation's database: each succeeds once with its output checked, and bad input is
 * refused with a clear message on stderr, the documented exit code, and the request states, the chain and the
 * wallet left as they were. The walkthrough (story.test.ts) covers the same commands end to end.
 */
import { expect } from "chai";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { decodeJWT } from "did-jwt";
import { HolderWallet, TEST_ONLY_SCRYPT } from "../../../sdk/wallet/index.js";
import { eSaramExport, hrRow, insarangCsv } from "../helpers/issuance.js";
import {
  startCliChain, mcid, refused, serverEnv, issuanceDb, otpOf, invitationOf, CENTRAL, LOCAL, PIN, REPO, type CliChain, type CliResult,
} from "../helpers/cli.js";

const A = "e-saram:ES-A";
const B = "e-saram:ES-B";
const C = "e-saram:ES-C";
const D = "insarang:IS-D";
const PERSON_A = "900101-1234567";

function ok(r: CliResult): Record<string, unknown> {
  expect(r.code, `exit ${r.code}\n${r.stderr}${r.stdout}`).to.equal(0);
  return r.json ?? {};
}

describe("mcid issuing server and wallet commands (spawned CLI)", function () {
  this.timeout(120_000);
  let chain: CliChain;
  let central: Record<string, string>;
  let local: Record<string, string>;
  let phone: Record<string, string>;
  const file = (name: string) => path.join(chain.dir, name);
  const agency = (code: number) => ["--agency", String(code)];
  const server = (args: string[], env: Record<string, string> = {}) => mcid(chain, [...args, ...agency(CENTRAL)], { env: { ...central, ...env } });
  const wallet = (args: string[], env: Record<string, string> = {}) => mcid(chain, args, { env: { ...phone, ...env } });
  const states = () => issuanceDb(chain, CENTRAL).states;

  before(async () => {
    chain = await startCliChain({ accredit: true });
    central = serverEnv(chain, CENTRAL);
    local = serverEnv(chain, LOCAL);
    // The phone: the wallet and the issuing server's configuration without passwords (see docs/CLI.md).
    phone = { MCID_WALLET: file("phone.json"), MCID_PIN: PIN, MCID_KEY: central.MCID_KEY!, MCID_ISSUER_KEY: central.MCID_ISSUER_KEY!, MCID_HOLDER_SECRET_FILE: chain.holderSecretFile };
    writeFileSync(file("central.json"), eSaramExport([
      hrRow({ requestId: "ES-A", personId: PERSON_A }),
      hrRow({ requestId: "ES-B", personId: "800202-2345678", name: "김철수", employeeRef: "E-20240002", mobile: "010-2222-3333" }),
      hrRow({ requestId: "ES-C", personId: "700303-3456789", name: "이영희", employeeRef: "E-20240003", mobile: "010-4444-5555" }),
    ]));
    writeFileSync(file("local.csv"), insarangCsv([hrRow({ requestId: "IS-D", personId: "880404-1111111", employeeRef: "S-0042" }, LOCAL)]));
    writeFileSync(file("invalid.json"), eSaramExport([hrRow({ requestId: "ES-X", personId: "660101-1234567", mobile: "02-123-4567", name: "" })]));
  });
  after(async () => {
    await chain?.close();
  });

  it("hr import: e-사람 JSON and 인사랑 CSV; an invalid file or another organisation's rows import nothing", async () => {
    const [fromESaram, fromInsarang] = await Promise.all([
      server(["hr", "import", "--source", "e-saram", "--file", file("central.json"), "--json"]),
      mcid(chain, ["hr", "import", "--source", "insarang", "--file", file("local.csv"), ...agency(LOCAL), "--json"], { env: local }),
    ]);
    expect(ok(fromESaram)).to.deep.include({ source: "e-saram", rows: 3, created: [A, B, C], duplicates: [], refused: [], conflicts: [] });
    expect(ok(fromInsarang)).to.deep.include({ source: "insarang", rows: 1, created: [D] });
    const before = states();

    const [invalid, foreign, source, badAgency, noSecret, again] = await Promise.all([
      server(["hr", "import", "--source", "e-saram", "--file", file("invalid.json")]),
      mcid(chain, ["hr", "import", "--source", "e-saram", "--file", file("central.json"), ...agency(LOCAL)], { env: local }),
      server(["hr", "import", "--source", "excel", "--file", file("central.json")]),
      mcid(chain, ["hr", "import", "--source", "e-saram", "--file", file("central.json"), "--agency", "12"], { env: central }),
      server(["hr", "import", "--source", "e-saram", "--file", file("central.json")], { MCID_HOLDER_SECRET_FILE: "" }),
      server(["hr", "import", "--source", "e-saram", "--file", file("central.json")]),
    ]);
    refused(invalid, 2, /HR export refused, nothing was imported \(2 problems\): row 1 name: is empty; row 1 mobile: must be a Korean mobile number/);
    refused(foreign, 2, /row 1 agencyCode: 1741000 is not served by this issuing server \(6110000\)/);
    refused(source, 2, /--source "excel": use e-saram, insarang/);
    refused(badAgency, 2, /error \[INVALID_AGENCY_CODE\]: "12" is not an agency code/);
    refused(noSecret, 2, /The consortium holder-reference secret is needed: --holder-secret-file <file> or MCID_HOLDER_SECRET/);
    expect(again.code).to.equal(0);
    expect(again.stdout).to.match(/0 created, 3 duplicate\(s\)/);
    expect(states()).to.deep.equal(before);
    expect(issuanceDb(chain, LOCAL).states).to.deep.equal({ [D]: "requested" });
  });

  it("request list / show; an unknown organisation or request is refused, and no database is left behind", async () => {
    const [listed, shown, badState, noDatabase, unknown, malformed, otherOrganisation] = await Promise.all([
      server(["request", "list", "--state", "requested", "--json"]),
      server(["request", "show", A, "--json"]),
      server(["request", "list", "--state", "done"]),
      mcid(chain, ["request", "list", "--agency", "1320000"], { env: central }),
      server(["request", "show", "e-saram:NOPE"]),
      server(["request", "show", "ES-A"]),
      mcid(chain, ["request", "show", A, ...agency(LOCAL)], { env: local }),
    ]);
    expect((ok(listed).requests as { id: string }[]).map((r) => r.id)).to.deep.equal([A, B, C]);
    expect(ok(shown)).to.deep.include({ sms: [] });
    expect(ok(shown).request).to.include({ id: A, state: "requested", name: "홍길동", mobile: "+821012345678", nextStep: "approve or reject (department head)" });
    refused(badState, 2, /--state "done": use requested, refused, rejected/);
    refused(noDatabase, 2, /No issuance database of organisation 1320000 at .*issuance-1320000\.sqlite: import its HR requests first/);
    expect(existsSync(path.join(chain.dataDir, "issuance-1320000.sqlite"))).to.equal(false);
    refused(unknown, 2, /error \[REQUEST_NOT_FOUND\]: No issuance request "e-saram:NOPE"/);
    refused(malformed, 2, /"ES-A" is not a request id: use <source>:<HR request id>/);
    refused(otherOrganisation, 2, /error \[REQUEST_NOT_FOUND\]/);
  });

  it("request approve / reject / cancel; a decided request cannot be decided again", async () => {
    const [approved, rejected, approvedC] = await Promise.all([
      server(["request", "approve", A, "--approver", "dept-head:7001", "--json"]),
      server(["request", "reject", B, "--approver", "dept-head:7001", "--reason", "not in this department", "--json"]),
      server(["request", "approve", C, "--approver", "dept-head:7001", "--json"]),
    ]);
    expect(ok(approved).request).to.include({ state: "approved", approver: "dept-head:7001" });
    expect(ok(rejected).request).to.include({ state: "rejected", rejectionReason: "not in this department" });
    ok(approvedC);
    const cancelled = ok(await server(["request", "cancel", C, "--reason", "phone lost before activation", "--actor", "hr-desk:kim", "--json"]));
    expect(cancelled.request).to.include({ state: "cancelled" });
    const audit = issuanceDb(chain, CENTRAL).audit;
    const before = states();

    const [decidedAgain, noReason, emptyReason, cancelledAgain] = await Promise.all([
      server(["request", "approve", B, "--approver", "dept-head:7001"]),
      server(["request", "reject", A, "--approver", "dept-head:7001"]),
      server(["request", "cancel", A, "--reason", " "]),
      server(["request", "cancel", C, "--reason", "again"]),
    ]);
    refused(decidedAgain, 4, /error \[INVALID_WORKFLOW_STATE\]: Request e-saram:ES-B is rejected; approve needs requested\. Next step: none: rejected for good/);
    refused(noReason, 2, /required option '--reason <text>' not specified/);
    refused(emptyReason, 2, /A reason is required: 1-500 characters of text/);
    refused(cancelledAgain, 4, /Request e-saram:ES-C is cancelled; cancel needs/);

    // Bulk: --all takes every request waiting for the step; several ids are each tried, a summary says which failed.
    const [all, several, neither] = await Promise.all([
      mcid(chain, ["request", "approve", "--all", "--approver", "dept-head:9001", ...agency(LOCAL), "--json"], { env: local }),
      server(["request", "approve", B, C, "--approver", "dept-head:7001", "--json"]),
      server(["request", "approve", "--approver", "dept-head:7001"]),
    ]);
    expect(ok(all)).to.deep.include({ action: "approve", count: 1, done: [D], failed: [] });
    expect(several.code).to.equal(4);
    expect(several.json).to.deep.include({ ok: false, action: "approve", count: 2, done: [] });
    expect((several.json!.failed as { id: string; code: string }[]).map((f) => [f.id, f.code])).to.deep.equal([[B, "INVALID_WORKFLOW_STATE"], [C, "INVALID_WORKFLOW_STATE"]]);
    refused(neither, 2, /Give request ids, or --all \(every request in state requested\), not both/);
    expect(issuanceDb(chain, LOCAL).states).to.deep.equal({ [D]: "approved" });
    expect(states()).to.deep.equal(before);
    expect(issuanceDb(chain, CENTRAL).audit).to.equal(audit);
  });

  it("request verify-identity-start / sms outbox / verify-identity: the code is printed (--sms log) or waits in the outbox; wrong answers count attempts", async () => {
    // With --sms log the operator's console is the carrier: the SMS is printed on stderr and recorded as sent.
    const logged = await server(["request", "verify-identity-start", A, "--sms", "log", "--json"]);
    expect(ok(logged).sms).to.deep.include({ delivered: true });
    expect(logged.stderr).to.match(/^SMS #\d+ to \+821012345678 \(identity-code, e-saram:ES-A\): \[모바일 공무원증\] 본인확인 코드 [0-9]{6}/);
    // A new session replaces that code; without a carrier the new one waits in the outbox.
    const started = ok(await server(["request", "verify-identity-start", A, "--json"]));
    expect(started.sms).to.deep.include({ delivered: false });
    const [outbox, notApproved, badGateway, badFilter] = await Promise.all([
      server(["sms", "outbox", "--request", A, "--json"]),
      server(["request", "verify-identity-start", B]),
      server(["sms", "outbox", "--sms", "carrier"]),
      server(["sms", "outbox", "--request", "A"]),
    ]);
    const messages = ok(outbox).messages as { purpose: string; to: string; body: string; status: string; lastError: string }[];
    expect(messages).to.have.length(1);
    expect(messages[0]).to.include({ purpose: "identity-code", to: "+821012345678", status: "failed" });
    expect(messages[0]!.lastError).to.match(/no SMS carrier configured/);
    refused(notApproved, 4, /Request e-saram:ES-B is rejected; startIdentityVerification needs approved/);
    refused(badGateway, 2, /--sms "carrier": use outbox \(no carrier: read them with mcid sms outbox\) or log/);
    refused(badFilter, 2, /"A" is not a request id/);

    const code = otpOf(messages[0]!.body);
    const wrong = code === "000000" ? "111111" : "000000";
    const [wrongCode, wrongPerson] = [
      await server(["request", "verify-identity", A, "--name", "홍길동", "--employee-ref", "E-20240001", "--code", wrong]),
      await server(["request", "verify-identity", A, "--name", "김철수", "--employee-ref", "E-20240001", "--code", code]),
    ];
    refused(wrongCode, 4, /error \[IDENTITY_NOT_VERIFIED\]: Identity not verified for e-saram:ES-A \(WRONG_CODE\); 4 attempt\(s\) left with this code/);
    refused(wrongPerson, 4, /\(HR_RECORD_MISMATCH\); 3 attempt\(s\) left/);
    expect(states()[A]).to.equal("approved");
    const verified = ok(await server(["request", "verify-identity", A, "--name", "홍 길동", "--employee-ref", "E-20240001", "--code", code, "--json"]));
    expect(verified.request).to.include({ state: "identity_verified", identityMethod: "hr-record+sms-otp" });
  });

  it("request invite / wallet create / wallet activate: the phone proves its key with the link and code; wrong ones change nothing", async () => {
    const invited = ok(await server(["request", "invite", A, "--json"]));
    expect(invited.sms).to.deep.include({ delivered: false });
    const [outbox, created, notVerified] = await Promise.all([
      server(["sms", "outbox", "--json"]),
      wallet(["wallet", "create", "--json"]),
      server(["request", "invite", B]),
    ]);
    const invitation = invitationOf((ok(outbox).messages as { body: string }[]).at(-1)!.body);
    expect(String(ok(created).did)).to.match(/^did:ethr:0x7a69:0x/);
    refused(notVerified, 4, /Request e-saram:ES-B is rejected; invite needs identity_verified or invited/);

    const walletBefore = readFileSync(file("phone.json"), "utf8");
    // Commands that open phone.json run one at a time: a wallet file belongs to one process (the phone's app).
    const [weakPin, exists, noChain, noPin, wrongCode, deadLink, noWallet] = await Promise.all([
      wallet(["wallet", "create", "--wallet", file("weak.json")], { MCID_PIN: "123456" }),
      wallet(["wallet", "create"]),
      mcid(chain, ["wallet", "create", "--wallet", file("nowhere.json")], { env: phone, chain: false }),
      wallet(["wallet", "create", "--wallet", file("nopin.json")], { MCID_PIN: "" }),
      wallet(["wallet", "activate", `--token=${invitation.token}`, "--code", invitation.code === "00000000" ? "11111111" : "00000000", ...agency(CENTRAL)]),
      wallet(["wallet", "activate", "--token", "https://m-id.example.go.kr/install?token=" + "A".repeat(43), "--code", invitation.code, ...agency(CENTRAL)]),
      wallet(["wallet", "activate", "--wallet", file("missing.json"), "--token", invitation.link, "--code", invitation.code, ...agency(CENTRAL)]),
    ]);
    const wrongPin = await wallet(["wallet", "activate", "--token", invitation.link, "--code", invitation.code, ...agency(CENTRAL)], { MCID_PIN: "135802" });
    refused(weakPin, 2, /error \[WEAK_PIN\]/);
    refused(exists, 2, /error \[WALLET_EXISTS\]: A wallet already exists at .*phone\.json; pass --replace to re-activate/);
    refused(noChain, 2, /A wallet belongs to a chain that outlives this command: pass --network localhost \(npm run node\), or --chain-id/);
    refused(noPin, 2, /No terminal to ask for the secret: set MCID_PIN/);
    refused(wrongCode, 4, /error \[ACTIVATION_FAILED\]: Activation refused \(WRONG_CODE\); 4 attempt\(s\) left with this link/);
    refused(deadLink, 4, /error \[INVITATION_INVALID\]: The activation link is not valid; use the link from the latest SMS/);
    refused(noWallet, 2, /error \[WALLET_NOT_FOUND\]: .*create one with `mcid wallet create`/);
    refused(wrongPin, 4, /error \[WRONG_PIN\]: Wrong PIN; 4 attempts left/);
    for (const name of ["weak.json", "nowhere.json", "nopin.json"]) expect(existsSync(file(name)), name).to.equal(false);
    expect(states()[A]).to.equal("invited");
    expect(JSON.parse(readFileSync(file("phone.json"), "utf8")).meta).to.deep.equal(JSON.parse(walletBefore).meta);

    const activated = ok(await wallet(["wallet", "activate", "--token", invitation.link, "--code", invitation.code, ...agency(CENTRAL), "--json"]));
    expect(activated).to.include({ requestId: A, state: "activated", did: ok(created).did });
    refused(await wallet(["wallet", "collect", ...agency(CENTRAL)]), 4, /Request e-saram:ES-A is activated; credential collection needs issued\. Next step: issue/);
  });

  it("request issue / wallet collect / wallet status: keys unlocked only to sign; a wrong password registers nothing", async () => {
    const registered = await chain.ledger.statusRegistry.nextSequence(CENTRAL);
    const [wrongIssuerPassword, noIssuerKey, notActivated] = await Promise.all([
      server(["request", "issue", A], { MCID_ISSUER_KEY_PASSWORD: "wrong" }),
      server(["request", "issue", A], { MCID_ISSUER_KEY: "" }),
      server(["request", "issue", B]),
    ]);
    refused(wrongIssuerPassword, 2, /Cannot open .*issuer-central\.json: wrong password \(MCID_ISSUER_KEY_PASSWORD\)/);
    refused(noIssuerKey, 2, /The organisation's issuer key is needed: --issuer-key <keystore.json> \(or MCID_ISSUER_KEY\)/);
    refused(notActivated, 4, /Request e-saram:ES-B is rejected; issue needs activated or registering or registered/);
    expect(states()[A]).to.equal("activated");
    expect(await chain.ledger.statusRegistry.nextSequence(CENTRAL)).to.equal(registered);

    const issued = ok(await server(["request", "issue", A, "--json"])).request as { state: string; credentialId: string; txHash: string };
    expect(issued.state).to.equal("issued");
    expect((await chain.ledger.statusRegistry.statusOf(BigInt(issued.credentialId)))[0]).to.equal(true);

    writeFileSync(file("other-phone-error.json"), "{ not a wallet");
    const [wrongPin, stranger, corrupt] = await Promise.all([
      wallet(["wallet", "collect", ...agency(CENTRAL)], { MCID_PIN: "135802" }),
      HolderWallet.create(file("stranger.json"), { pin: PIN, chainId: 31337, scrypt: TEST_ONLY_SCRYPT }).then(() => wallet(["wallet", "collect", "--wallet", file("stranger.json"), ...agency(CENTRAL)])),
      wallet(["wallet", "status", "--wallet", file("other-phone-error.json")]),
    ]);
    refused(wrongPin, 4, /Wrong PIN; 4 attempts left/);
    refused(stranger, 2, /error \[REQUEST_NOT_FOUND\]: No request of organisation 1741000 was activated with the device DID/);
    refused(corrupt, 2, /error \[WALLET_CORRUPT\]/);
    expect(ok(await wallet(["wallet", "status", "--json"]))).to.include({ credentialId: null, attemptsLeft: 4 });

    const collected = ok(await wallet(["wallet", "collect", ...agency(CENTRAL), "--json"]));
    expect(collected).to.include({ requestId: A, credentialId: issued.credentialId });
    const status = ok(await wallet(["wallet", "status", "--json"]));
    expect(status).to.include({ locked: false, attemptsLeft: 5, credentialId: issued.credentialId });
  });

  it("wallet present / sign: the PIN unlocks the key for one answer or one signature; bad requests spend no attempt", async () => {
    writeFileSync(file("memo.txt"), "결재 요청: 2026년 예산안");
    writeFileSync(file("taken.sig.json"), "{}");
    const presented = await wallet(["wallet", "present", "--challenge", "c-123", "--audience", "https://mail.korea.kr", "--lifetime", "2m"]);
    const signed = await wallet(["wallet", "sign", "--file", file("memo.txt"), "--purpose", "예산안 결재", "--out", file("memo.sig.json"), "--json"]);
    expect(presented.code, presented.stderr).to.equal(0);
    const vp = decodeJWT(presented.stdout.trim()).payload;
    expect(vp).to.include({ nonce: "c-123", aud: "https://mail.korea.kr" });
    expect(vp.exp! - vp.iat!).to.equal(120);
    expect(ok(signed)).to.include({ purpose: "예산안 결재" });
    expect(JSON.parse(readFileSync(file("memo.sig.json"), "utf8"))).to.include({ format: "mobile-civil-id/document-signature", version: 1 });

    const [wrongPin, tooLong, noCredential, taken, noDocument] = await Promise.all([
      wallet(["wallet", "present", "--challenge", "c-1", "--audience", "gate:1"], { MCID_PIN: "135802" }),
      wallet(["wallet", "present", "--challenge", "c-1", "--audience", "gate:1", "--lifetime", "10m"]),
      wallet(["wallet", "present", "--wallet", file("stranger.json"), "--challenge", "c-1", "--audience", "gate:1"]),
      wallet(["wallet", "sign", "--file", file("memo.txt"), "--out", file("taken.sig.json")]),
      wallet(["wallet", "sign", "--file", file("no-such.txt"), "--out", file("x.sig.json")]),
    ]);
    refused(wrongPin, 4, /Wrong PIN; 4 attempts left/);
    refused(tooLong, 2, /expiresInSeconds must be a whole number from 1 to 300/);
    refused(noCredential, 4, /error \[NO_CREDENTIAL\]: The wallet holds no credential yet/);
    refused(taken, 2, /taken\.sig\.json exists; choose another --out/);
    refused(noDocument, 2, /--file: cannot read .*no-such\.txt/);
    expect(readFileSync(file("taken.sig.json"), "utf8")).to.equal("{}");
    expect(existsSync(file("x.sig.json"))).to.equal(false);
    expect(ok(await wallet(["wallet", "status", "--json"]))).to.include({ attemptsLeft: 4 });
  });

  it("request audit / reconcile: the trail of every step; reconcile finds nothing left to do", async () => {
    const [audit, imports, reconciled, unknown, wrongPassword] = await Promise.all([
      server(["request", "audit", A, "--json"]),
      server(["request", "audit", "--json"]),
      server(["request", "reconcile", "--json"]),
      server(["request", "audit", "e-saram:NOPE"]),
      server(["request", "reconcile"], { MCID_KEY_PASSWORD: "wrong" }),
    ]);
    const actions = (ok(audit).entries as { action: string }[]).map((e) => e.action);
    expect(actions).to.include.ordered.members(["import", "approve", "identity-verification-started", "sms-sent", "identity-verification-started", "sms-failed"]);
    expect(actions).to.include.members(["identity-check-failed", "verify-identity", "invite", "activation-refused", "activate", "registration-intent", "register", "issue", "credential-collected"]);
    // Import-level entries: the two imports and the refused file (those ran concurrently, in either order).
    expect((ok(imports).entries as { action: string }[]).map((e) => e.action)).to.have.members(["import", "import", "import-refused"]);
    expect(ok(reconciled)).to.deep.include({ ok: true, completed: [], pending: [], failed: [], sms: { delivered: 0, failed: 0, expired: 0 } });
    refused(unknown, 2, /No issuance request "e-saram:NOPE"/);
    refused(wrongPassword, 2, /Cannot open .*registrar-central\.json: wrong password \(MCID_KEY_PASSWORD\)/);
  });

  it("reissue writes the holder's reissue request for HR to file; a wrong person or request writes nothing", async () => {
    const out = file("reissue.json");
    const written = ok(await server(["reissue", "--from", A, "--reason", "lost-device", "--request-id", "ES-A2", "--person-id-env", "PERSON", "--out", out, "--json"], { PERSON: PERSON_A }));
    expect(written).to.include({ requestId: "e-saram:ES-A2", source: "e-saram", from: A, reissueReason: "lost-device" });
    const imported = ok(await server(["hr", "import", "--source", "e-saram", "--file", out, "--json"]));
    expect(imported).to.deep.include({ created: ["e-saram:ES-A2"] });
    expect(ok(await server(["request", "show", "e-saram:ES-A2", "--json"])).request).to.include({ kind: "reissue", reissueReason: "lost-device", name: "홍길동" });

    const target = file("reissue-2.json");
    const [wrongPerson, notIssued, unset, badReason] = await Promise.all([
      server(["reissue", "--from", A, "--reason", "lost-device", "--request-id", "ES-A3", "--person-id-env", "PERSON", "--out", target], { PERSON: "800202-2345678" }),
      server(["reissue", "--from", C, "--reason", "lost-device", "--request-id", "ES-C2", "--person-id-env", "PERSON", "--out", target], { PERSON: "700303-3456789" }),
      server(["reissue", "--from", A, "--reason", "lost-device", "--request-id", "ES-A3", "--person-id-env", "PERSON", "--out", target]),
      server(["reissue", "--from", A, "--reason", "broken-screen", "--request-id", "ES-A3", "--person-id-env", "PERSON", "--out", target], { PERSON: PERSON_A }),
    ]);
    refused(wrongPerson, 2, /The person id in PERSON is not the holder of e-saram:ES-A/);
    refused(notIssued, 4, /e-saram:ES-C is cancelled, not issued: a reissue replaces an issued credential/);
    refused(unset, 2, /--person-id-env: the environment variable PERSON is not set/);
    refused(badReason, 2, /--reason "broken-screen": use lost-device, pin-lockout, app-deleted, device-replaced/);
    expect(existsSync(target)).to.equal(false);
    expect(wrongPerson.stderr).to.not.contain("800202");

    // Personal data goes under the data directory by default, never into a git work tree where git would pick it up.
    const inRepo = path.join(REPO, "reissue-ES-A4.json");
    const [byDefault, intoRepo] = await Promise.all([
      server(["reissue", "--from", "e-saram:ES-A2", "--reason", "lost-device", "--request-id", "ES-A5", "--person-id-env", "PERSON"], { PERSON: PERSON_A }),
      server(["reissue", "--from", A, "--reason", "lost-device", "--request-id", "ES-A4", "--person-id-env", "PERSON", "--out", inRepo], { PERSON: PERSON_A }),
    ]);
    refused(intoRepo, 2, /error \[UNSAFE_OUTPUT_PATH\]: .*reissue-ES-A4\.json holds personal data .* inside the git work tree .* without being ignored/);
    expect(existsSync(inRepo)).to.equal(false);
    // ES-A2 is not issued yet: refused, but the default path is the data directory's.
    refused(byDefault, 4, /e-saram:ES-A2 is requested, not issued/);

    // A valid file whose rows are refused (the holder already has an open request) exits 4, not 0.
    writeFileSync(file("again-a.json"), eSaramExport([hrRow({ requestId: "ES-A9", personId: PERSON_A })]));
    const partial = await server(["hr", "import", "--source", "e-saram", "--file", file("again-a.json")]);
    expect(partial.code, partial.stderr + partial.stdout).to.equal(4);
    expect(partial.stdout).to.match(/1 refused[\s\S]*Not everything was imported: exit 4/);
  });

  it("reissue without --out writes under the data directory (hr-exports/)", async () => {
    const written = ok(await server(["reissue", "--from", A, "--reason", "device-replaced", "--request-id", "ES-A6", "--person-id-env", "PERSON", "--json"], { PERSON: PERSON_A }));
    expect(written.file).to.equal(path.join(chain.dataDir, "hr-exports", "reissue-ES-A6.json"));
    expect(readFileSync(String(written.file), "utf8")).to.contain("ES-A6");
  });
});
