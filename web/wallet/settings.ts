/**
 * The web wallet's settings: what the wallet service answers at GET /api/config. Free of DOM types, so the Node
 * tests check the same rule the page runs.
 */
/** The wallet service's settings (GET /api/config). */
export interface WalletSettings {
  readonly chainId: number;
  readonly relyingPartyRegistry: string;
  readonly rpcPath: string;
}

/**
 * The settings from the wallet service, or from the copy the page keeps for offline use (local storage, which
 * anything else on this origin could have written): the relying-party look-ups must go to this origin's RPC path
 * and to a registry address, nowhere else, so a rewritten copy cannot send them to a node that lists a rogue verifier.
 */
export function parseSettings(value: unknown): WalletSettings {
  const body = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  const { chainId, relyingPartyRegistry, rpcPath } = body;
  if (typeof chainId !== "number" || !Number.isSafeInteger(chainId) || chainId <= 0) throw new Error("the wallet service's settings have no valid chainId");
  if (typeof relyingPartyRegistry !== "string" || !/^0x[0-9a-fA-F]{40}$/.test(relyingPartyRegistry)) throw new Error("the wallet service's settings have no valid relyingPartyRegistry address");
  // A path on this origin: "/" then path characters, never "//" (a scheme-relative URL is another host).
  if (typeof rpcPath !== "string" || !/^\/(?!\/)[A-Za-z0-9._~/-]{0,200}$/.test(rpcPath)) throw new Error("the wallet service's settings have no valid rpcPath (a path on this origin)");
  return { chainId, relyingPartyRegistry, rpcPath };
}
