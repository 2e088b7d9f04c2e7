# shellcheck shell=sh disable=SC2154 # variables come from sshx.Script.Set
# Swaps the staged entries in (fe-extract's plan, plan.go). Variables: n,
# and for each i in 1..n: from_i (the staged entry), to_i (where it goes),
# prev_i (where the entry now at to_i is kept; empty when there is none).
#
# First it checks that every staged entry is there, that no target of a
# rename exists and that each replaced entry is on its staged entry's
# filesystem (a mount point cannot be renamed); then it renames, and if a
# rename fails it undoes the earlier ones in reverse order, so the folders
# are left as they were. A failed undo prints "ROLLBACK FAILED" and exits 3.
get() { eval "from=\$from_$1 to=\$to_$1 prev=\$prev_$1"; }
i=1
while [ "$i" -le "$n" ]; do
  get "$i"
  { [ -e "$from" ] || [ -L "$from" ]; } || die "staged entry $from is missing"
  if [ -n "$prev" ]; then
    if [ -e "$prev" ] || [ -L "$prev" ]; then die "$prev already exists"; fi
    if [ -d "$to" ] && [ ! -L "$to" ] && [ "$(stat -c %d -- "$to")" != "$(stat -c %d -- "$from")" ]; then
      die "$to is a mount point (another filesystem): it cannot be swapped by a rename; restore it by hand"
    fi
  elif [ -e "$to" ] || [ -L "$to" ]; then
    die "$to appeared during the restore"
  fi
  i=$((i + 1))
done
k=0
move() {
  mv -T -- "$1" "$2" || return 1
  k=$((k + 1)); eval "mf_$k=\$1 mt_$k=\$2"
}
undo() {
  ok=1
  while [ "$k" -gt 0 ]; do
    eval "a=\$mt_$k b=\$mf_$k"
    mv -T -- "$a" "$b" || { ok=0; printf 'ROLLBACK FAILED: cannot move %s back to %s\n' "$a" "$b" >&2; }
    k=$((k - 1))
  done
  [ "$ok" = 1 ] || exit 3
}
i=1
while [ "$i" -le "$n" ]; do
  get "$i"
  if [ -n "$prev" ]; then move "$to" "$prev" || { undo; die "cannot move $to to $prev (the FE folder was left as it was)"; }; fi
  move "$from" "$to" || { undo; die "cannot move $from to $to (the FE folder was left as it was)"; }
  i=$((i + 1))
done
echo swapped
