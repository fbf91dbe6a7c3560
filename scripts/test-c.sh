#!/usr/bin/env bash
# C binding test: compiles tests/bindings/c/test_liveupdate.c with gcc against bindings/c/liveupdate.h
# and the real cdylib, and runs it against the dev registry on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --locked -q
work=$(mktemp -d)
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
. scripts/start-registry.sh
mkdir -p "$work/www" && echo '<html>builtin</html>' > "$work/www/index.html"
# The header on its own, first in a translation unit: C99 (pedantic) and C++.
printf '#include "liveupdate.h"\nint main(void) { LiveUpdate *h = NULL; size_t n = 0; (void)h; (void)n; return LIVEUPDATE_OK; }\n' \
  > "$work/header_only.c"
gcc -std=c99 -pedantic -Wall -Wextra -Werror -I bindings/c -c "$work/header_only.c" -o "$work/h_c.o"
g++ -std=c++11 -pedantic -Wall -Wextra -Werror -I bindings/c -x c++ -c "$work/header_only.c" -o "$work/h_cpp.o"
echo "ok   header compiles on its own (C99, C++11)"
# docs/bindings.md's link recipes, as written there: shared with an rpath (no LD_LIBRARY_PATH),
# and static with the system libraries Rust's std needs.
printf '#include "liveupdate.h"\n#include <stdio.h>\nint main(void) { printf("%%s\\n", liveupdate_version()); return 0; }\n' > "$work/version.c"
mkdir -p "$work/app" && cp target/debug/libliveupdate.so "$work/app/"
gcc -std=c99 -I bindings/c "$work/version.c" -L "$work/app" -lliveupdate -Wl,-rpath,'$ORIGIN' -o "$work/app/version_shared"
gcc -std=c99 -I bindings/c "$work/version.c" target/debug/libliveupdate.a -lpthread -ldl -lm -o "$work/version_static"
v_shared=$(env -u LD_LIBRARY_PATH "$work/app/version_shared")
v_static=$(env -u LD_LIBRARY_PATH "$work/version_static")
[ -n "$v_shared" ] && [ "$v_shared" = "$v_static" ] || { echo "FAIL link recipes: '$v_shared' '$v_static'"; echo "0 passed, 1 failed"; exit 1; }
if ldd "$work/version_static" | grep -q liveupdate; then echo "FAIL the static build still needs the shared library"; echo "0 passed, 1 failed"; exit 1; fi
echo "ok   link recipes: shared with rpath \$ORIGIN and static (.a + -lpthread -ldl -lm) both run ($v_static)"
gcc -std=c11 -Wall -Wextra -Werror -I bindings/c tests/bindings/c/test_liveupdate.c \
  -L target/debug -lliveupdate -lpthread -o "$work/test_liveupdate"
pem_json=$(jq -Rs . < tests/fixtures/capgo/set-a-small/capgo_key_v2.pub)
LD_LIBRARY_PATH="$PWD/target/debug" "$work/test_liveupdate" "$REGISTRY_URL" "$work" "$pem_json"
