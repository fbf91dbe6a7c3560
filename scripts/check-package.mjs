// Run by `npm pack` / `npm publish` (prepack, after the build): refuses to pack a package without
// its built JavaScript, and says loudly when the native libraries are missing — fatal when
// LIVEUPDATE_REQUIRE_NATIVE=1 (the release workflow), a warning otherwise (local packs on a
// machine without the Android NDK or Xcode).
import { existsSync } from 'node:fs';

const js = ['dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/esm/definitions.d.ts', 'dist/plugin.cjs.js', 'dist/plugin.js'];
const missingJs = js.filter((f) => !existsSync(f));
if (missingJs.length > 0) {
  console.error(`liveupdate: refusing to pack without the built JavaScript (${missingJs.join(', ')}): run npm run build`);
  process.exit(1);
}
const native = [
  ...['arm64-v8a', 'armeabi-v7a', 'x86_64', 'x86'].map((abi) => `android/src/main/jniLibs/${abi}/libliveupdate.so`),
  'ios/Frameworks/LiveUpdateFFI.xcframework/Info.plist',
];
const missingNative = native.filter((f) => !existsSync(f));
if (missingNative.length > 0) {
  const msg =
    `liveupdate: this package has no native libraries for ${missingNative.join(', ')}; ` +
    'an app built from it fails at build time until they are added ' +
    '(bash scripts/build-android.sh, bash scripts/build-ios.sh)';
  if (process.env.LIVEUPDATE_REQUIRE_NATIVE === '1') {
    console.error(msg);
    process.exit(1);
  }
  console.warn(`WARNING ${msg}`);
}
