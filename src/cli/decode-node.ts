/** `decode-block --node URL --at HASH|NUMBER`: fetch one block from a node and decode it. */
import { NodeClient, NodeError } from '../chain/node.ts';
import { decodeWithMetadata } from './decode-block.ts';
import type { DecodeReport } from './decode-report.ts';
import { CliError, EXIT_RUNTIME } from './errors.ts';

export async function decodeBlockFromNode(url: string, at: string): Promise<DecodeReport> {
  let node: NodeClient;
  try {
    node = await NodeClient.connect(url, { timeoutMs: 10_000 });
  } catch (error) {
    throw new CliError((error as Error).message, EXIT_RUNTIME);
  }
  try {
    const hash = await node.resolve(at);
    const { metadata, input } = await node.blockInput(hash);
    const report = decodeWithMetadata(metadata, input);
    if (report.block.hash !== hash) {
      throw new CliError(
        `the node sent a header that hashes to ${report.block.hash}, not the requested ${hash}`,
        EXIT_RUNTIME,
      );
    }
    return report;
  } catch (error) {
    if (error instanceof NodeError) throw new CliError(error.message, EXIT_RUNTIME);
    throw error;
  } finally {
    await node.disconnect();
  }
}
