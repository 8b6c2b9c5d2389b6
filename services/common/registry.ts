import type { AddressInfo } from "node:net";
import type { ServiceApp } from "./app.js";
import type { ListenConfig } from "./config.js";

/**
 * The tiny service registry behind `npm run serve`: each service (issuer, verifier, login, …) contributes a
 * definition; `startServices` builds and listens them in order and returns their base URLs, their demo
 * hints and one `close()` that shuts them all down (closing each app runs its onClose hooks, which close its
 * stores).
 *
 * `Env` is what the runner hands every service (chain, deployment, data folder, demo flag): see
 * services/environment.ts for the concrete one.
 */
export interface ServiceLinks {
  /** Public base URL of a started service (of this one, or of another one, by name); throws before it listens. */
  baseUrl(name: string): string;
}

export interface BuiltService {
  app: ServiceApp;
  /** Demo hints printed by `serve --demo --json` under "demo" (e.g. a ready credential offer). */
  demo?: () => Promise<Record<string, unknown>>;
  /**
   * The web pages this service serves, by name (`gate`, `wallet`, `officer`): printed at the top level of
   * `serve --json`. Asked once every service listens (a demo URL may carry a one-time pairing code).
   */
  pages?: () => Promise<Record<string, string>>;
  /** Runs once every service listens (all base URLs known): e.g. finishing work a previous run left half done. */
  afterListen?: () => Promise<void>;
}

export interface ServiceDefinition<Env> {
  /** Key of the service in `serve --json` output and in the configuration object. */
  name: string;
  build(env: Env, links: ServiceLinks, listen: ListenConfig): Promise<BuiltService>;
}

export interface RunningServices {
  urls: Record<string, string>;
  apps: Record<string, ServiceApp>;
  /** Demo hints of every service, merged. */
  demo(): Promise<Record<string, unknown>>;
  /** Page URLs of every service, merged (see BuiltService.pages). */
  pages(): Promise<Record<string, string>>;
  close(): Promise<void>;
}

function listenedUrl(app: ServiceApp): string {
  const address: AddressInfo | string | null = app.server.address();
  if (address === null || typeof address === "string") throw new Error("the service is not listening on TCP");
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return `http://${host}:${address.port}`;
}

export async function startServices<Env>(
  definitions: readonly ServiceDefinition<Env>[],
  env: Env,
  listenFor: (name: string) => ListenConfig,
): Promise<RunningServices> {
  const urls: Record<string, string> = {};
  const apps: Record<string, ServiceApp> = {};
  const demos: Array<() => Promise<Record<string, unknown>>> = [];
  const pages: Array<() => Promise<Record<string, string>>> = [];
  const afterListen: Array<() => Promise<void>> = [];
  const links: ServiceLinks = {
    baseUrl(name) {
      const url = urls[name];
      if (url === undefined) throw new Error(`service "${name}" has not started`);
      return url;
    },
  };
  const started: ServiceApp[] = [];
  const close = async () => {
    // Reverse order: a later service may depend on an earlier one. Every app is closed even if one fails.
    const failures: unknown[] = [];
    for (const app of started.reverse()) {
      try {
        await app.close();
      } catch (error) {
        failures.push(error);
      }
    }
    started.length = 0;
    if (failures.length > 0) throw new AggregateError(failures, "some services failed to close");
  };
  try {
    for (const definition of definitions) {
      const listen = listenFor(definition.name);
      const built = await definition.build(env, links, listen);
      started.push(built.app);
      await built.app.listen({ host: listen.host, port: listen.port });
      urls[definition.name] = listen.publicUrl ?? listenedUrl(built.app);
      apps[definition.name] = built.app;
      if (built.demo !== undefined) demos.push(built.demo);
      if (built.pages !== undefined) pages.push(built.pages);
      if (built.afterListen !== undefined) afterListen.push(built.afterListen);
    }
    for (const run of afterListen) await run();
  } catch (error) {
    await close();
    throw error;
  }
  return {
    urls,
    apps,
    async demo() {
      let out: Record<string, unknown> = {};
      for (const d of demos) out = { ...out, ...(await d()) };
      return out;
    },
    async pages() {
      let out: Record<string, string> = {};
      for (const p of pages) out = { ...out, ...(await p()) };
      return out;
    },
    close,
  };
}

/**
 * SIGINT/SIGTERM: close every service (and their stores) once, then exit 0; a second signal exits at once.
 * Returns a function that removes the handlers (tests, or a runner that exits by itself).
 */
export function closeOnSignals(close: () => Promise<void>, onError: (error: unknown) => void = console.error): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) process.exit(signal === "SIGINT" ? 130 : 143);
    closing = true;
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        onError(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}
