// `import text from './file.ext?raw'`: the file's text as a string. tsup inlines it (tsup.config.ts), vitest
// supports the suffix natively, and under tsx test/support/rawImports.mjs registers a loader for it.
declare module '*?raw' {
  const text: string;
  export default text;
}
