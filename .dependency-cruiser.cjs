/**
 * sluice's layers, lowest first: a module may import its own layer and those below it, never one above,
 * and nothing may import in a cycle. `npm run lint:deps` checks it (and `.ci/run` calls that).
 */
const LAYERS = [
  ['rx', '^src/rx/'],
  ['errors', '^src/errors/'],
  ['events', '^src/(events|telemetry)/'],
  ['snapshot', '^src/snapshot/'],
  ['context', '^src/context/'],
  ['stores', '^src/stores/'],
  ['workflow (types, spec, edges, flowOptions)', '^src/workflow/(types|spec|edges|flowOptions)\\.ts$'],
  ['run', '^src/run/'],
  ['ops', '^src/ops/'],
  ['builder', '^src/workflow/(workflow|compose)\\.ts$'],
  ['subpaths', '^src/(index\\.ts|cli\\.ts|testing/|http/|bullmq/|otel/)'],
];

const above = (i) => LAYERS.slice(i + 1).map(([, path]) => `(${path})`).join('|');

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Modules must not import each other in a cycle (break it with a structural type or by moving code down).',
      from: {},
      to: { circular: true },
    },
    ...LAYERS.slice(0, -1).map(([name, path], i) => ({
      name: `layer-${name.split(' ')[0]}`,
      severity: 'error',
      comment: `${name} sits below ${LAYERS.slice(i + 1).map(([n]) => n).join(', ')}: it may not import them.`,
      from: { path },
      to: { path: above(i) },
    })),
    {
      name: 'not-in-a-layer',
      severity: 'error',
      comment: 'Every module in src/ belongs to a layer: add its folder to LAYERS in .dependency-cruiser.cjs.',
      from: { path: '^src/', pathNot: LAYERS.map(([, path]) => `(${path})`).join('|') },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'types'] },
  },
};
