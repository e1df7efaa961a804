// SPDX-License-Identifier: GPL-2.0
/*
 * The forced IOSQE_ASYNC path (io-wq) for both opcodes: the same handles,
 * the same opened inodes and flags, the same errors as the syscalls, and a
 * batch of async encodes and opens in flight at once.
 */
#include "ktest.h"

#define BATCH	16

int main(int argc, char **argv)
{
	struct file_handle *fh, *lfh, *bfh[BATCH];
	int fd, i, res, mnt, bmnt[BATCH];
	const char *file, *link;
	struct io_uring ring;
	uint64_t ud;
	int ffd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 2 * BATCH, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "async\n");
	link = kt_mksymlink("link", strrchr(file, '/') + 1);

	kt_expect_res("async encode", kt_encode_both("async encode", &ring,
			AT_FDCWD, file, 0, KT_MAX_HANDLE_SZ, IOSQE_ASYNC, &fh),
		      0);
	kt_expect_res("async encode, AT_SYMLINK_FOLLOW", kt_encode_both(
			"async encode, AT_SYMLINK_FOLLOW", &ring, AT_FDCWD,
			link, AT_SYMLINK_FOLLOW, KT_MAX_HANDLE_SZ, IOSQE_ASYNC,
			NULL), 0);
	kt_expect_res("async encode, link itself", kt_encode_both(
			"async encode, link itself", &ring, AT_FDCWD, link, 0,
			KT_MAX_HANDLE_SZ, IOSQE_ASYNC, &lfh), 0);
	ffd = kt_openf(file, O_RDONLY);
	kt_expect_res("async encode, AT_EMPTY_PATH", kt_encode_both(
			"async encode, AT_EMPTY_PATH", &ring, ffd, "",
			AT_EMPTY_PATH, KT_MAX_HANDLE_SZ, IOSQE_ASYNC, NULL), 0);
	close(ffd);
	kt_expect_res("async encode, relative to dirfd", kt_encode_both(
			"async encode, relative to dirfd", &ring, kt.dirfd,
			strrchr(file, '/') + 1, 0, KT_MAX_HANDLE_SZ,
			IOSQE_ASYNC, NULL), 0);
	kt_expect_res("async encode, -EOVERFLOW", kt_encode_both(
			"async encode, -EOVERFLOW", &ring, AT_FDCWD, file, 0, 0,
			IOSQE_ASYNC, NULL), -EOVERFLOW);
	kt_expect_res("async encode, -ENOENT", kt_encode_both(
			"async encode, -ENOENT", &ring, AT_FDCWD, "nonexistent",
			0, KT_MAX_HANDLE_SZ, IOSQE_ASYNC, NULL), -ENOENT);

	fd = kt_open_both("async open O_RDWR", &ring, kt.dirfd, fh, O_RDWR,
			  IOSQE_ASYNC);
	kt_expect_inode_of("async open O_RDWR", fd, file);
	close(fd);
	fd = kt_open_both("async open O_CLOEXEC|O_NONBLOCK", &ring, kt.dirfd,
			  fh, O_RDONLY | O_CLOEXEC | O_NONBLOCK, IOSQE_ASYNC);
	kt_expect_inode_of("async open O_CLOEXEC|O_NONBLOCK", fd, file);
	close(fd);
	fd = kt_open_both("async open link O_PATH", &ring, kt.dirfd, lfh,
			  O_PATH, IOSQE_ASYNC);
	kt_expect_inode_of("async open link O_PATH", fd, link);
	close(fd);
	kt_expect_res("async open link, -ELOOP", kt_open_both(
			"async open link, -ELOOP", &ring, kt.dirfd, lfh,
			O_RDONLY, IOSQE_ASYNC), -ELOOP);
	kt_expect_res("async open, -EBADF", kt_open_both("async open, -EBADF",
			&ring, -1, fh, O_RDONLY, IOSQE_ASYNC), -EBADF);

	/* a batch in flight: BATCH encodes, then BATCH opens */
	if (kt_sys_encode(AT_FDCWD, file, lfh, &mnt, 0))
		kt_fail("name_to_handle_at: %s", strerror(errno));
	for (i = 0; i < BATCH; i++) {
		bfh[i] = kt_fh_new(KT_MAX_HANDLE_SZ);
		kt_prep_encode(&ring, AT_FDCWD, file, bfh[i], &bmnt[i], 0,
			       IOSQE_ASYNC)->user_data = i;
	}
	kt_submit(&ring, BATCH);
	for (i = 0; i < BATCH; i++) {
		res = kt_reap(&ring, &ud);
		if (res || !kt_fh_same(bfh[ud], fh) || bmnt[ud] != mnt)
			kt_fail("async batch encode #%d: %s, handle %s mount "
				"id %d, want %s mount id %d", (int)ud,
				kt_res_str(res), kt_fh_str(bfh[ud]), bmnt[ud],
				kt_fh_str(fh), mnt);
	}
	for (i = 0; i < BATCH; i++)
		kt_prep_open(&ring, kt.dirfd, bfh[i], O_RDONLY,
			     IOSQE_ASYNC)->user_data = i;
	kt_submit(&ring, BATCH);
	for (i = 0; i < BATCH; i++) {
		fd = kt_reap(&ring, &ud);
		if (fd < 0)
			kt_fail("async batch open #%d: %s", (int)ud,
				kt_res_str(fd));
		kt_expect_inode_of("async batch open", fd, file);
		close(fd);
		free(bfh[ud]);
	}

	free(fh);
	free(lfh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
