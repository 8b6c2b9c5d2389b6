import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PAGES, loadPage, readBuiltPage, writePages } from "../../../../services/common/pages.js";

describe("web pages: the production build (npm run build:web) is minified with linked source maps; the in-memory build is not", function () {
  let dist: string;
  before(function () {
    dist = mkdtempSync(path.join(tmpdir(), "mcid-web-"));
  });
  after(function () {
    rmSync(dist, { recursive: true, force: true });
  });

  it("writes every page minified, each script pointing at its source map, and serves the maps as JSON", async function () {
    this.timeout(120_000);
    expect(await writePages(dist)).to.deep.equal([...PAGES]);
    for (const name of PAGES) {
      const built = await readBuiltPage(name, dist);
      const dev = await loadPage(name);
      for (const script of ["main.js", "sw.js"].filter((f) => dev.has(f))) {
        const production = built.get(script)!.body.toString("utf8");
        const development = dev.get(script)!.body.toString("utf8");
        expect(production.length, `${name}/${script}`).to.be.below(development.length * 0.8);
        expect(production.trimEnd().endsWith(`//# sourceMappingURL=${script}.map`), `${name}/${script} links its map`).to.equal(true);
        expect(development).not.to.include("sourceMappingURL");
        expect(dev.has(`${script}.map`)).to.equal(false);
        const map = built.get(`${script}.map`)!;
        expect(map.contentType).to.equal("application/json; charset=utf-8");
        const parsed = JSON.parse(map.body.toString("utf8")) as { version: number; sources: string[]; sourcesContent?: string[] };
        expect(parsed.version).to.equal(3);
        expect(parsed.sources.some((s) => s.endsWith(`web/${name}/${script.replace(/\.js$/, ".ts")}`)), `${name}/${script}.map names its source`).to.equal(true);
        expect(parsed.sourcesContent?.length).to.equal(parsed.sources.length);
      }
    }
    // The wallet's bundle carries the SDK's browser-safe JWS builder, not Node's crypto.
    const wallet = (await readBuiltPage("wallet", dist)).get("main.js.map")!.body.toString("utf8");
    const sources = (JSON.parse(wallet) as { sources: string[] }).sources;
    expect(sources.some((s) => s.endsWith("sdk/credential/jws.ts"))).to.equal(true);
    expect(sources.some((s) => s.endsWith("sdk/protocol/presentation.ts"))).to.equal(true);
    expect(sources.some((s) => s.endsWith("sdk/protocol/document-signature.ts"))).to.equal(true);
    expect(sources.some((s) => /jws-verify|document-signature-verify|did\/jwk\.ts$/.test(s))).to.equal(false);
  });
});
