import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import type { Rule } from 'eslint';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { existsSync, statSync } from 'node:fs';
import tseslint from 'typescript-eslint';
import { buildFiles, layeringViolation } from './testkit/layering';

const ROOT = import.meta.dirname;
const BUILD = buildFiles(ROOT);

/** The file a relative import names, as TypeScript finds it, relative to the repository root. */
function target(fromFile: string, specifier: string): string {
  const base = resolve(dirname(fromFile), specifier);
  const found = [base, `${base}.ts`, join(base, 'index.ts')].find((c) => existsSync(c) && statSync(c).isFile()) ?? base;
  return relative(ROOT, found).split(sep).join('/');
}

/**
 * The layering of testkit/layering.ts as a lint rule: which folder may import which (no service
 * imports another, lib knows no service, nothing built imports test code).
 */
const allowedImports: Rule.RuleModule = {
  meta: { type: 'problem', docs: { description: 'imports follow the folder layering of testkit/layering.ts' }, schema: [] },
  create(context) {
    const from = relative(ROOT, context.filename).split(sep).join('/');
    const check = (node: Rule.Node & { source?: { value?: unknown } | null }) => {
      const specifier = node.source?.value;
      if (typeof specifier !== 'string' || !specifier.startsWith('.')) return;
      const reason = layeringViolation({ from, to: target(context.filename, specifier) }, BUILD);
      if (reason) context.report({ node, message: reason });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};

export const layeringPlugin = { rules: { 'allowed-imports': allowedImports } };

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', '.stack/', 'coverage/', 'bench/results/', 'grafana/rendered/', '**/*.js', '**/*.cjs', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    ignores: ['eslint.config.ts'],
    plugins: { layering: layeringPlugin },
    rules: {
      'layering/allowed-imports': 'error',
      // the wire and driver types (pg rows, KafkaJS, convict) are `any` by design at the edges
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  prettier,
);
