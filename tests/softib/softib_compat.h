/* SPDX-License-Identifier: GPL-2.0 */
/*
 * softib: differences between the kernel series the lab tests (6.1, 6.12).
 */
#ifndef SOFTIB_COMPAT_H
#define SOFTIB_COMPAT_H

#include <rdma/ib_verbs.h>

/*
 * ib_device_ops.create_cq: the third argument became a uverbs_attr_bundle
 * in 6.11 (it was an ib_udata); Kbuild probes the headers.  softib never has
 * user data, so the body ignores it either way.
 */
#ifdef SIB_HAVE_CREATE_CQ_ATTRS
#define SIB_CREATE_CQ_ARG struct uverbs_attr_bundle *attrs
#else
#define SIB_CREATE_CQ_ARG struct ib_udata *udata
#endif

#endif /* SOFTIB_COMPAT_H */
