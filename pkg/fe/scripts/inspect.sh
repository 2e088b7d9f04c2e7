# shellcheck shell=sh disable=SC2154 # variables come from sshx.Script.Set
# What the host says about the FE folder $d: its fe.conf (when $conf is not
# empty), whether the pid file $f names a live process (kill -0, or
# /proc/<pid> for another user's process), and, when $ports = true, the
# kernel's TCP socket tables.
[ -d "$d" ] || die "FE folder $d does not exist on the host"
if [ -n "$conf" ] && [ -f "$conf" ]; then section conf; head -c 4194304 -- "$conf"; fi
section pid
if [ -f "$f" ]; then
  pid=$(head -c 64 -- "$f" | tr -dc 0-9)
  if [ -n "$pid" ] && { kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ]; }; then echo "alive=$pid"; fi
fi
if [ "$ports" = true ]; then section proc-net; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; fi
true
