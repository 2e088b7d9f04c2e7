# shellcheck shell=sh disable=SC2154 # variables come from sshx.Script.Set
# Prints the SHA-256 of the file $f.
command -v sha256sum >/dev/null 2>&1 || die "sha256sum is not installed on the host"
sha256sum -- "$f" || die "sha256sum $f failed"
