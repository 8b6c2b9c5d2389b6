import type { Provider } from "ethers";

/**
 * A provider that behaves like `base` except for the methods in `overrides` (a node that is down, slow, or
 * answers garbage). Methods are bound to `base` (Hardhat's provider keeps private fields), and `provider`
 * returns the proxy itself so that ethers contracts connected to it route every call through the overrides.
 */
export function providerWith(base: Provider, overrides: { [method: string]: (...args: never[]) => unknown }): Provider {
  const proxy: Provider = new Proxy(base, {
    get(target, prop) {
      if (prop === "provider") return proxy;
      if (typeof prop === "string" && Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return proxy;
}

/** A provider whose every RPC method rejects as a dead node does. */
export function deadProvider(base: Provider): Provider {
  const refuse = () => Promise.reject(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:8545"), { code: "ECONNREFUSED" }));
  return providerWith(base, {
    call: refuse, getLogs: refuse, getBlock: refuse, getBlockNumber: refuse, getNetwork: refuse, getCode: refuse,
    getStorage: refuse, getTransactionCount: refuse, getBalance: refuse, estimateGas: refuse, getFeeData: refuse,
  });
}

/** A provider that never answers (every call hangs). */
export function hangingProvider(base: Provider): Provider {
  const hang = () => new Promise<never>(() => undefined);
  return providerWith(base, { call: hang, getLogs: hang, getBlock: hang, getBlockNumber: hang });
}
