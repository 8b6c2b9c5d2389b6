// ESLint flat config: typescript-eslint's type-checked rules on the library, the CLI and the scripts; the
// recommended rules on tests. CI runs it with --max-warnings 0.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const OUTSIDE_SDK = ["**/scripts/**", "**/services/**", "**/bin/**", "**/bench/**", "**/test/**"];
const PARTY = { issuer: "**/issuer/**", wallet: "**/wallet/**", verifier: "**/verifier/**" };
const restrict = (files, forbidden, why) => ({
  files,
  rules: { "no-restricted-imports": ["error", { patterns: [{ group: [...forbidden, ...OUTSIDE_SDK], message: why }] }] },
});

export function boundaries() {
  const floor = "The shared floor (credential, protocol, did, chain, status, util) imports no party (issuer, wallet, verifier) and nothing outside sdk/.";
  return [
    restrict(["sdk/**/*.ts"], [], "The SDK never imports the CLI, scripts, services, benchmarks or tests."),
    restrict(["sdk/credential/**/*.ts", "sdk/protocol/**/*.ts", "sdk/did/**/*.ts", "sdk/chain/**/*.ts", "sdk/status/**/*.ts", "sdk/util/**/*.ts"], Object.values(PARTY), floor),
    restrict(["sdk/verifier/**/*.ts"], [PARTY.issuer, PARTY.wallet], "A verifier knows nothing of how credentials are issued or held: import sdk/credential or sdk/protocol."),
    restrict(["sdk/wallet/**/*.ts"], [PARTY.issuer, PARTY.verifier], "The phone knows nothing of the issuer's workflow or of verifiers: import sdk/credential or sdk/protocol."),
    restrict(["sdk/issuer/**/*.ts"], [PARTY.wallet, PARTY.verifier], "The issuer imports no other party: import sdk/credential or sdk/protocol."),
  ];
}

export default tseslint.config(
  { ignores: ["node_modules/", "artifacts/", "cache/", "types/", "coverage/", "dist/", "data/", "bench/results/", ".tmp/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["sdk/**/*.ts", "services/**/*.ts", "scripts/**/*.ts", "ops/**/*.ts", "bench/**/*.ts", "web/**/*.ts"],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/only-throw-error": "error",
      "no-empty": ["error", { allowEmptyCatch: false }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  // Import boundaries (docs/ARCHITECTURE.md, "SDK layers"): the shared floor (credential, protocol, did) imports no
  // party; no party imports another; the SDK never imports the CLI, scripts or services.
  ...boundaries(),
  // The pages run in the browser: web/common, Web APIs and browser-safe SDK modules (one copy of each rule, e.g.
  // the PIN policy); nothing from Node, the services or the scripts (esbuild's browser bundle refuses node: too).
  {
    files: ["web/**/*.ts"],
    rules: { "no-restricted-imports": ["error", { patterns: [{ group: ["node:*", "**/services/**", "**/scripts/**"], message: "Pages run in the browser: use web/common, Web APIs (WebCrypto, IndexedDB) and browser-safe SDK modules, never Node." }] }] },
  },
  {
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-unused-expressions": "off", // chai's expect(...).to.be.true style
    },
  },
  { files: ["bin/**/*.js", "scripts/**/*.mjs"], languageOptions: { globals: { process: "readonly" } } },
);
