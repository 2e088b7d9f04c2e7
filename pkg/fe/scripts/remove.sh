# shellcheck shell=sh disable=SC2154 # variables come from sshx.Script.Set
# Removes the temp or staging folder $p (made writable first: an extracted
# archive may hold read-only folders).
if [ -e "$p" ] || [ -L "$p" ]; then chmod -R u+rwx -- "$p" 2>/dev/null; rm -rf -- "$p"; fi
[ ! -e "$p" ] || die "cannot remove $p"
