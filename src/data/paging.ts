/**
 * A page of a list read with one entry more than `limit` (so that the last page is known), and the
 * `after` of the next page: the id of the page's last entry, or null when nothing follows.
 */
export function pageOf<T extends { id: string }>(rows: T[], limit: number): { page: T[]; next: string | null } {
  return rows.length > limit ? { page: rows.slice(0, limit), next: rows[limit - 1].id } : { page: rows, next: null };
}
