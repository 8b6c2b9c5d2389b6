/**
 * The status service: every organisation's Token Status List, its co-signatures, the national bundle and the
 * offline gates' ledger snapshot, over HTTP with caching headers (ETag, Last-Modified, Cache-Control max-age =
 * the lists' ttl) and conditional requests (304). Nothing here identifies who asks about whom: the bundle is one
 * document for everyone, and the per-organisation lists are public documents a CDN may cache.
 */
import { z } from "zod";
import { createServiceApp, ServiceError, type ServiceApp, type ServiceAppOptions } from "../common/index.js";
import type { Published, StatusListPublisher } from "./publisher.js";

export const STATUS_LIST_MEDIA_TYPE = "application/statuslist+jwt";

export interface StatusServiceOptions {
  readonly publisher: StatusListPublisher;
  readonly app?: Partial<ServiceAppOptions>;
}

/** The caching headers of a published document. */
function cachingHeaders(doc: Published, ttl: number): Record<string, string> {
  return {
    etag: doc.etag,
    "last-modified": new Date(doc.modifiedAt).toUTCString(),
    "cache-control": `public, max-age=${ttl}`,
    vary: "accept-encoding",
  };
}

/** Whether the client's copy is current (If-None-Match wins over If-Modified-Since, RFC 9110 §13.2.2). */
function notModified(headers: Record<string, string | string[] | undefined>, doc: Published): boolean {
  const ifNoneMatch = headers["if-none-match"];
  if (typeof ifNoneMatch === "string") return ifNoneMatch.split(",").map((t) => t.trim().replace(/^W\//, "")).some((t) => t === doc.etag || t === "*");
  const ifModifiedSince = headers["if-modified-since"];
  return typeof ifModifiedSince === "string" && Date.parse(ifModifiedSince) >= Math.floor(doc.modifiedAt / 1000) * 1000;
}

const agencyParams = z.object({ agencyCode: z.string().regex(/^[1-9][0-9]{6}$/, "a 7-digit agency code") });

export async function buildStatusService(options: StatusServiceOptions): Promise<ServiceApp> {
  const app = await createServiceApp({
    title: "mobile-civil-id status lists",
    description: "IETF OAuth Token Status Lists of every organisation, the national bundle and signed ledger snapshots for offline gates.",
    ...options.app,
  });
  const { publisher } = options;
  const current = () => {
    const set = publisher.set;
    if (!set) throw new ServiceError(503, "temporarily_unavailable", "The status lists are being built; retry in a few seconds.", { headers: { "retry-after": "2" } });
    return set;
  };
  const list = (agencyCode: string, which: "lists" | "cosignatures") => {
    const set = current();
    const doc = set[which].get(Number(agencyCode));
    if (!doc) throw new ServiceError(404, "not_found", `No status list for organisation ${agencyCode} (not accredited, or no status key configured).`);
    return { set, doc };
  };
  const documented = (summary: string, produces: string) => ({
    summary,
    tags: ["status"],
    produces: [produces],
  });

  app.get("/status-lists/:agencyCode", { schema: { ...documented("An organisation's Token Status List (statuslist+jwt)", STATUS_LIST_MEDIA_TYPE), params: agencyParams } }, (request, reply) => {
    const { set, doc } = list(request.params.agencyCode, "lists");
    reply.headers(cachingHeaders(doc, set.ttlSeconds));
    if (notModified(request.headers, doc)) return reply.code(304).send();
    return reply.type(STATUS_LIST_MEDIA_TYPE).send(doc.body);
  });
  app.get("/status-lists/:agencyCode/cosignatures", { schema: { ...documented("Consortium members' detached JWS co-signatures over the list's payload", "application/jose+json"), params: agencyParams } }, (request, reply) => {
    const { set, doc } = list(request.params.agencyCode, "cosignatures");
    reply.headers(cachingHeaders(doc, set.ttlSeconds));
    if (notModified(request.headers, doc)) return reply.code(304).send();
    return reply.type("application/jose+json").send(doc.body);
  });
  app.get("/status-lists", { schema: documented("The national bundle: every organisation's list at one block", "application/json") }, (request, reply) => {
    const set = current();
    reply.headers(cachingHeaders(set.bundle, set.ttlSeconds));
    if (notModified(request.headers, set.bundle)) return reply.code(304).send();
    return reply.type("application/json").send(set.bundle.body);
  });
  app.get("/ledger-snapshot", { schema: documented("The signed ledger snapshot for offline gates", "application/json") }, (request, reply) => {
    const set = current();
    if (!set.snapshot) throw new ServiceError(404, "not_found", "This status service publishes no ledger snapshot (no snapshot signers configured).");
    reply.headers(cachingHeaders(set.snapshot, set.ttlSeconds));
    if (notModified(request.headers, set.snapshot)) return reply.code(304).send();
    return reply.type("application/json").send(set.snapshot.body);
  });
  return app;
}
