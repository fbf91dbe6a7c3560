// The web fallback through Capacitor's real registerPlugin (platform "web" under Node): every
// call answers as an app that runs its builtin bundle, like Capgo's web implementation.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { CapacitorUpdater } = require('../../dist/plugin.cjs.js');
const { Capacitor } = require('@capacitor/core');

test('the web platform gets the fallback', async () => {
  assert.equal(Capacitor.getPlatform(), 'web');
  const warnings = [];
  const warn = console.warn;
  console.warn = (...a) => warnings.push(a.join(' '));
  try {
    const cur = await CapacitorUpdater.current();
    assert.equal(cur.bundle.id, 'builtin');
    assert.equal(cur.bundle.status, 'success');
    assert.equal(cur.native, '0.0.0');
    assert.deepEqual(await CapacitorUpdater.list(), { bundles: [] });
    assert.equal(await CapacitorUpdater.getNextBundle(), null);
    assert.equal(await CapacitorUpdater.getFailedUpdate(), null);
    assert.deepEqual(await CapacitorUpdater.triggerUpdateCheck(), { status: 'unavailable', queued: false });
    assert.deepEqual(await CapacitorUpdater.isAutoUpdateEnabled(), { enabled: false });
    const b = await CapacitorUpdater.download({ url: 'https://example.invalid/b.zip', version: '1.0.1' });
    assert.equal(b.id, 'builtin');
    assert.equal((await CapacitorUpdater.notifyAppReady()).bundle.id, 'builtin');
    await assert.rejects(CapacitorUpdater.openAppStore(), /not available on the web/);
  } finally {
    console.warn = warn;
  }
  assert.ok(warnings.some((w) => w.includes('cannot download a bundle on the web')), warnings.join('\n'));
});
