// No import cycles under packages/*/src, type-only ones included (tools/check-cycles.mjs, also
// `npm run check:cycles`). The checker itself is tried on sources with known imports and cycles.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain JavaScript tool without type declarations
import { findCycles, importsOf } from '../../tools/check-cycles.mjs';

interface Edge { to: string; kind: string }
interface Cycle { files: string[]; kinds: string[] }

describe('import cycles', () => {
  it('packages/*/src has none (npm run check:cycles)', () => {
    const run = spawnSync(process.execPath, ['tools/check-cycles.mjs', '--json'], { encoding: 'utf8' });
    const report = JSON.parse(run.stdout) as { files: number; edges: number; cycles: Cycle[] };
    expect(report.files).toBeGreaterThan(50);
    const named = report.cycles.map((c) => [...c.files, c.files[0]].join(' → '));
    expect(named).toEqual([]);
    expect(run.status).toBe(0);
  });

  it('the checker reads every kind of import and no import inside strings, templates or comments', () => {
    const source = [
      "import { a, type B } from './value.ts';",
      "import { type C, type D } from './type-names.ts';",
      "import type { E } from './type.ts';",
      "export { h } from './reexport.ts';",
      "export type { I } from './type-reexport.ts';",
      "export * as J from './namespace.ts';",
      "import './side-effect.ts';",
      "const lazy = () => import('./lazy.ts');",
      "export const from = 'not-an-import';",
      "const code = `import('./in-template.ts') ${`import './nested-template.ts'`}`;",
      "const re = /import '.\\/in-regex.ts'/; const half = 1 / 2;",
      "// import './in-line-comment.ts'",
      "/* export * from './in-block-comment.ts' */",
      'import { l } from "./double-quoted.ts"',
    ].join('\n');
    expect(importsOf(source)).toEqual([
      { specifier: './value.ts', kind: 'value' },
      { specifier: './type-names.ts', kind: 'type' },
      { specifier: './type.ts', kind: 'type' },
      { specifier: './reexport.ts', kind: 'value' },
      { specifier: './type-reexport.ts', kind: 'type' },
      { specifier: './namespace.ts', kind: 'value' },
      { specifier: './side-effect.ts', kind: 'side-effect' },
      { specifier: './lazy.ts', kind: 'dynamic' },
      { specifier: './double-quoted.ts', kind: 'value' },
    ]);
  });

  it('the checker names every cycle, type-only ones included, and nothing that is not one', () => {
    const graph = new Map<string, Edge[]>([
      ['a.ts', [{ to: 'b.ts', kind: 'type' }]],
      ['b.ts', [{ to: 'c.ts', kind: 'value' }, { to: 'a.ts', kind: 'type' }]],
      ['c.ts', [{ to: 'a.ts', kind: 'value' }, { to: 'd.ts', kind: 'value' }]],
      ['d.ts', []],
      ['e.ts', [{ to: 'd.ts', kind: 'value' }, { to: 'e.ts', kind: 'dynamic' }]],
    ]);
    const cycles = (findCycles(graph) as Cycle[]).map((c) => c.files.join(' → ')).sort();
    expect(cycles).toEqual(['a.ts → b.ts', 'a.ts → b.ts → c.ts', 'e.ts']);
  });
});
