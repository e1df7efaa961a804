// SPDX-License-Identifier: GPL-2.0
/*
 * Cold opens: after sync and dropping the page, dentry and inode caches
 * (echo 3 > /proc/sys/vm/drop_caches), handles of a file and of a nested
 * directory (which the kernel must reconnect) still open the same inodes,
 * inline and through io-wq, and encoding cold gives the same handle.
 * Skips when drop_caches cannot be written.
 */
#include "ktest.h"

static void drop(void)
{
	int ret = kt_drop_caches();

	if (ret)
		kt_skip("cannot drop caches: /proc/sys/vm/drop_caches: %s",
			strerror(-ret));
}

int main(int argc, char **argv)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	struct file_handle *ffh, *dfh, *again;
	const char *file, *deep;
	struct io_uring ring;
	char buf[32] = "";
	unsigned int i;
	int fd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "cold\n");
	kt_mkdir("a");
	kt_mkdir("a/b");
	deep = kt_mkdir("a/b/c");
	kt_expect_res("encode file", kt_encode_both("encode file", &ring,
			AT_FDCWD, file, 0, KT_MAX_HANDLE_SZ, 0, &ffh), 0);
	kt_expect_res("encode dir", kt_encode_both("encode dir", &ring,
			AT_FDCWD, deep, 0, KT_MAX_HANDLE_SZ, 0, &dfh), 0);

	for (i = 0; i < 2; i++) {
		drop();
		fd = kt_ring_open(&ring, kt.dirfd, ffh, O_RDONLY,
				  sqe_flags[i]);
		if (fd < 0)
			kt_fail("cold open of file (sqe flags %#x): %s",
				sqe_flags[i], kt_res_str(fd));
		kt_expect_inode_of("cold open of file", fd, file);
		if (pread(fd, buf, sizeof(buf) - 1, 0) != 5 ||
		    strcmp(buf, "cold\n"))
			kt_fail("cold open of file: read \"%s\"", buf);
		close(fd);

		drop();
		fd = kt_ring_open(&ring, kt.dirfd, dfh,
				  O_RDONLY | O_DIRECTORY, sqe_flags[i]);
		if (fd < 0)
			kt_fail("cold open of a/b/c (sqe flags %#x): %s",
				sqe_flags[i], kt_res_str(fd));
		kt_expect_inode_of("cold open of a/b/c", fd, deep);
		close(fd);

		drop();
		kt_expect_res("cold encode", kt_encode_both("cold encode",
				&ring, AT_FDCWD, deep, 0, KT_MAX_HANDLE_SZ,
				sqe_flags[i], &again), 0);
		if (!kt_fh_same(again, dfh))
			kt_fail("cold encode: %s, warm %s", kt_fh_str(again),
				kt_fh_str(dfh));
		free(again);
	}

	free(ffh);
	free(dfh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
