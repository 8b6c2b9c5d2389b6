/**
 * Reads an HR export file with its size limit enforced while reading: the file's size is checked first, then the
 * bytes are counted as they stream in and reading stops as soon as the limit is passed (a file that grows, a
 * FIFO or a device), so memory stays bounded by {@link MAX_EXPORT_BYTES} whatever the file is.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { CivilIdError } from "../errors.js";
import { MAX_EXPORT_BYTES, MAX_EXPORT_ROWS } from "./hr-import.js";

function tooLarge(file: string, size: string): CivilIdError {
  return new CivilIdError(
    "INVALID_INPUT",
    `HR export refused, nothing was imported: ${file} is ${size}, more than ${MAX_EXPORT_BYTES / 1024 / 1024} MiB; split it (at most ${MAX_EXPORT_ROWS} requests per import).`,
    { details: { errors: [{ row: 0, field: "", reason: `the export is larger than ${MAX_EXPORT_BYTES} bytes` }] } },
  );
}

/** The bytes of an HR export file, refused (INVALID_INPUT) without reading it whole when larger than the limit. */
export async function readHrExportFile(file: string, maxBytes = MAX_EXPORT_BYTES): Promise<Uint8Array> {
  const where = path.resolve(file);
  let info;
  try {
    info = await stat(where);
  } catch (error) {
    throw new CivilIdError("INVALID_INPUT", `Cannot read the HR export ${where}.`, { cause: error });
  }
  if (info.isDirectory()) throw new CivilIdError("INVALID_INPUT", `The HR export ${where} is a directory.`);
  if (info.isFile() && info.size > maxBytes) throw tooLarge(where, `${info.size} bytes`);
  const chunks: Buffer[] = [];
  let total = 0;
  const stream = createReadStream(where, { highWaterMark: 64 * 1024 });
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) throw tooLarge(where, `over ${maxBytes} bytes (reading stopped there)`);
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof CivilIdError) throw error;
    throw new CivilIdError("INVALID_INPUT", `Cannot read the HR export ${where}.`, { cause: error });
  } finally {
    stream.destroy();
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}
