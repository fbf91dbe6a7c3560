/// <reference types="@capacitor/cli" />
/**
 * The JS API of the liveupdate Capacitor plugin: the same methods, events, argument and result
 * shapes as `@capgo/capacitor-updater` 8.51.23 (so apps switch without code changes), written for
 * this project from its device specification. Every method is answered by the Rust engine.
 */
import type { PluginListenerHandle } from '@capacitor/core';

declare module '@capacitor/cli' {
  interface PluginsConfig {
    /** `plugins.CapacitorUpdater` in capacitor.config: Capgo's keys plus this project's own. */
    CapacitorUpdater?: {
      /** ms the new bundle has to call notifyAppReady before it is rolled back (≥ 1000). Default 10000. */
      appReadyTimeout?: number;
      /** Seconds a request may take. Default 20. */
      responseTimeout?: number;
      /** Delete a bundle's files after it was rolled back. Default true. */
      autoDeleteFailed?: boolean;
      /** Delete the previous bundle once a new one is confirmed. Default true. */
      autoDeletePrevious?: boolean;
      /** When updates are checked for and applied. Default true (= 'atBackground'). */
      autoUpdate?: boolean | 'off' | 'atBackground' | 'atInstall' | 'onLaunch' | 'always' | 'onlyDownload';
      /** Back to the builtin bundle when the native app version changes. Default true. */
      resetWhenUpdate?: boolean;
      /** The update server (Capgo protocol). */
      updateUrl?: string;
      /** The channel endpoint. */
      channelUrl?: string;
      /** The stats endpoint ('' disables stats). */
      statsUrl?: string;
      /** RSA public key (PEM) the bundles are signed and encrypted for. */
      publicKey?: string;
      /** The builtin bundle's version name (default: the native version). */
      version?: string;
      /** Legacy: apply downloaded updates at once. */
      directUpdate?: boolean | 'atInstall' | 'always' | 'onLaunch';
      /** Hide the splash screen when the app is ready; show it before a direct update. */
      autoSplashscreen?: boolean;
      /** Show a spinner on the splash screen. */
      autoSplashscreenLoader?: boolean;
      /** ms before the splash screen is hidden anyway. */
      autoSplashscreenTimeout?: number;
      /** Seconds between periodic checks (0 = off, else ≥ 600). */
      periodCheckDelay?: number;
      /** CLI-only keys (not read by the device). */
      localS3?: boolean;
      localHost?: string;
      localWebHost?: string;
      localSupa?: string;
      localSupaAnon?: string;
      localApi?: string;
      localApiFiles?: string;
      /** Allow setUpdateUrl, setStatsUrl, setChannelUrl. */
      allowModifyUrl?: boolean;
      /** Allow setAppId. */
      allowModifyAppId?: boolean;
      /** Allow setBundleError. */
      allowManualBundleError?: boolean;
      /** Allow preview sessions and getLatest({appId}). */
      allowPreview?: boolean;
      /** Keep setCustomId across restarts. */
      persistCustomId?: boolean;
      /** Keep set*Url values across restarts. */
      persistModifyUrl?: boolean;
      /** Allow setChannel. Default true. */
      allowSetDefaultChannel?: boolean;
      /** Keep a channel set on the device across a reinstall. Default true. */
      persistDefaultChannelOnReinstall?: boolean;
      /** Channel used when none was set on the device. */
      defaultChannel?: string;
      /** Overrides the app id. */
      appId?: string;
      /** Keep the URL path across plugin reloads. */
      keepUrlPathAfterReload?: boolean;
      /** Do not forward native logs to the JS console. */
      disableJSLogging?: boolean;
      /** Log to logcat / os_log. Default true. */
      osLogging?: boolean;
      /** Debug shake menu. */
      shakeMenu?: boolean;
      shakeMenuGesture?: ShakeMenuGesture;
      allowShakeChannelSelector?: boolean;
      /** liveupdate: more trusted public keys, for key rotation. */
      publicKeys?: string[];
      /** liveupdate: bundles kept on disk besides builtin. Default 5. */
      maxStoredBundles?: number;
      /** liveupdate: most bytes a bundle may extract to. Default 512 MiB. */
      maxBundleBytes?: number;
      /** liveupdate: most files in a bundle. Default 50,000. */
      maxBundleFiles?: number;
      /** liveupdate: most bytes one download may transfer. Default 1 GiB. */
      maxDownloadBytes?: number;
      /** liveupdate: attempts per download. Default 5. */
      downloadAttempts?: number;
      /** liveupdate: seconds one whole update may take. Default 300. */
      updateTimeout?: number;
      /** liveupdate: 'refuse' refuses bundles older than one that already ran. Default 'allow'. */
      downgradePolicy?: 'allow' | 'refuse';
      /**
       * `'static'`: `updateUrl` is the base URL (ending in `/`) of a signed static site made by
       * `liveupdate publish` (`channels/<channel>.json` + `.sig` on any web server, CDN or bucket);
       * channels are kept on the device and stats go only to an explicit `statsUrl`.
       * Default `'capgo'`: a Capgo-protocol update server.
       */
      updateProtocol?: 'capgo' | 'static';
    };
  }
}

/** Lifecycle status of a bundle. */
export type BundleStatus = 'success' | 'error' | 'pending' | 'downloading' | 'deleted' | 'deleting';
/** What a delay condition waits for. */
export type DelayUntilNext = 'background' | 'kill' | 'nativeVersion' | 'date';
/** How the update server classified its answer. */
export type UpdateResponseKind = 'up_to_date' | 'blocked' | 'failed';
/** The gesture that opens the debug menu. */
export type ShakeMenuGesture = 'shake' | 'threeFingerPinch';

/** A bundle as the plugin reports it. */
export interface BundleInfo {
  /** 10 random characters, or 'builtin'. */
  id: string;
  /** The version name it was published under. */
  version: string;
  /** When it was installed (ISO-8601). */
  downloaded: string;
  /** SHA-256 of the plain zip ('' for builtin). */
  checksum: string;
  status: BundleStatus;
}

export interface AppReadyResult { bundle: BundleInfo }
export interface UpdateUrl { url: string }
export interface StatsUrl { url: string }
export interface ChannelUrl { url: string }
export interface BundleId { id: string }
export interface BundleListResult { bundles: BundleInfo[] }
export interface ListOptions { raw?: boolean }
export interface ResetOptions { toLastSuccessful?: boolean; usePendingBundle?: boolean }
export interface CurrentBundleResult { bundle: BundleInfo; native: string }
export interface DelayCondition { kind: DelayUntilNext; value?: string }
export interface MultiDelayConditions { delayConditions: DelayCondition[] }
export interface BuiltinVersion { version: string }
export interface DeviceId { deviceId: string }
export interface PluginVersion { version: string }
export interface AutoUpdateEnabled { enabled: boolean }
export interface AutoUpdateAvailable { available: boolean }
export interface TriggerUpdateCheckResult { status: 'queued' | 'already_running' | 'unavailable'; queued: boolean }
export interface SetCustomIdOptions { customId: string }
export interface GetAppIdRes { appId: string }
export interface SetAppIdOptions { appId: string }
export interface SetShakeMenuOptions { enabled: boolean }
export interface ShakeMenuEnabled { enabled: boolean; gesture?: ShakeMenuGesture }
export interface SetShakeChannelSelectorOptions { enabled: boolean }
export interface ShakeChannelSelectorEnabled { enabled: boolean }

/** One file of a delta (manifest) release. */
export interface ManifestEntry {
  file_name: string | null;
  file_hash: string | null;
  download_url: string | null;
}

/** What `download` needs: the bundle's URL and version, and its session key and checksum. */
export interface DownloadOptions {
  url: string;
  version: string;
  sessionKey?: string;
  checksum?: string;
  manifest?: ManifestEntry[];
}

export interface GetMissingBundleFilesOptions { manifest?: ManifestEntry[]; version?: string; sessionKey?: string }
export interface GetMissingBundleFilesResult { missing: ManifestEntry[]; total: number; missingCount: number; reusableCount: number }
export interface GetBundleDownloadSizeOptions { manifest?: ManifestEntry[]; version?: string }
export interface BundleFileSize {
  file_name: string | null;
  file_hash: string | null;
  download_url: string | null;
  size?: number;
  error?: string;
}
export interface GetBundleDownloadSizeResult { totalSize: number; knownFiles: number; unknownFiles: number; files: BundleFileSize[] }

/** The update server's answer, as `getLatest` resolves it. */
export interface LatestVersion {
  version: string;
  checksum?: string;
  breaking?: boolean;
  major?: boolean;
  message?: string;
  sessionKey?: string;
  error?: string;
  kind?: UpdateResponseKind;
  statusCode?: number;
  old?: string;
  url?: string;
  manifest?: ManifestEntry[];
  missing?: GetMissingBundleFilesResult;
  downloadSize?: GetBundleDownloadSizeResult;
  link?: string;
  comment?: string;
}

export interface GetLatestOptions { channel?: string; appId?: string; includeBundleSize?: boolean }
export interface SetChannelOptions { channel: string; triggerAutoUpdate?: boolean }
export interface UnsetChannelOptions { triggerAutoUpdate?: boolean }
export interface ChannelRes { status: string; error?: string; message?: string }
export interface GetChannelRes { channel?: string; error?: string; message?: string; status?: string; allowSet?: boolean }
export interface ChannelInfo { id: number; name: string; public: boolean; allow_self_set: boolean }
export interface ListChannelsResult { channels: ChannelInfo[] }

export interface StartPreviewSessionOptions { appId?: string; payloadUrl?: string; name?: string; source?: string }
export interface PreviewInfo {
  id: string;
  bundle: BundleInfo;
  name?: string;
  source?: string;
  appId?: string;
  payloadUrl?: string;
  createdAt: string;
  updatedAt: string;
  lastUsedAt: string;
  isActive: boolean;
}
export interface PreviewListResult { previews: PreviewInfo[]; current?: PreviewInfo; currentBundle: BundleInfo; liveBundle?: BundleInfo }
export interface DeletePreviewResult { removed: boolean; deleted: boolean }
export interface PreviewUpdateResult { preview: PreviewInfo; latestVersion?: string; upToDate: boolean; updated: boolean; bundle?: BundleInfo }

/** Store update availability (Play / App Store). A numeric enum with reverse mappings, as Capgo's. */
export enum AppUpdateAvailability {
  UNKNOWN = 0,
  UPDATE_NOT_AVAILABLE = 1,
  UPDATE_AVAILABLE = 2,
  UPDATE_IN_PROGRESS = 3,
}

/** Play flexible-update install states. A numeric enum with reverse mappings, as Capgo's. */
export enum FlexibleUpdateInstallStatus {
  UNKNOWN = 0,
  PENDING = 1,
  DOWNLOADING = 2,
  INSTALLING = 3,
  INSTALLED = 4,
  FAILED = 5,
  CANCELED = 6,
  DOWNLOADED = 11,
}

/** Outcome codes of a store update flow. A numeric enum with reverse mappings, as Capgo's. */
export enum AppUpdateResultCode {
  OK = 0,
  CANCELED = 1,
  FAILED = 2,
  NOT_AVAILABLE = 3,
  NOT_ALLOWED = 4,
  INFO_MISSING = 5,
}

export interface GetAppUpdateInfoOptions { country?: string }
export interface AppUpdateInfo {
  currentVersionName: string;
  availableVersionName?: string;
  currentVersionCode: string;
  availableVersionCode?: string;
  availableVersionReleaseDate?: string;
  updateAvailability: AppUpdateAvailability;
  updatePriority?: number;
  immediateUpdateAllowed?: boolean;
  flexibleUpdateAllowed?: boolean;
  clientVersionStalenessDays?: number;
  installStatus?: FlexibleUpdateInstallStatus;
  minimumOsVersion?: string;
}
export interface OpenAppStoreOptions { packageName?: string; appId?: string }
export interface FlexibleUpdateState { installStatus: FlexibleUpdateInstallStatus; bytesDownloaded?: number; totalBytesToDownload?: number }
export interface AppUpdateResult { code: AppUpdateResultCode }

/** Event payloads. */
export interface DownloadEvent { percent: number; bundle: BundleInfo }
export interface NoNeedEvent { bundle: BundleInfo }
export interface UpdateAvailableEvent { bundle: BundleInfo }
export interface DownloadCompleteEvent { bundle: BundleInfo }
export interface MajorAvailableEvent { version: string }
export type BreakingAvailableEvent = MajorAvailableEvent;
export interface DownloadFailedEvent { version: string }
export interface UpdateFailedEvent { bundle: BundleInfo }
export interface SetEvent { bundle: BundleInfo }
export interface SetNextEvent { bundle: BundleInfo }
export interface AppReadyEvent { bundle: BundleInfo; status: string }
export interface ChannelPrivateEvent { channel: string; message: string }
export interface UpdateCheckResultEvent {
  kind: UpdateResponseKind;
  error?: string;
  message?: string;
  statusCode?: number;
  version?: string;
  bundle: BundleInfo;
}

/** The plugin, registered as `CapacitorUpdater`. */
export interface CapacitorUpdaterPlugin {
  /** The web app started fine: the current bundle becomes `success` (call it early, once per page load). */
  notifyAppReady(): Promise<AppReadyResult>;
  /** Points update checks at another server (needs `allowModifyUrl`). */
  setUpdateUrl(options: UpdateUrl): Promise<void>;
  /** Points stats at another server, '' disables them (needs `allowModifyUrl`). */
  setStatsUrl(options: StatsUrl): Promise<void>;
  /** Points channel calls at another server (needs `allowModifyUrl`). */
  setChannelUrl(options: ChannelUrl): Promise<void>;
  /** Downloads, verifies and installs a bundle (status `pending`); does not activate it. */
  download(options: DownloadOptions): Promise<BundleInfo>;
  /** Queues a bundle for the next background (or reload). */
  next(options: BundleId): Promise<BundleInfo>;
  /** Activates a bundle now: the web view reloads onto it. */
  set(options: BundleId): Promise<void>;
  startPreviewSession(options?: StartPreviewSessionOptions): Promise<void>;
  listPreviews(): Promise<PreviewListResult>;
  setPreview(options: BundleId): Promise<void>;
  resetPreview(): Promise<void>;
  deletePreview(options: BundleId): Promise<DeletePreviewResult>;
  checkPreviewUpdate(options: BundleId): Promise<PreviewUpdateResult>;
  updatePreview(options: BundleId): Promise<PreviewUpdateResult>;
  /** Deletes a bundle (not the current, next or builtin one). */
  delete(options: BundleId): Promise<void>;
  /** Marks a bundle as failed (needs `allowManualBundleError`). */
  setBundleError(options: BundleId): Promise<BundleInfo>;
  /** The downloaded bundles. */
  list(options?: ListOptions): Promise<BundleListResult>;
  /** Back to builtin, or to the last confirmed (or the pending) bundle. */
  reset(options?: ResetOptions): Promise<void>;
  /** The bundle shown now and the native version. */
  current(): Promise<CurrentBundleResult>;
  /** Reloads the web view (onto the pending bundle if there is one). */
  reload(): Promise<void>;
  /** Holds the next install until every condition has passed. */
  setMultiDelay(options: MultiDelayConditions): Promise<void>;
  /** Drops every delay condition. */
  cancelDelay(): Promise<void>;
  /** Starts an update check now (auto-update must be on). */
  triggerUpdateCheck(): Promise<TriggerUpdateCheckResult>;
  /** Asks the update server what it offers this device. */
  getLatest(options?: GetLatestOptions): Promise<LatestVersion>;
  getMissingBundleFiles(options: GetMissingBundleFilesOptions): Promise<GetMissingBundleFilesResult>;
  getBundleDownloadSize(options: GetBundleDownloadSizeOptions): Promise<GetBundleDownloadSizeResult>;
  /** Puts this device on a channel. */
  setChannel(options: SetChannelOptions): Promise<ChannelRes>;
  /** Forgets the device's channel (back to the default one). */
  unsetChannel(options: UnsetChannelOptions): Promise<void>;
  /** The device's channel as the server sees it. */
  getChannel(): Promise<GetChannelRes>;
  /** The channels this device may choose. */
  listChannels(): Promise<ListChannelsResult>;
  /** Sets the custom id sent with every request ('' clears it). */
  setCustomId(options: SetCustomIdOptions): Promise<void>;
  getBuiltinVersion(): Promise<BuiltinVersion>;
  getDeviceId(): Promise<DeviceId>;
  getPluginVersion(): Promise<PluginVersion>;
  isAutoUpdateEnabled(): Promise<AutoUpdateEnabled>;
  removeAllListeners(): Promise<void>;
  addListener(eventName: 'download', listenerFunc: (state: DownloadEvent) => void): Promise<PluginListenerHandle>;
  addListener(eventName: 'noNeedUpdate', listenerFunc: (state: NoNeedEvent) => void): Promise<PluginListenerHandle>;
  addListener(
    eventName: 'updateCheckResult',
    listenerFunc: (state: UpdateCheckResultEvent) => void,
  ): Promise<PluginListenerHandle>;
  addListener(eventName: 'updateAvailable', listenerFunc: (state: UpdateAvailableEvent) => void): Promise<PluginListenerHandle>;
  addListener(eventName: 'downloadComplete', listenerFunc: (state: DownloadCompleteEvent) => void): Promise<PluginListenerHandle>;
  addListener(
    eventName: 'breakingAvailable',
    listenerFunc: (state: BreakingAvailableEvent) => void,
  ): Promise<PluginListenerHandle>;
  addListener(eventName: 'majorAvailable', listenerFunc: (state: MajorAvailableEvent) => void): Promise<PluginListenerHandle>;
  addListener(eventName: 'updateFailed', listenerFunc: (state: UpdateFailedEvent) => void): Promise<PluginListenerHandle>;
  addListener(eventName: 'set', listenerFunc: (state: SetEvent) => void): Promise<PluginListenerHandle>;
  addListener(eventName: 'setNext', listenerFunc: (state: SetNextEvent) => void): Promise<PluginListenerHandle>;
  addListener(eventName: 'downloadFailed', listenerFunc: (state: DownloadFailedEvent) => void): Promise<PluginListenerHandle>;
  addListener(eventName: 'appReloaded', listenerFunc: () => void): Promise<PluginListenerHandle>;
  addListener(eventName: 'appReady', listenerFunc: (state: AppReadyEvent) => void): Promise<PluginListenerHandle>;
  addListener(eventName: 'channelPrivate', listenerFunc: (state: ChannelPrivateEvent) => void): Promise<PluginListenerHandle>;
  addListener(
    eventName: 'onFlexibleUpdateStateChange',
    listenerFunc: (state: FlexibleUpdateState) => void,
  ): Promise<PluginListenerHandle>;
  isAutoUpdateAvailable(): Promise<AutoUpdateAvailable>;
  getNextBundle(): Promise<BundleInfo | null>;
  /** The bundle rolled back last, once (then null). */
  getFailedUpdate(): Promise<UpdateFailedEvent | null>;
  setShakeMenu(options: SetShakeMenuOptions): Promise<void>;
  isShakeMenuEnabled(): Promise<ShakeMenuEnabled>;
  setShakeChannelSelector(options: SetShakeChannelSelectorOptions): Promise<void>;
  isShakeChannelSelectorEnabled(): Promise<ShakeChannelSelectorEnabled>;
  getAppId(): Promise<GetAppIdRes>;
  /** Changes the app id (needs `allowModifyAppId`). */
  setAppId(options: SetAppIdOptions): Promise<void>;
  getAppUpdateInfo(options?: GetAppUpdateInfoOptions): Promise<AppUpdateInfo>;
  openAppStore(options?: OpenAppStoreOptions): Promise<void>;
  performImmediateUpdate(): Promise<AppUpdateResult>;
  startFlexibleUpdate(): Promise<AppUpdateResult>;
  completeFlexibleUpdate(): Promise<void>;
}
