import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";

/** A device key and `openid4vci-proof+jwt` proofs made with node:crypto only (no project code). */
export interface TestDevice {
  publicJwk: Record<string, string>;
  proof(claims: { nonce: string; aud: string; iat?: number }, options?: { alg?: string; signWith?: KeyObject; jwk?: Record<string, string>; typ?: string }): string;
  privateKey: KeyObject;
}

export function newDevice(curve: "secp256k1" | "P-256" = "secp256k1"): TestDevice {
  const pair = generateKeyPairSync("ec", { namedCurve: curve });
  const publicJwk = pair.publicKey.export({ format: "jwk" }) as Record<string, string>;
  return {
    publicJwk,
    privateKey: pair.privateKey,
    proof(claims, options = {}) {
      const header = { typ: options.typ ?? "openid4vci-proof+jwt", alg: options.alg ?? (curve === "P-256" ? "ES256" : "ES256K"), jwk: options.jwk ?? publicJwk };
      const payload = { iat: claims.iat ?? Math.floor(Date.now() / 1000), aud: claims.aud, nonce: claims.nonce };
      const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
      const input = `${encode(header)}.${encode(payload)}`;
      const signature = sign("sha256", Buffer.from(input), { key: options.signWith ?? pair.privateKey, dsaEncoding: "ieee-p1363" });
      return `${input}.${signature.toString("base64url")}`;
    },
  };
}
