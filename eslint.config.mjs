// Pepr's own lint rules (complexity, no floating promises, explicit return types) on strict TypeScript.
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "dist/**", ".stryker-tmp/**", "reports/**", "capabilities/api/**", "**/*.cjs", "**/*.mjs"] },
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
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
    },
  },
);
