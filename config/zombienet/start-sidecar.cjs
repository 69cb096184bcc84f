/**
 * zombienet js-script: starts xcmp-sidecar against this relay node's RPC port and waits until it
 * serves (`GET /ready` answers 200). Args: the sidecar's port (default 9955). Returns 1.
 *
 * The sidecar runs in its own process for the rest of the test and is stopped when zombienet exits.
 * Its store and log go to the network's tmpDir (`xcmp-sidecar.sqlite`, `xcmp-sidecar.log`).
 */
const { spawn } = require('node:child_process');
const { openSync } = require('node:fs');
const { join, resolve } = require('node:path');

const repoRoot = resolve(__dirname, '..', '..');

/** The sidecar this script started, if any. */
let started = null;

async function ready(port) {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/ready`);
    return response.status === 200;
  } catch {
    return false;
  }
}

async function run(nodeName, networkInfo, args) {
  const port = Number(args[0] ?? 9955);
  const { wsUri } = networkInfo.nodesByName[nodeName];
  if (await ready(port)) return 1;
  const log = openSync(join(networkInfo.tmpDir, 'xcmp-sidecar.log'), 'a');
  const sidecar = spawn(
    process.execPath,
    [
      join(repoRoot, 'bin', 'xcmp-sidecar.js'),
      '--node',
      wsUri,
      '--port',
      String(port),
      '--db',
      join(networkInfo.tmpDir, 'xcmp-sidecar.sqlite'),
    ],
    { stdio: ['ignore', log, log] },
  );
  process.once('exit', () => sidecar.kill('SIGTERM'));
  let exited = null;
  sidecar.once('exit', (code) => {
    exited = code;
  });
  for (;;) {
    if (exited !== null)
      throw new Error(`xcmp-sidecar exited with code ${exited}; see its log in ${networkInfo.tmpDir}`);
    if (await ready(port)) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  sidecar.unref();
  started = sidecar;
  console.log(
    `xcmp-sidecar serves ws://127.0.0.1:${port} (dashboard http://127.0.0.1:${port}/), following ${wsUri}`,
  );
  return 1;
}

/** Stops the sidecar `run` started (for callers other than zombienet, which just exits). */
async function stop() {
  const sidecar = started;
  started = null;
  if (!sidecar || sidecar.exitCode !== null) return;
  const exited = new Promise((resolve) => sidecar.once('exit', resolve));
  sidecar.kill('SIGTERM');
  await exited;
}

module.exports = { run, stop };
