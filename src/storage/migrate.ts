// Applies the numbered SQL files in sql/ in order, each once, inside one transaction that holds
// an advisory lock: two processes starting at once serialise here, and a second run is a no-op.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { projectRoot } from '../util/paths.js';
import type { Sql } from './pool.js';

// An arbitrary constant shared by every Lattice process: "Lattice" in ASCII.
const MIGRATION_LOCK = 0x4c617474696365n;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export async function loadMigrations(dir = join(projectRoot(), 'sql')): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  const out: Migration[] = [];
  for (const f of files) {
    out.push({ version: Number(f.slice(0, 4)), name: f.slice(5, -4), sql: await readFile(join(dir, f), 'utf8') });
  }
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.version === out[i - 1]!.version) throw new Error(`two migrations numbered ${out[i]!.version}`);
  }
  return out;
}

/** Returns the versions applied by this call (empty when the schema was already current). */
export async function migrate(sql: Sql, migrations?: Migration[]): Promise<number[]> {
  const all = migrations ?? (await loadMigrations());
  return sql.begin(async (tx) => {
    // A migration over a big table may legitimately run long.
    await tx`SET LOCAL statement_timeout = 0`;
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK.toString()}::bigint)`;
    await tx`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`;
    const rows = await tx<{ version: number }[]>`SELECT version FROM schema_migrations`;
    const done = new Set(rows.map((r) => r.version));
    const applied: number[] = [];
    for (const m of all) {
      if (done.has(m.version)) continue;
      await tx.unsafe(m.sql);
      await tx`INSERT INTO schema_migrations (version, name) VALUES (${m.version}, ${m.name})`;
      applied.push(m.version);
    }
    return applied;
  }) as Promise<number[]>;
}
