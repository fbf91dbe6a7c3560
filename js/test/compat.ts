/**
 * Drop-in check against the real `@capgo/capacitor-updater` 8.51.23 declarations (installed from npm):
 * the same method names; every method's parameters and result assignable both ways; every event
 * accepted at a call site with the other package's payload type, both ways; every exported type
 * mutually assignable. Compiled with `tsc --strict`; a mismatch is a compile error.
 */
import type { PluginListenerHandle } from '@capacitor/core';
import type * as C from '@capgo/capacitor-updater';
import type * as O from '../../dist/esm/definitions';

type Assert<T extends true> = T;
type Mutual<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type AllTrue<T> = T[keyof T] extends true ? true : false;

type Ours = O.CapacitorUpdaterPlugin;
type Capgo = C.CapacitorUpdaterPlugin;

// The same 51 method names (plus addListener), nothing missing, nothing extra.
export type _names = Assert<Mutual<keyof Ours, keyof Capgo>>;

type Method = Exclude<keyof Capgo, 'addListener'>;
type Fn = (...args: never[]) => unknown;
type Params<T> = T extends (...args: infer P) => unknown ? P : never;
type Result<T> = T extends (...args: never[]) => infer R ? Awaited<R> : never;
type PerMethod = {
  [K in Method]: Ours[K] extends Fn
    ? Mutual<Params<Ours[K]>, Params<Capgo[K]>> extends true
      ? Mutual<Result<Ours[K]>, Result<Capgo[K]>>
      : false
    : false;
};
export type _methods = Assert<AllTrue<PerMethod>>;

// Every exported type, both ways.
export type _types = Assert<
  AllTrue<{
    a: Mutual<O.BundleInfo, C.BundleInfo>;
    b: Mutual<O.BundleStatus, C.BundleStatus>;
    c: Mutual<O.DelayUntilNext, C.DelayUntilNext>;
    d: Mutual<O.UpdateResponseKind, C.UpdateResponseKind>;
    e: Mutual<O.LatestVersion, C.LatestVersion>;
    f: Mutual<O.DownloadOptions, C.DownloadOptions>;
    g: Mutual<O.ManifestEntry, C.ManifestEntry>;
    h: Mutual<O.DelayCondition, C.DelayCondition>;
    i: Mutual<O.MultiDelayConditions, C.MultiDelayConditions>;
    j: Mutual<O.ChannelInfo, C.ChannelInfo>;
    k: Mutual<O.GetChannelRes, C.GetChannelRes>;
    l: Mutual<O.ChannelRes, C.ChannelRes>;
    m: Mutual<O.AppUpdateInfo, C.AppUpdateInfo>;
    n: Mutual<O.FlexibleUpdateState, C.FlexibleUpdateState>;
    o: Mutual<O.AppUpdateResult, C.AppUpdateResult>;
    p: Mutual<O.PreviewInfo, C.PreviewInfo>;
    q: Mutual<O.PreviewListResult, C.PreviewListResult>;
    r: Mutual<O.GetBundleDownloadSizeResult, C.GetBundleDownloadSizeResult>;
    s: Mutual<O.GetMissingBundleFilesResult, C.GetMissingBundleFilesResult>;
    t: Mutual<O.ShakeMenuGesture, C.ShakeMenuGesture>;
    u: Mutual<O.TriggerUpdateCheckResult, C.TriggerUpdateCheckResult>;
    v: Mutual<O.UpdateCheckResultEvent, C.UpdateCheckResultEvent>;
    w: Mutual<O.AppReadyEvent, C.AppReadyEvent>;
    x: Mutual<O.ChannelPrivateEvent, C.ChannelPrivateEvent>;
    y: Mutual<O.DownloadEvent, C.DownloadEvent>;
    z: Mutual<O.UpdateFailedEvent, C.UpdateFailedEvent>;
    // The store enums: Capgo's numeric enums and our `as const` objects carry the same numbers.
    ea: Mutual<O.AppUpdateAvailability, C.AppUpdateAvailability>;
    eb: Mutual<O.FlexibleUpdateInstallStatus, C.FlexibleUpdateInstallStatus>;
    ec: Mutual<O.AppUpdateResultCode, C.AppUpdateResultCode>;
  }>
>;

// Every event: the payload each package declares for it is the same type, both ways. The listener's
// parameter takes the overload's payload type by contextual typing, so a mismatch fails to compile.
declare const ours: Ours;
declare const capgo: Capgo;
type H = Promise<PluginListenerHandle>;
export const events: H[] = [
  ours.addListener('download', (s) => void (true satisfies Mutual<typeof s, C.DownloadEvent>)),
  capgo.addListener('download', (s) => void (true satisfies Mutual<typeof s, O.DownloadEvent>)),
  ours.addListener('noNeedUpdate', (s) => void (true satisfies Mutual<typeof s, C.NoNeedEvent>)),
  capgo.addListener('noNeedUpdate', (s) => void (true satisfies Mutual<typeof s, O.NoNeedEvent>)),
  ours.addListener('updateCheckResult', (s) => void (true satisfies Mutual<typeof s, C.UpdateCheckResultEvent>)),
  capgo.addListener('updateCheckResult', (s) => void (true satisfies Mutual<typeof s, O.UpdateCheckResultEvent>)),
  ours.addListener('updateAvailable', (s) => void (true satisfies Mutual<typeof s, C.UpdateAvailableEvent>)),
  capgo.addListener('updateAvailable', (s) => void (true satisfies Mutual<typeof s, O.UpdateAvailableEvent>)),
  ours.addListener('downloadComplete', (s) => void (true satisfies Mutual<typeof s, C.DownloadCompleteEvent>)),
  capgo.addListener('downloadComplete', (s) => void (true satisfies Mutual<typeof s, O.DownloadCompleteEvent>)),
  ours.addListener('breakingAvailable', (s) => void (true satisfies Mutual<typeof s, C.BreakingAvailableEvent>)),
  capgo.addListener('breakingAvailable', (s) => void (true satisfies Mutual<typeof s, O.BreakingAvailableEvent>)),
  ours.addListener('majorAvailable', (s) => void (true satisfies Mutual<typeof s, C.MajorAvailableEvent>)),
  capgo.addListener('majorAvailable', (s) => void (true satisfies Mutual<typeof s, O.MajorAvailableEvent>)),
  ours.addListener('updateFailed', (s) => void (true satisfies Mutual<typeof s, C.UpdateFailedEvent>)),
  capgo.addListener('updateFailed', (s) => void (true satisfies Mutual<typeof s, O.UpdateFailedEvent>)),
  ours.addListener('set', (s) => void (true satisfies Mutual<typeof s, C.SetEvent>)),
  capgo.addListener('set', (s) => void (true satisfies Mutual<typeof s, O.SetEvent>)),
  ours.addListener('setNext', (s) => void (true satisfies Mutual<typeof s, C.SetNextEvent>)),
  capgo.addListener('setNext', (s) => void (true satisfies Mutual<typeof s, O.SetNextEvent>)),
  ours.addListener('downloadFailed', (s) => void (true satisfies Mutual<typeof s, C.DownloadFailedEvent>)),
  capgo.addListener('downloadFailed', (s) => void (true satisfies Mutual<typeof s, O.DownloadFailedEvent>)),
  ours.addListener('appReady', (s) => void (true satisfies Mutual<typeof s, C.AppReadyEvent>)),
  capgo.addListener('appReady', (s) => void (true satisfies Mutual<typeof s, O.AppReadyEvent>)),
  ours.addListener('channelPrivate', (s) => void (true satisfies Mutual<typeof s, C.ChannelPrivateEvent>)),
  capgo.addListener('channelPrivate', (s) => void (true satisfies Mutual<typeof s, O.ChannelPrivateEvent>)),
  ours.addListener('onFlexibleUpdateStateChange', (s) => void (true satisfies Mutual<typeof s, C.FlexibleUpdateState>)),
  capgo.addListener('onFlexibleUpdateStateChange', (s) => void (true satisfies Mutual<typeof s, O.FlexibleUpdateState>)),
  ours.addListener('appReloaded', () => undefined),
  capgo.addListener('appReloaded', () => undefined),
];

// An app written against Capgo's types compiles unchanged against ours.
export async function appCode(p: Ours): Promise<C.BundleInfo> {
  const latest: C.LatestVersion = await p.getLatest();
  const b = await p.download({ url: latest.url ?? '', version: latest.version, sessionKey: latest.sessionKey, checksum: latest.checksum });
  await p.next({ id: b.id });
  const failed: C.UpdateFailedEvent | null = await p.getFailedUpdate();
  await p.setMultiDelay({ delayConditions: [{ kind: 'background' }, { kind: 'date', value: '2030-01-01T00:00:00Z' }] });
  return failed?.bundle ?? (await p.notifyAppReady()).bundle;
}
