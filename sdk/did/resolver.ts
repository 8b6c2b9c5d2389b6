import { Resolver, type DIDResolutionResult, type Resolvable, type DIDResolutionOptions } from "did-resolver";
import { getResolver } from "ethr-did-resolver";
import type { Provider } from "ethers";

export interface DidResolverOptions {
  readonly provider: Provider;
  readonly chainId: number;
  /** Address of the ERC-1056 DIDRegistry of the deployment. */
  readonly registry: string;
  /** How long a resolved document may be served from cache (ms). 0 disables caching. Default 30 s. */
  readonly cacheTtlMs?: number;
  /** Clock, injectable for tests. */
  readonly now?: () => number;
}

/**
 * A DID resolver for our chain: the unmodified `ethr-did-resolver` pointed at our registry, wrapped in a
 * bounded-time cache. did-resolver's own cache never expires, which would hide key rotations and
 * deactivations; here a document is re-read after `cacheTtlMs`. Failed resolutions are never cached.
 */
export class CachingDidResolver implements Resolvable {
  private readonly inner: Resolver;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, { at: number; result: Promise<DIDResolutionResult> }>();

  constructor(options: DidResolverOptions) {
    // Configured by chain id only, exactly as an integrator's unmodified ethr-did-resolver is: it then knows the
    // network as `0x<chain id hex without leading zeros>`, the one spelling our DIDs use (sdk/did/did.ts), and no
    // second spelling (e.g. a zero-padded `0x07ea`) resolves here that would not resolve elsewhere.
    // ethr-did-resolver is CommonJS with its own did-resolver 5 and ethers typings: the runtime objects are the
    // same ethers Provider and a compatible resolver map, only the duplicated type declarations differ.
    const methods = getResolver({
      networks: [{ chainId: options.chainId, registry: options.registry, provider: options.provider as never }],
    });
    this.inner = new Resolver(methods as unknown as ConstructorParameters<typeof Resolver>[0]);
    this.ttlMs = options.cacheTtlMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  async resolve(didUrl: string, options: DIDResolutionOptions = {}): Promise<DIDResolutionResult> {
    if (this.ttlMs <= 0 || Object.keys(options).length > 0) return this.inner.resolve(didUrl, options);
    const hit = this.cache.get(didUrl);
    const t = this.now();
    if (hit && t - hit.at < this.ttlMs) return hit.result;
    const result = this.inner.resolve(didUrl);
    this.cache.set(didUrl, { at: t, result });
    try {
      const resolved = await result;
      if (resolved.didResolutionMetadata.error) this.cache.delete(didUrl);
      return resolved;
    } catch (error) {
      this.cache.delete(didUrl);
      throw error;
    }
  }

  /** Drops cached documents (all, or one DID's). */
  invalidate(did?: string): void {
    if (did === undefined) this.cache.clear();
    else this.cache.delete(did);
  }
}
