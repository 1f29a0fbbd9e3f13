// Gives each test file a database of its own on the run's PostgreSQL (DATABASE_URL), dropped
// afterwards, so files never see each other's rows.
import { randomBytes } from 'node:crypto';
import { connectionFromUrl, connectionToUrl, createPool, type Sql } from '../../src/storage/pool.js';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export function adminUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with `npm test`');
  return url;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = connectionFromUrl(adminUrl());
  const name = `lattice_t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const sql = createPool(admin, 1);
  try {
    await sql.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
  return {
    url: connectionToUrl({ ...admin, database: name }),
    async drop() {
      const s = createPool(admin, 1);
      try {
        await s.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await s.end({ timeout: 5 });
      }
    },
  };
}

export function openPool(url: string, max = 4): Sql {
  return createPool(connectionFromUrl(url), max);
}
