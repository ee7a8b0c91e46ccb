import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';

/**
 * With no API_KEYS and AUTH_DISABLED unset, the service is never silently open: it generates an admin
 * key on first start, keeps it in DATA_DIR/admin.key (mode 600) and says where it is. The key is
 * printed once, when it is created.
 */
export function ensureAdminKey(dataDir: string): { key: string; created: boolean; file: string } {
  const file = path.join(dataDir, 'admin.key');
  if (existsSync(file)) return { key: readFileSync(file, 'utf8').trim(), created: false, file };
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(24).toString('base64url');
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return { key, created: true, file };
}
