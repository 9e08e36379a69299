#!/usr/bin/env bash
# Prints, one a line, each installed package among apache2-bin's dependencies (and
# openssl) whose installed version is older than apt's candidate. Prints nothing
# when apache2-bin is not installed or everything is current. Reads only dpkg's
# status and apt's cached lists: no network, well under a second.
set -euo pipefail
deps=$(dpkg-query -W -f='${Depends}, ${Pre-Depends}' apache2-bin 2>/dev/null) || exit 0
mapfile -t pkgs < <(
  { tr ',|' '\n\n' <<<"$deps" | sed -E 's/\(.*\)//; s/:any//; s/[[:space:]]//g'; echo openssl; } |
    grep -v '^$' | sort -u
)
# One apt-cache call for all of them: "Package:" lines, then Installed/Candidate.
apt-cache policy "${pkgs[@]}" 2>/dev/null | awk '
  /^[^ ].*:$/ { pkg = substr($0, 1, length($0) - 1); next }
  $1 == "Installed:" { inst[pkg] = $2 }
  $1 == "Candidate:" { cand[pkg] = $2 }
  END { for (p in inst) print p, inst[p], cand[p] }' |
  while read -r pkg inst cand; do
    [ "$inst" = "(none)" ] && continue
    [ -z "$cand" ] || [ "$cand" = "(none)" ] && continue
    if dpkg --compare-versions "$inst" lt "$cand"; then echo "$pkg"; fi
  done | sort
