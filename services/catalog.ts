import type { ServeDefinition } from "./environment.js";
import { issuerService } from "./issuer/service.js";
import { loginServeDefinition } from "./login/service.js";
import { statusServiceDefinition } from "./status/definition.js";
import { verifierServeDefinition } from "./verifier/service.js";
import { walletServeDefinition } from "./wallet/service.js";

/**
 * The services `npm run serve` starts, in start order (a later one may link to an earlier one's URL). Each
 * service adds its one line here; `serve --json` prints their base URLs under their names.
 */
export const SERVICES: ServeDefinition[] = [issuerService, statusServiceDefinition, verifierServeDefinition, loginServeDefinition, walletServeDefinition];
