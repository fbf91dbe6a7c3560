// The launch token: the shell injects `window.__liveupdate = {launchId}` for each page load; the JS
// layer reads it once and passes it with every notifyAppReady(), without the app doing anything.
// The native side is simulated the way Capacitor's Android/iOS bridges expose it (PluginHeaders +
// nativePromise), so the call goes through @capacitor/core's real native path and is recorded.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const received = [];
globalThis.__liveupdate = { launchId: 'page-token-1' };
globalThis.Capacitor = {
  PluginHeaders: [
    {
      name: 'CapacitorUpdater',
      methods: [
        { name: 'notifyAppReady', rtype: 'promise' },
        { name: 'current', rtype: 'promise' },
      ],
    },
  ],
  nativePromise: async (plugin, method, options) => {
    received.push({ method, options });
    if (method === 'notifyAppReady') {
      return { bundle: { id: 'AbCdEfGhIj', version: '1.0.1', downloaded: '', checksum: '', status: 'success' } };
    }
    return { bundle: { id: 'AbCdEfGhIj' }, native: '1.0' };
  },
};

const require = createRequire(import.meta.url);
const { CapacitorUpdater } = require('../../dist/plugin.cjs.js');

test('notifyAppReady carries the page token; other calls are untouched', async () => {
  // A page that changes the global later (or a second page's script) does not change this page's token.
  globalThis.__liveupdate = { launchId: 'someone-else' };
  const r = await CapacitorUpdater.notifyAppReady();
  assert.equal(r.bundle.id, 'AbCdEfGhIj');
  await CapacitorUpdater.current();
  assert.deepEqual(received[0], { method: 'notifyAppReady', options: { launchId: 'page-token-1' } });
  assert.equal(received[1].method, 'current');
  assert.equal(received[1].options?.launchId, undefined);
});
