// SPDX-License-Identifier: GPL-2.0
/*
 * NAME_TO_HANDLE_AT through the ring gives the syscall's handle (bytes,
 * type) and mount id: for a file by absolute path with AT_FDCWD, by a path
 * relative to a dirfd and to AT_FDCWD, in a subdirectory, with a buffer of
 * exactly the needed capacity, and the same handle on every encode.
 */
#include "ktest.h"

#define BATCH	8

int main(int argc, char **argv)
{
	struct file_handle *fh, *again, *exact, *batch[BATCH];
	int ret, i, mnt, mnts[BATCH];
	const char *file, *sub, *deep;
	struct io_uring ring;

	kt_init(argc, argv);
	kt_ring_init(&ring, 2 * BATCH, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "encode\n");
	sub = kt_mkdir("sub");
	deep = kt_mkfile("sub/inner", "inner\n");

	ret = kt_encode_both("absolute path, AT_FDCWD", &ring, AT_FDCWD,
			     file, 0, KT_MAX_HANDLE_SZ, 0, &fh);
	kt_expect_res("absolute path, AT_FDCWD", ret, 0);

	/* relative to the dirfd, and to the cwd (the test chdirs to DIR) */
	ret = kt_encode_both("relative to dirfd", &ring, kt.dirfd,
			     strrchr(file, '/') + 1, 0, KT_MAX_HANDLE_SZ, 0,
			     &again);
	kt_expect_res("relative to dirfd", ret, 0);
	if (!kt_fh_same(fh, again))
		kt_fail("relative to dirfd: handle %s differs from %s",
			kt_fh_str(again), kt_fh_str(fh));
	free(again);
	ret = kt_encode_both("relative to AT_FDCWD", &ring, AT_FDCWD,
			     strrchr(file, '/') + 1, 0, KT_MAX_HANDLE_SZ, 0,
			     NULL);
	kt_expect_res("relative to AT_FDCWD", ret, 0);

	ret = kt_encode_both("file in a subdirectory", &ring, AT_FDCWD, deep,
			     0, KT_MAX_HANDLE_SZ, 0, NULL);
	kt_expect_res("file in a subdirectory", ret, 0);

	/* a buffer of exactly handle_bytes is enough */
	ret = kt_encode_both("exact capacity", &ring, AT_FDCWD, file, 0,
			     fh->handle_bytes, 0, &exact);
	kt_expect_res("exact capacity", ret, 0);
	if (!kt_fh_same(fh, exact))
		kt_fail("exact capacity: handle %s differs from %s",
			kt_fh_str(exact), kt_fh_str(fh));
	free(exact);

	/* a directory and DIR itself encode too */
	ret = kt_encode_both("directory", &ring, AT_FDCWD, sub, 0,
			     KT_MAX_HANDLE_SZ, 0, NULL);
	kt_expect_res("directory", ret, 0);
	ret = kt_encode_both("\".\"", &ring, AT_FDCWD, ".", 0,
			     KT_MAX_HANDLE_SZ, 0, NULL);
	kt_expect_res("\".\"", ret, 0);

	/* a batch of encodes in one submission: all the same handle */
	if (kt_sys_encode(AT_FDCWD, file, again = kt_fh_new(KT_MAX_HANDLE_SZ),
			  &mnt, 0))
		kt_fail("name_to_handle_at %s: %s", file, strerror(errno));
	free(again);
	for (i = 0; i < BATCH; i++) {
		batch[i] = kt_fh_new(KT_MAX_HANDLE_SZ);
		mnts[i] = -1;
		kt_prep_encode(&ring, AT_FDCWD, file, batch[i], &mnts[i], 0,
			       0)->user_data = i;
	}
	kt_submit(&ring, BATCH);
	for (i = 0; i < BATCH; i++)
		kt_expect_res("batch of encodes", kt_reap(&ring, NULL), 0);
	for (i = 0; i < BATCH; i++) {
		if (!kt_fh_same(batch[i], fh) || mnts[i] != mnt)
			kt_fail("batch of encodes: #%d gave %s mount id %d, "
				"want %s mount id %d", i, kt_fh_str(batch[i]),
				mnts[i], kt_fh_str(fh), mnt);
		free(batch[i]);
	}

	free(fh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
