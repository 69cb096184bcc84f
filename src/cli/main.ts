/**
 * The `xcmp-sidecar` command line. Each command's code is imported when that command runs, so
 * `--help` and bad usage answer without loading the service, the devnet or polkadot-js.
 */
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../version.ts';
import type { BackfillFlags } from './backfill.ts';
import { applyConfigFile, envOption, inConfigTerms } from './config-file.ts';
import type { DevnetFlags } from './devnet.ts';
import { CliError, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE } from './errors.ts';
import type { RunFlags } from './run.ts';
import type { SubscribeFlags } from './subscribe.ts';
import type { VerifyFinalityFlags } from './verify-finality.ts';
import type { VerifyProofFlags } from './verify-proof.ts';

interface DecodeFlags {
  metadata?: string;
  block?: string;
  events?: string;
  node?: string;
  at?: string;
  json: boolean;
}

/** The service's flags: the node's RPC flags where they mean the same, each with its XCMP_* form. */
function addServiceOptions(program: Command): Command {
  program
    .addOption(
      envOption(
        '--node <url>',
        'relay node WebSocket URL; without it the embedded devnet (a simulator) is started',
      ),
    )
    .addOption(
      envOption('--port <port>', 'JSON-RPC port (WebSocket and HTTP; the dashboard at GET /)', '9955'),
    )
    .addOption(envOption('--rpc-port <port>', "the node's name for --port; when given, it wins"))
    .addOption(envOption('--host <host>', 'interface to listen on', '127.0.0.1'))
    .addOption(
      envOption(
        '--db <path>',
        'SQLite database file (default data/xcmp.sqlite; a fresh data/devnet.sqlite on the devnet), or a PostgreSQL URL postgres://user:password@host:port/database',
      ),
    )
    .addOption(
      envOption(
        '--retention-blocks <n>',
        'keep messages this many blocks after the recipient watermark passed them',
        '201600',
      ),
    )
    .addOption(envOption('--log <level>', 'log level: trace, debug, info, warn, error', 'info'))
    .addOption(envOption('--rpc-max-connections <n>', 'maximum WebSocket connections', '100'))
    .addOption(
      envOption('--rpc-max-subscriptions-per-connection <n>', 'maximum subscriptions per connection', '1024'),
    )
    .addOption(envOption('--rpc-max-request-size <MiB>', 'maximum request (frame or body) size in MiB', '15'))
    .addOption(envOption('--rpc-max-response-size <MiB>', 'maximum response size in MiB', '15'))
    .addOption(envOption('--rpc-max-batch-request-len <n>', 'maximum calls in one batch', '1000'))
    .addOption(
      envOption(
        '--rpc-message-buffer-capacity-per-connection <n>',
        'messages a connection may leave unread before it is closed as too slow',
        '64',
      ),
    )
    .addOption(envOption('--rpc-message-buffer-size-per-connection <MiB>', 'the same bound in MiB', '16'))
    .addOption(
      envOption(
        '--rpc-cors <origins>',
        'allowed browser origins, comma-separated, or "all"',
        'http://localhost:9955,http://127.0.0.1:9955,https://polkadot.js.org',
      ),
    )
    .addOption(
      envOption(
        '--rpc-methods <mode>',
        "safe: forward only the node's known-safe methods; unsafe: forward all; auto: unsafe when --host is loopback, else safe",
        'safe',
      ),
    )
    .addOption(
      envOption(
        '--peer <urls>',
        'peer xcmp-sidecars, comma-separated: blocks the node pruned while this one was down are bridged from them, kept only where they prove out against the node',
      ),
    )
    .addOption(
      envOption(
        '--role <role>',
        "all: ingest and serve; writer: ingest only, into a PostgreSQL --db, holding the chain's writer lock (a second writer waits as a standby); api: serve from that PostgreSQL store, following the writer",
        'all',
      ),
    )
    .addOption(
      envOption(
        '--serve-inbound <mode>',
        'ParachainHost_inbound_hrmp_channels_contents: store, node or shadow',
        'store',
      ),
    );
  return addOperationOptions(addMeshOptions(addParaOptions(program)));
}

/** The availability mesh (docs/mesh.md): this sidecar's key, the other members, and how long history stays in full. */
function addMeshOptions(program: Command): Command {
  return program
    .addOption(
      envOption(
        '--mesh-key <file>',
        'join an availability mesh as the member this ed25519 key names (a JSON file {"seed": "0x…32 bytes"}, made by `xcmp-sidecar mesh-key`); history older than --mesh-full-retention is then kept as this member\'s erasure-coded chunks (docs/mesh.md)',
      ),
    )
    .addOption(
      envOption(
        '--mesh <members>',
        'the other mesh members, KEY@ws://HOST:PORT each (repeatable, or comma-separated): their public keys number the members alike on every one',
      ).argParser((value: string, previous: string | undefined) =>
        previous ? `${previous},${value}` : value,
      ),
    )
    .addOption(
      envOption(
        '--mesh-only',
        'no relay node: take every finalized block from the --mesh members, each proven final from --mesh-checkpoint and proven slice by slice, and serve them (methods that need a node answer -32002; docs/mesh.md)',
      ),
    )
    .addOption(
      envOption(
        '--mesh-checkpoint <checkpoint>',
        'with --mesh-only: where trust starts: polkadot, kusama, westend (their chain specs), or a JSON file (a checkpoint {"setId", "authorities", "block"} or a chain spec)',
      ),
    )
    .addOption(
      envOption(
        '--mesh-full-retention <blocks>',
        'finalized blocks kept in full before they are kept as erasure-coded chunks (with --mesh-key)',
        '1000',
      ),
    );
}

/** The sending side (docs/speculative.md): para nodes and how long their blocks may wait for backing. */
function addParaOptions(program: Command): Command {
  return program
    .addOption(
      envOption(
        '--para <url>',
        'a sending parachain\'s node (repeatable, or comma-separated): its blocks\' outgoing messages are announced to finality "speculative" subscribers before the relay chain backs them (docs/speculative.md)',
      ).argParser((value: string, previous: string | undefined) =>
        previous ? `${previous},${value}` : value,
      ),
    )
    .addOption(
      envOption(
        '--speculative-window <blocks>',
        'relay blocks after its relay parent by which a para block must be backed, else its messages are withdrawn',
        '4',
      ),
    )
    .addOption(
      envOption(
        '--stuck-after <blocks>',
        "receiving para blocks included after an XCM's enactment without its delivery seen, after which its journey is stuck (docs/journey.md)",
        '10',
      ),
    );
}

/** Where metrics, the devnet and the config file are: the service's flags that are not the node's RPC ones. */
function addOperationOptions(program: Command): Command {
  return program
    .addOption(
      envOption(
        '--prometheus-port <port>',
        'also serve GET /metrics on this port alone (it is on the JSON-RPC port too)',
      ),
    )
    .addOption(
      envOption(
        '--prometheus-host <host>',
        "interface for --prometheus-port (0.0.0.0 is the node's --prometheus-external)",
        '127.0.0.1',
      ),
    )
    .addOption(
      envOption('--devnet-port <port>', 'port of the embedded devnet when no --node is given', '9944'),
    )
    .addOption(envOption('--block-time-ms <ms>', 'devnet block time when no --node is given', '6000'))
    .addOption(
      envOption(
        '--config <file>',
        'JSON file with any of these flags (camelCase keys); flags and XCMP_* env win',
      ),
    );
}

/** `decode-block`: one block, offline or from a node. */
function addDecodeBlock(program: Command): void {
  program
    .command('decode-block')
    .description('decode and verify one relay block: candidates, commitment checks, messages per recipient')
    .option('--metadata <file>', 'runtime metadata as hex (state_getMetadata output)')
    .option('--block <file>', 'block JSON (chain_getBlock result or its .block)')
    .option(
      '--events <file>',
      'raw System.Events storage value as hex; without it commitments cannot be checked',
    )
    .option('--node <url>', 'fetch the block, its events and metadata from this node instead of files')
    .option('--at <hash|number>', 'with --node: the block to decode')
    .option('--json', 'print the report as JSON', false)
    .action(async (flags: DecodeFlags) => {
      const { printReport, decodeBlockFromFiles } = await import('./decode-block.ts');
      if (flags.node !== undefined) {
        if (flags.at === undefined) throw new CliError('--node needs --at HASH|NUMBER');
        if (flags.metadata || flags.block || flags.events)
          throw new CliError('--node cannot be combined with --metadata, --block or --events');
        const { decodeBlockFromNode } = await import('./decode-node.ts');
        printReport(await decodeBlockFromNode(flags.node, flags.at), flags.json);
        return;
      }
      if (flags.metadata === undefined)
        throw new CliError(
          "required option '--metadata <file>' not specified (or use --node URL --at BLOCK)",
        );
      if (flags.block === undefined) throw new CliError("required option '--block <file>' not specified");
      printReport(
        await decodeBlockFromFiles({ metadata: flags.metadata, block: flags.block, events: flags.events }),
        flags.json,
      );
    });
}

/** `devnet`: only the simulated relay chain. */
function addDevnet(program: Command): void {
  program
    .command('devnet')
    .description(
      'run only the embedded devnet: a simulated relay chain speaking the node JSON-RPC (not a node)',
    )
    .option('--port <port>', 'port to listen on', '9944')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option(
      '--paras <ids>',
      'comma-separated para ids, channels between every pair (default 1000,2000,2001,2004)',
    )
    .option('--block-time-ms <ms>', 'milliseconds between blocks; 0 = only on dev_newBlock', '6000')
    .option('--validators <n>', 'validators (one availability bitfield each)')
    .option('--finality-lag <n>', 'blocks between best and finalized')
    .option(
      '--channels <pairs>',
      'HRMP channels as sender>recipient pairs, e.g. 2000>2001,2001>2000 (default: every pair)',
    )
    .option('--message-size <min-max>', 'message sizes in bytes, e.g. 100-2000 (default 40-600)')
    .option('--message-rate <p>', 'probability a candidate sends on each of its channels (0..1)')
    .option('--retain-blocks <n>', 'blocks kept in memory behind the best head')
    .option(
      '--availability-delay <n>',
      'blocks between backing a candidate and enacting it (default 1, as with async backing)',
    )
    .option(
      '--state-pruning <n>',
      'answer as a pruned node: state and bodies only of the last n blocks (headers stay)',
    )
    .addOption(
      new Option('--runtime <name>', 'runtime metadata')
        .choices(['polkadot-v15', 'static-polkadot'])
        .default('polkadot-v15'),
    )
    .option('--scale', 'load-test preset: 100 paras, 400 channels, 300 validators')
    .option(
      '--para-nodes',
      'also a simulated node per para at ws://HOST:PORT/para/<id>, whose blocks are the candidates backed (a cumulus runtime: Polkadot Asset Hub)',
    )
    .option(
      '--grandpa-authorities <n>',
      'finalize with GRANDPA: n ed25519 dev authorities sign a justification for each finalized block (chain_getBlock, grandpa_proveFinality, grandpa_subscribeJustifications); default 0: none',
    )
    .option(
      '--grandpa-set-every <blocks>',
      'with --grandpa-authorities: a new authority set every that many blocks, announced by a ScheduledChange digest',
    )
    .option(
      '--para-authoring-ms <ms>',
      'with --para-nodes: a para block is imported by its node this long after its relay parent (authoring time; default 0: at once)',
    )
    .option(
      '--para-metadata <file>',
      "the para nodes' runtime metadata (hex); default: the shared fixture, else the bundled Asset Hub V15",
    )
    .action(async (flags: DevnetFlags) => {
      const { runDevnet } = await import('./devnet.ts');
      await runDevnet(flags);
    });
}

/** `backfill`: a range of finalized blocks into the store. */
function addBackfill(program: Command): void {
  program
    .command('backfill')
    .description(
      'ingest finalized blocks from --from (or the store cursor) to --to, with a progress bar and ETA',
    )
    .option('--from <n>', 'first block; required when the store is empty, else it continues from the cursor')
    .option('--to <n>', 'last block (default: the finalized head)')
    .requiredOption('--node <url>', 'relay node WebSocket URL (an archive node for old blocks)')
    .option('--db <path>', 'SQLite database file', 'data/xcmp.sqlite')
    .option('--log <level>', 'log level', 'warn')
    .option(
      '--peer <url>',
      'a peer xcmp-sidecar (repeatable): history the node has pruned is taken from it, and kept only when it proves out against this node',
      (url: string, previous: string[]) => [...previous, url],
      [] as string[],
    )
    .action(async (flags: BackfillFlags) => {
      const { runBackfill } = await import('./backfill.ts');
      await runBackfill(flags);
    });
}

/** `mesh-key`: a new key naming this sidecar in an availability mesh. */
function addMeshKey(program: Command): void {
  program
    .command('mesh-key')
    .description(
      'make an ed25519 key naming this sidecar in an availability mesh; prints its public key (docs/mesh.md)',
    )
    .option('--out <file>', 'where to write it (never overwritten; owner-only)')
    .action(async (flags: { out?: string }) => {
      const { runMeshKey } = await import('./mesh-key.ts');
      runMeshKey(flags);
    });
}

/** `verify-proof`: is one HRMP channel proven under a state root? */
function addVerifyProof(program: Command): void {
  program
    .command('verify-proof')
    .description(
      'check that a relay read proof proves one HRMP channel under a state root; print the channel',
    )
    .option('--state-root <hash>', "the relay block's state root (from a header you trust)")
    .option(
      '--proof <file>',
      'JSON array of hex trie nodes, or {"proof": [...]} as state_getReadProof returns it',
    )
    .option('--sender <para>', 'the channel sender')
    .option('--recipient <para>', 'the channel recipient')
    .action(async (flags: VerifyProofFlags) => {
      const { runVerifyProof } = await import('./verify-proof.ts');
      await runVerifyProof(flags);
    });
}

/** `verify-finality`: does a GRANDPA justification prove its block final under an authority set? */
function addVerifyFinality(program: Command): void {
  program
    .command('verify-finality')
    .description(
      'check a GRANDPA justification against an authority set; print the verdict (exit 0 valid, 1 invalid, 2 bad input)',
    )
    .option('--justification <hex|file>', 'the SCALE justification (chain_getBlock justifications, FRNK)')
    .option(
      '--set-id <n>',
      "the authority set id it was signed under (default: the chain spec's, with --authorities SPEC)",
    )
    .option(
      '--authorities <file>',
      'JSON list of hex ed25519 public keys ([key, weight] pairs as GrandpaApi_grandpa_authorities gives them), or a chain spec with a lightSyncState',
    )
    .option('--header <hex|file>', 'the SCALE header it must be for (optional)')
    .action(async (flags: VerifyFinalityFlags) => {
      const { runVerifyFinality } = await import('./verify-finality.ts');
      runVerifyFinality(flags);
    });
}

/** `subscribe`: a mailbox as JSON lines. */
function addSubscribe(program: Command): void {
  program
    .command('subscribe')
    .description("print a parachain's inbox (or outbox) updates from a running sidecar as JSON lines")
    .option(
      '--url <urls>',
      'the sidecar WebSocket URL, or several comma-separated (replicas): when one goes away the next is used, from the block after the last one printed',
      'ws://127.0.0.1:9955',
    )
    .option('--recipient <para>', 'subscribe to messages sent to this para')
    .option('--sender <para>', 'subscribe to messages sent by this para')
    .option('--from-block <n>', 'replay stored messages from this block first')
    .option(
      '--finality <f>',
      'finalized, best, pending (messages at backing) or speculative (messages at para-block import, from nodes attached with --para)',
      'finalized',
    )
    .option('--decode', 'include the decoded XCM')
    .option('--include-unverified', 'also messages that failed verification')
    .option(
      '--verify-with <url>',
      'a node you trust (WebSocket): deliver inbox messages only when the relay proof checks out against its headers; rejected updates go to stderr as {"rejected": …}',
    )
    .option(
      '--verify-grandpa <checkpoint>',
      'trust no node, only a GRANDPA checkpoint: polkadot, kusama, westend (their chain specs), or a JSON file ({"setId", "authorities": [hex keys], "block": {"number", "hash"}}, or a chain spec with a lightSyncState); every header must be proven final from it (docs/finality.md)',
    )
    .action(async (flags: SubscribeFlags) => {
      const { runSubscribe } = await import('./subscribe.ts');
      await runSubscribe(flags);
    });
}

export function buildProgram(): Command {
  const program = addServiceOptions(new Command('xcmp-sidecar'))
    .description('Derives, verifies and serves Polkadot HRMP/XCMP messages per recipient')
    .version(VERSION, '-V, --version', 'print the version and exit')
    .addHelpText(
      'after',
      [
        '',
        'Endpoints on the port: WebSocket and POST / JSON-RPC, GET / dashboard, /health, /ready, /metrics.',
        'Exit codes: 0 ok, 1 runtime failure (node, database, port), 2 bad usage or configuration.',
        'Docs: docs/operator-guide.md, docs/troubleshooting.md, docs/api.md.',
      ].join('\n'),
    )
    .exitOverride()
    .enablePositionalOptions()
    .configureOutput({ outputError: (text, write) => write(text) })
    .action(async (_flags: RunFlags, command: Command) => {
      const config = command.getOptionValue('config') as string | undefined;
      const fromFile = config === undefined ? new Map<string, string>() : applyConfigFile(command, config);
      const { runOptions, runSidecar } = await import('./run.ts');
      let options: ReturnType<typeof runOptions>;
      try {
        options = runOptions(command.opts<RunFlags>());
      } catch (error) {
        throw config === undefined ? error : inConfigTerms(error, config, fromFile);
      }
      await runSidecar(options);
    });

  addDecodeBlock(program);
  addDevnet(program);
  addBackfill(program);
  addSubscribe(program);
  addVerifyProof(program);
  addVerifyFinality(program);
  addMeshKey(program);
  return program;
}

/** A reader that went away (`… | head -3`) ends the command quietly, as SIGPIPE ends a C program. */
function exitQuietlyOnClosedOutput(): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    process.exit(EXIT_OK);
  });
}

export async function main(argv: readonly string[]): Promise<number> {
  exitQuietlyOnClosedOutput();
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (error instanceof CliError) {
      if (!error.reported) process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return EXIT_RUNTIME;
  }
}
