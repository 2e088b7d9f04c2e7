# shellcheck shell=sh disable=SC2154 # variables come from sshx.Script.Set
# Functions shared by fe-archive's prepare and copy scripts (put before
# their body). Variables: d (the FE folder), metacfg (the meta_dir fe.conf
# sets, or $d/meta), tmpd (the run's private temp folder), fe_req, fe_opt
# (paths relative to $d, newline-separated, "." for the whole folder),
# me_req, me_opt (paths under meta/, "meta/" for the whole of it).
#
# The meta folder is read through the link $tmpd/view/meta to its real
# place (meta_dir, a symlinked meta/), so that it is archived as meta/
# whatever its real name; everything else is read in $d.

mreal=$(readlink -f -- "$metacfg" 2>/dev/null) || mreal=$metacfg
view=$tmpd/view

# starts SIDE: prints the start points of one side (fe or me) for find,
# newline-separated: the required ones (failing when one is missing) and
# the optional ones that exist.
starts() {
  if [ "$1" = fe ]; then cd -- "$d" || die "cannot enter the FE folder $d"; req=$fe_req; opt=$fe_opt
  else cd -- "$view" || die "cannot enter $view"; req=$me_req; opt=$me_opt; fi
  set -f; IFS='
'
  for p in $req; do
    if [ -e "$p" ] || [ -L "$p" ]; then printf '%s\n' "$p"
    elif [ "$p" = meta/ ]; then die "the meta folder $mreal does not exist on the host (meta_dir $metacfg)"
    elif [ "$1" = me ]; then die "$p does not exist in the meta folder $mreal"
    else die "$p does not exist in the FE folder $d"; fi
  done
  for p in $opt; do if [ -e "$p" ] || [ -L "$p" ]; then printf '%s\n' "$p"; fi; done
  unset IFS; set +f
}

# list_side SIDE FOLDER STARTS: lists what one side archives, by find:
# $tmpd/SIDE.j the .jdb files, $tmpd/SIDE.o every other file, folder and
# link (NUL-terminated names, relative to FOLDER without a leading ./;
# the meta folder itself is meta/., which tar reads through the link and
# archive-copy.sh names meta/),
# $tmpd/SIDE.s their sizes; what is never archived (checkpoints being
# written, temp, lock and pid files, fe-extract's kept copies, sockets and
# the like, and everything below them) is appended to $tmpd/ex. This run's
# own temp folder and, in the FE folder, meta/ and the real meta folder
# (read on the meta side) are left out. Files vanishing during the walk
# (the JE cleaner) are not an error.
list_side() {
  side=$1; dir=$2
  : >"$tmpd/$side.o"; : >"$tmpd/$side.j"; : >"$tmpd/$side.s"
  [ -n "$3" ] || return 0
  cd -- "$dir" || die "cannot enter $dir"
  mref=$tmpd; if [ "$side" = fe ] && [ -e "$mreal" ]; then mref=$mreal; fi
  set -f; IFS='
'
  # shellcheck disable=SC2086 # split on newlines only, no globbing
  set -- $3
  unset IFS; set +f
  err=$(find "$@" -regextype posix-extended \
    -path . -o \
    \( -samefile "$tmpd" -o -path ./meta -o -samefile "$mref" \) -prune -o \
    \( -name '*.ckpt' -o -name je.lck -o -name '*.pid' -o -name '.#*' -o -name '*.tmp' -o -name '*.temp' \
       -o -name '*.part' -o -name '*.swp' -o -name '*.swx' -o -name '*~' \
       -o -regex '(\./)?[^/]*\.before-restore-[^/]*' \) -prune -exec find {} -print0 \; -o \
    \( -type f -regex '(.*/)?[0-9a-fA-F]{8,16}\.jdb' -fprint0 "$tmpd/$side.j" -fprintf "$tmpd/$side.s" '%s\n' \) -o \
    \( \( -type f -o -type d -o -type l \) -fprint0 "$tmpd/$side.o" -fprintf "$tmpd/$side.s" '%s\n' \) -o \
    -print0 2>&1 >>"$tmpd/ex")
  bad=$(printf '%s\n' "$err" | grep -v -e '^$' -e ': No such file or directory$' | tail -n 2 | tr '\n' ' ')
  [ -z "$bad" ] || die "cannot list $dir on the host: $bad"
  for f in "$tmpd/$side.o" "$tmpd/$side.j"; do
    { sed -z 's|^\./\([^-]\)|\1|; s|^meta/$|meta/.|' "$f" >"$f.n" && mv -f -- "$f.n" "$f"; } || die "cannot write $f"
  done
}

# list_all: both sides; $tmpd/all.o and $tmpd/all.j hold every name.
list_all() {
  fs=$(starts fe) || exit 1
  ms=$(starts me) || exit 1
  list_side fe "$d" "$fs"
  list_side me "$view" "$ms"
  { cat -- "$tmpd/fe.o" "$tmpd/me.o" >"$tmpd/all.o" && cat -- "$tmpd/fe.j" "$tmpd/me.j" >"$tmpd/all.j"; } ||
    die "cannot write in $tmpd"
}

# jdb_order: reads .jdb names (NUL-terminated) and prints them in the order
# a BDB JE hot copy reads them: by folder, then by ascending numeric file
# number, whatever the case or width of the hex name (0000000a after
# 00000009; 000000FF before 0000000000000100).
jdb_order() {
  sed -z -E 's|^(.*/)?([0-9a-fA-F]{8,16})\.jdb$|\1\x010000000000000000\L\2\E\x01\2.jdb|; s|\x010*([0-9a-f]{16})\x01([^/]*)$|\x01\1\x01\2|' |
    sort -z | sed -z -E 's|\x01[0-9a-f]{16}\x01([^/]*)$|\1|'
}
