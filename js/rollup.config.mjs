// Bundles dist/esm into the forms Capacitor plugins ship: an IIFE for <script> use (global
// `capacitorCapacitorUpdater`, Capacitor core from `capacitorExports`) and CommonJS.
export default {
  input: 'dist/esm/index.js',
  output: [
    {
      file: 'dist/plugin.js',
      format: 'iife',
      name: 'capacitorCapacitorUpdater',
      globals: { '@capacitor/core': 'capacitorExports' },
      sourcemap: true,
      inlineDynamicImports: true,
    },
    {
      file: 'dist/plugin.cjs.js',
      format: 'cjs',
      sourcemap: true,
      inlineDynamicImports: true,
    },
  ],
  external: ['@capacitor/core'],
};
