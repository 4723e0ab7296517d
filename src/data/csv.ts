/**
 * A small RFC 4180 CSV reader (`,`, `;` or tab between fields, detected from the header): quoted fields (with commas, quotes doubled as
 * "" and line breaks inside), CRLF or LF, a UTF-8 byte-order mark. Each row
 * keeps the line it started on, so problems can name it.
 */
export interface CsvRow {
  /** 1-based line number where the row starts. */
  line: number;
  fields: string[];
}

export class CsvSyntaxError extends Error {
  constructor(message: string, readonly line: number) { super(message); }
}

/** Field separators a labels CSV may use: `,`, `;` (spreadsheets in locales with a decimal comma) or a tab. */
export const CSV_DELIMITERS = [',', ';', '\t'] as const;
export type CsvDelimiter = (typeof CSV_DELIMITERS)[number];

/**
 * The separator of a CSV, judged from its header line (outside quotes): the
 * one that splits the header into columns named `file` and `class` (any
 * case), else the one occurring most often in it, else `,`.
 */
export function detectDelimiter(text: string): CsvDelimiter {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let header = '';
  let inQuotes = false;
  for (const c of text) {
    if (c === '"') inQuotes = !inQuotes;
    else if (!inQuotes && (c === '\n' || c === '\r')) break;
    header += inQuotes && c !== '"' ? ' ' : c; // separators inside quotes do not count
  }
  const columns = (d: string) => header.split(d).map((h) => h.replace(/"/g, '').trim().toLowerCase());
  const named = CSV_DELIMITERS.filter((d) => { const cols = columns(d); return cols.includes('file') && cols.includes('class'); });
  if (named.length === 1) return named[0];
  const count = (d: string) => header.split(d).length - 1;
  const best = [...CSV_DELIMITERS].sort((a, b) => count(b) - count(a))[0];
  return count(best) > 0 ? best : ',';
}

/** Parses CSV text; `delimiter` defaults to the one detectDelimiter finds in the header. */
export function parseCsv(text: string, delimiter: CsvDelimiter = detectDelimiter(text)): CsvRow[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const rows: CsvRow[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let rowLine = 1;
  let inQuotes = false;
  let quotedField = false;
  const endField = () => { fields.push(field); field = ''; quotedField = false; };
  const endRow = () => {
    endField();
    // Blank lines are not rows.
    if (!(fields.length === 1 && fields[0] === '' )) rows.push({ line: rowLine, fields });
    fields = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else inQuotes = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"') {
      if (field === '' && !quotedField) { inQuotes = true; quotedField = true; continue; }
      throw new CsvSyntaxError('a quote inside an unquoted field (quote the whole field and double the inner quotes)', line);
    }
    if (c === delimiter) { endField(); continue; }
    if (c === '\r' && text[i + 1] === '\n') continue;
    if (c === '\n' || c === '\r') { endRow(); line++; rowLine = line; continue; }
    if (quotedField) throw new CsvSyntaxError('text after a closing quote', line);
    field += c;
  }
  if (inQuotes) throw new CsvSyntaxError('a quoted field is never closed', rowLine);
  if (field !== '' || fields.length > 0 || quotedField) endRow();
  return rows;
}

/** One CSV field: in quotes (inner quotes doubled) when it holds a comma, a quote or a line break (`\n` or `\r`). */
export function csvField(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Rows of fields as CSV text (RFC 4180 quoting, LF line ends, a final newline); `parseCsv` reads it back. */
export function formatCsv(rows: readonly (readonly string[])[]): string {
  return rows.map((fields) => fields.map(csvField).join(',')).join('\n') + '\n';
}
