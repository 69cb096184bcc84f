/** The `xcmp-sidecar` command line. */
import { Command, CommanderError, Option } from 'commander';
import { decodeBlockFromFiles, printReport } from './decode-block.ts';
import { CliError, EXIT_RUNTIME, EXIT_USAGE } from './errors.ts';

export function buildProgram(): Command {
  const program = new Command('xcmp-sidecar')
    .description('Derives, verifies and serves Polkadot HRMP/XCMP messages per recipient')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  program
    .command('decode-block')
    .description(
      'decode and verify one relay block offline: candidates, commitment checks, messages per recipient',
    )
    .addOption(
      new Option(
        '--metadata <file>',
        'runtime metadata as hex (state_getMetadata output)',
      ).makeOptionMandatory(),
    )
    .addOption(
      new Option('--block <file>', 'block JSON (chain_getBlock result or its .block)').makeOptionMandatory(),
    )
    .option(
      '--events <file>',
      'raw System.Events storage value as hex; without it commitments cannot be checked',
    )
    .option('--json', 'print the report as JSON', false)
    .action(async (options: { metadata: string; block: string; events?: string; json: boolean }) => {
      const report = await decodeBlockFromFiles(options);
      printReport(report, options.json);
    });

  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`error: ${(error as Error).message}\n`);
    return EXIT_RUNTIME;
  }
}
