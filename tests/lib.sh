# tests/lib.sh: TAP helpers for shell tests. Source it, call the checks,
# end with t_done. Every check prints one TAP line; a failure prints what
# was expected and what came.
#
#   t_ok NAME CMD...            passes when CMD exits 0
#   t_eq NAME EXPECTED ACTUAL   passes when the strings are equal
#   t_match NAME REGEX ACTUAL   passes when ACTUAL matches the extended regex
#   t_skip NAME REASON
#   t_tmpdir                    a scratch directory removed at exit (echoes it)
#   t_done                      exits 1 if any check failed

T_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
T_BUILD=${T_BUILD:-$T_TOP/build}
T_SVMM=${T_SVMM:-$T_BUILD/svmm}
t_n=0
t_failed=0
t_cleanups=()

t_pass() { t_n=$((t_n + 1)); echo "ok $t_n - $1"; }
t_fail() {
	t_n=$((t_n + 1)); t_failed=$((t_failed + 1))
	echo "not ok $t_n - $1"
	shift
	local l
	for l in "$@"; do printf '#   %s\n' "$l"; done
}
t_ok() {
	local name=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	if ((rc == 0)); then t_pass "$name"; else t_fail "$name" "command: $*" "status: $rc" "output: ${out:0:2000}"; fi
}
t_eq() {
	if [[ $2 == "$3" ]]; then t_pass "$1"; else t_fail "$1" "expected: $2" "got:      $3"; fi
}
t_match() {
	if [[ $3 =~ $2 ]]; then t_pass "$1"; else t_fail "$1" "expected to match: $2" "got: ${3:0:2000}"; fi
}
t_skip() { t_n=$((t_n + 1)); echo "ok $t_n - $1 # SKIP $2"; }
t_cleanup() { t_cleanups+=("$*"); }
t_run_cleanups() {
	local i
	for ((i = ${#t_cleanups[@]} - 1; i >= 0; i--)); do eval "${t_cleanups[i]}" >/dev/null 2>&1; done
}
trap t_run_cleanups EXIT
t_tmpdir() {
	local d
	d=$(mktemp -d "${TMPDIR:-/tmp}/svmm-test.XXXXXX")
	t_cleanup "rm -rf '$d'"
	echo "$d"
}
t_done() {
	echo "1..$t_n"
	((t_failed == 0))
}
