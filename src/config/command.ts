/**
 * The commands and the options that steer a run (as opposed to answers, which
 * describe the project). Here, below answers/, because config/availability.ts
 * checks them too; answers/args.ts fills them from argv.
 */
export const COMMANDS = ["create", "regenerate", "provision", "doctor", "destroy"] as const;
export type Command = (typeof COMMANDS)[number];

export interface RunOptions {
  /** undefined: not said (ask, or no in non-interactive mode). */
  provision?: boolean;
  deploy?: boolean;
  /** provision: take over objects that are not provably this project's (asks first in a terminal). */
  adopt: boolean;
  configFile?: string;
  pm?: string;
  install: boolean;
  git: boolean;
  dryRun: boolean;
  /** regenerate only: report drift as exit 1 and write nothing. */
  check: boolean;
  force: boolean;
  yes: boolean;
  /** doctor only: print the findings as JSON (for CI). */
  json: boolean;
  /** doctor only: check the server at this URL instead of the deployed one (`npm run dev`'s, say). Checked by the doctor command. */
  url?: string;
}
