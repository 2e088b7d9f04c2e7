# shellcheck shell=sh disable=SC2154 # variables come from sshx.Script.Set
# The tar passes, on the host, in one run (fe-archive's copy). Variables:
# see archive-lib.sh, and tarf (the tar to build), maxc (milliseconds after
# which the catch-up stops at the next pass that saw no file vanish),
# hook (tests only: a command run before each pass with the pass number and
# the list of names it reads).
#
# The BDB JE hot-copy rule: pass 0 reads every folder and every other file
# by name, then the .jdb files in ascending numeric order; each later pass
# appends what was created meanwhile (new .jdb files, images finished during
# the copy) together with the .jdb that was the last one read (it was being
# written then; its later copy supersedes it on extraction), until a pass
# finds nothing new: then the copy has converged. After maxc seconds the
# loop stops at the first pass that saw no file vanish (a .jdb deleted by
# the JE cleaner has its records rewritten to the end of the log, which the
# next pass reads), and fails after 2 x maxc. Files that vanish before tar
# reads them are skipped; any other complaint of tar fails the copy.
ms() { date +%s%3N; } # GNU date: milliseconds
start=$(ms)
: >"$tmpd/done"; : >"$tmpd/jdone"; : >"$tmpd/ex"
list_all
{ sort -z -- "$tmpd/all.o"; jdb_order <"$tmpd/all.j"; } >"$tmpd/batch" || die "cannot write in $tmpd"

# new FILE: the names of FILE not handed to tar yet.
new() { sort -z -- "$1" "$tmpd/done" "$tmpd/done" | uniq -z -u; }

# tar_side MODE FOLDER LIST: one tar run; sets e (its stderr) and rc.
# The meta folder, read as meta/. through the link, is named meta/.
tar_side() {
  e=; rc=0
  [ -s "$3" ] || return 0
  cd -- "$2" || die "cannot enter $2"
  e=$(run_bg nice -n 10 tar "$1" --file="$tarf" --no-recursion --null --files-from="$3" --ignore-failed-read \
    --transform='flags=r;s,^meta/\.$,meta,' 2>&1) || rc=$?
  created=1
}

created=0; pass=0; appended=0; vanished=0; converged=0
while :; do
  if [ -n "${hook:-}" ]; then "$hook" "$pass" "$tmpd/batch" || die "the test hook failed"; fi
  grep -z -v '^meta/' "$tmpd/batch" >"$tmpd/batch.fe"; grep -z '^meta/' "$tmpd/batch" >"$tmpd/batch.me"
  mode=--append; [ "$created" = 1 ] || mode=--create
  tar_side "$mode" "$d" "$tmpd/batch.fe"; e1=$e; rc1=$rc
  mode=--append; [ "$created" = 1 ] || mode=--create
  tar_side "$mode" "$view" "$tmpd/batch.me"; e=$(printf '%s\n%s' "$e1" "$e"); [ "$rc1" -le "$rc" ] || rc=$rc1
  gone=$(printf '%s\n' "$e" | grep -e ': No such file or directory$' -e ': File removed before we read it$')
  bad=$(printf '%s\n' "$e" | grep -v -e '^$' -e ': No such file or directory$' -e ': File removed before we read it$' \
    -e ': file changed as we read it$' -e '^tar: Exiting with failure status due to previous errors$')
  if [ -n "$bad" ] || { [ "$rc" -gt 1 ] && [ -z "$gone" ]; }; then
    # GNU tar says "Wrote only 8192 of 10240 bytes" on a full disk: a probe
    # write gets the system's own reason.
    probe=$(dd if=/dev/zero of="$tmpd/space-probe" bs=65536 count=1 status=none 2>&1) || bad="${bad:-$e}
$probe"
    rm -f -- "$tmpd/space-probe"
    section tar-failed; printf 'status=%s\n' "$rc"; section tar-err; printf '%s\n' "${bad:-$e}"; exit 3
  fi
  n=0; [ -z "$gone" ] || n=$(printf '%s\n' "$gone" | wc -l)
  vanished=$((vanished + n))
  cat -- "$tmpd/batch" >>"$tmpd/done" && grep -z -E '(^|/)[0-9a-fA-F]{8,16}\.jdb$' "$tmpd/batch" >>"$tmpd/jdone"
  last=$(jdb_order <"$tmpd/jdone" | tail -z -n 1 | tr -d '\0')
  pass=$((pass + 1))
  list_all
  new "$tmpd/all.o" >"$tmpd/new.o"; new "$tmpd/all.j" >"$tmpd/new.j"
  if [ ! -s "$tmpd/new.o" ] && [ ! -s "$tmpd/new.j" ]; then converged=1; break; fi
  took=$(($(ms) - start))
  if [ "$took" -ge "$maxc" ] && [ "$n" -eq 0 ]; then break; fi
  if [ "$took" -ge $((2 * maxc)) ]; then
    die "the FE folder kept changing: files still vanished after $pass passes in $((took / 1000))s (--max-catch-up)"
  fi
  appended=$((appended + $(tr -cd '\0' <"$tmpd/new.o" | wc -c) + $(tr -cd '\0' <"$tmpd/new.j" | wc -c)))
  { sort -z -- "$tmpd/new.o"; { cat -- "$tmpd/new.j"; [ -z "$last" ] || printf '%s\0' "$last"; } | jdb_order; } >"$tmpd/batch"
done
[ "$created" = 1 ] || tar --create --file="$tarf" --files-from=/dev/null || die "cannot create $tarf"
section copy
echo "passes=$pass"; echo "appended=$appended"; echo "vanished=$vanished"; echo "converged=$converged"
echo "ms=$(($(ms) - start))"
echo "excluded=$(sort -z -u -- "$tmpd/ex" | tr -cd '\0' | wc -c)"
section members
tar --list --file="$tarf" || die "cannot list $tarf"
