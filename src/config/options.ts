/** The closed sets of values the CLI accepts. Names are part of the CLI contract (SPEC §3.2). */

export const AUTH_MODES = ["self-hosted", "saas"] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export const LANGUAGES = ["ts", "js"] as const;
export type Language = (typeof LANGUAGES)[number];
export const LANGUAGE_LABELS: Record<Language, string> = { ts: "TypeScript", js: "JavaScript" };

export const FEATURES = ["tests", "ci", "lint", "examples"] as const;
export type Feature = (typeof FEATURES)[number];
/** What a project gets when nobody chose: its own tests, nothing else. */
export const DEFAULT_FEATURES: readonly Feature[] = ["tests"];

export const PACKAGE_MANAGERS = ["npm", "pnpm", "yarn", "bun"] as const;
export type PackageManager = (typeof PACKAGE_MANAGERS)[number];

/** Identity provider types Access knows; anything else given to --idp must be an IdP id. */
export const IDP_TYPES = [
  "onetimepin",
  "github",
  "google",
  "google-apps",
  "azureAD",
  "okta",
  "onelogin",
  "pingone",
  "saml",
  "oidc",
] as const;
export type IdpType = (typeof IDP_TYPES)[number];

export const AUTH_MODE_HINTS: Record<AuthMode, string> = {
  "self-hosted": "Access signs users in and sends the Worker a signed JWT (recommended)",
  saas: "the Worker is its own OAuth server and signs users in through an Access for SaaS app",
};

export const FEATURE_HINTS: Record<Feature, string> = {
  tests: "the project's own tests, run in the Workers runtime",
  ci: "a GitHub Actions workflow: type-check, test, deploy",
  lint: "Biome formatter and linter",
  examples: "an example resource and prompt",
};

export const IDP_TYPE_LABELS: Record<IdpType, string> = {
  onetimepin: "One-time PIN (email code)",
  github: "GitHub",
  google: "Google",
  "google-apps": "Google Workspace",
  azureAD: "Microsoft Entra ID (Azure AD)",
  okta: "Okta",
  onelogin: "OneLogin",
  pingone: "PingOne",
  saml: "SAML",
  oidc: "Generic OIDC",
};
