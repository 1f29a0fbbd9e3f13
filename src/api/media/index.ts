// The content repository: uploads under /_matrix/media (v3 upload, v1 create) and the
// authenticated downloads, thumbnails and config under /_matrix/client/v1/media.
import { MatrixError, unknownError } from '../../http/errors.js';
import type { Router } from '../../http/router.js';
import type { Request, Response, RouteOptions, StreamedBody } from '../../http/types.js';
import type { ServerContext } from '../../services/context.js';
import { CSP, MAX_THUMBNAIL_DIMENSION, type MediaFile } from '../../services/media.js';
import { z } from 'zod';
import { params, segment } from '../client/schemas.js';

const mediaParams = params({ serverName: segment, mediaId: segment });
const uploadQuery = z.looseObject({ filename: z.string().optional() });
const fetchQuery = z.looseObject({ timeout_ms: z.string().optional(), allow_redirect: z.string().optional() });

const DEFAULT_TIMEOUT_MS = 20_000;

function intParam(req: Request, name: string, required: boolean, fallback = 0): number {
  const v = req.query.get(name);
  if (v === null) {
    if (required) throw new MatrixError(400, 'M_MISSING_PARAM', `Missing ${name}`);
    return fallback;
  }
  if (!/^\d{1,15}$/.test(v)) throw new MatrixError(400, 'M_INVALID_PARAM', `${name} must be a non-negative integer`);
  return Number(v);
}

/** The body of a streamed route (the front end always sets it there). */
function uploaded(req: Request): StreamedBody {
  if (!req.upload) throw unknownError('Upload body missing');
  return req.upload;
}

function serve(f: MediaFile): Response {
  return {
    body: f.body,
    headers: {
      'Content-Type': f.contentType,
      'Content-Disposition': f.disposition,
      'Content-Security-Policy': CSP,
      'Cross-Origin-Resource-Policy': 'cross-origin',
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'private, max-age=86400, immutable',
    },
  };
}

export function registerMedia(router: Router, ctx: ServerContext): void {
  const { auth, media } = ctx;
  // Uploads are authorised (token, caps, quota, media id) before a byte of the body is read,
  // then streamed to disk: a stalled or unauthorised 50 MB upload must not cost 50 MB of memory.
  const streamed = (target: boolean): RouteOptions => ({
    body: 'stream',
    schema: target ? { params: mediaParams, query: uploadQuery } : { query: uploadQuery },
    maxBytes: ctx.config.media.max_upload_bytes,
    authorize: async (req, declaredBytes) => {
      const me = await auth.requireUser(req);
      return media.beginUpload(me.userId, {
        declaredBytes,
        contentType: req.headers['content-type'],
        filename: req.query.get('filename'),
        ...(target ? { target: { serverName: req.params.serverName!, mediaId: req.params.mediaId! } } : {}),
      });
    },
  });
  const add = (method: string, path: string, h: (req: Request) => Promise<Response>, opts: RouteOptions = { schema: {} }) => router.add(method, path, h, opts);

  for (const v of ['v3', 'r0']) {
    add(
      'POST',
      `/_matrix/media/${v}/upload`,
      async (req) => {
        const me = await auth.requireUser(req);
        const uri = await media.upload(me.userId, uploaded(req), req.headers['content-type'], req.query.get('filename'));
        return { body: { content_uri: uri } };
      },
      streamed(false),
    );
  }

  add(
    'PUT',
    '/_matrix/media/v3/upload/{serverName}/{mediaId}',
    async (req) => {
      const me = await auth.requireUser(req);
      await media.uploadTo(me.userId, req.params.serverName!, req.params.mediaId!, uploaded(req), req.headers['content-type'], req.query.get('filename'));
      return { body: {} };
    },
    streamed(true),
  );

  add(
    'POST',
    '/_matrix/media/v1/create',
    async (req) => {
      const me = await auth.requireUser(req);
      return { body: await media.create(me.userId) };
    },
    { body: 'none', schema: {} },
  );

  add('GET', '/_matrix/client/v1/media/config', async (req) => {
    await auth.requireUser(req);
    return { body: { 'm.upload.size': ctx.config.media.max_upload_bytes } };
  });

  const download = async (req: Request) => {
    await auth.requireUser(req);
    const timeout = intParam(req, 'timeout_ms', false, DEFAULT_TIMEOUT_MS);
    return serve(await media.download(req.params.serverName!, req.params.mediaId!, timeout, req.params.fileName));
  };
  add('GET', '/_matrix/client/v1/media/download/{serverName}/{mediaId}', download, { schema: { params: mediaParams, query: fetchQuery } });
  add('GET', '/_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName}', download, {
    schema: { params: params({ serverName: segment, mediaId: segment, fileName: segment }), query: fetchQuery },
  });

  add('GET', '/_matrix/client/v1/media/thumbnail/{serverName}/{mediaId}', async (req) => {
    await auth.requireUser(req);
    const width = intParam(req, 'width', true);
    const height = intParam(req, 'height', true);
    if (width < 1 || height < 1 || width > MAX_THUMBNAIL_DIMENSION || height > MAX_THUMBNAIL_DIMENSION) {
      throw new MatrixError(400, 'M_INVALID_PARAM', `width and height must be between 1 and ${MAX_THUMBNAIL_DIMENSION}`);
    }
    const method = req.query.get('method') ?? 'scale';
    if (method !== 'crop' && method !== 'scale') throw new MatrixError(400, 'M_INVALID_PARAM', 'method must be crop or scale');
    const animatedParam = req.query.get('animated');
    if (animatedParam !== null && animatedParam !== 'true' && animatedParam !== 'false') throw new MatrixError(400, 'M_INVALID_PARAM', 'animated must be true or false');
    const timeout = intParam(req, 'timeout_ms', false, DEFAULT_TIMEOUT_MS);
    return serve(await media.thumbnail(req.params.serverName!, req.params.mediaId!, width, height, method, animatedParam === 'true', timeout));
    // The numeric and enum query checks stay in the handler: they are its errcodes (M_MISSING_PARAM first).
  }, { schema: { params: mediaParams, query: fetchQuery } });
}
