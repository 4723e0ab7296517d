/**
 * JSON Lines as cellgan's logs are written (stats.jsonl, manifest.jsonl): one
 * object a line, appended as a run goes, so the last line of a killed run may
 * be torn.
 */
import { promises as fs } from 'node:fs';

/** The rows of JSONL text; blank lines and lines that are not valid JSON (a torn last line) are left out. */
export function parseJsonl<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try { rows.push(JSON.parse(line) as T); } catch { /* a line cut by a kill */ }
  }
  return rows;
}

/** The rows of a JSONL file as `parseJsonl` reads them, or undefined when the file cannot be read. */
export async function readJsonl<T>(file: string): Promise<T[] | undefined> {
  let text: string;
  try { text = await fs.readFile(file, 'utf8'); } catch { return undefined; }
  return parseJsonl<T>(text);
}
