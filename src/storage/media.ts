// Repository for local media: metadata rows (the bytes live in files under the data
// directory, see src/services/media.ts) and generated thumbnails.
import type { Sql } from './pool.js';

export interface MediaRecord {
  mediaId: string;
  uploader: string;
  contentType: string | null;
  filename: string | null;
  /** Null while a media id from /create waits for its upload. */
  size: number | null;
  createdTs: number;
  unusedExpiresTs: number | null;
}

export interface ThumbnailRecord {
  width: number;
  height: number;
  method: string;
  animated: boolean;
  contentType: string;
  size: number;
}

const toRecord = (r: Record<string, unknown>): MediaRecord => ({
  mediaId: r.media_id as string,
  uploader: r.uploader as string,
  contentType: r.content_type as string | null,
  filename: r.filename as string | null,
  size: r.size === null ? null : Number(r.size),
  createdTs: Number(r.created_ts),
  unusedExpiresTs: r.unused_expires_ts === null ? null : Number(r.unused_expires_ts),
});

export class MediaStore {
  constructor(private readonly sql: Sql) {}

  async get(mediaId: string): Promise<MediaRecord | undefined> {
    const rows = await this.sql`
      SELECT media_id, uploader, content_type, filename, size, created_ts, unused_expires_ts FROM media WHERE media_id = ${mediaId}`;
    return rows[0] ? toRecord(rows[0]) : undefined;
  }

  async insertUploaded(m: { mediaId: string; uploader: string; contentType: string; filename: string | null; size: number; sha256: Buffer; now: number }): Promise<void> {
    await this.sql`
      INSERT INTO media (media_id, uploader, content_type, filename, size, sha256, created_ts)
      VALUES (${m.mediaId}, ${m.uploader}, ${m.contentType}, ${m.filename}, ${m.size}, ${m.sha256}, ${m.now})`;
  }

  async insertPending(mediaId: string, uploader: string, now: number, expires: number): Promise<void> {
    await this.sql`
      INSERT INTO media (media_id, uploader, created_ts, unused_expires_ts) VALUES (${mediaId}, ${uploader}, ${now}, ${expires})`;
  }

  /** Fills a pending media id; false when it was filled meanwhile. */
  async completePending(m: { mediaId: string; contentType: string; filename: string | null; size: number; sha256: Buffer }): Promise<boolean> {
    const rows = await this.sql`
      UPDATE media SET content_type = ${m.contentType}, filename = ${m.filename}, size = ${m.size}, sha256 = ${m.sha256}, unused_expires_ts = NULL
      WHERE media_id = ${m.mediaId} AND size IS NULL RETURNING 1`;
    return rows.length === 1;
  }

  async pendingCount(uploader: string, now: number): Promise<number> {
    const [r] = await this.sql`
      SELECT count(*)::int AS n FROM media WHERE uploader = ${uploader} AND size IS NULL AND unused_expires_ts > ${now}`;
    return (r?.n as number) ?? 0;
  }

  async usedBytes(uploader: string): Promise<number> {
    const [r] = await this.sql`SELECT coalesce(sum(size), 0)::text AS n FROM media WHERE uploader = ${uploader}`;
    return Number(r?.n ?? 0);
  }

  /** Removes expired pending ids; returns how many. */
  async deleteExpiredPending(now: number): Promise<number> {
    const rows = await this.sql`DELETE FROM media WHERE size IS NULL AND unused_expires_ts <= ${now} RETURNING 1`;
    return rows.length;
  }

  async thumbnail(mediaId: string, width: number, height: number, method: string, animated: boolean): Promise<ThumbnailRecord | undefined> {
    const rows = await this.sql`
      SELECT width, height, method, animated, content_type, size FROM media_thumbnails
      WHERE media_id = ${mediaId} AND width = ${width} AND height = ${height} AND method = ${method} AND animated = ${animated}`;
    const r = rows[0];
    return r
      ? { width: r.width as number, height: r.height as number, method: r.method as string, animated: r.animated as boolean, contentType: r.content_type as string, size: Number(r.size) }
      : undefined;
  }

  async insertThumbnail(mediaId: string, t: ThumbnailRecord): Promise<void> {
    await this.sql`
      INSERT INTO media_thumbnails (media_id, width, height, method, animated, content_type, size)
      VALUES (${mediaId}, ${t.width}, ${t.height}, ${t.method}, ${t.animated}, ${t.contentType}, ${t.size})
      ON CONFLICT DO NOTHING`;
  }
}
