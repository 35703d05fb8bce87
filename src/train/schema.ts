// A small declarative schema language for JSON configs: every key, its type, its allowed range
// and a one-line doc. Validation walks the schema, so an unknown key, a wrong type or an
// impossible value is refused with the full key path and what is allowed.
import { ConfigError } from './errors.js';

interface FieldBase {
  doc: string;
  /** Values the schema would allow but this version cannot run yet, and why. */
  supported?: { values: readonly (number | boolean | string)[]; why: string };
}
export interface IntField extends FieldBase {
  kind: 'int';
  min: number;
  max?: number;
  /** Accept the string "auto" (resolved later from other keys). */
  auto?: boolean;
  /** Accept null (the key is unset: another key decides whether it applies). */
  nullable?: boolean;
}
export interface NumberField extends FieldBase {
  kind: 'number';
  min: number;
  max?: number;
  /** The minimum itself is not allowed (e.g. lr > 0). */
  minExclusive?: boolean;
}
export interface BoolField extends FieldBase {
  kind: 'bool';
  nullable?: boolean;
}
export interface EnumField extends FieldBase {
  kind: 'enum';
  values: readonly string[];
  nullable?: boolean;
}
export interface StringField extends FieldBase {
  kind: 'string';
  nullable?: boolean;
}
/** A pair of numbers in [min, max), like Adam's betas. */
export interface PairField extends FieldBase {
  kind: 'pair';
  min: number;
  max: number;
}
export interface SectionField {
  kind: 'section';
  doc: string;
  fields: Record<string, FieldSpec>;
}
export type FieldSpec = IntField | NumberField | BoolField | EnumField | StringField | PairField | SectionField;
export type LeafSpec = Exclude<FieldSpec, SectionField>;

type Json = Record<string, unknown>;

function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? JSON.stringify(v) : String(v);
}

/** Human description of what a leaf accepts, used in every error about it. */
export function describeAllowed(spec: LeafSpec): string {
  const orNull = 'nullable' in spec && spec.nullable === true && spec.kind !== 'string' ? ' or null' : '';
  return describeValues(spec) + orNull;
}

function describeValues(spec: LeafSpec): string {
  switch (spec.kind) {
    case 'int': {
      const range = spec.max === undefined ? `>= ${spec.min}` : `in [${spec.min}, ${spec.max}]`;
      return `an integer ${range}${spec.auto ? ' or "auto"' : ''}`;
    }
    case 'number': {
      const lo = spec.minExclusive ? `> ${spec.min}` : `>= ${spec.min}`;
      return spec.max === undefined ? `a number ${lo}` : `a number ${lo} and <= ${spec.max}`;
    }
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${spec.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'string':
      return spec.nullable ? 'a string or null' : 'a non-empty string';
    case 'pair':
      return `two numbers in [${spec.min}, ${spec.max}), e.g. [0.9, 0.95]`;
  }
}

function inRange(x: number, spec: IntField | NumberField): boolean {
  const lowOk = spec.kind === 'number' && spec.minExclusive ? x > spec.min : x >= spec.min;
  return lowOk && (spec.max === undefined || x <= spec.max);
}

/** Checks one leaf value; returns it (normalised) or throws a ConfigError naming the path. */
export function checkLeaf(path: string, spec: LeafSpec, v: unknown): unknown {
  const bad = (): never => {
    throw new ConfigError(`config key ${path} must be ${describeAllowed(spec)}, got ${show(v)}`);
  };
  let ok = false;
  if (v === null && 'nullable' in spec && spec.nullable === true) return null;
  switch (spec.kind) {
    case 'int':
      ok = (spec.auto === true && v === 'auto') || (typeof v === 'number' && Number.isInteger(v) && inRange(v, spec));
      break;
    case 'number':
      ok = typeof v === 'number' && Number.isFinite(v) && inRange(v, spec);
      break;
    case 'bool':
      ok = typeof v === 'boolean';
      break;
    case 'enum':
      ok = typeof v === 'string' && spec.values.includes(v);
      break;
    case 'string':
      ok = (typeof v === 'string' && v.length > 0) || (spec.nullable === true && v === null);
      break;
    case 'pair':
      ok =
        Array.isArray(v) &&
        v.length === 2 &&
        v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= spec.min && x < spec.max);
      break;
  }
  if (!ok) bad();
  if (spec.supported && !spec.supported.values.includes(v as number | boolean | string)) {
    const allowed = spec.supported.values.map((x) => show(x)).join(', ');
    throw new ConfigError(
      `config key ${path} = ${show(v)} is not supported yet: only ${allowed} is accepted (${spec.supported.why})`,
    );
  }
  return Array.isArray(v) ? [...(v as unknown[])] : v;
}

/**
 * Merges a raw JSON layer into `target` (mutated) following `fields`; `prefix` is the key path
 * of the section, used in messages.
 */
export function mergeLayer(target: Json, raw: unknown, fields: Record<string, FieldSpec>, prefix: string, source: string): void {
  if (!isPlainObject(raw)) {
    const where = prefix === '' ? 'the config' : `config key ${prefix}`;
    throw new ConfigError(`${where} in ${source} must be an object, got ${show(raw)}`);
  }
  for (const [key, value] of Object.entries(raw)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const spec = fields[key];
    if (spec === undefined) {
      throw new ConfigError(`unknown config key ${path} in ${source}; allowed: ${Object.keys(fields).join(', ')}`);
    }
    if (spec.kind === 'section') {
      const sub = target[key];
      if (!isPlainObject(sub)) throw new Error(`config defaults lack section ${path}`);
      mergeLayer(sub, value, spec.fields, path, source);
    } else {
      target[key] = checkLeaf(path, spec, value);
    }
  }
}

/** Finds the schema entry of a dotted key path, or throws naming the first unknown part. */
export function lookupPath(fields: Record<string, FieldSpec>, path: string): FieldSpec {
  const parts = path.split('.');
  let here: Record<string, FieldSpec> = fields;
  let spec: FieldSpec | undefined;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    spec = here[part];
    const sofar = parts.slice(0, i + 1).join('.');
    if (spec === undefined) {
      throw new ConfigError(`unknown config key ${sofar}; allowed: ${Object.keys(here).join(', ')}`);
    }
    if (spec.kind === 'section') here = spec.fields;
    else if (i < parts.length - 1) throw new ConfigError(`config key ${sofar} is not a section`);
  }
  if (spec === undefined) throw new ConfigError('empty config key');
  return spec;
}

/** Builds a nested object {a: {b: value}} from a dotted path, for applying a single override. */
export function nestPath(path: string, value: unknown): Json {
  const parts = path.split('.');
  let out: unknown = value;
  for (let i = parts.length - 1; i >= 0; i--) out = { [parts[i] as string]: out };
  return out as Json;
}

/** Lists every leaf key path with its doc and allowed values, for --help texts and docs. */
export function describeSchema(fields: Record<string, FieldSpec>, prefix = ''): string[] {
  const lines: string[] = [];
  for (const [key, spec] of Object.entries(fields)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (spec.kind === 'section') lines.push(...describeSchema(spec.fields, path));
    else lines.push(`${path}: ${spec.doc} (${describeAllowed(spec)})`);
  }
  return lines;
}
