import type { ServeDefinition } from "./environment.js";
import { statusServiceDefinition } from "./status/definition.js";

/**
 * The services `npm run serve` starts, in start order (a later one may link to an earlier one's URL). Each
 * service adds its one line here; `serve --json` prints their base URLs under their names.
 */
export const SERVICES: ServeDefinition[] = [statusServiceDefinition];
