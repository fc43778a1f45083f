/** Saves a blob as a file through a temporary link (works in every browser we support). */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function saveText(text: string, filename: string): void {
  saveFile(new Blob([text], { type: 'text/plain;charset=utf-8' }), filename);
}

export type CsvCell = string | number | null;

/**
 * RFC 4180 CSV (CRLF, every cell quoted). Text starting with = + - @ tab or CR gets a leading
 * apostrophe: user-chosen text such as display names must not run as a spreadsheet formula.
 */
export function toCsv(rows: readonly (readonly CsvCell[])[]): string {
  const cell = (value: CsvCell) => {
    if (value === null) return '""';
    const text =
      typeof value === 'string' && /^[=+\-@\t\r]/.test(value) ? `'${value}` : String(value);
    return `"${text.replaceAll('"', '""')}"`;
  };
  return rows.map((row) => row.map(cell).join(',')).join('\r\n');
}

/** Saves rows as a CSV file; the byte order mark makes spreadsheets read it as UTF-8. */
export function saveCsv(rows: readonly (readonly CsvCell[])[], filename: string): void {
  saveFile(new Blob(['\uFEFF', toCsv(rows)], { type: 'text/csv;charset=utf-8' }), filename);
}

/** Copies text; false when the browser refused (no permission, insecure origin). */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
