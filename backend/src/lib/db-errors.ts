/**
 * The MariaDB error code (`ER_DUP_ENTRY`, `ER_BAD_DB_ERROR`, …) behind a failed query,
 * or null. drizzle wraps driver errors in a DrizzleQueryError whose `cause` is the
 * mysql2 error, so the cause chain is followed.
 */
export function dbErrorCode(error: unknown): string | null {
  for (let e: unknown = error, depth = 0; e && depth < 3; depth += 1) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('ER_')) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/**
 * True when a query failed on a unique index. Services check uniqueness first for a
 * clear answer and use this for the rare race where two requests pass that check at
 * the same time.
 */
export function isDuplicateKey(error: unknown): boolean {
  return dbErrorCode(error) === 'ER_DUP_ENTRY';
}
