import { createServer, type Server } from "node:http";
import { gzipSync } from "node:zlib";

/** A file in a tarball: its text, or `{ link }` for a symbolic link to that target. */
export type TarEntry = string | { link: string };

/**
 * A gzipped ustar archive of `files` (path → entry), every path under the one top folder `top`,
 * as GitHub's archives and `tar czf t.tar.gz my-template/` make them. Enough of the format for
 * tests: regular files and symbolic links, names under 100 bytes.
 */
export function tarGz(top: string, files: Record<string, TarEntry>): Buffer {
  return gzipSync(
    tar(
      Object.entries(files).map(([path, entry]) =>
        typeof entry === "string" ? { name: `${top}/${path}`, body: entry } : { name: `${top}/${path}`, type: "2", link: entry.link, mode: 0o777 },
      ),
    ),
  );
}

/**
 * One header of a tar archive and its body, for tests of the extractor: `type` is the typeflag
 * ("0" file, "1" hard link, "2" symbolic link, "3" character device, "5" folder, "6" fifo, "x" and
 * "g" pax headers, "L" a GNU long name), `prefix` the ustar prefix field.
 */
export type TarHeader = { name: string; type?: string; body?: string | Buffer; mode?: number; link?: string; prefix?: string };

/** An uncompressed tar archive of `entries`, ended by two empty blocks. */
export function tar(entries: TarHeader[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = Buffer.from(entry.body ?? "");
    blocks.push(header(entry, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024)); // two empty blocks end the archive
  return Buffer.concat(blocks);
}

/** A pax extended header's body: `length key=value\n` records, the length counting itself. */
export function paxRecords(records: Record<string, string>): string {
  return Object.entries(records)
    .map(([key, value]) => {
      const rest = ` ${key}=${value}\n`;
      let length = Buffer.byteLength(rest) + 1;
      while (Buffer.byteLength(`${length}${rest}`) !== length) length += 1;
      return `${length}${rest}`;
    })
    .join("");
}

function header({ name, type = "0", mode = 0o644, link = "", prefix = "" }: TarHeader, size: number): Buffer {
  if (Buffer.byteLength(name) > 99 || Buffer.byteLength(link) > 99) throw new Error(`tar: ${name} is too long for this writer`);
  const block = Buffer.alloc(512);
  const put = (offset: number, length: number, text: string) => block.write(text, offset, length, "utf8");
  const octal = (offset: number, length: number, value: number) => put(offset, length, `${value.toString(8).padStart(length - 1, "0")}\0`);
  put(0, 100, name);
  octal(100, 8, mode);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, Math.floor(Date.now() / 1000));
  put(148, 8, " ".repeat(8)); // the checksum counts itself as spaces
  put(156, 1, type);
  put(157, 100, link);
  put(257, 6, "ustar\0");
  put(263, 2, "00");
  put(345, 155, prefix);
  let sum = 0;
  for (const byte of block) sum += byte;
  put(148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return block;
}

/** What a test server answers for a path: a body (200, with a content type), a status, or never. */
export type Route = { body: Buffer | string; type?: string } | { status: number } | "hang";

/**
 * An HTTP server on 127.0.0.1 for template tests: `routes` (changeable while it runs) say what
 * each path answers; every request is logged as "METHOD /path".
 */
export async function templateServer(routes: Map<string, Route>): Promise<{ url: (path: string) => string; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    const route = routes.get(request.url ?? "");
    if (route === "hang") return; // never answers: the client's timeout must end it
    if (!route || "status" in route) {
      response.writeHead(route ? route.status : 404, { "content-type": "text/plain" }).end("not here");
      return;
    }
    response.writeHead(200, { "content-type": route.type ?? "application/gzip" });
    response.end(request.method === "HEAD" ? undefined : route.body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
