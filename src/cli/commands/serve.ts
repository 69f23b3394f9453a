/**
 * `lethe serve [dir]`: the dashboard over a directory of runs (default `runs/`). Its option table
 * and action; the server is `startDashboard` in `src/serve/`.
 */
import { DEFAULT_HOST, startDashboard } from '../../serve/app.js';
import { OptionError } from '../../util/errors.js';
import { numeric, text, type Command, type OptionTable } from '../options.js';

const OPTIONS: OptionTable = {
  port: {
    type: 'string',
    description: 'port to listen on (0: any free port)',
    default: '8080',
    value: 'integer',
    min: 0,
    placeholder: 'n',
  },
  host: {
    type: 'string',
    description: `interface to bind (default ${DEFAULT_HOST}); any other needs --token`,
    placeholder: 'address',
  },
  token: {
    type: 'string',
    description:
      'secret every request must carry (open http://host:port/?token=<secret> once; the page keeps it in a cookie)',
    placeholder: 'secret',
  },
};

const command: Command = {
  usage: 'lethe serve [dir] [--port <n>] [--host <address> --token <secret>]',
  description:
    'A live dashboard over a directory of runs and comparisons (default runs/), read-only, on 127.0.0.1:\nthe runs and their states, a run training live, a comparison filling in, the forget set as pictures.',
  options: OPTIONS,
  examples: [
    'lethe serve runs',
    'lethe serve /shared/cmp --port 9000',
    'lethe serve runs --host 0.0.0.0 --token "$(openssl rand -hex 16)"',
  ],
  async run({ values, positionals }) {
    if (positionals.length > 1)
      throw new OptionError(
        `lethe serve: expected one directory but received ${positionals.length}`,
      );
    const dir = positionals[0] ?? 'runs';
    const dashboard = await startDashboard({
      dir,
      port: numeric(values, 'port'),
      host: text(values, 'host'),
      token: text(values, 'token'),
    });
    console.log(`lethe serve: ${dir} at ${dashboard.url} (read-only; Ctrl-C stops it)`);
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void dashboard.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};

export default command;
