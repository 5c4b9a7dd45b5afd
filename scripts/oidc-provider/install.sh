#!/usr/bin/env bash
# Installs the test OpenID provider's npm packages (exactly package-lock.json)
# into scripts/oidc-provider/node_modules, unless what is there already matches
# the lock file. Safe to run again. Fails loudly without node or npm.
set -euo pipefail
cd "$(dirname "$0")"

for tool in node npm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "oidc-provider/install.sh: $tool is missing: install Node.js (with npm) to run the OpenID tests" >&2
    exit 1
  fi
done

# npm keeps what it installed in node_modules/.package-lock.json: the same
# packages as package-lock.json (less the root entry) when nothing is stale;
# each package's folder must also still be there.
fresh=$(node -e '
  const fs = require("node:fs");
  const read = (f) => { try { return JSON.parse(fs.readFileSync(f, "utf8")).packages ?? {}; } catch { return null; } };
  const want = read("package-lock.json"), have = read("node_modules/.package-lock.json");
  if (!want) { console.error("package-lock.json is unreadable"); process.exit(2); }
  const same = have !== null && Object.entries(want).every(([path, p]) => path === "" ||
    (have[path]?.version === p.version && have[path]?.integrity === p.integrity &&
     fs.existsSync(path + "/package.json"))) &&
    Object.keys(have).every((path) => path in want);
  console.log(same ? "yes" : "no");
')
if [ "$fresh" = yes ]; then
  exit 0
fi
echo "oidc-provider/install.sh: npm ci in $(pwd)"
npm ci --no-audit --no-fund --loglevel=error
