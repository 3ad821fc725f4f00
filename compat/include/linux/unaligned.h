/* SPDX-License-Identifier: GPL-2.0 */
/* <linux/unaligned.h> appeared in 6.12; older trees have <asm/unaligned.h>. */
#ifndef _IPOIB_COMPAT_LINUX_UNALIGNED_H
#define _IPOIB_COMPAT_LINUX_UNALIGNED_H

#ifdef IPOIB_HAVE_LINUX_UNALIGNED_H
#include_next <linux/unaligned.h>
#else
#include <asm/unaligned.h>
#endif

#endif
