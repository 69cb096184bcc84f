/**
 * Beyond one process: push latency through PostgreSQL LISTEN/NOTIFY. A `--role writer` and two
 * `--role api` replicas (1,000 subscribers each) on one PostgreSQL, against one `--role all`
 * sidecar with 1,000 subscribers on the same devnet, in the same run. Latency is from the devnet's
 * answer to dev_newBlock (finality lag 0) to each subscriber's receipt of that block's update; the
 * part after the writer's commit is measured from this process's own LISTEN on `xcmp_blocks`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import pg from 'pg';
import { startPostgres } from '../helpers/postgres.ts';
import { percentile } from './measure.ts';
import { latencyRounds, rssMb, timedByBlock } from './notify.ts';
import { CLI, devnetProcess, rpc, sidecarProcess, sleep } from './processes.ts';
import { openSubscribers } from './subscribers.ts';

const DEVNET_PORT = 19_986;
const SUBSCRIBERS = 1000;
const ROUNDS = 40;

/** The built CLI with `args`; resolves once it printed `ready` on stdout. */
async function cliProcess(args: readonly string[], ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CLI, '--log', 'warn', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes(ready)) resolve();
    });
    child.once('exit', () => reject(new Error(`xcmp-sidecar ${args.join(' ')} exited`)));
  });
  return child;
}

const summary = (samples: readonly number[]) =>
  `p50 ${percentile(samples, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(samples, 99).toFixed(1).padStart(6)} ms  (${samples.length} notifications)`;

export async function benchScale(): Promise<void> {
  console.log(
    `\nscale-out: dev_newBlock answered → inbox update received, ${SUBSCRIBERS} subscribers per process (devnet, writer, replicas, subscribers in separate processes)`,
  );
  const postgres = await startPostgres();
  const devnet = await devnetProcess(['--finality-lag', '0'], DEVNET_PORT);
  const node = `ws://127.0.0.1:${DEVNET_PORT}`;
  const children: ChildProcess[] = [];
  try {
    const url = await postgres.database();
    const common = ['--node', node, '--db', url, '--rpc-max-connections', '100'];
    children.push(await cliProcess(['--role', 'writer', '--port', '19987', ...common], 'writer for'));
    await rpc(DEVNET_PORT, 'dev_newBlock', [{ count: 3 }]);
    for (const port of [19_988, 19_989])
      children.push(await cliProcess(['--role', 'api', '--port', String(port), ...common], 'JSON-RPC'));
    children.push(await sidecarProcess(node, 19_990, ['--rpc-max-connections', '100']));
    // When the writer's commit of each block reached a LISTEN (this process's own).
    const committedAt = new Map<number, number>();
    const commits = new pg.Client({ connectionString: url });
    await commits.connect();
    commits.on('notification', (n) => committedAt.set(Number(n.payload!.split(':')[0]), performance.now()));
    await commits.query('LISTEN xcmp_blocks');
    const targets = [
      ['one --role all sidecar (SQLite in memory)', [19_990]],
      ['two --role api replicas (PostgreSQL)', [19_988, 19_989]],
    ] as const;
    for (const [name, ports] of targets) {
      const { received, onNotification } = timedByBlock();
      const closers = await Promise.all(
        ports.map((port) =>
          openSubscribers(`ws://127.0.0.1:${port}`, SUBSCRIBERS, 100, [2000], onNotification),
        ),
      );
      const total = SUBSCRIBERS * ports.length;
      await latencyRounds(DEVNET_PORT, received, total, 2);
      const afterCommit: number[] = [];
      const onBlock = (number: number, times: readonly number[]) => {
        const at = committedAt.get(number);
        if (at !== undefined) for (const t of times) afterCommit.push(t - at);
      };
      const samples = await latencyRounds(DEVNET_PORT, received, total, ROUNDS, onBlock);
      console.log(`${name.padEnd(44)} ${summary(samples)}`);
      if (ports.length > 1) {
        console.log(
          `${'  of which writer commit → received'.padEnd(44)} ${summary(afterCommit.sort((a, b) => a - b))}`,
        );
        console.log(
          `${'  replica RSS'.padEnd(44)} ${children
            .slice(1, 3)
            .map((c) => `${rssMb(c.pid!).toFixed(0)} MB`)
            .join(', ')}`,
        );
      }
      for (const close of closers) close();
      await sleep(500);
    }
    await commits.end();
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
    );
    devnet.kill('SIGTERM');
    await postgres.close();
  }
}
