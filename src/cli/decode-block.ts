/** `xcmp-sidecar decode-block`: offline decode and verification of one relay block. */
import { readFile } from 'node:fs/promises';
import { relayLayout } from '../derive/layout.ts';
import { type BlockInput, observeBlock } from '../derive/observe.ts';
import { fromHex, ScaleError } from '../protocol/bytes.ts';
import { encodeHeader, type HeaderJson } from '../protocol/header.ts';
import { parseMetadata, type RuntimeMetadata } from '../protocol/metadata.ts';
import { type DecodeReport, decodeReport, formatReportTable } from './decode-report.ts';
import { CliError } from './errors.ts';

export interface DecodeBlockFiles {
  readonly metadata: string;
  readonly block: string;
  readonly events?: string;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(
      `cannot read ${what} file ${path}: ${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')}`,
    );
  }
}

function hexFile(text: string, what: string, path: string): Uint8Array {
  try {
    return fromHex(text, what);
  } catch {
    throw new CliError(`${what} file ${path} is not 0x-prefixed hex`);
  }
}

interface BlockJson {
  readonly header: HeaderJson;
  readonly extrinsics: readonly string[];
}

/** A header the block hash can be computed from; else one line naming the field. */
function checkHeader(header: HeaderJson, path: string): void {
  if (!Array.isArray(header.digest?.logs))
    throw new CliError(
      `block file ${path}: header.digest.logs is missing or not a list (a header has digest.logs, not logs)`,
    );
  try {
    encodeHeader(header);
  } catch (error) {
    throw new CliError(`block file ${path}: header ${(error as Error).message}`);
  }
}

/** Accepts `chain_getBlock`'s result (`{block: {...}}`) or the block itself (`{header, extrinsics}`). */
export function parseBlockJson(text: string, path: string): { header: HeaderJson; extrinsics: Uint8Array[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new CliError(`block file ${path} is not JSON`);
  }
  const candidate = (parsed as { block?: BlockJson }).block ?? (parsed as BlockJson);
  if (
    !candidate ||
    typeof candidate !== 'object' ||
    !candidate.header ||
    !Array.isArray(candidate.extrinsics)
  ) {
    throw new CliError(`block file ${path} has no header and extrinsics`);
  }
  checkHeader(candidate.header, path);
  return {
    header: candidate.header,
    extrinsics: candidate.extrinsics.map((hex, i) => hexFile(String(hex), `extrinsic ${i} in block`, path)),
  };
}

export function loadMetadata(hex: Uint8Array, path: string): RuntimeMetadata {
  try {
    return parseMetadata(hex);
  } catch (error) {
    throw new CliError(`metadata file ${path}: ${(error as Error).message}`);
  }
}

/** Decodes with the given metadata; a block the metadata cannot describe is a usage error. */
export function decodeWithMetadata(metadata: RuntimeMetadata, block: BlockInput): DecodeReport {
  try {
    return decodeReport(observeBlock(metadata, block), relayLayout(metadata));
  } catch (error) {
    if (error instanceof ScaleError) {
      throw new CliError(`the metadata does not match the block: ${error.message}`);
    }
    throw error;
  }
}

export async function decodeBlockFromFiles(files: DecodeBlockFiles): Promise<DecodeReport> {
  const metadataText = await readText(files.metadata, 'metadata');
  const blockText = await readText(files.block, 'block');
  const eventsText = files.events === undefined ? null : await readText(files.events, 'events');
  const metadata = loadMetadata(hexFile(metadataText, 'metadata', files.metadata), files.metadata);
  const { header, extrinsics } = parseBlockJson(blockText, files.block);
  const events = eventsText === null ? null : hexFile(eventsText, 'events', files.events!);
  return decodeWithMetadata(metadata, { header, extrinsics, events });
}

export function printReport(report: DecodeReport, json: boolean): void {
  process.stdout.write(`${json ? JSON.stringify(report, null, 2) : formatReportTable(report)}\n`);
}
