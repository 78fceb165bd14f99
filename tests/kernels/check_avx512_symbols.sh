#!/usr/bin/env bash
# kernels/conv_direct_avx512.cpp is the one file built with -mavx512f. An inline function or
# template of shared code instantiated there would be an AVX-512 copy that the linker may
# pick for the whole program, to run on CPUs without AVX-512. So that object may define, as
# global symbols, only the two kernels of conv_direct.h, and no weak, unique or indirect
# symbols at all.
#
#   check_avx512_symbols.sh LIBAUGUR_KERNELS.a
set -euo pipefail
archive="$1"
member=conv_direct_avx512.cpp.o
syms="$(nm -A "$archive" | grep -F ":$member:" | sed "s/^.*:$member://")" || true
if [[ -z "$syms" ]]; then
  echo "no $member in $archive"
  exit 1
fi
status=0
while read -r type name; do
  case "$type" in
    U | t | d | b | r | n | N) ;;  # references, and symbols of this object alone
    T)
      case "$(c++filt "$name")" in
        augur::kernels::cpu::direct::correlate_rows\(* | augur::kernels::cpu::direct::filter_grad_rows\(*) ;;
        *) echo "unexpected global symbol in $member: $(c++filt "$name")"; status=1 ;;
      esac
      ;;
    *) echo "symbol of type $type in $member (shared with other objects): $(c++filt "$name")"; status=1 ;;
  esac
done < <(awk '{ print $(NF - 1), $NF }' <<<"$syms")
[[ $status == 0 ]] && echo "$member: only the kernels of conv_direct.h are global, nothing weak"
exit $status
