// Every value the package exports at run time equals Capgo 8.51.23's: the same export names, and
// each enum object identical, reverse mappings included (AppUpdateAvailability[2] === 'UPDATE_AVAILABLE').
import test from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ours = require('../../dist/plugin.cjs.js');
const capgo = require('@capgo/capacitor-updater/dist/plugin.cjs.js');

// Ours only: readLaunchToken (the launch token the native shell injects; docs/capacitor.md).
const EXTRA = ['readLaunchToken'];

test('the same run-time exports as Capgo 8.51.23, plus the documented extras', () => {
  assert.equal(require('@capgo/capacitor-updater/package.json').version, '8.51.23');
  assert.deepEqual(Object.keys(ours).filter((k) => !EXTRA.includes(k)).sort(), Object.keys(capgo).sort());
});

test('every exported value but the plugin proxy equals Capgo\'s, reverse mappings included', () => {
  for (const name of Object.keys(capgo)) {
    if (name === 'CapacitorUpdater') continue;
    assert.deepEqual(ours[name], capgo[name], name);
  }
  assert.equal(ours.AppUpdateAvailability[2], 'UPDATE_AVAILABLE');
  assert.equal(ours.FlexibleUpdateInstallStatus[11], 'DOWNLOADED');
  assert.equal(ours.AppUpdateResultCode.INFO_MISSING, 5);
});
