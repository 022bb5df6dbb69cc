# Sourced by the network stand-ins in dev/root/bin (ip, udhcpc): finds the real tool on PATH
# past the stand-ins' own folder, and decides whether the real network may be touched.
standin_dir=$(cd "$(dirname "$0")" && pwd -P)
standin_root=$(cd "$standin_dir/.." && pwd -P)

# Prints the path of the real TOOL (the first on PATH that is not a stand-in); fails if none.
real_tool() {
  saved_ifs=$IFS
  IFS=:
  for d in $PATH; do
    [ -n "$d" ] || continue
    [ "$(cd "$d" 2>/dev/null && pwd -P)" = "$standin_dir" ] && continue
    if [ -x "$d/$1" ] && [ ! -d "$d/$1" ]; then
      IFS=$saved_ifs
      echo "$d/$1"
      return 0
    fi
  done
  IFS=$saved_ifs
  return 1
}

# True inside a named network namespace (`ip netns exec NS …`: `ip netns identify` prints NS;
# /proc/1/ns is not readable everywhere) or when SYNDICATE_REAL_NETWORK=1 asks for it.
real_network_allowed() {
  [ "${SYNDICATE_REAL_NETWORK:-}" = 1 ] && return 0
  real_ip=$(real_tool ip) || return 1
  [ -n "$("$real_ip" netns identify 2>/dev/null)" ]
}
