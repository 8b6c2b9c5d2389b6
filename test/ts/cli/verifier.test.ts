/**
 * The verifier's commands (challenge, verify, verify-document) and `status holder` through the spawned CLI. The
 * credentials and the answers are made in this process with the SDK (issuer key, registrar, a fast test wallet),
 * so every spawn here is a verifier's: each command succeeds once with its output checked; refusals exit 1 with the
 * reasons; bad input exits 2, an unreachable node 3, and the challenge is consumed only by a verification that
 * got as far as checking it.
 */
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { createServer } from "node:net";
import { Wallet, ZeroHash } from "ethers";
import { StatusClient } from "../../../sdk/status/client.js";
import { holderReference } from "../../../sdk/status/holder-ref.js";
import { normalisePersonId } from "../../../sdk/issuer/hr-import.js";
import { deviceKeyJwk, draftCredential, issuerFromPrivateKey, signCredential } from "../../../sdk/credential/index.js";
import { HolderWallet, TEST_ONLY_SCRYPT } from "../../../sdk/wallet/index.js";
import { SqliteChallengeStore } from "../../../sdk/verifier/challenge-store.js";
import { startCliChain, mcid, refused, privateKeyOf, CENTRAL, DEV_PASSWORD, LOCAL, PIN, type CliChain, type CliResult } from "../helpers/cli.js";

const GATE = "gate:sejong-east";
const PERSON = "850101-1234567";
const LOCAL_PERSON = "900505-2345678";

/** A verification that ran and refused: exit 1, the verdict and its reasons on stdout (the command's result), nothing on stderr. */
function denied(r: CliResult, verdict: RegExp): void {
  expect(r.code, `exit ${r.code}\n${r.stderr}${r.stdout}`).to.equal(1);
  expect(r.stdout).to.match(verdict);
  expect(r.stderr).to.equal("");
}

function ok(r: CliResult): Record<string, unknown> {
  expect(r.code, `exit ${r.code}\n${r.stderr}${r.stdout}`).to.equal(0);
  return r.json ?? {};
}

describe("mcid verifier commands and status holder (spawned CLI)", function () {
  this.timeout(120_000);
  let chain: CliChain;
  let phone: HolderWallet;
  let credentialId: string;
  const file = (name: string) => path.join(chain.dir, name);
  /** A challenge issued into the verifier's store, as `mcid challenge` does (that command is tested on its own below). */
  const challenge = (audience: string, policy: string): string => {
    const store = new SqliteChallengeStore(path.join(chain.dataDir, "verifier.sqlite"));
    try {
      return store.issue({ audience, policy }).challenge;
    } finally {
      store.close();
    }
  };
  /** The phone's answer to a challenge, written to a file. */
  const answer = async (c: string, audience: string, name: string): Promise<string> => {
    writeFileSync(file(name), await phone.createPresentation({ pin: PIN, challenge: c, audience }));
    return file(name);
  };
  const verify = (args: string[]) => mcid(chain, ["verify", ...args]);
  const challengeRows = () => {
    const db = new DatabaseSync(path.join(chain.dataDir, "verifier.sqlite"), { readOnly: true });
    try {
      return db.prepare("SELECT challenge, used_at FROM challenges ORDER BY challenge").all();
    } finally {
      db.close();
    }
  };

  /** Issues a credential of `agency` to a new fast wallet, as an issuing server would (draft, register, sign). */
  async function issue(agency: number, personId: string, walletFile: string): Promise<{ wallet: HolderWallet; credentialId: bigint }> {
    const who = agency === CENTRAL ? "central" : "local";
    const wallet = await HolderWallet.create(walletFile, { pin: PIN, chainId: 31337, scrypt: TEST_ONLY_SCRYPT });
    const { publicKey } = await wallet.activationProof({ pin: PIN, challenge: { chainId: 31337, requestId: "setup", challenge: ZeroHash } });
    const issuer = issuerFromPrivateKey(31337, privateKeyOf(`issuer-${who}`));
    const t = (await chain.provider.getBlock("latest"))!.timestamp;
    const draft = draftCredential(issuer, {
      chainId: 31337, statusRegistry: chain.ledger.deployment.statusRegistry, holderDid: wallet.did, deviceKey: deviceKeyJwk(publicKey),
      claims: { name: "홍길동", agencyCode: agency, organisation: agency === CENTRAL ? "행정안전부" : "서울특별시", department: "디지털정부혁신실", position: "행정사무관", employeeRef: "MOIS-20150042" },
      issuedAt: t, validUntil: t + 365 * 86_400,
    });
    const secret = Buffer.from(readFileSync(chain.holderSecretFile, "utf8").trim(), "hex");
    const registrar = new StatusClient(chain.ledger.statusRegistry.connect(new Wallet(privateKeyOf(`registrar-${who}`), chain.provider)));
    const { credentialId: id } = await registrar.register(holderReference(secret, normalisePersonId(personId)!), draft.digest);
    await wallet.storeCredential(await signCredential(issuer, draft, id));
    return { wallet, credentialId: id };
  }

  before(async () => {
    chain = await startCliChain({ accredit: true });
    const central = await issue(CENTRAL, PERSON, path.join(chain.dir, "phone.json"));
    phone = central.wallet;
    credentialId = central.credentialId.toString();
    await issue(LOCAL, LOCAL_PERSON, path.join(chain.dir, "local-phone.json"));
  });
  after(async () => {
    await chain?.close();
  });

  it("challenge: prints the challenge alone (for C=$(…)), or with its expiry as JSON; bad input stores nothing", async () => {
    const [plain, json] = await Promise.all([
      mcid(chain, ["challenge", "--audience", GATE, "--policy", "building-gate"]),
      mcid(chain, ["challenge", "--audience", "https://mail.korea.kr", "--policy", "mail-login", "--ttl", "5m", "--json"]),
    ]);
    expect(plain.code, plain.stderr).to.equal(0);
    expect(plain.stdout).to.match(/^[A-Za-z0-9_-]{22}\n$/);
    expect(plain.stderr).to.contain(`mcid wallet present --challenge ${plain.stdout.trim()} --audience ${GATE}`);
    const issued = ok(json);
    expect(issued).to.include({ audience: "https://mail.korea.kr", policy: "mail-login" });
    expect(Date.parse(String(issued.expiresAt)) - Date.parse(String(issued.issuedAt))).to.equal(300_000);
    const rows = challengeRows();

    const [policy, ttl, audience, duration] = await Promise.all([
      mcid(chain, ["challenge", "--audience", GATE, "--policy", "document-signature"]),
      mcid(chain, ["challenge", "--audience", GATE, "--policy", "building-gate", "--ttl", "2h"]),
      mcid(chain, ["challenge", "--audience", "", "--policy", "building-gate"]),
      mcid(chain, ["challenge", "--audience", GATE, "--policy", "building-gate", "--ttl", "soon"]),
    ]);
    refused(policy, 2, /--policy "document-signature": use building-gate, mail-login, business-system-login, library-card, on-duty-identity/);
    refused(ttl, 2, /A challenge lifetime must be from 1 s to 60 minutes/);
    refused(audience, 2, /A challenge scope needs an audience/);
    refused(duration, 2, /--ttl: "soon" is not a duration/);
    expect(challengeRows()).to.deep.equal(rows);
  });

  it("verify: accepted from the chain and from a synced index; each policy discloses only its claims", async () => {
    const [library, mail] = [challenge("library:sejong", "library-card"), challenge("https://mail.korea.kr", "mail-login")];
    const [atLibrary, atMail] = await Promise.all([
      verify(["--policy", "library-card", "--audience", "library:sejong", "--challenge", library, "--presentation", await answer(library, "library:sejong", "library.jwt"), "--json"]),
      verify(["--policy", "mail-login", "--audience", "https://mail.korea.kr", "--challenge", mail, "--presentation", await answer(mail, "https://mail.korea.kr", "mail.jwt"), "--index", "--json"]),
    ]);
    expect(ok(atLibrary)).to.deep.include({ ok: true, credentialId, claims: { name: "홍길동", organisation: "행정안전부" }, ledgerView: "online, quorum 1 of 1 node" });
    const viaIndex = ok(atMail);
    expect(viaIndex).to.deep.include({ ok: true, credentialId, claims: { name: "홍길동", agencyCode: CENTRAL, organisation: "행정안전부", department: "디지털정부혁신실", employeeRef: "MOIS-20150042" } });
    expect(String(viaIndex.ledgerView)).to.match(/^index synced to block \d+, quorum 1 of 1 node$/);
  });

  it("verify refuses with reasons (exit 1), bad input with exit 2, an unreachable node with exit 3; the challenge survives what never reached it", async () => {
    const [c1, c2, c3, c4, c5] = [GATE, GATE, "library:sejong", GATE, GATE].map((a, i) => challenge(a, i === 2 ? "library-card" : "building-gate"));
    writeFileSync(file("garbage.jwt"), "not.a.presentation");
    writeFileSync(file("empty.jwt"), "\n");
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, "127.0.0.1", () => {
        const { port: p } = s.address() as { port: number };
        s.close(() => resolve(p));
      });
    });
    const gate = (c: string, presentation: string, extra: string[] = []) => ["--policy", "building-gate", "--audience", GATE, "--challenge", c, "--presentation", presentation, ...extra];
    const [malformed, otherAudience, otherUse, notAllowed, empty, missing, badPolicy, badCode, unreachable] = await Promise.all([
      verify(gate(c1!, file("garbage.jwt"))),
      verify(gate(c2!, await answer(c2!, "gate:other", "other-audience.jwt"))),
      verify(gate(c3!, await answer(c3!, GATE, "other-use.jwt"))),
      verify(gate(c4!, await answer(c4!, GATE, "not-allowed.jwt"), ["--organisations", String(LOCAL)])),
      verify(gate(c5!, file("empty.jwt"))),
      verify(gate(c5!, file("missing.jwt"))),
      verify(["--policy", "document-signature", "--audience", GATE, "--challenge", c5!, "--presentation", file("garbage.jwt")]),
      verify(gate(c5!, file("garbage.jwt"), ["--organisations", "12"])),
      mcid(chain, ["verify", ...gate(c5!, await answer(c5!, GATE, "c5.jwt")), "--rpc-url", `http://127.0.0.1:${port}`]),
    ]);
    denied(malformed, /REFUSED for building-gate at gate:sejong-east: MALFORMED_PRESENTATION\n {2}The presentation is not a compact JWS/);
    denied(otherAudience, /AUDIENCE_MISMATCH\n {2}The presentation was made for another verifier/);
    denied(otherUse, /CHALLENGE_UNKNOWN\n {2}This challenge was issued for --policy library-card --audience library:sejong, not --policy building-gate --audience gate:sejong-east: verify with the same --policy and --audience/);
    denied(notAllowed, /ORGANISATION_NOT_ALLOWED\n {2}This system accepts only organisations 6110000/);
    refused(empty, 2, /--presentation: .*empty\.jwt is empty/);
    refused(missing, 2, /--presentation: cannot read .*missing\.jwt/);
    refused(badPolicy, 2, /--policy "document-signature": use building-gate/);
    refused(badCode, 2, /error \[INVALID_AGENCY_CODE\]: "12" is not an agency code/);
    refused(unreachable, 3, /error \[CHAIN_UNREACHABLE\]: Cannot reach the node/);

    // The malformed answer and the unreachable node never consumed their challenges: the right answers still pass.
    const [first, fifth] = await Promise.all([
      verify([...gate(c1!, await answer(c1!, GATE, "c1.jwt")), "--json"]),
      verify([...gate(c5!, file("c5.jwt")), "--json"]),
    ]);
    expect(ok(first)).to.include({ ok: true, credentialId });
    expect(ok(fifth)).to.include({ ok: true, credentialId });
    const again = await verify([...gate(c5!, file("c5.jwt")), "--json"]);
    expect([again.code, again.json?.reasons]).to.deep.equal([1, ["CHALLENGE_REPLAYED"]]);
  });

  it("anchor + verify-document: an anchored signature is valid (signed at its block); unanchored is refused unless allowed; an altered document exits 1 with DOCUMENT_ALTERED; broken signature files exit 2", async () => {
    const document = new TextEncoder().encode("출장 신청서: 2026-12-01 세종 → 서울");
    writeFileSync(file("travel.txt"), document);
    writeFileSync(file("forged.txt"), "출장 신청서: 2026-12-01 세종 → 부산");
    const signature = await phone.signDocument({ pin: PIN, document, purpose: "출장 신청서 결재" });
    writeFileSync(file("travel.sig.json"), JSON.stringify(signature));
    writeFileSync(file("unanchored.sig.json"), JSON.stringify(signature));
    writeFileSync(file("not-json.sig.json"), "signature: yes");
    writeFileSync(file("wrong-format.sig.json"), JSON.stringify({ format: "pdf-signature", jwt: signature.jwt }));
    writeFileSync(file("garbage-jwt.sig.json"), JSON.stringify({ ...signature, jwt: "eyJhbGciOiJub25lIn0.e30." }));
    const anchorWith = (files: string[], json = true) => mcid(chain, ["anchor", ...files.map(file), "--key", chain.keyFile.deployer, ...(json ? ["--json"] : [])], { env: { MCID_KEY_PASSWORD: DEV_PASSWORD } });
    const anchored = ok(await anchorWith(["travel.sig.json"]));
    expect(anchored).to.include({ ok: true, blockNumber: (await chain.provider.getBlockNumber()) });
    const block = (await chain.provider.getBlock(anchored.blockNumber as number))!;
    expect(anchored.anchoredAt).to.equal(new Date(block.timestamp * 1000).toISOString());
    expect((JSON.parse(readFileSync(file("travel.sig.json"), "utf8")) as { anchor: unknown }).anchor).to.deep.equal({ contract: chain.ledger.deployment.documentAnchor, proof: [] });
    refused(await anchorWith(["travel.sig.json"], false), 2, /Already anchored \(its signing time is fixed\)/);
    const check = (doc: string, sig: string, extra: string[] = []) => mcid(chain, ["verify-document", "--file", file(doc), "--signature", file(sig), ...extra]);
    const [valid, unanchored, allowed, altered, notJson, wrongFormat, garbage, noDocument] = await Promise.all([
      check("travel.txt", "travel.sig.json", ["--json"]),
      check("travel.txt", "unanchored.sig.json"),
      check("travel.txt", "unanchored.sig.json", ["--allow-unanchored", "--json"]),
      check("forged.txt", "travel.sig.json"),
      check("travel.txt", "not-json.sig.json"),
      check("travel.txt", "wrong-format.sig.json"),
      check("travel.txt", "garbage-jwt.sig.json"),
      check("missing.txt", "travel.sig.json"),
    ]);
    const v = ok(valid);
    expect(v).to.deep.include({ ok: true, credentialId, claims: { name: "홍길동", agencyCode: CENTRAL, organisation: "행정안전부", department: "디지털정부혁신실", position: "행정사무관" } });
    expect(v.documentDigest).to.be.a("string");
    expect(v.signedAt).to.equal(anchored.anchoredAt);
    expect(v.signingTime).to.deep.include({ anchored: true, blockNumber: anchored.blockNumber, blockHash: block.hash, root: anchored.root });
    denied(unanchored, /REFUSED signature of travel\.txt: SIGNATURE_UNANCHORED/);
    expect(ok(allowed)).to.deep.include({ ok: true, signingTime: { anchored: false, claimed: (v.signingTime as { claimed: string }).claimed } });
    denied(altered, /REFUSED signature of forged\.txt: DOCUMENT_ALTERED/);
    refused(notJson, 2, /--signature: .*not-json\.sig\.json is not JSON; give the file `mcid wallet sign` wrote/);
    refused(wrongFormat, 2, /is not a mobile-civil-id\/document-signature file/);
    denied(garbage, /REFUSED signature of travel\.txt: BAD_DOCUMENT_SIGNATURE/);
    refused(noDocument, 2, /--file: cannot read .*missing\.txt/);
  });

  it("status holder: the holder's latest credential by person id from the environment, never printed; bad input is refused", async () => {
    const secret = { MCID_HOLDER_SECRET_FILE: chain.holderSecretFile };
    const holder = (person: string | undefined, extra: string[] = [], env: Record<string, string> = secret) =>
      mcid(chain, ["status", "holder", "--person-id-env", "PERSON_ID", ...extra], { env: { ...env, ...(person === undefined ? {} : { PERSON_ID: person }) } });
    const [own, elsewhere, nobody, unset, notAnId, noSecret, badAgency] = await Promise.all([
      holder(PERSON, ["--agency", String(CENTRAL), "--json"]),
      holder(LOCAL_PERSON, ["--agency", String(CENTRAL)]),
      holder("770707-7777777", ["--agency", String(CENTRAL), "--json"]),
      holder(undefined, ["--agency", String(CENTRAL)]),
      holder("12", ["--agency", String(CENTRAL)]),
      holder(PERSON, ["--agency", String(CENTRAL)], {}),
      holder(PERSON, ["--agency", "12"]),
    ]);
    expect(ok(own).credential).to.include({ credentialId, state: "active", agencyCode: CENTRAL, ofThisOrganisation: true });
    expect(own.stdout).to.not.contain("1234567");
    expect(elsewhere.code).to.equal(0);
    expect(elsewhere.stdout).to.match(/of organisation 6110000\.\nIt belongs to organisation 6110000: it must revoke it \(e\.g\. left-service\) before 1741000 can issue to this holder\./);
    expect(elsewhere.stdout).to.not.contain("2345678");
    expect(ok(nobody)).to.include({ credential: null });
    refused(unset, 2, /--person-id-env: the environment variable PERSON_ID is not set/);
    refused(notAnId, 2, /PERSON_ID does not hold a person id/);
    refused(noSecret, 2, /The consortium holder-reference secret is needed/);
    refused(badAgency, 2, /"12" is not an agency code/);
  });
});
