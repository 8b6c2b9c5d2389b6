import type { DIDResolutionOptions, DIDResolutionResult, Resolvable } from "did-resolver";
import { getAddress } from "ethers";
import { isCivilIdError } from "../errors.js";
import { parseEthrDid } from "../did/did.js";
import type { LedgerIndex } from "./ledger-index.js";

const CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/secp256k1recovery-2020/v2"];

/**
 * Resolves the DIDs of accredited issuer keys from a gate's own {@link LedgerIndex}, which follows the DID registry's
 * owner changes and deactivations: a tap makes no request, and a rotation or deactivation takes effect at the gate
 * with the block the index applies. The document carries the controller only (`#controller`, the current owner's
 * account, as ethr-did-resolver renders it): delegates are deliberately not issuer keys, so an issuer DID signs with
 * its controller or not at all. DIDs the index does not vouch for (not an accredited issuer key, another chain) go
 * to `fallback` when given, else resolve to notFound.
 */
export class IndexedDidResolver implements Resolvable {
  constructor(private readonly index: LedgerIndex, private readonly fallback?: Resolvable) {}

  async resolve(didUrl: string, options: DIDResolutionOptions = {}): Promise<DIDResolutionResult> {
    const did = didUrl.split(/[#?]/)[0]!;
    let address: string;
    try {
      const parsed = parseEthrDid(did);
      if (parsed.chainId !== BigInt(this.index.chainId)) return this.delegate(didUrl, options, "another chain");
      address = parsed.address;
    } catch {
      return this.delegate(didUrl, options, "not a did:ethr DID of this system");
    }
    let owner: string | null;
    try {
      if (!this.index.isIssuerKeyNow(address)) return this.delegate(didUrl, options, "not an accredited issuer key");
      owner = this.index.didOwnerNow(address);
    } catch (error) {
      // A stale index answers nothing: the verifier refuses (it maps resolver errors to LEDGER_UNAVAILABLE).
      if (isCivilIdError(error)) return failure("notFound", error.message);
      throw error;
    }
    if (owner === null) {
      return {
        didResolutionMetadata: { contentType: "application/did+ld+json" },
        didDocument: { "@context": CONTEXT, id: did, verificationMethod: [], authentication: [], assertionMethod: [] },
        didDocumentMetadata: { deactivated: true },
      };
    }
    const controller = `${did}#controller`;
    return {
      didResolutionMetadata: { contentType: "application/did+ld+json" },
      didDocument: {
        "@context": CONTEXT,
        id: did,
        verificationMethod: [
          { id: controller, type: "EcdsaSecp256k1RecoveryMethod2020", controller: did, blockchainAccountId: `eip155:${this.index.chainId}:${getAddress(owner)}` },
        ],
        authentication: [controller],
        assertionMethod: [controller],
      },
      didDocumentMetadata: {},
    };
  }

  private delegate(didUrl: string, options: DIDResolutionOptions, why: string): Promise<DIDResolutionResult> {
    return this.fallback ? this.fallback.resolve(didUrl, options) : Promise.resolve(failure("notFound", `${didUrl}: ${why}; this resolver answers accredited issuer DIDs from the local index only.`));
  }
}

function failure(error: string, message: string): DIDResolutionResult {
  return { didResolutionMetadata: { error, message }, didDocument: null, didDocumentMetadata: {} };
}
