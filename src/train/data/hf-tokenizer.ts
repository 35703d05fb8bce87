// Hugging Face tokenizers (a tokenizer.json, as every model on the Hub ships) through the maintained
// JS port @huggingface/tokenizers, beside the byte-level default. It runs offline: the files are
// read from disk and nothing is fetched.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfJsTokenizer } from '@huggingface/tokenizers';
import { DataError } from '../errors.js';
import { MemoryTokenSource } from './token-source.js';
import { BYTE_VOCAB_SIZE, decodeTokens, DOC_SEPARATOR, encodeText } from './tokenizer.js';

/** What training and sampling need from a tokenizer. */
export interface Tokenizer {
  /** Ids run from 0 to vocabSize - 1; model.vocab_size must be at least this. */
  readonly vocabSize: number;
  /** Token placed between documents, or null when the tokenizer has none. */
  readonly separatorId: number | null;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

/** The default: one token per UTF-8 byte, NUL between documents. */
export class ByteTokenizer implements Tokenizer {
  readonly vocabSize = BYTE_VOCAB_SIZE;
  readonly separatorId = DOC_SEPARATOR;
  encode(text: string): number[] {
    return Array.from(encodeText(text));
  }
  decode(ids: readonly number[]): string {
    return decodeTokens(ids);
  }
}

/** Names of end-of-document tokens, tried in order when tokenizer_config.json names no eos_token. */
const EOS_NAMES = ['<|endoftext|>', '<|end_of_text|>', '</s>', '<eos>'];

function readJson(path: string): Record<string, unknown> {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (err: unknown) {
    throw new DataError(`${path} is not a readable tokenizer file (${err instanceof Error ? err.message : String(err)})`);
  }
}

/** A tokenizer.json (BPE, WordPiece, Unigram, with its normalizer, pre-tokenizer and decoder). */
export class HfTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly separatorId: number | null;
  private readonly tok: HfJsTokenizer;

  /** `tokenizerJson` and `tokenizerConfig` are the parsed tokenizer.json and tokenizer_config.json. */
  constructor(tokenizerJson: Record<string, unknown>, tokenizerConfig: Record<string, unknown> = {}, readonly source = 'tokenizer.json') {
    try {
      this.tok = new HfJsTokenizer(tokenizerJson, tokenizerConfig);
    } catch (err: unknown) {
      throw new DataError(`${source}: @huggingface/tokenizers cannot load it (${err instanceof Error ? err.message : String(err)})`);
    }
    let max = -1;
    for (const id of this.tok.get_vocab(true).values()) max = Math.max(max, id);
    if (max < 0) throw new DataError(`${source} has an empty vocabulary`);
    this.vocabSize = max + 1;
    const eos = tokenizerConfig.eos_token;
    const eosName = typeof eos === 'string' ? eos : typeof (eos as { content?: unknown } | null)?.content === 'string' ? (eos as { content: string }).content : null;
    const candidates = eosName !== null ? [eosName] : EOS_NAMES;
    this.separatorId = candidates.map((n) => this.tok.token_to_id(n)).find((id): id is number => id !== undefined) ?? null;
  }

  /** Opens a tokenizer.json, or a folder holding one (with its tokenizer_config.json when present). */
  static fromFile(path: string): HfTokenizer {
    if (!existsSync(path)) throw new DataError(`tokenizer ${path} does not exist (give a tokenizer.json or the folder that holds it)`);
    const file = statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
    if (!existsSync(file)) throw new DataError(`${path} has no tokenizer.json`);
    const cfgPath = join(file, '..', 'tokenizer_config.json');
    const cfg = existsSync(cfgPath) ? readJson(cfgPath) : {};
    return new HfTokenizer(readJson(file), cfg, file);
  }

  /** Ids of `text` without special tokens added around it (training text is continuous). */
  encode(text: string): number[] {
    if (text === '') return [];
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[]): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw new RangeError(`HfTokenizer.decode: id ${id} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
    return this.tok.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** The id of a token string (e.g. a special token), or null when it is not in the vocabulary. */
  tokenId(token: string): number | null {
    return this.tok.token_to_id(token) ?? null;
  }
}

/** The tokenizer a `data.tokenizer` config value names: "bytes" (the default) or a tokenizer.json path. */
export function openTokenizer(spec: string): Tokenizer {
  return spec === 'bytes' ? new ByteTokenizer() : HfTokenizer.fromFile(spec);
}

/** Largest vocabulary the in-memory token store (uint16) holds. */
const MAX_STORED_VOCAB = 65536;

/**
 * Tokenizes documents into memory with `tok`, its separator token between documents (none when it
 * has none): what `data.tokenizer` other than "bytes" makes of a text corpus.
 */
export function tokenizeDocuments(tok: Tokenizer, docs: Iterable<{ text: string }>, description: string): MemoryTokenSource {
  if (tok.vocabSize > MAX_STORED_VOCAB) {
    throw new DataError(`data.tokenizer: a vocabulary of ${tok.vocabSize} tokens exceeds the ${MAX_STORED_VOCAB} that token storage (uint16) holds`);
  }
  const ids: number[] = [];
  let documents = 0;
  for (const doc of docs) {
    const t = tok.encode(doc.text);
    if (t.length === 0) continue;
    if (documents > 0 && tok.separatorId !== null) ids.push(tok.separatorId);
    for (const id of t) ids.push(id);
    documents++;
  }
  if (ids.length === 0) throw new DataError(`data.corpus: ${description} contains no text`);
  const tokens = tok.vocabSize <= 256 ? Uint8Array.from(ids) : Uint16Array.from(ids);
  return new MemoryTokenSource(tokens, tok.vocabSize, documents, description);
}
