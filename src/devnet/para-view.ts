/**
 * What a devnet para node shows its clients (DESIGN.md §14): its chain, or — with the `lag` fault —
 * the chain as a node that imports `lag` blocks behind the collators: each block, best and
 * finalized head is told (and answers for) only once the chain's best is `lag` blocks past it.
 * Setting `lag` back to 0 lets the node catch up at once, every held head told in order.
 */
import { EventEmitter } from 'node:events';
import type { Hex } from './chain.ts';
import type { DevnetParaChain, ParaBlock, ParaChainEvents } from './para-chain.ts';

type HeadEvent = keyof ParaChainEvents;

export class ParaNodeView extends EventEmitter<ParaChainEvents> {
  readonly chain: DevnetParaChain;
  #lag = 0;
  readonly #held: [HeadEvent, ParaBlock][] = [];
  readonly #hidden = new Set<Hex>();
  #best: ParaBlock;
  #finalized: ParaBlock;

  constructor(chain: DevnetParaChain) {
    super();
    this.setMaxListeners(0);
    this.chain = chain;
    this.#best = chain.best;
    this.#finalized = chain.finalized;
    for (const event of ['block', 'best', 'finalized'] as const)
      chain.on(event, (block) => this.#tell(event, block));
  }

  get paraId(): number {
    return this.chain.paraId;
  }

  get encoder(): DevnetParaChain['encoder'] {
    return this.chain.encoder;
  }

  get best(): ParaBlock {
    return this.#best;
  }

  get finalized(): ParaBlock {
    return this.#finalized;
  }

  /** Blocks the node is behind the chain's best (0: none). */
  get lag(): number {
    return this.#lag;
  }

  set lag(blocks: number) {
    this.#lag = blocks;
    this.#release();
  }

  block(hash: string): ParaBlock | undefined {
    return this.#hidden.has(hash.toLowerCase() as Hex) ? undefined : this.chain.block(hash);
  }

  blockAt(number: number): ParaBlock | undefined {
    return number <= this.#best.number ? this.chain.blockAt(number) : undefined;
  }

  storageValue(key: string, block: ParaBlock): Hex | null {
    return this.chain.storageValue(key, block);
  }

  #tell(event: HeadEvent, block: ParaBlock): void {
    if (this.#lag === 0 && this.#held.length === 0) {
      this.#show(event, block);
      return;
    }
    this.#held.push([event, block]);
    if (event === 'block') this.#hidden.add(block.hash);
    this.#release();
  }

  #release(): void {
    const tip = this.chain.best.number;
    while (this.#held.length > 0 && (this.#lag === 0 || tip - this.#held[0]![1].number >= this.#lag)) {
      const [event, block] = this.#held.shift()!;
      if (event === 'block') this.#hidden.delete(block.hash);
      this.#show(event, block);
    }
  }

  #show(event: HeadEvent, block: ParaBlock): void {
    if (event === 'best') this.#best = block;
    if (event === 'finalized') this.#finalized = block;
    this.emit(event, block);
  }
}
