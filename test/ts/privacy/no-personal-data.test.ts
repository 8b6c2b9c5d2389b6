/**
 * No personal data on chain, none kept needlessly off chain, none disclosed beyond the use's policy: after a full
 * issuance and a verification, every transaction's input and every log on the chain is scanned for the holder's
 * name, employee reference, mobile number and national person id (as UTF-8 and as hex), and the issuing server's
 * database file for the person id.
 */
import { expect } from "chai";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { hexlify, toUtf8Bytes } from "ethers";
import { issuanceEnv, hrRow, eSaramExport, type IssuanceEnv } from "../helpers/issuance.js";
import { OnlineLedgerView } from "../../../sdk/status/ledger-view.js";
import { ChallengeRegistry } from "../../../sdk/verifier/challenges.js";
import { PresentationVerifier } from "../../../sdk/verifier/verifier.js";
import { POLICIES } from "../../../sdk/verifier/policies.js";
import { didForAddress } from "../../../sdk/did/did.js";
import { createVerifiablePresentationJwt } from "did-jwt-vc";
import { ES256KSigner } from "did-jwt";
import { getBytes } from "ethers";

describe("privacy: no personal data on chain or in the issuing database beyond need", function () {
  let env: IssuanceEnv;
  after(() => env?.cleanup());

  it("issues and verifies without any personal datum reaching the chain; discloses only the policy's claims", async () => {
    env = await issuanceEnv();
    const wf = await env.workflow();
    const row = hrRow({ requestId: "PRIV-1", personId: "7705051234567", name: "박비밀", employeeRef: "SECRET-EMP-4242", mobile: "010-5555-4242" });
    const report = await wf.importRequests("e-saram", eSaramExport([row]), "hr-sync");
    const id = report.created[0]!;
    await env.toInvited(wf, id, row);
    const { device } = await env.activateDevice(wf, id);
    const record = await wf.issue(id);
    expect(record.state).to.equal("issued");

    // A verification (reads only, but presentations could have been written somewhere by a careless verifier).
    const verifier = new PresentationVerifier({
      ledger: new OnlineLedgerView(env.ledger, env.ethers.provider),
      challenges: new ChallengeRegistry(),
    });
    const challenge = verifier.issueChallenge();
    const vp = await createVerifiablePresentationJwt(
      {
        vp: { "@context": ["https://www.w3.org/2018/credentials/v1"], type: ["VerifiablePresentation"], verifiableCredential: [record.credentialJwt!] },
        iat: Math.floor(Date.now() / 1000),
        exp: Math.floor(Date.now() / 1000) + 60,
      },
      { did: didForAddress(env.chainId, device.address), signer: ES256KSigner(getBytes(device.privateKey)), alg: "ES256K" },
      { challenge, domain: "library:sejong" },
    );
    const result = await verifier.verify(vp, { challenge, audience: "library:sejong", policy: POLICIES.libraryCard });
    expect(result.reasons, result.details.join(" | ")).to.deep.equal([]);
    expect(Object.keys(result.claims ?? {}).sort()).to.deep.equal(["name", "organisation"]);

    // Scan the whole chain: every transaction input and every log.
    const secrets = [row.name, row.employeeRef, row.personId, "01055554242", "5555-4242", "+821055554242"];
    const needles = secrets.flatMap((s) => [hexlify(toUtf8Bytes(s)).slice(2).toLowerCase(), Buffer.from(s).toString("hex")]);
    const provider = env.ethers.provider;
    const head = await provider.getBlockNumber();
    let scanned = 0;
    for (let n = 0; n <= head; n++) {
      const block = await provider.getBlock(n, true);
      for (const tx of block?.prefetchedTransactions ?? []) {
        const receipt = await provider.getTransactionReceipt(tx.hash);
        const haystack = [tx.data, ...(receipt?.logs ?? []).flatMap((l) => [l.data, ...l.topics])].join("").toLowerCase();
        for (const needle of needles) expect(haystack.includes(needle), `personal datum on chain in tx ${tx.hash}`).to.equal(false);
        scanned++;
      }
    }
    expect(scanned).to.be.greaterThan(10);

    // The issuing database keeps what issuance needs (name, employee ref for the HR check) but never the national person id.
    await wf.close();
    const db = await readFile(path.join(env.dir, `workflow-${1741000}.sqlite`));
    const wal = await readFile(path.join(env.dir, `workflow-${1741000}.sqlite-wal`)).catch(() => Buffer.alloc(0));
    for (const file of [db, wal]) expect(file.includes(Buffer.from(row.personId))).to.equal(false);
  });
});
