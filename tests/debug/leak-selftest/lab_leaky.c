// SPDX-License-Identifier: GPL-2.0
/*
 * Debug-tier self-test (tests/debug/selftest-leak.sh): leaks one allocation on load,
 * so that the lab's kmemleak check must report it. Never part of the driver.
 */
#include <linux/module.h>
#include <linux/slab.h>

static int __init lab_leaky_init(void)
{
	char *p = kmalloc(200, GFP_KERNEL);

	if (!p)
		return -ENOMEM;
	snprintf(p, 200, "lab_leaky: leaked on purpose");
	pr_info("lab_leaky: leaked a 200-byte object on purpose\n");
	return 0; /* the only pointer to it dies here */
}

static void __exit lab_leaky_exit(void)
{
}

module_init(lab_leaky_init);
module_exit(lab_leaky_exit);
MODULE_DESCRIPTION("lab self-test: leaks one kmalloc() object");
MODULE_LICENSE("GPL");
