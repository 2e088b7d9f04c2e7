# shellcheck shell=sh disable=SC2154 # variables come from sshx.Script.Set
# Creates fe-extract's staging folders and prints them. Variables: d (the
# FE folder), metacfg (the meta_dir the restored FE will read), hasmeta and
# others (1 when the archive holds meta/, other entries), tag (names this
# run's folders).
#
# Everything is staged beside the FE folder, on its filesystem, so that the
# swap is a rename. When the real meta folder (meta_dir, symbolic links
# followed) is on another filesystem (a data disk), meta/ is staged beside
# it there instead, with the pushed archive; the other entries beside the
# FE folder.
[ -d "$d" ] || die "FE folder $d does not exist on the host"
for t in tar gzip sha256sum stat mv readlink chmod; do
  command -v "$t" >/dev/null 2>&1 || die "$t is not installed on the host"
done
mreal=$(readlink -f -- "$metacfg" 2>/dev/null) || mreal=$metacfg
up=$(dirname -- "$d")
sf=$up/.$(basename -- "$d").fe-extract-$tag
sm=$sf
if [ "$hasmeta" = 1 ]; then
  mup=$(dirname -- "$mreal")
  [ -d "$mup" ] || die "folder $mup does not exist on the host (the FE reads its metadata from $mreal: meta_dir $metacfg)"
  if [ "$(stat -c %d -- "$mup")" != "$(stat -c %d -- "$up")" ]; then sm=$mup/.$(basename -- "$mreal").fe-extract-$tag; fi
fi
mk() { { mkdir -m 700 -- "$1" && mkdir -m 700 -- "$1/root"; } || die "cannot create the staging folder $1 $2"; }
mk_fe() {
  mk "$sf" "beside the FE folder"
  [ "$(stat -c %d -- "$d")" = "$(stat -c %d -- "$sf")" ] ||
    die "the staging folder $sf is on another filesystem than $d: the swap would not be a rename"
}
single=0; [ "$sm" != "$sf" ] || single=1
if [ "$single" = 0 ] && [ "$others" != 1 ]; then sf=$sm; fi
section meta; printf '%s' "$mreal"
section staging-meta; printf '%s' "$sm"
section staging-fe; printf '%s' "$sf"
if [ "$single" = 1 ]; then mk_fe; else
  mk "$sm" "beside the meta folder $mreal"
  [ "$sf" = "$sm" ] || mk_fe
fi
