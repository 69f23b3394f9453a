/**
 * `lethe serve`: a read-only web app over a directory of runs, comparisons and audits, built on
 * Hono (routing, SSE) with its Node adapter. Every file goes through {@link ServedRoot}, so no
 * path outside the served directory is read; nothing is written. Bound to 127.0.0.1 unless a
 * host is given, and then a token is required on every request.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import type { DatasetPair } from '../data/dataset.js';
import type { SetPredictions } from '../models/predict.js';
import { chartJsSource } from '../report/assets.js';
import { EVENTS_FILE, parseEventLog } from '../run/event-log.js';
import { RUN_FILES } from '../run/rundir.js';
import { getData } from '../run/runs.js';
import { OptionError } from '../util/errors.js';
import { clientScript } from './assets.js';
import { comparisonDetail } from './comparison.js';
import { forgetView, loadPredictions } from './forget.js';
import { renderServePage } from './pages.js';
import { encodePng } from './png.js';
import { NotServedError, ServedRoot } from './root.js';
import { Scanner } from './scan.js';
import type { ServedIndex } from './views.js';

export const DEFAULT_HOST = '127.0.0.1';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export interface ServeOptions {
  /** The directory of runs (default `runs`). */
  dir: string;
  /** Interface to bind (default 127.0.0.1); any other needs `token`. */
  host?: string;
  /** Port (0: any free one). */
  port?: number;
  /** Required on every request (header `Authorization: Bearer`, cookie, or `?token=`). */
  token?: string;
  /** How often followed files are polled, ms (default 200). */
  pollMs?: number;
}

export interface Dashboard {
  url: string;
  /** The app, for requests without a socket (tests). */
  app: Hono;
  scanner: Scanner;
  close(): Promise<void>;
}

function sameToken(a: string, b: string): boolean {
  const h = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(h(a), h(b));
}

function relPath(c: Context): string {
  const p = c.req.query('path');
  if (p === undefined)
    throw new NotServedError(400, 'expected ?path=<directory under the served root>');
  return p;
}

/** Builds the app over `root` (no socket). */
export function createApp(options: ServeOptions & { root: ServedRoot }): {
  app: Hono;
  scanner: Scanner;
} {
  const { root } = options;
  const pollMs = options.pollMs ?? 200;
  const scanner = new Scanner(root);
  let lastScan: { at: number; index: ServedIndex } | null = null;
  const index = (): ServedIndex => {
    const now = Date.now();
    if (!lastScan || now - lastScan.at > Math.min(500, pollMs * 2))
      lastScan = { at: now, index: scanner.scan(now) };
    return lastScan.index;
  };
  const predictions = new Map<string, { key: string; value: SetPredictions | null }>();
  const predictionsOf = (rel: string): SetPredictions | null => {
    const st = root.stat(rel, RUN_FILES.predictions);
    if (!st) return null;
    const key = `${st.size}:${st.mtimeMs}`;
    const hit = predictions.get(rel);
    if (hit?.key === key) return hit.value;
    const value = loadPredictions(root.resolve(rel));
    predictions.set(rel, { key, value });
    return value;
  };
  const datasets = new Map<string, Promise<DatasetPair>>();
  const dataOf = (spec: string): Promise<DatasetPair> => {
    let p = datasets.get(spec);
    if (!p) datasets.set(spec, (p = getData(spec)));
    return p;
  };
  const thumbs = new Map<string, Buffer>();

  const app = new Hono();

  app.use('*', async (c, next) => {
    // A page of another site may not reach a loopback server through a name that resolves to it.
    if (!options.token) {
      const host = (c.req.header('host') ?? '').replace(/:\d+$/, '');
      if (!LOOPBACK.has(host)) return c.text(`lethe serve: host ${host} is not served`, 403);
    } else {
      const given =
        c.req.header('authorization')?.replace(/^Bearer\s+/i, '') ??
        c.req.query('token') ??
        getCookie(c, 'lethe_token');
      if (!given || !sameToken(given, options.token))
        return c.text('lethe serve: a token is required (?token=…)', 401);
      if (c.req.query('token'))
        setCookie(c, 'lethe_token', given, { httpOnly: true, sameSite: 'Strict', path: '/' });
    }
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    if (!c.res.headers.has('Content-Security-Policy'))
      c.header(
        'Content-Security-Policy',
        "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'",
      );
  });

  app.onError((error, c) => {
    if (error instanceof NotServedError) return c.json({ error: error.message }, error.status);
    if (error instanceof OptionError) return c.json({ error: error.message }, 400);
    return c.json({ error: `unreadable: ${error.message}` }, 500);
  });

  app.get('/assets/chart.js', (c) =>
    c.body(chartJsSource(), 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'max-age=3600',
    }),
  );
  app.get('/assets/serve.js', async (c) =>
    c.body(await clientScript(), 200, {
      'Content-Type': 'text/javascript; charset=utf-8',
      'Cache-Control': 'no-cache',
    }),
  );

  app.get('/favicon.ico', (c) => c.body(null, 204));

  // Pages.
  app.get('/', (c) => c.html(renderServePage('index', 'Lethe runs', { index: index() })));
  app.get('/run', (c) => {
    const rel = relPath(c);
    root.resolve(rel);
    return c.html(renderServePage('run', `Run ${rel}`, { run: runDetail(rel) }));
  });
  app.get('/comparison', (c) => {
    const rel = relPath(c);
    root.resolve(rel);
    return c.html(
      renderServePage('comparison', `Comparison ${rel}`, {
        comparison: comparisonDetail(scanner, index(), rel),
        path: rel,
      }),
    );
  });
  app.get('/forget', (c) => {
    const rel = relPath(c);
    root.resolve(rel);
    return c.html(renderServePage('forget', `Forget set of ${rel}`, { path: rel }));
  });
  app.get('/report', (c) => {
    const rel = relPath(c);
    const html = root.readText(join(rel, RUN_FILES.report));
    // The report carries its own policy (inline scripts, nothing fetched).
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:",
    );
    return c.html(html);
  });

  // Data.
  const runDetail = (rel: string): unknown => {
    root.resolve(rel);
    const summary = scanner.run(rel, Date.now(), contextOf(rel));
    const read = (file: string): unknown => {
      try {
        return root.stat(rel, file) ? scanner.readJson(join(rel, file)) : null;
      } catch (error) {
        return { unreadable: (error as Error).message };
      }
    };
    return { summary, config: read(RUN_FILES.config), metrics: read(RUN_FILES.metrics) };
  };
  const contextOf = (rel: string): ReturnType<Scanner['comparisonContext']> | null => {
    const run = index().runs.find((r) => r.path === rel);
    return run?.comparison ? scanner.comparisonContext(run.comparison) : null;
  };

  app.get('/api/index', (c) => c.json(index()));
  app.get('/api/index/stream', (c) =>
    streamSSE(c, async (stream) => {
      let closed = false;
      stream.onAbort(() => void (closed = true));
      let last = '';
      while (!closed) {
        const text = JSON.stringify({ ...index(), scannedAt: 0 });
        if (text !== last) {
          await stream.writeSSE({ event: 'index', data: text });
          last = text;
        }
        await stream.sleep(Math.max(pollMs, 250));
      }
    }),
  );
  app.get('/api/run', (c) => c.json(runDetail(relPath(c))));
  app.get('/api/run/stream', (c) => {
    const rel = relPath(c);
    root.resolve(rel);
    const logRel = join(rel, EVENTS_FILE);
    return streamSSE(c, async (stream) => {
      let closed = false;
      stream.onAbort(() => void (closed = true));
      let offset = 0;
      let lines = 1;
      let lastSummary = '';
      let lastSummaryAt = 0;
      let first = true;
      while (!closed) {
        const st = root.stat(logRel);
        if (st && (st.size < offset || first)) {
          offset = 0;
          lines = 1;
          await stream.writeSSE({ event: 'reset', data: '{}' });
        }
        first = false;
        if (st && st.size > offset) {
          try {
            const text = root.readFrom(logRel, offset).toString('utf8');
            const parsed = parseEventLog(text, lines);
            offset += parsed.consumed;
            lines += text.slice(0, parsed.consumed).split('\n').length - 1;
            if (parsed.records.length || parsed.problems.length)
              await stream.writeSSE({
                event: 'records',
                data: JSON.stringify({ records: parsed.records, problems: parsed.problems }),
              });
          } catch (error) {
            await stream.writeSSE({
              event: 'problem',
              data: JSON.stringify({ problem: (error as Error).message }),
            });
          }
        }
        if (Date.now() - lastSummaryAt > 1000) {
          lastSummaryAt = Date.now();
          const detail = JSON.stringify(runDetail(rel));
          if (detail !== lastSummary) {
            lastSummary = detail;
            await stream.writeSSE({ event: 'run', data: detail });
          }
        }
        await stream.sleep(pollMs);
      }
    });
  });
  app.get('/api/comparison', (c) => {
    const rel = relPath(c);
    root.resolve(rel);
    return c.json(comparisonDetail(scanner, index(), rel));
  });
  app.get('/api/comparison/stream', (c) => {
    const rel = relPath(c);
    root.resolve(rel);
    return streamSSE(c, async (stream) => {
      let closed = false;
      stream.onAbort(() => void (closed = true));
      let last = '';
      while (!closed) {
        let text: string;
        try {
          text = JSON.stringify(comparisonDetail(scanner, index(), rel));
        } catch (error) {
          text = JSON.stringify({ unreadable: (error as Error).message });
        }
        if (text !== last) {
          await stream.writeSSE({ event: 'comparison', data: text });
          last = text;
        }
        await stream.sleep(Math.max(pollMs, 250));
      }
    });
  });
  app.get('/api/forget', async (c) => {
    const rel = relPath(c);
    root.resolve(rel);
    const config = scanner.readJson(join(rel, RUN_FILES.config)) as { data?: unknown };
    let classNames: string[] | null = null;
    let dataNote: string | null = null;
    if (typeof config.data === 'string') {
      try {
        classNames = [...(await dataOf(config.data)).train.classNames];
      } catch (error) {
        dataNote = `the data set ${config.data} could not be loaded (${(error as Error).message}); no pictures`;
      }
    }
    const view = forgetView(scanner, index(), rel, predictionsOf, classNames);
    if (dataNote) view.notes.unshift(dataNote);
    return c.json(view);
  });
  app.get('/api/thumb', async (c) => {
    const rel = relPath(c);
    root.resolve(rel);
    const i = Number(c.req.query('index'));
    const config = scanner.readJson(join(rel, RUN_FILES.config)) as { data?: unknown };
    if (typeof config.data !== 'string')
      throw new OptionError(`${rel}: config.json names no data set`);
    const key = `${config.data}#${i}`;
    let png = thumbs.get(key);
    if (!png) {
      const { train } = await dataOf(config.data);
      const n = train.labels.length;
      if (!Number.isInteger(i) || i < 0 || i >= n)
        throw new OptionError(
          `index: expected an integer in 0..${n - 1} but received ${c.req.query('index')}`,
        );
      const [ch, h, w] = train.shape;
      const size = ch * h * w;
      png = encodePng(train.images.subarray(i * size, (i + 1) * size), ch, h, w);
      if (thumbs.size > 20_000) thumbs.clear();
      thumbs.set(key, png);
    }
    return c.body(new Uint8Array(png), 200, {
      'Content-Type': 'image/png',
      'Cache-Control': 'max-age=3600',
    });
  });

  return { app, scanner };
}

/** Starts the dashboard; resolves once it listens. */
export async function startDashboard(options: ServeOptions): Promise<Dashboard> {
  const host = options.host ?? DEFAULT_HOST;
  if (!LOOPBACK.has(host) && !options.token)
    throw new OptionError(
      `--host ${host}: serving beyond this machine needs --token <secret> (every request must carry it)`,
    );
  if (options.token !== undefined && options.token.length < 8)
    throw new OptionError('--token: expected at least 8 characters');
  const root = new ServedRoot(options.dir);
  const { app, scanner } = createApp({ ...options, root });
  scanner.scan();
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 8080 }, () =>
      resolve(s),
    );
    s.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new OptionError(`--port ${options.port}: already in use; choose another --port`)
          : error,
      ),
    );
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown === '127.0.0.1' ? '127.0.0.1' : shown}:${address.port}/`,
    app,
    scanner,
    close: () =>
      new Promise<void>((resolve) => {
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
