// The content repository for local media: uploads (direct, or to an id reserved by /create),
// downloads with safe Content-Type/Disposition headers, and thumbnails made with sharp
// (libvips) and cached on disk. Files live under <data_dir>/media; rows in the media tables.
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { default as Sharp } from 'sharp';
import { MatrixError, forbidden, limitExceeded, notFound, tooLarge } from '../http/errors.js';
import type { BodyGrant, StreamedBody } from '../http/types.js';
import { encodeBase64Url } from '../crypto/base64.js';
import { utf8Length } from '../events/identifiers.js';
import { MediaStore, type MediaRecord, type ThumbnailRecord } from '../storage/media.js';
import type { ServerContext } from './context.js';
import { randomBytes } from './auth.js';

// One image at a time per operation and no libvips cache: the machine is shared, and
// thumbnails are cached on disk anyway.
// sharp (libvips) is loaded on the first thumbnail, not at start: it costs ~7 MB of resident
// memory that an idle server, or one that never thumbnails, should not pay.
let sharpModule: Promise<typeof Sharp> | undefined;
function loadSharp(): Promise<typeof Sharp> {
  return (sharpModule ??= import('sharp').then((m) => {
    m.default.concurrency(1);
    m.default.cache(false);
    return m.default;
  }));
}

export const MEDIA_ID = /^[A-Za-z0-9_-]{1,255}$/;

/** Types a browser may render inline without risk (spec: "Serving inline content"). */
const INLINE_TYPES = new Set([
  'text/css', 'text/plain', 'text/csv', 'application/json', 'application/ld+json',
  'image/jpeg', 'image/gif', 'image/png', 'image/apng', 'image/webp', 'image/avif',
  'video/mp4', 'video/webm', 'video/ogg', 'video/quicktime',
  'audio/mp4', 'audio/webm', 'audio/aac', 'audio/mpeg', 'audio/ogg', 'audio/wave', 'audio/wav',
  'audio/x-wav', 'audio/x-pn-wav', 'audio/flac', 'audio/x-flac',
]);

/** Image types the thumbnailer decodes (SVG deliberately not: it is a document format). */
const THUMBNAILABLE = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif', 'image/tiff', 'image/apng']);
const ANIMATABLE = new Set(['image/gif', 'image/webp', 'image/png', 'image/apng']);

/** The spec's recommended sizes; a request gets the smallest one that is not smaller. */
const STANDARD_THUMBNAILS: ReadonlyArray<{ width: number; height: number; method: 'crop' | 'scale' }> = [
  { width: 32, height: 32, method: 'crop' },
  { width: 96, height: 96, method: 'crop' },
  { width: 320, height: 240, method: 'scale' },
  { width: 640, height: 480, method: 'scale' },
  { width: 800, height: 600, method: 'scale' },
];
export const MAX_THUMBNAIL_DIMENSION = 4096;
const MAX_WAIT_MS = 30_000;

export const CSP = "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';";

export interface MediaFile {
  body: Buffer;
  contentType: string;
  disposition: string;
}

const CONTENT_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;

/** The upload's media type (lower-cased, parameters kept), or application/octet-stream. */
export function normaliseContentType(header: string | undefined): string {
  if (!header) return 'application/octet-stream';
  const [main, ...params] = header.split(';');
  const type = main!.trim().toLowerCase();
  if (!CONTENT_TYPE.test(type)) return 'application/octet-stream';
  const rest = params.map((p) => p.trim()).filter((p) => /^[A-Za-z0-9!#$&^_.+-]+=("[^"\\\r\n]*"|[A-Za-z0-9!#$&^_.+-]+)$/.test(p));
  return rest.length ? `${type}; ${rest.join('; ')}` : type;
}

const essence = (contentType: string) => contentType.split(';')[0]!.trim();

/** `inline` or `attachment`, with the file name quoted or RFC 5987-encoded. */
export function contentDisposition(contentType: string, filename: string | null): string {
  const kind = INLINE_TYPES.has(essence(contentType)) ? 'inline' : 'attachment';
  if (filename === null || filename === '') return kind;
  if (/^[\x20-\x7e]*$/.test(filename) && !/["\\]/.test(filename)) return `${kind}; filename="${filename}"`;
  return `${kind}; filename*=utf-8''${encodeURIComponent(filename).replace(/['()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase())}`;
}

function typeAllowed(contentType: string, allowed: readonly string[] | null): boolean {
  if (allowed === null) return true;
  const t = essence(contentType);
  return allowed.some((a) => (a.endsWith('/*') ? t.startsWith(a.slice(0, -1)) : a.toLowerCase() === t));
}

function checkFilename(filename: string | null): string | null {
  if (filename === null) return null;
  if (utf8Length(filename) > 255 || /[\u0000-\u001f\u007f]/.test(filename)) throw new MatrixError(400, 'M_INVALID_PARAM', 'Invalid filename');
  return filename;
}

const STALE_UPLOAD_MS = 3600_000;

export class MediaService {
  readonly store: MediaStore;
  private readonly root: string;
  private readonly waiters = new Map<string, Set<() => void>>();
  private readonly generating = new Map<string, Promise<{ record: ThumbnailRecord; body: Buffer }>>();
  private readonly timer: NodeJS.Timeout;
  /** Uploads stream here, on the media file system, and are renamed into place when complete. */
  private readonly tmpDir: string;
  private tmpDirReady?: Promise<unknown>;
  private uploadsInFlight = 0;
  private readonly uploadsByUser = new Map<string, number>();

  constructor(private readonly ctx: Pick<ServerContext, 'sql' | 'config' | 'log'>) {
    this.store = new MediaStore(ctx.sql);
    this.root = join(ctx.config.dataDir, 'media');
    this.tmpDir = join(this.root, 'tmp');
    this.timer = setInterval(() => {
      this.store.deleteExpiredPending(Date.now()).catch((e: unknown) => ctx.log.warn({ err: e }, 'could not expire pending media ids'));
      void this.sweepTmp();
    }, 3600_000);
    this.timer.unref();
    // Uploads cut off by a crash leave their partial files behind.
    void this.sweepTmp();
  }

  /**
   * Removes partial uploads nobody has written to for an hour. A live upload writes as it reads
   * and stalled connections are closed after seconds, so only abandoned files are that old.
   */
  private async sweepTmp(): Promise<void> {
    const cutoff = Date.now() - STALE_UPLOAD_MS;
    let names: string[];
    try {
      names = await readdir(this.tmpDir);
    } catch {
      return; // no uploads yet
    }
    for (const name of names) {
      const p = join(this.tmpDir, name);
      try {
        if ((await stat(p)).mtimeMs < cutoff) await rm(p, { force: true });
      } catch (e) {
        this.ctx.log.warn({ err: e, path: p }, 'could not remove a stale partial upload');
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const set of this.waiters.values()) for (const w of set) w();
    this.waiters.clear();
  }

  get limits() {
    return this.ctx.config.media;
  }

  private isLocal(serverName: string): boolean {
    return serverName === this.ctx.config.server_name;
  }

  private filePath(mediaId: string): string {
    return join(this.root, 'local', mediaId.slice(0, 2), mediaId.slice(2, 4), mediaId.slice(4) || '_');
  }

  private thumbPath(mediaId: string, t: { width: number; height: number; method: string; animated: boolean }): string {
    return join(this.root, 'thumbnails', mediaId.slice(0, 2), mediaId.slice(2, 4), mediaId.slice(4) || '_', `${t.width}x${t.height}-${t.method}${t.animated ? '-a' : ''}`);
  }

  private async writeAtomically(path: string, body: Buffer): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${encodeBase64Url(randomBytes(6))}.tmp`;
    try {
      await writeFile(tmp, body);
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  private mxc(mediaId: string): string {
    return `mxc://${this.ctx.config.server_name}/${mediaId}`;
  }

  private checkSize(size: number): void {
    if (size > this.limits.max_upload_bytes) throw tooLarge(`Cannot upload files larger than ${this.limits.max_upload_bytes} bytes`);
  }

  private checkType(contentType: string): void {
    if (!typeAllowed(contentType, this.limits.allowed_content_types)) throw forbidden(`This server does not accept ${essence(contentType)} uploads`);
  }

  private async checkUpload(userId: string, size: number, contentType: string): Promise<void> {
    this.checkSize(size);
    this.checkType(contentType);
    const quota = this.limits.user_quota_bytes;
    if (quota !== null && (await this.store.usedBytes(userId)) + size > quota) throw quotaReached();
  }

  /**
   * Everything about an upload that can be checked before its body is read: the in-flight caps,
   * the type, the declared size against the limit and the user's quota, and for PUT the media
   * id. The grant caps the body at what the quota leaves; `release` frees the in-flight slot.
   */
  async beginUpload(
    userId: string,
    u: { declaredBytes: number | undefined; contentType: string | undefined; filename: string | null; target?: { serverName: string; mediaId: string } },
  ): Promise<BodyGrant> {
    // The slot is taken before anything is awaited, so a burst cannot overshoot the caps.
    const mine = this.uploadsByUser.get(userId) ?? 0;
    if (mine >= this.limits.max_uploads_in_flight_per_user) throw limitExceeded(1000, 'Too many uploads in progress');
    if (this.uploadsInFlight >= this.limits.max_uploads_in_flight) throw limitExceeded(1000, 'The server is busy with other uploads');
    this.uploadsByUser.set(userId, mine + 1);
    this.uploadsInFlight++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.uploadsInFlight--;
      const n = (this.uploadsByUser.get(userId) ?? 1) - 1;
      if (n > 0) this.uploadsByUser.set(userId, n);
      else this.uploadsByUser.delete(userId);
    };
    try {
      checkFilename(u.filename);
      this.checkType(normaliseContentType(u.contentType));
      if (u.target) this.checkTarget(userId, u.target.serverName, u.target.mediaId, await this.store.get(u.target.mediaId));
      let maxBytes = this.limits.max_upload_bytes;
      if (u.declaredBytes !== undefined) this.checkSize(u.declaredBytes);
      let overLimit: (() => MatrixError) | undefined;
      const quota = this.limits.user_quota_bytes;
      if (quota !== null) {
        const left = quota - (await this.store.usedBytes(userId));
        if (left <= 0 || (u.declaredBytes !== undefined && u.declaredBytes > left)) throw quotaReached();
        if (left < maxBytes) {
          maxBytes = left;
          overLimit = quotaReached;
        }
      }
      await (this.tmpDirReady ??= mkdir(this.tmpDir, { recursive: true }));
      return { dir: this.tmpDir, maxBytes, release, ...(overLimit ? { overLimit } : {}) };
    } catch (e) {
      release();
      throw e;
    }
  }

  /** Moves a finished upload's temporary file to where the media id keeps its bytes. */
  private async moveIntoPlace(file: StreamedBody, path: string): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await rename(file.path, path);
  }

  /** POST /_matrix/media/v3/upload: returns the content URI. */
  async upload(userId: string, file: StreamedBody, contentTypeHeader: string | undefined, filename: string | null): Promise<string> {
    const contentType = normaliseContentType(contentTypeHeader);
    const name = checkFilename(filename);
    // Again with the real size: other uploads may have used the quota meanwhile.
    await this.checkUpload(userId, file.size, contentType);
    const mediaId = encodeBase64Url(randomBytes(18));
    await this.moveIntoPlace(file, this.filePath(mediaId));
    try {
      await this.store.insertUploaded({ mediaId, uploader: userId, contentType, filename: name, size: file.size, sha256: file.sha256, now: Date.now() });
    } catch (e) {
      await rm(this.filePath(mediaId), { force: true });
      throw e;
    }
    return this.mxc(mediaId);
  }

  /** POST /_matrix/media/v1/create. */
  async create(userId: string): Promise<{ content_uri: string; unused_expires_at: number }> {
    const now = Date.now();
    if ((await this.store.pendingCount(userId, now)) >= this.limits.max_pending_uploads) {
      throw new MatrixError(429, 'M_LIMIT_EXCEEDED', 'Too many pending uploads', { retry_after_ms: 60_000 });
    }
    const mediaId = encodeBase64Url(randomBytes(18));
    const expires = now + this.limits.unused_expiry_ms;
    await this.store.insertPending(mediaId, userId, now, expires);
    return { content_uri: this.mxc(mediaId), unused_expires_at: expires };
  }

  /** That `mediaId` is one `userId` reserved with /create and has not filled yet. */
  private checkTarget(userId: string, serverName: string, mediaId: string, rec: MediaRecord | undefined): void {
    if (!this.isLocal(serverName) || !MEDIA_ID.test(mediaId)) throw notFound('Unknown media id');
    if (!rec || (rec.size === null && rec.unusedExpiresTs !== null && rec.unusedExpiresTs <= Date.now())) throw notFound('Unknown or expired media id');
    if (rec.uploader !== userId) throw forbidden('This media id was created by another user');
    if (rec.size !== null) throw new MatrixError(409, 'M_CANNOT_OVERWRITE_MEDIA', 'Media already uploaded');
  }

  /** PUT /_matrix/media/v3/upload/{serverName}/{mediaId}. */
  async uploadTo(userId: string, serverName: string, mediaId: string, file: StreamedBody, contentTypeHeader: string | undefined, filename: string | null): Promise<void> {
    this.checkTarget(userId, serverName, mediaId, MEDIA_ID.test(mediaId) ? await this.store.get(mediaId) : undefined);
    const contentType = normaliseContentType(contentTypeHeader);
    const name = checkFilename(filename);
    await this.checkUpload(userId, file.size, contentType);
    await this.moveIntoPlace(file, this.filePath(mediaId));
    if (!(await this.store.completePending({ mediaId, contentType, filename: name, size: file.size, sha256: file.sha256 }))) {
      throw new MatrixError(409, 'M_CANNOT_OVERWRITE_MEDIA', 'Media already uploaded');
    }
    const w = this.waiters.get(mediaId);
    if (w) {
      this.waiters.delete(mediaId);
      for (const f of w) f();
    }
  }

  /** The uploaded record, waiting up to `timeoutMs` for a pending upload. */
  private async uploaded(serverName: string, mediaId: string, timeoutMs: number): Promise<MediaRecord> {
    if (!this.isLocal(serverName) || !MEDIA_ID.test(mediaId)) throw notFound('Media not found');
    let rec = await this.store.get(mediaId);
    if (rec && rec.size === null && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        let set = this.waiters.get(mediaId);
        if (!set) this.waiters.set(mediaId, (set = new Set()));
        const done = () => {
          clearTimeout(timer);
          set!.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(timeoutMs, MAX_WAIT_MS));
        set.add(done);
      });
      rec = await this.store.get(mediaId);
    }
    if (!rec) throw notFound('Media not found');
    if (rec.size === null) throw new MatrixError(504, 'M_NOT_YET_UPLOADED', 'Content has not yet been uploaded');
    return rec;
  }

  async download(serverName: string, mediaId: string, timeoutMs: number, filenameOverride?: string): Promise<MediaFile> {
    const rec = await this.uploaded(serverName, mediaId, timeoutMs);
    const body = await readFile(this.filePath(mediaId));
    const contentType = rec.contentType ?? 'application/octet-stream';
    return { body, contentType, disposition: contentDisposition(contentType, filenameOverride ?? rec.filename) };
  }

  async thumbnail(serverName: string, mediaId: string, width: number, height: number, method: 'crop' | 'scale', animated: boolean, timeoutMs: number): Promise<MediaFile> {
    const rec = await this.uploaded(serverName, mediaId, timeoutMs);
    const type = essence(rec.contentType ?? '');
    if (!THUMBNAILABLE.has(type)) throw new MatrixError(400, 'M_UNKNOWN', 'Cannot generate thumbnails for the requested content');
    if (rec.size! > this.limits.max_thumbnail_source_bytes) throw tooLarge('Content is too large to thumbnail');
    const wantAnimated = animated && ANIMATABLE.has(type);
    const target = STANDARD_THUMBNAILS.find((s) => s.method === method && s.width >= width && s.height >= height) ?? { width, height, method };
    const spec = { width: target.width, height: target.height, method, animated: wantAnimated };

    const cached = await this.store.thumbnail(mediaId, spec.width, spec.height, spec.method, spec.animated);
    if (cached) {
      try {
        return { body: await readFile(this.thumbPath(mediaId, spec)), contentType: cached.contentType, disposition: 'inline; filename="thumbnail"' };
      } catch {
        // The file is gone: make it again.
      }
    }
    const key = `${mediaId}/${spec.width}x${spec.height}/${spec.method}/${spec.animated}`;
    let job = this.generating.get(key);
    if (!job) {
      job = this.generate(rec, spec).finally(() => this.generating.delete(key));
      this.generating.set(key, job);
    }
    const { record, body } = await job;
    const ext = record.contentType.split('/')[1];
    return { body, contentType: record.contentType, disposition: `inline; filename="thumbnail.${ext}"` };
  }

  private async generate(rec: MediaRecord, spec: { width: number; height: number; method: 'crop' | 'scale'; animated: boolean }): Promise<{ record: ThumbnailRecord; body: Buffer }> {
    const source = await readFile(this.filePath(rec.mediaId));
    const type = essence(rec.contentType!);
    let out: { data: Buffer; info: { format: string } };
    try {
      const sharp = await loadSharp();
      const img = sharp(source, { limitInputPixels: this.limits.max_thumbnail_source_pixels, animated: spec.animated, failOn: 'error' });
      const meta = await img.metadata();
      const w = meta.width ?? 0;
      const h = meta.pageHeight ?? meta.height ?? 0;
      if (w === 0 || h === 0) throw new Error('no dimensions');
      // No upscaling: content smaller than asked for is served as it is.
      if (w <= spec.width && h <= spec.height) {
        return { record: { ...spec, contentType: rec.contentType!, size: source.length }, body: source };
      }
      const resized = img.rotate().resize(spec.width, spec.height, { fit: spec.method === 'crop' ? 'cover' : 'outside', withoutEnlargement: true });
      const animatedOut = spec.animated && (meta.pages ?? 1) > 1;
      if (animatedOut) out = await resized.webp({ quality: 80 }).toBuffer({ resolveWithObject: true });
      else if (type === 'image/jpeg' || !meta.hasAlpha) out = await resized.jpeg({ quality: 80, mozjpeg: true }).toBuffer({ resolveWithObject: true });
      else out = await resized.png({ compressionLevel: 7 }).toBuffer({ resolveWithObject: true });
    } catch (e) {
      const msg = (e as Error).message ?? '';
      if (/pixel limit/i.test(msg)) throw tooLarge('Content is too large to thumbnail');
      if (e instanceof MatrixError) throw e;
      throw new MatrixError(400, 'M_UNKNOWN', 'Cannot generate thumbnails for the requested content');
    }
    const record: ThumbnailRecord = { ...spec, contentType: `image/${out.info.format === 'jpeg' ? 'jpeg' : out.info.format}`, size: out.data.length };
    try {
      await this.writeAtomically(this.thumbPath(rec.mediaId, spec), out.data);
      await this.store.insertThumbnail(rec.mediaId, record);
    } catch (e) {
      this.ctx.log.warn({ err: e, mediaId: rec.mediaId }, 'could not cache a thumbnail');
    }
    return { record, body: out.data };
  }
}

export type { MediaRecord };

const quotaReached = () => forbidden('You have reached your media quota');
