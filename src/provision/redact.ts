/**
 * Secrets this run holds (the API token, a SaaS app's client secret, the
 * cookie key) must never reach the terminal, a log or a file (SPEC §7).
 * Every line provisioning prints, and every error it reports, goes through
 * `redact`, so even a message that quotes a value by mistake (wrangler echoing
 * a request, an API error repeating a field) shows a mask instead.
 */
export class Redactor {
  readonly #secrets = new Set<string>();

  /** Remembers a value to mask from now on. Short values are not masked: they would mask ordinary words. */
  add(secret: string | undefined): void {
    if (secret && secret.length >= 8) this.#secrets.add(secret);
  }

  redact(text: string): string {
    let out = text;
    // Longest first, so a secret that contains another is masked whole.
    for (const secret of [...this.#secrets].sort((a, b) => b.length - a.length)) out = out.split(secret).join(MASK);
    return out;
  }
}

export const MASK = "********";
