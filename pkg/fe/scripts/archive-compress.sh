# shellcheck shell=sh disable=SC2154 # variables come from sshx.Script.Set
# Compresses the tar $tarf into one multi-member gzip file: parts of it by
# $jobs gzip processes at once (level $level, under nice and ionice), hashed
# on the way, then renamed to $out. The tools' own messages (a full disk)
# go to the session's stderr, never to a file that could not be written;
# failures are told through fd 5, which is the command substitution's.
size=$(stat -c %s -- "$tarf") || die "cannot stat $tarf"
# Parts of at least 64 MiB each: below that, one gzip is as fast.
min=67108864; chunk=$(( (size + jobs - 1) / jobs ))
if [ "$chunk" -lt "$min" ]; then
  jobs=$(( (size + min - 1) / min )); [ "$jobs" -ge 1 ] || jobs=1; chunk=$(( (size + jobs - 1) / jobs ))
fi
nice="nice -n 10"
if command -v ionice >/dev/null 2>&1 && ionice -c 2 -n 7 true 2>/dev/null; then nice="$nice ionice -c 2 -n 7"; fi

# part I OFFSET: the gzip of one part of the tar, on stdout.
part() {
  { dd if="$tarf" bs=1M iflag=skip_bytes,count_bytes skip="$2" count="$chunk" status=none || echo "dd failed" >&5; } |
    { $nice gzip -n "-$level" || echo "gzip failed" >&5; }
}
out5=$(
  exec 5>&1
  {
    i=1; while [ "$i" -lt "$jobs" ]; do part "$i" $((i * chunk)) >"$tmpd/part.$i" & i=$((i + 1)); done
    part 0 0
    wait
    i=1; while [ "$i" -lt "$jobs" ]; do
      cat -- "$tmpd/part.$i" || echo "cat failed" >&5; rm -f -- "$tmpd/part.$i"; i=$((i + 1))
    done
  } | { tee -- "$gz" || echo "tee failed" >&5; } | sha256sum
)
case $out5 in *failed*) die "compression failed on the host ($(printf '%s' "$out5" | grep failed | tr '\n' ' '))";; esac
sum=$(printf '%s\n' "$out5" | tail -n 1 | cut -c 1-64)
[ "${#sum}" -eq 64 ] || die "sha256sum failed on the host"
rm -f -- "$tarf"
gzsize=$(stat -c %s -- "$gz") || die "cannot stat $gz"
if [ -e "$out" ] || [ -L "$out" ]; then die "$out appeared on the host during the archive; not replacing it"; fi
mv -- "$gz" "$out" || die "cannot move the archive to $out"
section result
echo "sha256=$sum"; echo "size=$gzsize"; echo "jobs=$jobs"
rm -rf -- "$tmpd"
