// SPDX-License-Identifier: Apache-2.0
/* Error messages for the host network code. */
#include <errno.h>

#include "net/err.h"

const char *net_errno_hint(int rc)
{
	switch (rc) {
	case -EPERM:
	case -EACCES:
		return " (this needs CAP_NET_ADMIN: run as root or setcap cap_net_admin+ep)";
	case -EOPNOTSUPP:
	case -EPROTONOSUPPORT:
	case -EAFNOSUPPORT:
		return " (a kernel feature is missing: nf_tables with nft_nat, nft_masq, nft_fib "
		       "and nft_ct are needed)";
	default:
		return "";
	}
}
