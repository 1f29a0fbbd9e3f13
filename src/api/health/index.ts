// GET /health for load balancers and monitors: 200 "OK", or 503 with the reason.
import type { Router } from '../../http/router.js';
import type { ServerContext } from '../../services/context.js';
import { checkHealth } from '../../services/health.js';

export function registerHealth(router: Router, ctx: ServerContext): void {
  router.add('GET', '/health', async () => {
    const report = await checkHealth(ctx.sql, ctx.log);
    const headers = { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' };
    return report.ok ? { body: 'OK', headers } : { status: 503, body: report.reason, headers };
  }, { schema: {} });
}
