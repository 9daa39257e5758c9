import { vi } from "vitest";

export type Handler = (request: Request) => Response | Promise<Response>;

/**
 * Answers the Worker's outgoing requests in place of the network. The Worker runs in the same
 * isolate as the tests, so replacing `fetch` here replaces it for the Worker too. `handlers` maps an
 * origin to what answers it; a request to any other origin fails, as an unreachable host would.
 * Returns the list the requests are recorded in. vitest.config.ts restores `fetch` before each test.
 */
export function stubNetwork(handlers: Record<string, Handler>): Request[] {
  const requests: Request[] = [];
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    requests.push(request.clone());
    const handler = handlers[new URL(request.url).origin];
    if (!handler) throw new TypeError(`the tests do not answer ${request.url}`);
    return handler(request);
  });
  return requests;
}
