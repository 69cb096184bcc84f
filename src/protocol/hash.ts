import { blake2AsU8a } from '@polkadot/util-crypto';
import { blake2b, isReady } from '@polkadot/wasm-crypto';
import { concatBytes } from './bytes.ts';

const NO_KEY = new Uint8Array();

/**
 * BLAKE2b with a 32-byte digest, as Substrate's `blake2_256`. Straight to the wasm (a quarter faster
 * than util-crypto's wrapper, which converts its arguments on each call: this runs ~100 times a block);
 * util-crypto's own fallback before the wasm is ready.
 */
export function blake2_256(data: Uint8Array): Uint8Array {
  return isReady() ? blake2b(data, NO_KEY, 32) : blake2AsU8a(data, 256);
}

/** `para_head = blake2_256(head_data raw bytes)`: no length prefix. */
export function headDataHash(headData: Uint8Array): Uint8Array {
  return blake2_256(headData);
}

/** `candidate_hash = blake2_256(descriptor ‖ commitments_hash)`. */
export function candidateHash(descriptorBytes: Uint8Array, commitmentsHash: Uint8Array): Uint8Array {
  // One reused buffer: this runs for every candidate and candidate event of every block.
  if (descriptorBytes.length + commitmentsHash.length !== candidateHashInput.length) {
    return blake2_256(concatBytes([descriptorBytes, commitmentsHash]));
  }
  candidateHashInput.set(descriptorBytes, 0);
  candidateHashInput.set(commitmentsHash, descriptorBytes.length);
  return blake2_256(candidateHashInput);
}

const candidateHashInput = new Uint8Array(292 + 32);
