# shellcheck shell=sh disable=SC2154 # variables come from sshx.Script.Set
# Checks the host's tools and paths, creates the run's temp folder and the
# link to the real meta folder, and prints what the archive will read: the
# real meta folder, the CPU count, the free space beside the archive and
# the bytes to archive. Variables: see archive-lib.sh, and out (the archive).
[ -d "$d" ] || die "FE folder $d does not exist on the host"
for t in tar gzip sha256sum find dd nice stat df sort uniq sed grep readlink; do
  command -v "$t" >/dev/null 2>&1 || die "$t is not installed on the host"
done
tar --version 2>/dev/null | head -n 1 | grep -q 'GNU tar' || die "GNU tar is required on the host (tar --version does not say GNU tar)"
find . -maxdepth 0 -version 2>/dev/null | head -n 1 | grep -q 'GNU findutils' || die "GNU find is required on the host"
sed --version 2>/dev/null | head -n 1 | grep -q 'GNU sed' || die "GNU sed is required on the host"
case $(date +%3N) in *[!0-9]*) die "GNU date is required on the host (date +%3N)";; esac
if [ -e "$out" ] || [ -L "$out" ]; then die "$out already exists on the host; choose another --remote-archive"; fi
odir=$(dirname -- "$out"); [ -d "$odir" ] || die "folder $odir does not exist on the host (--remote-archive)"
mkdir -m 700 -- "$tmpd" || die "cannot create a temp folder beside $out"
{ mkdir -m 700 -- "$view" && ln -s -- "$mreal" "$view/meta"; } || die "cannot write in $tmpd"
section info
echo "nproc=$(nproc 2>/dev/null || echo 1)"
df -Pk -- "$tmpd" | awk 'NR==2 {print "avail=" $4}'
list_all
cat -- "$tmpd/fe.s" "$tmpd/me.s" | awk '{ n += $1 + 512 } END { printf "bytes=%.0f\n", n }'
section meta
printf '%s' "$mreal"
if [ -f "$view/meta/image/VERSION" ]; then section version; head -c 65536 -- "$view/meta/image/VERSION"; fi
