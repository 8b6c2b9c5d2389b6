import type { FastifyRequest } from "fastify";
import type { LoggerOptions } from "pino";

/**
 * Keys whose values are personal data or secrets. Any log record carrying one of them (at the top level or up
 * to three levels down) has the value replaced by "[redacted]" before it is written.
 */
export const REDACTED_KEYS = [
  "name",
  "fullName",
  "displayName",
  "givenName",
  "familyName",
  "personId",
  "person_id",
  "employeeNumber",
  "birthDate",
  "mobile",
  "phone",
  "phoneNumber",
  "txCode",
  "tx_code",
  "activationCode",
  "pin",
  "PIN",
  "password",
  "secret",
  "token",
  "accessToken",
  "access_token",
  "refresh_token",
  "id_token",
  "pre-authorized_code",
  "preAuthorizedCode",
  "authorization",
  "cookie",
  "set-cookie",
  "proof",
  "proofs",
  "jwt",
  "credential",
  "credentials",
  "vp_token",
  "privateKey",
] as const;

function redactionPaths(keys: readonly string[]): string[] {
  const paths: string[] = [];
  for (const key of keys) {
    const segment = /^[A-Za-z_$][\w$]*$/.test(key) ? key : `["${key}"]`;
    const join = (prefix: string) => (segment.startsWith("[") ? `${prefix}${segment}` : `${prefix}.${segment}`);
    paths.push(segment.startsWith("[") ? segment : key, join("*"), join("*.*"), join("*.*.*"));
  }
  return paths;
}

/** Strips the query string (it may carry codes or tokens) and lets a service blank secret path segments. */
export type UrlRedactor = (path: string) => string;

export interface ServiceLoggerOptions {
  /** pino level; "silent" switches logging off (tests). */
  level?: string;
  /** Where records go (tests capture them); defaults to stdout. */
  stream?: NodeJS.WritableStream;
  /** Extra keys to redact, on top of REDACTED_KEYS. */
  redactKeys?: readonly string[];
  /** Rewrites request paths before they are logged (e.g. `/offers/<secret>` → `/offers/:id`). */
  redactUrl?: UrlRedactor;
}

/** pino options for fastify's logger: redaction of personal data and a request serializer without query or headers. */
export function serviceLoggerOptions(options: ServiceLoggerOptions = {}): LoggerOptions & { stream?: NodeJS.WritableStream } {
  const redactUrl = options.redactUrl ?? ((p: string) => p);
  return {
    level: options.level ?? "info",
    redact: { paths: redactionPaths([...REDACTED_KEYS, ...(options.redactKeys ?? [])]), censor: "[redacted]" },
    serializers: {
      req(request: FastifyRequest) {
        const path = (request.url ?? "").split("?")[0] ?? "";
        return { method: request.method, url: redactUrl(path), remoteAddress: request.ip, reqId: request.id };
      },
    },
    ...(options.stream === undefined ? {} : { stream: options.stream }),
  };
}
