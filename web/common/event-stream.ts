/**
 * Server-Sent Events over fetch: EventSource cannot send an Authorization header, and terminal routes need one.
 * Reads `text/event-stream` from a fetch response and hands each event (name + parsed JSON data) to `onEvent`.
 * Resolves when the server ends the stream; rejects on a network error or a non-2xx answer (with its status).
 */
export class HttpStatusError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export async function readEventStream(
  url: string,
  init: RequestInit,
  onEvent: (event: string, data: unknown) => void,
): Promise<void> {
  const response = await fetch(url, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), accept: "text/event-stream" }, cache: "no-store" });
  if (!response.ok || response.body === null) throw new HttpStatusError(response.status, `event stream: HTTP ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) name = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length === 0) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data.join("\n"));
      } catch {
        continue; // not ours: every event this project sends is JSON
      }
      onEvent(name, parsed);
    }
  }
}
