import fastifyRateLimit from "@fastify/rate-limit";
import fastifySwagger from "@fastify/swagger";
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type RawReplyDefaultExpression, type RawRequestDefaultExpression, type RawServerDefault } from "fastify";
import {
  hasZodFastifySchemaValidationErrors,
  isResponseSerializationError,
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from "fastify-type-provider-zod";
import { z } from "zod";
import { errorBodySchema, ServiceError, toServiceError } from "./errors.js";
import { serviceLoggerOptions, type ServiceLoggerOptions } from "./logging.js";

/** A fastify instance of the floor: zod-typed routes. Every service builds its routes on this type. */
export type ServiceApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  ZodTypeProvider
>;

/** Where the OpenAPI document of every service is served. */
export const OPENAPI_PATH = "/openapi.json";
/** Liveness probe of every service (for load balancers and `npm run serve`). */
export const HEALTH_PATH = "/healthz";

export const DEFAULT_BODY_LIMIT = 64 * 1024;

export interface RateLimitSettings {
  /** Requests per client address per window, across the service (routes may set a tighter `config.rateLimit`). */
  max: number;
  /** Window in milliseconds. */
  windowMs: number;
}

export interface ServiceAppOptions {
  /** Title and version of the OpenAPI document. */
  title: string;
  version?: string;
  description?: string;
  /** Largest accepted request body, in bytes (default 64 KiB); larger bodies get 413 `payload_too_large`. */
  bodyLimit?: number;
  /** Global per-address limit (default 300 requests per minute); `false` switches it off. */
  rateLimit?: RateLimitSettings | false;
  /**
   * fastify's `trustProxy`: behind a reverse proxy, the proxy's addresses (or hop count) whose `X-Forwarded-*`
   * headers are believed; the client address then comes from `X-Forwarded-For` (rate limits, logs).
   */
  trustProxy?: boolean | string | string[] | number;
  logger?: ServiceLoggerOptions | false;
  /** Public base URL, listed as the OpenAPI server (a getter: it may be known only after listen). */
  publicUrl?: () => string | undefined;
}

function issuePath(instancePath: string, context: string): string {
  const rest = instancePath.split("/").filter((s) => s !== "").join(".");
  return rest === "" ? context : `${context}.${rest}`;
}

/** The floor's error handler: every refusal leaves as one ErrorBody; internal failures are logged, never echoed. */
function renderError(error: FastifyError | ServiceError | Error, request: { log: FastifyBaseLogger }): ServiceError {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const issues = error.validation.map((v) => ({
      path: issuePath(v.instancePath, error.validationContext ?? "request"),
      message: v.message ?? "invalid",
    }));
    return new ServiceError(400, "invalid_request", `The request is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`.slice(0, 500), {
      extra: { issues },
    });
  }
  if (isResponseSerializationError(error)) {
    request.log.error({ err: error }, "response failed its schema");
    return new ServiceError(500, "server_error", "The service failed; the failure is logged.");
  }
  if (error instanceof ServiceError) return error;
  const fastifyError = error as FastifyError;
  const status = fastifyError.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    switch (fastifyError.code) {
      case "FST_ERR_CTP_BODY_TOO_LARGE":
        return new ServiceError(413, "payload_too_large", "The request body is larger than this endpoint accepts.");
      case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
        return new ServiceError(415, "unsupported_media_type", "Send the body as application/json (or the media type the endpoint documents).");
      case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
        return new ServiceError(400, "invalid_request", "The Content-Length header does not match the body.");
      case "FST_ERR_CTP_EMPTY_JSON_BODY":
        return new ServiceError(400, "invalid_request", "The JSON body is empty.");
      default:
        if (error instanceof SyntaxError || fastifyError.code === "FST_ERR_CTP_INVALID_JSON_BODY")
          return new ServiceError(400, "invalid_request", "The body is not valid JSON.");
        if (status === 404) return new ServiceError(404, "not_found", "No such resource.");
        if (status === 405) return new ServiceError(405, "method_not_allowed", "Method not allowed here.");
        return new ServiceError(status, "invalid_request", "The request is invalid.");
    }
  }
  const mapped = toServiceError(error);
  if (mapped.statusCode >= 500) request.log.error({ err: error }, "request failed");
  return mapped;
}

/** Parses `application/x-www-form-urlencoded` (OAuth token requests); a repeated parameter is refused (RFC 6749 §3.1). */
function parseForm(body: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    if (Object.prototype.hasOwnProperty.call(out, key))
      throw new ServiceError(400, "invalid_request", `The form parameter "${key.slice(0, 40)}" is repeated.`);
    out[key] = value;
  }
  return out;
}

/**
 * The shared HTTP floor: fastify 5 with zod validation and serialisation, OpenAPI from the same schemas at
 * OPENAPI_PATH, one error body, redacting logs, a global rate limit, a body size limit, JSON and form bodies,
 * a health route. Register routes on the returned app (inside `app.register` or directly), then `ready()`.
 */
export async function createServiceApp(options: ServiceAppOptions): Promise<ServiceApp> {
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify<RawServerDefault>({
    logger: options.logger === false ? false : serviceLoggerOptions(options.logger),
    bodyLimit,
    // fastify accepts a hop count at run time; its types omit it.
    trustProxy: (options.trustProxy ?? false) as boolean | string | string[],
    // Request ids are not personal data and correlate a request's records.
    genReqId: () => crypto.randomUUID(),
    return503OnClosing: true,
    forceCloseConnections: "idle",
    routerOptions: { ignoreTrailingSlash: false, maxParamLength: 200 },
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.removeContentTypeParser("text/plain");
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit }, (_request, body, done) => {
    try {
      done(null, parseForm(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });

  app.setErrorHandler((error, request, reply) => {
    const rendered = renderError(error as FastifyError, request);
    return reply.code(rendered.statusCode).headers({ "cache-control": "no-store", ...rendered.headers }).type("application/json").send(rendered.body);
  });
  app.setNotFoundHandler((_request, reply) =>
    reply.code(404).header("cache-control", "no-store").send({ error: "not_found", error_description: "No such resource." }),
  );

  await app.register(fastifySwagger, {
    openapi: {
      openapi: "3.1.0",
      info: { title: options.title, version: options.version ?? "1.0.0", ...(options.description === undefined ? {} : { description: options.description }) },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
    },
    transform: jsonSchemaTransform,
    transformObject: (documentObject) => {
      const document = jsonSchemaTransformObject(documentObject);
      const url = options.publicUrl?.();
      return url === undefined ? document : { ...document, servers: [{ url }] };
    },
  });

  if (options.rateLimit !== false) {
    const limits = options.rateLimit ?? { max: 300, windowMs: 60_000 };
    await app.register(fastifyRateLimit, {
      global: true,
      max: limits.max,
      timeWindow: limits.windowMs,
      errorResponseBuilder: (_request, context) =>
        new ServiceError(context.statusCode, "rate_limited", `Too many requests; retry in ${context.after}.`, {
          headers: { "retry-after": String(Math.ceil(context.ttl / 1000)) },
        }),
    });
  }

  app.get(
    OPENAPI_PATH,
    { schema: { hide: true }, config: { rateLimit: false } },
    async (_request, reply) => reply.header("cache-control", "no-cache").send(app.swagger()),
  );
  app.get(
    HEALTH_PATH,
    {
      config: { rateLimit: false },
      schema: { summary: "Liveness probe", tags: ["operations"], response: { 200: z.object({ status: z.literal("ok") }) } },
    },
    () => ({ status: "ok" as const }),
  );

  return app;
}

/** Response schemas for the error statuses a route documents, all with the one ErrorBody. */
export function errorResponses(...statuses: number[]): Record<number, typeof errorBodySchema> {
  return Object.fromEntries(statuses.map((s) => [s, errorBodySchema]));
}
