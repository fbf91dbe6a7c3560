/**
 * Registers the `CapacitorUpdater` plugin. The native shells inject the launch token of each page
 * load as `window.__liveupdate = { launchId }` before the page's scripts run; it is read once, when
 * this module is evaluated, so it always names the page this code belongs to. `notifyAppReady()`
 * passes it to the engine without the app doing anything: a page that is no longer current can
 * never confirm a newer bundle. The public types stay exactly Capgo's.
 */
import { registerPlugin } from '@capacitor/core';

import type { AppReadyResult, CapacitorUpdaterPlugin } from './definitions';

/** The launch token injected for this page, if any. */
export function readLaunchToken(scope: unknown = globalThis): string | undefined {
  const holder = (scope as { __liveupdate?: { launchId?: unknown } } | undefined)?.__liveupdate;
  const id = holder?.launchId;
  return typeof id === 'string' && id.length > 0 ? id : undefined;
}

const launchId = readLaunchToken();

const registered = registerPlugin<CapacitorUpdaterPlugin>('CapacitorUpdater', {
  web: () => import('./web').then((m) => new m.CapacitorUpdaterWeb()),
});

type NotifyWithToken = (options: { launchId?: string }) => Promise<AppReadyResult>;

/** The plugin, with `notifyAppReady` bound to this page's launch token. */
const CapacitorUpdater: CapacitorUpdaterPlugin = new Proxy(registered, {
  get(target, prop, receiver) {
    if (prop === 'notifyAppReady') {
      const notify = Reflect.get(target, prop, receiver) as NotifyWithToken;
      return () => notify(launchId ? { launchId } : {});
    }
    return Reflect.get(target, prop, receiver);
  },
});

export * from './definitions';
export { CapacitorUpdater };
