#!/bin/sh
# Builds the mutant zoo: one plugin per mutant of tools/mutants/mutant_kernel.c (its "MUTANT name
# pass description" lines), plus the correct build, into OUT (default build/mutants):
#
#   tools/mutants/build.sh [OUT]
#   dcn kill-matrix OUT/libmutant-*.so
#
# CC (default cc), CFLAGS (default -O2) and JOBS (parallel compilers, default 4) as usual.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
source="$root/tools/mutants/mutant_kernel.c"
out=${1:-build/mutants}
mkdir -p "$out"
names=$(sed -n 's/^ \* MUTANT \([a-z0-9_]*\) .*/\1/p' "$source")
[ -n "$names" ] || { echo "build.sh: no MUTANT lines in $source" >&2; exit 2; }
# One compiler per name; each writes beside its target and renames, so a failed build leaves no library.
export OUT="$out" ROOT="$root" SOURCE="$source"
printf '%s\n' correct $names | xargs -P "${JOBS:-4}" -n 1 sh -c '
    name=$1
    if [ "$name" = correct ]; then macros=""; else macros="-DMUTANT_$(echo "$name" | tr a-z A-Z) -DMUTANT_LABEL=$name"; fi
    library="$OUT/libmutant-$name.so"
    ${CC:-cc} -shared -fPIC ${CFLAGS:--O2} -Wall -Werror -I "$ROOT/include" $macros "$SOURCE" -o "$library.tmp" -lm &&
        mv "$library.tmp" "$library"
' sh
echo "$out: $(echo "$names" | wc -l) mutants and the correct build (libmutant-*.so)"
