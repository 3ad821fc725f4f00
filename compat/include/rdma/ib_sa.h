/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The record count passed to ib_sa_path_rec_get()'s callback became
 * unsigned in 6.3.  Callbacks declare it with compat_sa_num_prs_t; Kbuild
 * probes the target header for the unsigned form.
 */
#ifndef _IPOIB_COMPAT_RDMA_IB_SA_H
#define _IPOIB_COMPAT_RDMA_IB_SA_H

#include_next <rdma/ib_sa.h>

#ifdef IPOIB_HAVE_SA_UNSIGNED_NUM_PRS
#define compat_sa_num_prs_t unsigned int
#else
#define compat_sa_num_prs_t int
#endif

#endif
