import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { envName } from '../../src/cli/config-file.ts';
import { EXIT_USAGE } from '../../src/cli/errors.ts';
import { buildProgram } from '../../src/cli/main.ts';
import { type Devnet, startDevnet } from '../../src/devnet/index.ts';
import { spawnCli } from '../helpers/cli.ts';
import { repoRoot } from '../helpers/fixtures.ts';
import { eventually } from '../helpers/wait.ts';

/** A systemd unit as sections of key → values (keys may repeat, as Environment= does). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const entry = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(entry && current, `line ${index + 1} is neither a section, a comment nor Key=value: ${raw}`);
    current.set(entry[1]!, [...(current.get(entry[1]!) ?? []), entry[2]!]);
  }
  return sections;
}

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const unit = parseUnit(readFileSync(join(repoRoot, 'config/xcmp-sidecar.service'), 'utf8'));
const service = unit.get('Service')!;
const execStart = service.get('ExecStart')![0]!.split(/\s+/);
const unitEnv = Object.fromEntries(service.get('Environment')!.map((pair) => pair.split('=', 2)));

describe('config/: the systemd unit and the Prometheus files', () => {
  let devnet: Devnet;
  let metricsText = '';
  let stopCode: number | null = null;
  before(async () => {
    devnet = await startDevnet({ blockTimeMs: 0, initialBlocks: 2 });
    // The unit's own command line and environment; only the places differ (later flags win).
    const db = join(mkdtempSync(join(tmpdir(), 'xcmp-unit-')), 'xcmp.sqlite');
    const args = [
      ...execStart.slice(1),
      '--node',
      devnet.url,
      '--db',
      db,
      '--port',
      '0',
      '--prometheus-port',
      '0',
    ];
    const cli = spawnCli(args, unitEnv);
    const [, metricsUrl] = await cli.until(/prometheus metrics: (http:\/\/\S+)/);
    await devnet.newBlocks(3);
    await eventually(
      async () => {
        metricsText = await (await fetch(metricsUrl!)).text();
        return /^xcmp_block_height\{status="synced"\} [1-9]/m.test(metricsText);
      },
      { what: 'a stored block in /metrics' },
    );
    stopCode = await cli.stop(service.get('KillSignal')![0] as NodeJS.Signals);
  });
  after(() => devnet?.close());

  it('the unit has the sections and keys systemd needs, its flags and variables are real ones', () => {
    assert.deepEqual([...unit.keys()], ['Unit', 'Service', 'Install']);
    assert.match(execStart[0]!, /^\/\S+\/xcmp-sidecar$/, 'ExecStart is an absolute path');
    assert.equal(service.get('Type')?.[0], 'simple');
    assert.equal(unit.get('Install')!.get('WantedBy')?.[0], 'multi-user.target');
    const options = buildProgram().options;
    const flags = new Set(options.map((o) => o.long));
    for (const flag of execStart.filter((arg) => arg.startsWith('--')))
      assert.ok(flags.has(flag), `${flag} in ExecStart is not a flag of xcmp-sidecar`);
    const variables = new Set(options.map((o) => envName(o)));
    for (const name of Object.keys(unitEnv))
      assert.ok(variables.has(name), `${name} is not an XCMP_* variable`);
    assert.equal(
      service.get('RestartPreventExitStatus')?.[0],
      String(EXIT_USAGE),
      'bad configuration is not restarted in a loop',
    );
    assert.ok(
      service
        .get('ReadWritePaths')![0]!
        .split(/\s+/)
        .some((path) => execStart.join(' ').includes(`--db ${path}/`)),
      'the database lives where ProtectSystem=strict lets it write',
    );
  });

  it("the unit's command starts the sidecar, and its KillSignal stops it with exit 0", () => {
    assert.match(metricsText, /^xcmp_build_info\{/m);
    assert.equal(stopCode, 0);
  });

  it("the scrape config targets the unit's --prometheus-port at /metrics", () => {
    const scrape = parseYaml(readFileSync(join(repoRoot, 'config/prometheus/scrape.yml'), 'utf8')) as {
      scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[];
    };
    const [job] = scrape.scrape_configs;
    assert.equal(job?.job_name, 'xcmp-sidecar');
    assert.equal(job.metrics_path, '/metrics');
    const port = execStart[execStart.indexOf('--prometheus-port') + 1];
    assert.deepEqual(job.static_configs[0]?.targets, [`127.0.0.1:${port}`]);
  });

  it('every alert rule is complete and watches metrics the sidecar exports', () => {
    const file = parseYaml(readFileSync(join(repoRoot, 'config/prometheus/alerts.yml'), 'utf8')) as {
      groups: { name: string; rules: AlertRule[] }[];
    };
    const rules = file.groups.flatMap((group) => group.rules);
    const exported = new Set([...metricsText.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const scrapeJob = 'xcmp-sidecar';
    const watched = new Set<string>();
    for (const rule of rules) {
      assert.match(rule.alert, /^Xcmp[A-Za-z]+$/);
      assert.ok(['critical', 'warning'].includes(rule.labels.severity), `${rule.alert} severity`);
      assert.ok(rule.annotations.summary && rule.annotations.description, `${rule.alert} annotations`);
      if (rule.for !== undefined) assert.match(rule.for, /^\d+[smh]$/);
      assert.equal(
        rule.expr.split('(').length,
        rule.expr.split(')').length,
        `${rule.alert}: parentheses balance`,
      );
      for (const [name] of rule.expr.matchAll(/\bxcmp_[a-z_]+/g)) {
        assert.ok(exported.has(name), `${rule.alert} watches ${name}, which /metrics does not export`);
        watched.add(name);
      }
      for (const [, job] of rule.expr.matchAll(/job="([^"]+)"/g)) assert.equal(job, scrapeJob);
      for (const [, status] of rule.expr.matchAll(/status="([^"]+)"/g))
        assert.match(metricsText, new RegExp(`^xcmp_block_height\\{status="${status}"\\} \\d+$`, 'm'));
    }
    // What the operator must hear about: lag, unverified messages, verification failures, upstream down.
    for (const needed of [
      'xcmp_block_height',
      'xcmp_messages_stored',
      'xcmp_verification_failures',
      'xcmp_upstream_connected',
    ])
      assert.ok(watched.has(needed), `no alert watches ${needed}`);
    assert.ok(
      rules.some((rule) => /\bup\{job="xcmp-sidecar"\} == 0/.test(rule.expr)),
      'an alert for the process itself',
    );
  });
});
