/** `lethe worker`: takes the jobs of queued plans off Redis until stopped. */
import { runWorker } from '../../run/executors/queue.js';
import { runReporter } from '../progress.js';
import { numeric, type Command } from '../options.js';

const command: Command = {
  usage: 'lethe worker --redis <url> [--queue lethe]',
  description: [
    'Take jobs of comparisons (lethe compare --executor queue) off a Redis queue until stopped',
    '(SIGINT, SIGTERM). Start any number, on any machines that reach Redis and see the run',
    'directories at the same paths. A job whose worker dies is taken over by another; a job that',
    'fails is retried (lethe compare --retries). When Redis restarts, workers reconnect by themselves.',
  ].join('\n'),
  options: {
    redis: {
      type: 'string',
      description: 'Redis URL, e.g. redis://host:6379',
      required: true,
      placeholder: 'url',
    },
    queue: {
      type: 'string',
      description: 'the queue name',
      default: 'lethe',
      placeholder: 'name',
    },
    concurrency: {
      type: 'string',
      description: 'jobs at once in this worker',
      default: '1',
      value: 'integer',
      min: 1,
      placeholder: 'n',
    },
    'lock-seconds': {
      type: 'string',
      description: "how long a job's lock lasts unrenewed: a dead worker's job is retried after it",
      default: '30',
      value: 'integer',
      min: 1,
      placeholder: 's',
    },
  },
  async run(parsed) {
    const { values } = parsed;
    const until = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await runWorker({
      redis: String(values.redis),
      queue: String(values.queue),
      concurrency: numeric(values, 'concurrency'),
      lockSeconds: numeric(values, 'lock-seconds'),
      ...(numeric(values, 'threads') !== undefined ? { threads: numeric(values, 'threads') } : {}),
      until,
      onEvent: runReporter(),
    });
  },
};

export default command;
