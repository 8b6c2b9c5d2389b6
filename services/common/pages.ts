/**
 * The web pages the services serve (docs/WEB.md). A page is a folder `web/<name>/`: `main.ts` (its script, bundled
 * for the browser by esbuild), optionally `sw.ts` (its service worker) and `static/` (index.html, style.css,
 * manifest, icons: served as they are). `npm run build:web` writes dist/web/<page>/, minified with linked source
 * maps; the services build in memory at start when esbuild is installed (a development checkout: unminified, so a
 * page never lags its source and reads as written). A production install without dev dependencies serves the
 * dist/web/ that `npm run build:web` wrote.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyReply } from "fastify";
import type { ServiceApp } from "./app.js";

/** The pages, in one list, so the build, the services and the tests agree on what exists. */
export const PAGES = ["gate", "wallet", "officer"] as const;
export type PageName = (typeof PAGES)[number];

const REPO_ROOT = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const WEB_ROOT = path.join(REPO_ROOT, "web");
/** Where `npm run build:web` writes (and a service without esbuild reads). */
export const WEB_DIST = path.join(REPO_ROOT, "dist", "web");

export interface PageFile {
  readonly body: Buffer;
  readonly contentType: string;
}
/** A built page: its files by URL path relative to the page (`index.html`, `main.js`, …). */
export type BuiltPage = ReadonlyMap<string, PageFile>;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".webmanifest": "application/manifest+json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

export function contentTypeOf(file: string): string {
  const type = CONTENT_TYPES[path.extname(file).toLowerCase()];
  if (type === undefined) throw new Error(`web build: no content type for ${file} (add its extension to CONTENT_TYPES)`);
  return type;
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const rel = prefix === "" ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(path.join(dir, entry.name), rel)));
    else out.push(rel);
  }
  return out.sort();
}

/** True when esbuild can be loaded (a development checkout): pages are then built from source. */
export async function canBuildFromSource(): Promise<boolean> {
  try {
    await import("esbuild");
    return true;
  } catch {
    return false; // a production install without dev dependencies: serve dist/web/
  }
}

export interface PageBuildOptions {
  /**
   * The production build (`npm run build:web`): minified, each script with a linked source map (`main.js.map`,
   * fetched by a browser's developer tools only). Default false: the in-memory development build, unminified.
   */
  readonly production?: boolean;
}

/**
 * Bundles one page from source, in memory: `main.ts` (and, when present, `sw.ts`: a service worker, served at the
 * page's root so its scope is the page) plus every file under `static/`.
 */
export async function buildPageFromSource(name: PageName, options: PageBuildOptions = {}): Promise<BuiltPage> {
  const production = options.production === true;
  const esbuild = await import("esbuild");
  const dir = path.join(WEB_ROOT, name);
  const files = new Map<string, PageFile>();
  const entries = ["main.ts", "sw.ts"].filter((f) => existsSync(path.join(dir, f)));
  if (!entries.includes("main.ts")) throw new Error(`web/${name}/main.ts is missing`);
  const result = await esbuild.build({
    entryPoints: entries.map((f) => path.join(dir, f)),
    bundle: true,
    format: "esm",
    target: "es2022",
    platform: "browser",
    write: false,
    outdir: "/",
    minify: production,
    sourcemap: production ? "linked" : false,
    legalComments: "none",
    logLevel: "silent",
  });
  for (const out of result.outputFiles) {
    const rel = path.basename(out.path);
    files.set(rel, { body: Buffer.from(out.contents), contentType: contentTypeOf(rel) });
  }
  const staticDir = path.join(dir, "static");
  for (const rel of await listFiles(staticDir)) {
    files.set(rel, { body: await readFile(path.join(staticDir, rel)), contentType: contentTypeOf(rel) });
  }
  if (!files.has("index.html")) throw new Error(`web/${name}/static/index.html is missing`);
  return files;
}

/** Reads a page `npm run build:web` wrote; refuses clearly when it was never built. */
export async function readBuiltPage(name: PageName, root = WEB_DIST): Promise<BuiltPage> {
  const dir = path.join(root, name);
  const names = await listFiles(dir);
  if (!names.includes("index.html")) {
    throw new Error(`The ${name} page is not built (${dir}/index.html missing): run \`npm run build:web\` (or install the dev dependencies).`);
  }
  const files = new Map<string, PageFile>();
  for (const rel of names) files.set(rel, { body: await readFile(path.join(dir, rel)), contentType: contentTypeOf(rel) });
  return files;
}

const loaded = new Map<PageName, Promise<BuiltPage>>();

/**
 * The page, from source when esbuild is installed, else from dist/web/. Built once per process (a process that
 * starts several services, or a test suite starting many, bundles each page once); a failed build is not kept.
 */
export function loadPage(name: PageName): Promise<BuiltPage> {
  let page = loaded.get(name);
  if (page === undefined) {
    page = canBuildFromSource().then((fromSource) => (fromSource ? buildPageFromSource(name) : readBuiltPage(name)));
    page.catch(() => loaded.delete(name));
    loaded.set(name, page);
  }
  return page;
}

/** `npm run build:web`: every page that has a folder, into dist/web/<page>/ (the production build). */
export async function writePages(root = WEB_DIST): Promise<string[]> {
  await rm(root, { recursive: true, force: true });
  const written: string[] = [];
  for (const name of PAGES) {
    if (!existsSync(path.join(WEB_ROOT, name, "main.ts"))) continue;
    const page = await buildPageFromSource(name, { production: true });
    for (const [rel, file] of page) {
      const target = path.join(root, name, rel);
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, file.body);
    }
    written.push(name);
  }
  return written;
}

export interface PageMountOptions {
  /** URL path the page is served under, without a trailing slash (e.g. `/gate`). */
  readonly mount: string;
  /** Other origins the page's script may call (fetch/SSE), e.g. the issuer's and verifier's for the wallet. */
  readonly connectOrigins?: readonly string[];
  /** The page, already built (tests); default `loadPage(name)`. */
  readonly page?: BuiltPage;
}

/**
 * The security headers of every page: scripts and styles only from the page's own origin (no inline code, so an
 * injected string can never run), no framing (click-jacking a gate or a console), no referrer.
 */
export function pageSecurityHeaders(connectOrigins: readonly string[] = []): Record<string, string> {
  const connect = ["'self'", ...connectOrigins].join(" ");
  return {
    "content-security-policy":
      `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src ${connect}; ` +
      "worker-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
  };
}

/**
 * Serves one page's files under `mount`: `mount/` is index.html, `mount/<file>` the rest. Files are revalidated
 * (`no-cache` + ETag) so a kiosk picks up a new build at its next load; unknown files are 404.
 */
export async function registerPage(app: ServiceApp, name: PageName, options: PageMountOptions): Promise<void> {
  const page = options.page ?? (await loadPage(name));
  const headers = pageSecurityHeaders(options.connectOrigins);
  const etags = new Map([...page].map(([rel, f]) => [rel, `"${createHash("sha256").update(f.body).digest("base64url").slice(0, 27)}"`]));
  const mount = options.mount.replace(/\/+$/, "");
  const send = (rel: string, ifNoneMatch: string | undefined, reply: FastifyReply) => {
    const file = page.get(rel);
    if (file === undefined) return reply.code(404).type("text/plain; charset=utf-8").send("Not found");
    const etag = etags.get(rel)!;
    void reply.headers({ ...headers, "cache-control": "no-cache", etag });
    if (ifNoneMatch === etag) return reply.code(304).send();
    return reply.type(file.contentType).send(file.body);
  };
  app.get(mount, { schema: { hide: true } }, (_request, reply) => reply.redirect(`${mount}/`, 308));
  app.get(`${mount}/`, { schema: { hide: true } }, (request, reply) => send("index.html", request.headers["if-none-match"], reply));
  app.get(`${mount}/*`, { schema: { hide: true } }, (request, reply) => {
    const rel = (request.params as { "*": string })["*"];
    // Only names the build produced are served: no path is ever joined onto the file system here.
    return send(rel, request.headers["if-none-match"], reply);
  });
}
