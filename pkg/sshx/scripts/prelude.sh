# shellcheck shell=sh
# The start of every remote script of this project (sshx.NewScript puts it
# first, then the script's variables, then its body). Scripts run under
# "sh -s": POSIX sh only.
#
# The C locale (tool messages are parsed), a private umask, a die function
# printing one line on stderr, and a trap that ends the whole process group
# when the session gets SIGTERM (Client.Exec sends it on cancellation). A
# shell runs its traps only between commands, so long commands go through
# run_bg ("run_bg tar ..."), whose wait a signal interrupts.
export LC_ALL=C LANG=C
umask 077
die() { printf '%s\n' "$*" >&2; exit 1; }
trap 'trap - TERM HUP INT; kill 0 2>/dev/null; exit 143' TERM HUP INT
run_bg() { "$@" & wait $!; }
# section NAME starts the named section of the output that
# Client.RunSections hands back; $m is its random marker.
section() { printf '\n%s %s\n' "${m:-}" "$1"; }
