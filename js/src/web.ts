/**
 * The web fallback (a browser, `ionic serve`): there is no native engine, so every method warns
 * and answers as if the app ran its builtin bundle forever — what Capgo's web implementation does.
 */
import { WebPlugin } from '@capacitor/core';

import type {
  AppReadyResult,
  AppUpdateInfo,
  AppUpdateResult,
  AutoUpdateAvailable,
  AutoUpdateEnabled,
  BuiltinVersion,
  BundleId,
  BundleInfo,
  BundleListResult,
  CapacitorUpdaterPlugin,
  ChannelRes,
  ChannelUrl,
  CurrentBundleResult,
  DeletePreviewResult,
  DeviceId,
  DownloadOptions,
  GetAppIdRes,
  GetAppUpdateInfoOptions,
  GetBundleDownloadSizeOptions,
  GetBundleDownloadSizeResult,
  GetChannelRes,
  GetLatestOptions,
  GetMissingBundleFilesOptions,
  GetMissingBundleFilesResult,
  LatestVersion,
  ListChannelsResult,
  ListOptions,
  MultiDelayConditions,
  OpenAppStoreOptions,
  PluginVersion,
  PreviewListResult,
  PreviewUpdateResult,
  ResetOptions,
  SetAppIdOptions,
  SetChannelOptions,
  SetCustomIdOptions,
  SetShakeChannelSelectorOptions,
  SetShakeMenuOptions,
  ShakeChannelSelectorEnabled,
  ShakeMenuEnabled,
  StartPreviewSessionOptions,
  StatsUrl,
  TriggerUpdateCheckResult,
  UnsetChannelOptions,
  UpdateFailedEvent,
  UpdateUrl,
} from './definitions';

/** The builtin bundle, as the web answers it. */
export const BUILTIN: BundleInfo = {
  id: 'builtin',
  version: 'builtin',
  downloaded: '1970-01-01T00:00:00.000Z',
  checksum: '',
  status: 'success',
};

function warn(what: string, detail?: unknown): void {
  if (detail === undefined) {
    console.warn(`liveupdate: cannot ${what} on the web`);
  } else {
    console.warn(`liveupdate: cannot ${what} on the web`, detail);
  }
}

export class CapacitorUpdaterWeb extends WebPlugin implements CapacitorUpdaterPlugin {
  /** The options of the last notifyAppReady (the launch token, for tests). */
  lastReadyOptions: unknown = undefined;

  async notifyAppReady(options?: unknown): Promise<AppReadyResult> {
    this.lastReadyOptions = options;
    return { bundle: BUILTIN };
  }
  async setUpdateUrl(options: UpdateUrl): Promise<void> {
    warn('setUpdateUrl', options);
  }
  async setStatsUrl(options: StatsUrl): Promise<void> {
    warn('setStatsUrl', options);
  }
  async setChannelUrl(options: ChannelUrl): Promise<void> {
    warn('setChannelUrl', options);
  }
  async download(options: DownloadOptions): Promise<BundleInfo> {
    warn('download a bundle', options);
    return BUILTIN;
  }
  async next(options: BundleId): Promise<BundleInfo> {
    warn('set the next bundle', options);
    return BUILTIN;
  }
  async set(options: BundleId): Promise<void> {
    warn('set the bundle', options);
  }
  async startPreviewSession(options?: StartPreviewSessionOptions): Promise<void> {
    warn('start a preview session', options);
  }
  async listPreviews(): Promise<PreviewListResult> {
    warn('list previews');
    return { previews: [], currentBundle: BUILTIN };
  }
  async setPreview(options: BundleId): Promise<void> {
    warn('set a preview', options);
  }
  async resetPreview(): Promise<void> {
    warn('reset a preview');
  }
  async deletePreview(options: BundleId): Promise<DeletePreviewResult> {
    warn('delete a preview', options);
    return { removed: false, deleted: false };
  }
  async checkPreviewUpdate(options: BundleId): Promise<PreviewUpdateResult> {
    warn('check a preview', options);
    throw this.unavailable('preview sessions are not available on the web');
  }
  async updatePreview(options: BundleId): Promise<PreviewUpdateResult> {
    warn('update a preview', options);
    throw this.unavailable('preview sessions are not available on the web');
  }
  async delete(options: BundleId): Promise<void> {
    warn('delete a bundle', options);
  }
  async setBundleError(options: BundleId): Promise<BundleInfo> {
    warn('mark a bundle as failed', options);
    return BUILTIN;
  }
  async list(options?: ListOptions): Promise<BundleListResult> {
    warn('list bundles', options);
    return { bundles: [] };
  }
  async reset(options?: ResetOptions): Promise<void> {
    warn('reset', options);
  }
  async current(): Promise<CurrentBundleResult> {
    warn('get the current bundle');
    return { bundle: BUILTIN, native: '0.0.0' };
  }
  async reload(): Promise<void> {
    warn('reload');
  }
  async setMultiDelay(options: MultiDelayConditions): Promise<void> {
    warn('delay updates', options?.delayConditions);
  }
  async cancelDelay(): Promise<void> {
    warn('cancel delays');
  }
  async triggerUpdateCheck(): Promise<TriggerUpdateCheckResult> {
    warn('check for updates');
    return { status: 'unavailable', queued: false };
  }
  async getLatest(options?: GetLatestOptions): Promise<LatestVersion> {
    warn('get the latest bundle', options);
    return { version: 'builtin', message: 'not available on the web' };
  }
  async getMissingBundleFiles(options: GetMissingBundleFilesOptions): Promise<GetMissingBundleFilesResult> {
    const files = options.manifest ?? [];
    warn('inspect missing bundle files', { manifestLength: files.length });
    return { missing: files, total: files.length, missingCount: files.length, reusableCount: 0 };
  }
  async getBundleDownloadSize(options: GetBundleDownloadSizeOptions): Promise<GetBundleDownloadSizeResult> {
    const files = options.manifest ?? [];
    warn('estimate a download size', { manifestLength: files.length });
    return {
      totalSize: 0,
      knownFiles: 0,
      unknownFiles: files.length,
      files: files.map((f) => ({ ...f, error: 'unavailable' })),
    };
  }
  async setChannel(options: SetChannelOptions): Promise<ChannelRes> {
    warn('set the channel', options);
    return { status: 'error', error: 'unavailable', message: 'not available on the web' };
  }
  async unsetChannel(options: UnsetChannelOptions): Promise<void> {
    warn('unset the channel', options);
  }
  async getChannel(): Promise<GetChannelRes> {
    warn('get the channel');
    return { status: 'error', error: 'unavailable', message: 'not available on the web' };
  }
  async listChannels(): Promise<ListChannelsResult> {
    warn('list channels');
    return { channels: [] };
  }
  async setCustomId(options: SetCustomIdOptions): Promise<void> {
    warn('set the custom id', options);
  }
  async getBuiltinVersion(): Promise<BuiltinVersion> {
    warn('get the builtin version');
    return { version: 'default' };
  }
  async getDeviceId(): Promise<DeviceId> {
    warn('get the device id');
    return { deviceId: 'default' };
  }
  async getPluginVersion(): Promise<PluginVersion> {
    warn('get the plugin version');
    return { version: 'default' };
  }
  async isAutoUpdateEnabled(): Promise<AutoUpdateEnabled> {
    warn('tell whether auto-update is on');
    return { enabled: false };
  }
  async isAutoUpdateAvailable(): Promise<AutoUpdateAvailable> {
    warn('tell whether auto-update is available');
    return { available: false };
  }
  async getNextBundle(): Promise<BundleInfo | null> {
    return null;
  }
  async getFailedUpdate(): Promise<UpdateFailedEvent | null> {
    warn('get the failed update');
    return null;
  }
  async setShakeMenu(options: SetShakeMenuOptions): Promise<void> {
    warn('set the shake menu', options);
  }
  async isShakeMenuEnabled(): Promise<ShakeMenuEnabled> {
    return { enabled: false, gesture: 'shake' };
  }
  async setShakeChannelSelector(options: SetShakeChannelSelectorOptions): Promise<void> {
    warn('set the shake channel selector', options);
  }
  async isShakeChannelSelectorEnabled(): Promise<ShakeChannelSelectorEnabled> {
    return { enabled: false };
  }
  async getAppId(): Promise<GetAppIdRes> {
    warn('get the app id');
    return { appId: 'default' };
  }
  async setAppId(options: SetAppIdOptions): Promise<void> {
    warn('set the app id', options);
  }
  async getAppUpdateInfo(options?: GetAppUpdateInfoOptions): Promise<AppUpdateInfo> {
    warn('get app-store update info', options);
    throw this.unavailable('app-store updates are not available on the web');
  }
  async openAppStore(options?: OpenAppStoreOptions): Promise<void> {
    warn('open the app store', options);
    throw this.unavailable('app-store updates are not available on the web');
  }
  async performImmediateUpdate(): Promise<AppUpdateResult> {
    throw this.unavailable('app-store updates are not available on the web');
  }
  async startFlexibleUpdate(): Promise<AppUpdateResult> {
    throw this.unavailable('app-store updates are not available on the web');
  }
  async completeFlexibleUpdate(): Promise<void> {
    throw this.unavailable('app-store updates are not available on the web');
  }
}
