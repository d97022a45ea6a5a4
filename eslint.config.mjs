// Pepr's own lint rules (complexity, no floating promises, explicit return types) on strict TypeScript,
// and the layering of capabilities/ (docs/design.md, "Layers"): no import runs from a lower layer into
// a higher one.
import tseslint from "typescript-eslint";

/** Imports a layer may not make: [groups, message, allowTypeImports?] per pattern. */
function layer(files, ...patterns) {
  return {
    files,
    rules: {
      "@typescript-eslint/no-restricted-imports": [
        "error",
        { patterns: patterns.map(([group, message, allowTypeImports = false]) => ({ group, message, allowTypeImports })) },
      ],
    },
  };
}

const CLIENTS = ["pepr", "pepr/*", "kubernetes-fluent-client", "kubernetes-fluent-client/*", "@kubernetes/client-node", "undici"];
const UPPER = (...names) => names.flatMap(n => [`**/${n}`, `**/${n}/*`]);

export default tseslint.config(
  // Generated from crds/ (npm run generate); the hand-written api/external/ is linted.
  { ignores: ["node_modules/**", "dist/**", ".stryker-tmp/**", "reports/**", "capabilities/api/*-v1alpha1.ts", "**/*.cjs", "**/*.mjs"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { project: "./tsconfig.json" } },
    rules: {
      complexity: ["warn", { max: 12 }],
      "max-depth": ["warn", { max: 3 }],
      "max-nested-callbacks": ["warn", { max: 4 }],
      "max-statements": ["warn", { max: 30 }],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/explicit-function-return-type": ["error", { allowExpressions: true }],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" },
      ],
    },
  },
  // The pure core: rules and address math take plain data. Kinds from api/ as types only (api/ registers
  // them with the client when loaded).
  layer(
    ["capabilities/domain/**/*.ts", "capabilities/ipam/**/*.ts"],
    [
      [...CLIENTS, ...UPPER("k8s", "controllers", "admission", "runtime", "explain", "audit", "webhook-server", "tls", "metrics", "log")],
      "capabilities/domain and capabilities/ipam are the pure core: no client, no I/O layer, nothing above them",
    ],
    [["**/api/*", "**/api/**"], "the pure core reads api/ kinds as types only", true],
  ),
  // Admission reads the runtime through the port (domain/admission-port.ts) that pepr.ts hands it.
  layer(
    ["capabilities/admission/**/*.ts"],
    [
      UPPER("controllers", "runtime", "k8s", "explain", "audit"),
      "admission reaches the runtime only through the AdmissionPort that pepr.ts hands it",
    ],
  ),
  // Controllers, explain and audit stand on the domain, never on admission (the webhook adapters).
  layer(
    ["capabilities/controllers/**/*.ts", "capabilities/explain/**/*.ts", "capabilities/audit/**/*.ts"],
    [
      UPPER("admission", "runtime"),
      "a rule both sides need lives in capabilities/domain, not in admission; nothing below pepr.ts imports the runtime",
    ],
  ),
  layer(
    ["capabilities/k8s/**/*.ts"],
    [UPPER("admission", "runtime", "controllers", "explain", "audit", "domain"), "k8s/ is the thin client layer under everything"],
  ),
);
