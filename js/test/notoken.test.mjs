// Without an injected token (an older shell, a test page) notifyAppReady sends no launchId and the
// engine applies it to the current page.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const received = [];
globalThis.Capacitor = {
  PluginHeaders: [{ name: 'CapacitorUpdater', methods: [{ name: 'notifyAppReady', rtype: 'promise' }] }],
  nativePromise: async (_plugin, _method, options) => {
    received.push(options);
    return { bundle: { id: 'builtin' } };
  },
};
const require = createRequire(import.meta.url);
const { CapacitorUpdater } = require('../../dist/plugin.cjs.js');

test('no token, no launchId', async () => {
  await CapacitorUpdater.notifyAppReady();
  assert.deepEqual(received, [{}]);
});
