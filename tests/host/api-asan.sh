#!/usr/bin/env bash
# The API host tests again, against the ASan+UBSan build (build-asan/, made by
# `make asan` and `make check`): the HTTP server, the handlers and the config
# code under the sanitizers with real clients. A sanitizer report aborts the
# server (a failed check after it) or makes its exit status non-zero (checked).
. "$(dirname "$0")/../lib.sh"

asan=$T_TOP/build-asan
if [[ ! -x $asan/svmm || ! -x $asan/svmm-remote || ! -x $asan/api-selftest ]]; then
	t_skip "API tests under ASan" "no build-asan/ (run make asan)"
	t_done
	exit
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
for t in api-endpoints api-robustness api-remote; do
	out=$(T_BUILD=$asan T_SVMM=$asan/svmm "$T_TOP/tests/host/$t.sh" 2>&1)
	rc=$?
	nok=$(grep -c '^not ok' <<<"$out")
	if ((rc == 0 && nok == 0)); then
		t_pass "$t under ASan+UBSan ($(grep -c '^ok' <<<"$out") checks)"
	else
		t_fail "$t under ASan+UBSan" "status $rc, $nok failed" \
			"$(grep -A3 '^not ok\|Sanitizer\|runtime error' <<<"$out" | head -40)"
	fi
done
t_done
