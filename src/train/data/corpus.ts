// Corpus loading: "brown", a text file, a folder of .txt files, or a prepared .tokens file.
// Text is tokenized (bytes by default, or a Hugging Face tokenizer) with a separator between
// documents, in memory for training or streamed into a token file by `ulysses prepare`.
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { loadBrownDocuments, type TextDocument } from './brown.js';
import { ByteTokenizer, tokenizeDocuments, type Tokenizer } from './hf-tokenizer.js';
import { hasTokenFileMagic, TokenFile, TokenFileWriter, type TokenFileHeader } from './token-file.js';
import { MemoryTokenSource, type TokenSource } from './token-source.js';
import { BYTE_VOCAB_SIZE, DOC_SEPARATOR, encodeText } from './tokenizer.js';
import { taskOfCorpus } from '../tasks/registry.js';
import { TaskTokenSource } from '../tasks/task-source.js';

export type CorpusSpec =
  | { kind: 'brown' }
  | { kind: 'tokens'; path: string }
  | { kind: 'text'; path: string }
  | { kind: 'folder'; path: string; files: string[] };

/** Every .txt file under a folder, recursively, in sorted order. */
function listTextFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    if (st.isDirectory()) out.push(...listTextFiles(path));
    else if (st.isFile() && name.toLowerCase().endsWith('.txt')) out.push(path);
  }
  return out;
}

/** Decides what data.corpus names, refusing missing paths and empty folders up front. */
export function resolveCorpus(corpus: string): CorpusSpec {
  if (corpus === 'brown') return { kind: 'brown' };
  if (!existsSync(corpus)) {
    throw new DataError(`data.corpus: ${corpus} does not exist (expected "brown", a text file, a folder of .txt files or a .tokens file)`);
  }
  const st = statSync(corpus);
  if (st.isDirectory()) {
    const files = listTextFiles(corpus);
    if (files.length === 0) throw new DataError(`data.corpus: folder ${corpus} holds no .txt files`);
    return { kind: 'folder', path: corpus, files };
  }
  if (st.size === 0) throw new DataError(`data.corpus: ${corpus} is empty`);
  if (hasTokenFileMagic(corpus)) return { kind: 'tokens', path: corpus };
  if (corpus.endsWith('.tokens')) {
    throw new DataError(`data.corpus: ${corpus} is not a ulysses token file (no header); create one with \`ulysses prepare\``);
  }
  return { kind: 'text', path: corpus };
}

/** The text documents of a corpus, one at a time (a folder never loads all files at once). */
export function* textDocuments(spec: CorpusSpec): Generator<TextDocument> {
  switch (spec.kind) {
    case 'brown':
      yield* loadBrownDocuments();
      return;
    case 'text':
      yield { name: spec.path, text: readFileSync(spec.path, 'utf8') };
      return;
    case 'folder':
      for (const f of spec.files) yield { name: f, text: readFileSync(f, 'utf8') };
      return;
    case 'tokens':
      throw new Error(`textDocuments: ${spec.path} is already tokenized`);
  }
}

function describe(spec: CorpusSpec): string {
  return spec.kind === 'brown' ? 'the Brown corpus' : spec.path;
}

/** Whether a tokenizer is the byte one, whose fast paths below need no encoder calls. */
function isBytes(tok: Tokenizer): boolean {
  return tok instanceof ByteTokenizer;
}

/**
 * Opens a corpus for training: a token file is read on demand, text is tokenized into memory with
 * `tokenizer`. A token file whose vocabulary exceeds the tokenizer's was made by another one.
 */
export function openCorpus(corpus: string, tokenizer: Tokenizer = new ByteTokenizer()): TokenSource {
  // "task:<name>" generates its samples; the stand-in source only reports and is checked.
  const task = taskOfCorpus(corpus);
  if (task) return new TaskTokenSource(task);
  const spec = resolveCorpus(corpus);
  if (spec.kind === 'tokens') {
    const file = new TokenFile(spec.path);
    if (file.length === 0) {
      file.close();
      throw new DataError(`data.corpus: token file ${spec.path} holds no tokens`);
    }
    if (file.vocabSize > tokenizer.vocabSize) {
      file.close();
      throw new DataError(
        `data.corpus: token file ${spec.path} has a vocabulary of ${file.vocabSize}, more than data.tokenizer's ${tokenizer.vocabSize}; ` +
          'set data.tokenizer to the tokenizer `ulysses prepare --tokenizer` used',
      );
    }
    return file;
  }
  if (!isBytes(tokenizer)) return tokenizeDocuments(tokenizer, textDocuments(spec), describe(spec));
  const parts: Uint8Array[] = [];
  let total = 0;
  let documents = 0;
  for (const doc of textDocuments(spec)) {
    const bytes = encodeText(doc.text);
    if (bytes.length === 0) continue;
    if (documents > 0) {
      parts.push(Uint8Array.of(DOC_SEPARATOR));
      total++;
    }
    parts.push(bytes);
    total += bytes.length;
    documents++;
  }
  if (total === 0) throw new DataError(`data.corpus: ${describe(spec)} contains no text`);
  const tokens = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    tokens.set(p, at);
    at += p.length;
  }
  return new MemoryTokenSource(tokens, BYTE_VOCAB_SIZE, documents, describe(spec));
}

/** Streams a text file into the writer in chunks (dropping separator bytes), so any size works. */
function appendTextFile(writer: TokenFileWriter, path: string): number {
  const fd = openSync(path, 'r');
  const chunk = Buffer.alloc(1 << 22);
  let total = 0;
  try {
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      const bytes = chunk.subarray(0, n).filter((b) => b !== DOC_SEPARATOR);
      writer.append(bytes);
      total += bytes.length;
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

/** Largest vocabulary a token file holds: ids are stored as uint16, so the largest id is 65535. */
export const MAX_TOKEN_FILE_VOCAB = 65536;

/** Tokenizes a corpus once into a token file (`ulysses prepare`), with bytes unless a tokenizer is given. */
export function prepareTokenFile(corpus: string, outPath: string, tokenizer: Tokenizer = new ByteTokenizer()): TokenFileHeader {
  const spec = resolveCorpus(corpus);
  if (spec.kind === 'tokens') throw new DataError(`prepare: ${spec.path} is already a token file`);
  if (tokenizer.vocabSize > MAX_TOKEN_FILE_VOCAB) {
    throw new DataError(
      `prepare: the tokenizer has ${tokenizer.vocabSize} tokens (largest id ${tokenizer.vocabSize - 1}); ` +
        `token files store ids as uint16, so the largest id they hold is ${MAX_TOKEN_FILE_VOCAB - 1}`,
    );
  }
  if (!isBytes(tokenizer)) return prepareWithTokenizer(spec, outPath, tokenizer);
  const writer = new TokenFileWriter(outPath, BYTE_VOCAB_SIZE);
  try {
    let documents = 0;
    const separate = (): void => {
      if (documents > 0) writer.append([DOC_SEPARATOR]);
    };
    if (spec.kind === 'text') {
      if (appendTextFile(writer, spec.path) > 0) {
        writer.endDocument();
        documents++;
      }
    } else {
      for (const doc of textDocuments(spec)) {
        const bytes = encodeText(doc.text);
        if (bytes.length === 0) continue;
        separate();
        writer.appendDocument(bytes);
        documents++;
      }
    }
    if (documents === 0) throw new DataError(`prepare: ${describe(spec)} contains no text`);
    return writer.finish();
  } catch (err: unknown) {
    writer.abort();
    throw err;
  }
}

/** `prepare` with a Hugging Face tokenizer: one document at a time, its separator token between them. */
function prepareWithTokenizer(spec: CorpusSpec, outPath: string, tok: Tokenizer): TokenFileHeader {
  const writer = new TokenFileWriter(outPath, tok.vocabSize);
  try {
    let documents = 0;
    for (const doc of textDocuments(spec)) {
      const ids = tok.encode(doc.text);
      if (ids.length === 0) continue;
      if (documents > 0 && tok.separatorId !== null) writer.append([tok.separatorId]);
      writer.appendDocument(ids);
      documents++;
    }
    if (documents === 0) throw new DataError(`prepare: ${describe(spec)} contains no text`);
    return writer.finish();
  } catch (err: unknown) {
    writer.abort();
    throw err;
  }
}
