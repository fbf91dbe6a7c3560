require 'json'

package = JSON.parse(File.read(File.join(__dir__, 'package.json')))

# The engine ships in the npm package (packed by the release workflow); say what to run without it.
unless File.exist?(File.join(__dir__, 'ios/Frameworks/LiveUpdateFFI.xcframework/Info.plist'))
  raise 'liveupdate: ios/Frameworks/LiveUpdateFFI.xcframework is missing. Install the released npm tarball ' \
        '(it carries it), or build it in the package folder on macOS with: bash scripts/build-ios.sh'
end

# The Capacitor CLI names the pod after the npm package: CapgoCapacitorUpdater.
Pod::Spec.new do |s|
  s.name = 'CapgoCapacitorUpdater'
  s.version = package['version']
  s.summary = package['description']
  s.license = package['license']
  s.homepage = 'https://github.com/liveupdate/liveupdate'
  s.author = 'liveupdate'
  s.source = { :git => 'https://github.com/liveupdate/liveupdate.git', :tag => s.version.to_s }
  s.source_files = 'ios/Sources/LiveUpdatePlugin/**/*.swift'
  s.vendored_frameworks = 'ios/Frameworks/LiveUpdateFFI.xcframework'
  s.ios.deployment_target = '15.0'
  s.dependency 'Capacitor'
  s.swift_version = '5.9'
end
