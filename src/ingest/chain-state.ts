/** The relay storage an enactment needs (`storageNeeds`): its keys, and its decoded values. Pure. */
import {
  ACTIVE_CONFIG_KEY,
  decodeAvailabilityTimeout,
  decodeChannel,
  decodeChannelContents,
  hrmpChannelContentsKey,
  hrmpChannelsKey,
} from '../derive/storage.ts';
import type { Hex } from '../protocol/bytes.ts';
import type { RuntimeMetadata } from '../protocol/metadata.ts';
import { type ChainState, channelKeyOf, type StorageNeeds } from './enact.ts';

/** Every block reads the active configuration too (the availability timeout; one more key in the same read). */
export function neededKeys(needs: StorageNeeds): Hex[] {
  return [
    ACTIVE_CONFIG_KEY,
    ...needs.channels.map(([s, r]) => hrmpChannelsKey(s, r)),
    ...needs.contents.map(([s, r]) => hrmpChannelContentsKey(s, r)),
  ];
}

/** Decodes the values read for `needs`; an absent channel is null, absent contents are empty. */
export function chainStateFrom(
  metadata: RuntimeMetadata,
  needs: StorageNeeds,
  values: ReadonlyMap<Hex, Uint8Array | null>,
): ChainState {
  const config = values.get(ACTIVE_CONFIG_KEY);
  return {
    availabilityTimeout: config ? decodeAvailabilityTimeout(metadata, config) : null,
    channels: new Map(
      needs.channels.map(([s, r]) => {
        const value = values.get(hrmpChannelsKey(s, r));
        return [channelKeyOf(s, r), value ? decodeChannel(metadata, value) : null];
      }),
    ),
    contents: new Map(
      needs.contents.map(([s, r]) => {
        const value = values.get(hrmpChannelContentsKey(s, r));
        return [channelKeyOf(s, r), value ? decodeChannelContents(metadata, value) : []];
      }),
    ),
  };
}
