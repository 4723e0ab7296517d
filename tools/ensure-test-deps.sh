#!/usr/bin/env bash
# The report test drives Debian's Chromium (playwright's own browser download
# cannot work offline). Install it when missing and we may; otherwise say how.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "cellgan tests: installing Debian's chromium for the report test…" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "cellgan tests: the report test needs Chromium at /usr/bin/chromium: run 'sudo apt-get install -y chromium'" >&2
exit 1
