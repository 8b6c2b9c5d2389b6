/**
 * The one paged eth_getLogs reader (sdk/status/log-pages.ts) under a node that caps its ranges: both orders, the
 * halving and the growing back, a remembered cap, early stop, and the errors that are not size refusals.
 */
import { expect } from "chai";
import { isLogRangeRefusal, readLogPages, type RefusedSpanMemory } from "../../../sdk/status/log-pages.js";
import { isCivilIdError } from "../../../sdk/errors.js";

/** A node that serves at most `cap` blocks per query; each block holds one "log" (its number). */
function cappedNode(cap: number) {
  const asked: [number, number][] = [];
  const fetch = (from: number, to: number) => {
    asked.push([from, to]);
    if (to - from + 1 > cap) return Promise.reject(new Error("Requested range exceeds maximum RPC range limit"));
    return Promise.resolve(Array.from({ length: to - from + 1 }, (_, i) => from + i));
  };
  return { asked, fetch };
}

async function collect(options: Omit<Parameters<typeof readLogPages<number>>[0], "onPage">): Promise<{ logs: number[]; pages: [number, number][] }> {
  const logs: number[] = [];
  const pages: [number, number][] = [];
  await readLogPages<number>({ ...options, onPage: (page, from, to) => void (logs.push(...page), pages.push([from, to])) });
  return { logs, pages };
}

describe("readLogPages (one paged eth_getLogs reader)", function () {
  it("oldest first: halves a refused page, grows back after answers, never above maxRange; every block once, in order", async function () {
    const node = cappedNode(300);
    const { logs, pages } = await collect({ fromBlock: 10, toBlock: 2_009, maxRange: 1000, fetch: node.fetch });
    expect(logs).to.deep.equal(Array.from({ length: 2_000 }, (_, i) => 10 + i));
    expect(node.asked.slice(0, 3)).to.deep.equal([[10, 1_009], [10, 509], [10, 259]]);
    expect(pages[0]).to.deep.equal([10, 259]);
    for (const [from, to] of node.asked) expect(to - from + 1).to.be.at.most(1000);
  });

  it("newest first: pages walk down from the head and stop when onPage says so", async function () {
    const node = cappedNode(1000);
    const pages: [number, number][] = [];
    await readLogPages<number>({ fromBlock: 0, toBlock: 2_499, maxRange: 1000, order: "newest-first", fetch: node.fetch, onPage: (_, from, to) => pages.push([from, to]) === 2 });
    expect(pages).to.deep.equal([[1_500, 2_499], [500, 1_499]]);
  });

  it("a remembered cap: later reads start below the span the node refused, and it is recorded once seen", async function () {
    let refused: number | undefined;
    const memory: RefusedSpanMemory = { get: () => refused, refused: (span) => void (refused = Math.min(span, refused ?? Infinity)) };
    const first = cappedNode(100);
    await collect({ fromBlock: 0, toBlock: 999, maxRange: 1000, fetch: first.fetch, memory });
    expect(refused, "the smallest refused span").to.equal(125);
    const second = cappedNode(100);
    await collect({ fromBlock: 0, toBlock: 999, maxRange: 1000, fetch: second.fetch, memory });
    expect(second.asked.every(([from, to]) => to - from + 1 <= 62), "never above half the refused span").to.equal(true);
    expect(second.asked.length, "no refusal the second time").to.equal(Math.ceil(1000 / 62));
  });

  it("other errors pass through; one block refused is an error; an empty range reads nothing; maxRange is checked", async function () {
    const down = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:8545"));
    const tooBig = () => Promise.reject(new Error("query returned more than 10000 results"));
    const error = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
    expect(String(await error(collect({ fromBlock: 0, toBlock: 10, fetch: down })))).to.match(/ECONNREFUSED/);
    expect(String(await error(collect({ fromBlock: 7, toBlock: 9, fetch: tooBig })))).to.match(/more than 10000 results/);
    expect((await collect({ fromBlock: 10, toBlock: 9, fetch: down })).logs).to.deep.equal([]);
    expect(isCivilIdError(await error(collect({ fromBlock: 0, toBlock: 9, maxRange: 0, fetch: down })), "INVALID_INPUT")).to.equal(true);
  });

  it("recognises size refusals of the common nodes, also wrapped as a cause, and nothing else", function () {
    for (const text of ["Requested range exceeds maximum RPC range limit", "query returned more than 10000 results", "block range too large", "response size exceeded", "too many blocks"]) {
      expect(isLogRangeRefusal(new Error(text)), text).to.equal(true);
      expect(isLogRangeRefusal(new Error("could not coalesce error", { cause: new Error(text) })), `wrapped: ${text}`).to.equal(true);
    }
    for (const text of ["connect ECONNREFUSED", "execution reverted", "invalid block tag"]) expect(isLogRangeRefusal(new Error(text)), text).to.equal(false);
  });
});
