# shellcheck shell=sh disable=SC2154 # variables come from sshx.Script.Set
# Verifies the pushed archive $s/archive.tar.gz against $want (exit 4 when
# it differs), extracts it in $s/root, checks that each top-level entry
# ($top, newline-separated) is there and, when $sf differs from $s, moves
# the entries other than meta to $sf/root (another filesystem). tar's
# messages are kept whole: the last one is the reason (a full disk).
sum=$(sha256sum -- "$s/archive.tar.gz" | cut -c 1-64) || die "sha256sum failed on the host"
section sha
echo "sha256=$sum"
[ "$sum" = "$want" ] || exit 4
cd -- "$s/root" || die "cannot enter $s/root"
err=$(run_bg tar --extract --gzip --file="$s/archive.tar.gz" --delay-directory-restore 2>&1) ||
  die "tar could not extract the archive: $(printf '%s\n' "$err" | grep -v -e '^$' -e 'Exiting with failure status' | tail -n 1)"
rm -f -- "$s/archive.tar.gz"
set -f; IFS='
'
for n in $top; do
  { [ -e "$n" ] || [ -L "$n" ]; } || die "the archive's $n was not extracted"
  if [ "$sf" != "$s" ] && [ "$n" != meta ]; then mv -- "$n" "$sf/root/" || die "cannot move $n to $sf/root"; fi
done
