import { CLIENT_NAMES } from "./config/clients.js";
import { AUTH_MODES, FEATURES, IDP_TYPES, LANGUAGES, PACKAGE_MANAGERS } from "./config/options.js";

export function helpText(version: string): string {
  return `create-mcp-access ${version}
Scaffold a remote MCP server on Cloudflare Workers, protected by Cloudflare Access.

Usage
  npm create mcp-access@latest [dir] -- [options]
  create-mcp-access [dir] [options]          create a project
  create-mcp-access regenerate [options]     re-render the project in this directory
  create-mcp-access provision [options]      set up Access, KV, secrets and deploy for this project
  create-mcp-access doctor [options]         check the live server and its Cloudflare objects
  create-mcp-access destroy [options]        remove what provision created for this project, nothing else

Project
  --auth <${AUTH_MODES.join("|")}>      who does OAuth for MCP clients (default self-hosted)
  --name <name>                   Worker name (default: the directory's name)
  --team <name|url>               Access team: acme or https://acme.cloudflareaccess.com
  --idp <id|type>                 identity provider allowed to sign in (repeatable); a type is one of
                                  ${IDP_TYPES.join(", ")}
  --allow-email <email>           allow this email (repeatable)
  --allow-domain <domain>         allow emails ending in @domain (repeatable)
  --downstream <name>=<url>       an Access-protected app the server may call for the user (repeatable)
  --client <name|uri>             an MCP client that may connect (repeatable; default: all of them): one of
                                  ${CLIENT_NAMES.join(", ")}; or your own app's redirect URI
  --allow-tool <tool>=<who>       limit a tool (whoami, call_<name>) to these callers (repeatable; several for one
                                  tool add up): ada@example.com, @example.com (a domain) or group:<Access group>
  --rate-limit <limit>/<period>   per user, all tools together: at most <limit> calls each <period> (10 or 60) seconds
  --no-audit                      no audit log line per tool call (default: one, naming the arguments, never values)
  --audit-arguments <names|hash>  what the audit line records of the arguments: names (default), or also a keyed
                                  hash of each value
  --lang <${LANGUAGES.join("|")}>                  language of the project (default ts)
  --features <list>               comma list of ${FEATURES.join(", ")}; or none
  --domain <host>                 serve on a custom domain, a host in a zone of your account (mcp.example.com),
                                  instead of workers.dev, whose URL and preview URLs are then off
  --template <source>             render from another template: gh:org/repo/path, a .tar.gz URL (fetched
                                  with giget), or a local folder (./path)
  --config <file>                 read answers from a JSON file in the mcp-access.json format;
                                  options given on the command line override it

Cloudflare
  --provision, --no-provision     set up the Cloudflare side after rendering (default: ask; no without a terminal);
                                  needs CLOUDFLARE_API_TOKEN
  --deploy, --no-deploy           include the first deploy in those steps (default: yes, unless --no-install)
  --account-id <id>               Cloudflare account (else CLOUDFLARE_ACCOUNT_ID, else the token's only account)
  --adopt                         take over objects that are not provably this project's: Access objects, the KV
                                  namespace, an existing Worker (another name, host, decision or bindings). They are
                                  listed and, in a terminal, asked for; without one, --yes confirms. Each gets this
                                  project's name (the Worker: this project's deploy)

Run
  --pm <${PACKAGE_MANAGERS.join("|")}>     package manager (default: the one that ran this command)
  --no-install                    do not install dependencies
  --no-git                        do not create a git repository
  --dry-run                       show what would be written (regenerate: the changes, with diffs;
                                  provision, destroy: every API call and command); write or change nothing
  --force                         write into a non-empty directory (same-name files are replaced, none deleted;
                                  never through a symbolic link; an existing .gitignore keeps its rules);
                                  regenerate: run although conflict markers remain from the last run
  --check                         regenerate only: list the changes with diffs, write nothing, and exit 1
                                  if anything would change (a CI drift check)
  --json                          doctor only: print the findings as JSON (exit 0 all well, 1 something wrong)
  --url <url>                     doctor only: check the server at this URL (https, or http on loopback for
                                  npm run dev) instead of the deployed one
  -y, --yes                       accept the default for every question not answered by an option
                                  (regenerate: apply the changes without asking; destroy: delete without asking)
  -h, --help                      show this help
  -v, --version                   show the version

Without a terminal (or with CI set) nothing is asked: give every answer as an option or in --config,
or add --yes to accept the defaults. With npm, put -- before the options, or npm keeps them.

Exit codes
  0 done   1 failed at run time   2 invalid input   3 regeneration left conflicts   130 cancelled
`;
}
