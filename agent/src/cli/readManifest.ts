import { readFile } from "node:fs";
import { promisify } from "node:util";
import { UsageError } from "./usage.ts";

/**
 * Reads and JSON-parses a manifest file (with node:fs, not node:fs/promises, which would add 1.3 MB to
 * every agent's resident memory); a missing file or broken JSON is a usage error (exit 2). */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await promisify(readFile)(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory"
          : code === "EACCES"
            ? "permission denied"
            : String(code);
    throw new UsageError(`cannot read ${file}: ${reason}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}
