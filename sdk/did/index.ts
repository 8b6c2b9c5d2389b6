/** DIDs: did:ethr (issuers, secp256k1 holders) in its one canonical spelling, did:jwk (P-256 holders), the resolver. */
export {
  didForAddress, ethrNetworkName, isCanonicalEthrDid, parseChainId, parseEthrDid, sameEthrDid, tryParseEthrDid, type ParsedEthrDid,
} from "./did.js";
export { checkP256Jwk, didJwkFor, parseDidJwk, tryParseDidJwk, type P256Jwk } from "./jwk.js";
export { parseHolderDid, sameHolderDid, type ParsedHolderDid } from "./holder.js";
export { CachingDidResolver, type DidResolverOptions } from "./resolver.js";
