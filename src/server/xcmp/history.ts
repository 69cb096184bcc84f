/**
 * `xcmp_getChannelHistory`: what a peer sidecar needs to backfill a channel and prove it against
 * its own node (DESIGN.md §12). One page: every message of the channel from `fromBlock` up to a
 * block boundary, each with the head after it, and the head just before `fromBlock`.
 */
import { AppErrors } from '../../../rpc/contract.ts';
import type { ChannelHistoryOptionsJson } from '../../../rpc/schemas.ts';
import { toHex } from '../../protocol/bytes.ts';
import type { StoreReader } from '../../store/interface.ts';
import { RawJson, RpcError, tooBig } from '../transport/jsonrpc.ts';

const DEFAULT_LIMIT = 1000;

export async function channelHistory(
  store: StoreReader,
  sender: number,
  recipient: number,
  range: ChannelHistoryOptionsJson,
  maxBytes: number,
): Promise<RawJson> {
  const channel = `${sender}>${recipient}`;
  const [cursor, history] = await Promise.all([store.cursor(), store.channelHistory(sender, recipient)]);
  if (!cursor || !history) throw new RpcError(AppErrors.notFound.code, 'Not found: no block stored yet');
  const fromBlock = Math.max(range.fromBlock, history.completeFrom);
  let toBlock = Math.min(range.toBlock ?? cursor.number, cursor.number);
  const start = await store.headBefore(sender, recipient, fromBlock);
  if (!start || toBlock < fromBlock)
    throw new RpcError(
      AppErrors.notFound.code,
      `Not found: this sidecar holds channel ${channel} completely from #${history.completeFrom} to #${cursor.number}`,
    );
  const limit = range.limit ?? DEFAULT_LIMIT;
  const rows = await store.channelPage(sender, recipient, fromBlock, toBlock, limit + 1);
  if (rows.length > limit) {
    // Never cut a block in two: stop before the block the limit falls in.
    const cut = rows[limit]!.sentAt;
    if (cut === fromBlock)
      throw new RpcError(
        -32602,
        `Invalid params: block #${cut} has more than ${limit} messages on ${channel}`,
      );
    toBlock = cut - 1;
  }
  const head = `{"sender":${sender},"recipient":${recipient},"fromBlock":${fromBlock},"toBlock":${toBlock},"startHead":${JSON.stringify(start.head)},"messages":[`;
  let size = head.length + 2;
  let messages = '';
  for (const m of rows) {
    if (m.sentAt > toBlock) break;
    const json = JSON.stringify({
      sentAt: m.sentAt,
      data: toHex(m.data),
      mqcHead: m.mqcHeadAfter,
      candidateHash: m.candidateHash,
      blockHash: m.blockHash,
    });
    size += json.length + 1;
    if (size > maxBytes)
      throw tooBig(maxBytes, `Response is too big: ${channel} from #${fromBlock}, ask with a smaller limit`);
    messages = messages === '' ? json : `${messages},${json}`;
  }
  return new RawJson(`${head}${messages}]}`);
}
