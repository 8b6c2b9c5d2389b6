/**
 * The OpenID4VC libraries (bundled for the request check) use Node's global `Buffer` for base64: the browser gets
 * the `buffer` package's implementation, installed before anything calls them.
 */
import { Buffer } from "buffer";

const scope = globalThis as unknown as { Buffer?: typeof Buffer };
scope.Buffer ??= Buffer;
