import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The stages depend one way: sources → framing → parsers → correlator → store → pipeline/trace → cli.
 * `core` is shared by all and imports nothing of theirs; `config` (mailtrace.yaml) knows the framing
 * settings and is read by pipeline and cli. Each entry lists the stages a stage may import (tests may
 * also import test helpers such as parsers/testing, and parsers' and sources' tests the framing, to
 * check lines end to end).
 */
const ALLOWED: Record<string, string[]> = {
  core: [],
  config: ['core', 'framing'],
  sources: ['core'],
  framing: ['core'],
  parsers: ['core'],
  correlator: ['core'],
  store: ['core'],
  generator: ['core'],
  trace: ['core'],
  pipeline: ['core', 'config', 'sources', 'framing', 'parsers', 'correlator', 'store'],
  cli: [
    'core',
    'config',
    'sources',
    'framing',
    'parsers',
    'correlator',
    'store',
    'pipeline',
    'trace',
    'generator',
  ],
};

const src = new URL('../../src', import.meta.url).pathname;

function* sourceFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      if (name !== 'fixtures') yield* sourceFiles(path);
    } else if (name.endsWith('.ts')) yield path;
  }
}

function stageOf(path: string): string {
  return relative(src, path).split('/')[0]!;
}

describe('architecture', () => {
  it('should only import stages upstream of each stage', () => {
    const violations: string[] = [];
    for (const file of sourceFiles(src)) {
      const stage = stageOf(file);
      const isTestCode = file.endsWith('.test.ts') || file.includes('/testing/');
      for (const match of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
        const target = stageOf(join(file, '..', match[1]!));
        if (target === stage || ALLOWED[stage]?.includes(target)) continue;
        if (isTestCode && (stage === 'parsers' || stage === 'sources') && target === 'framing') continue;
        violations.push(`${relative(src, file)} imports ${match[1]}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it('should know every stage folder', () => {
    const stages = readdirSync(src).filter((name) => statSync(join(src, name)).isDirectory());
    expect(stages.sort()).toEqual(Object.keys(ALLOWED).sort());
  });
});
