/** What was read of a response body, and why reading stopped if it was not the end. */
export interface BodyPart {
  text: string;
  /** Bytes read (after any Content-Encoding was undone). */
  bytes: number;
  /** `size`: longer than the cap; `time`: not finished by the deadline; `broken`: the connection failed. */
  cut?: "size" | "time" | "broken";
}

/**
 * Reads at most `maxBytes` of a body, and only until `deadline` aborts, then cancels the rest. An
 * isolate's memory (128 MB) is shared by every request it serves, so a large or endless answer
 * must never be read whole. Text is decoded with the response's charset (UTF-8 if unknown); at a
 * cut, a character split by the cut is left out rather than shown as garbage.
 */
export async function readBody(response: Response, maxBytes: number, deadline: AbortSignal): Promise<BodyPart> {
  const decoder = textDecoderFor(response.headers.get("Content-Type"));
  const reader = response.body?.getReader();
  if (!reader) return { text: "", bytes: 0 };
  const timedOut = new Promise<"timeout">((resolve) => {
    if (deadline.aborted) resolve("timeout");
    deadline.addEventListener("abort", () => resolve("timeout"), { once: true });
  });

  let text = "";
  let bytes = 0;
  let cut: BodyPart["cut"];
  try {
    while (!cut) {
      const next = await Promise.race([reader.read(), timedOut]);
      if (next === "timeout") {
        cut = "time";
        break;
      }
      if (next.done) return { text: text + decoder.decode(), bytes };
      const room = maxBytes - bytes;
      const chunk = next.value.byteLength > room ? next.value.subarray(0, room) : next.value;
      if (chunk !== next.value) cut = "size";
      bytes += chunk.byteLength;
      // `stream: true` holds back the bytes of a character that is not complete yet.
      text += decoder.decode(chunk, { stream: true });
    }
  } catch {
    // The deadline can also reach us as the stream's error. Otherwise the connection broke
    // mid-body: what arrived is still worth showing, marked as cut.
    cut = deadline.aborted ? "time" : "broken";
  }
  reader.cancel().catch(() => {});
  return { text, bytes, cut };
}

function textDecoderFor(contentType: string | null): TextDecoder {
  const charset = /;\s*charset="?([\w.:-]+)/i.exec(contentType ?? "")?.[1];
  try {
    return new TextDecoder(charset ?? "utf-8");
  } catch {
    // A charset this runtime does not know: UTF-8 shows ASCII text, at least, as it is.
    return new TextDecoder("utf-8");
  }
}
