// SPDX-License-Identifier: GPL-2.0
/*
 * Both opcodes on an IORING_SETUP_SQPOLL ring, issued by the kernel's SQ
 * thread: the syscall's handle, relative paths against the shared cwd,
 * opens into the normal fd table and into a fixed slot, and errors.
 */
#include "ktest.h"

int main(int argc, char **argv)
{
	struct file_handle *fh, *lfh;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	const char *file, *link;
	char buf[16] = "";
	int fd, slot;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, IORING_SETUP_SQPOLL);
	kt_require(&ring);

	file = kt_mkfile("file", "sqpoll\n");
	link = kt_mksymlink("link", strrchr(file, '/') + 1);

	kt_expect_res("encode", kt_encode_both("encode", &ring, AT_FDCWD,
			file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	kt_expect_res("encode relative to cwd", kt_encode_both(
			"encode relative to cwd", &ring, AT_FDCWD,
			strrchr(file, '/') + 1, 0, KT_MAX_HANDLE_SZ, 0, NULL),
		      0);
	kt_expect_res("encode link", kt_encode_both("encode link", &ring,
			AT_FDCWD, link, 0, KT_MAX_HANDLE_SZ, 0, &lfh), 0);
	kt_expect_res("encode -ENOENT", kt_encode_both("encode -ENOENT",
			&ring, AT_FDCWD, "nonexistent", 0, KT_MAX_HANDLE_SZ, 0,
			NULL), -ENOENT);
	kt_expect_res("encode -EOVERFLOW", kt_encode_both("encode -EOVERFLOW",
			&ring, AT_FDCWD, file, 0, 0, IOSQE_ASYNC, NULL),
		      -EOVERFLOW);

	fd = kt_open_both("open", &ring, kt.dirfd, fh, O_RDWR | O_CLOEXEC, 0);
	kt_expect_inode_of("open", fd, file);
	if (pread(fd, buf, sizeof(buf) - 1, 0) != 7 || strcmp(buf, "sqpoll\n"))
		kt_fail("open: read \"%s\"", buf);
	close(fd);
	fd = kt_open_both("open, IOSQE_ASYNC", &ring, kt.dirfd, fh, O_RDONLY,
			  IOSQE_ASYNC);
	kt_expect_inode_of("open, IOSQE_ASYNC", fd, file);
	close(fd);
	kt_expect_res("open link -ELOOP", kt_open_both("open link -ELOOP",
			&ring, kt.dirfd, lfh, O_RDONLY, 0), -ELOOP);
	fd = kt_open_both("open link O_PATH", &ring, kt.dirfd, lfh, O_PATH, 0);
	kt_expect_inode_of("open link O_PATH", fd, link);
	close(fd);

	/* a fixed slot, read through it */
	if (io_uring_register_files_sparse(&ring, 2))
		kt_fail("io_uring_register_files_sparse failed");
	fh_prep_open_by_handle_direct(kt_sqe(&ring), KT_OP_OPEN, kt.dirfd, fh,
				      O_RDONLY, IORING_FILE_INDEX_ALLOC);
	slot = kt_run(&ring);
	if (slot < 0 || slot > 1)
		kt_fail("direct open, alloc: %s", kt_res_str(slot));
	memset(buf, 0, sizeof(buf));
	sqe = kt_sqe(&ring);
	io_uring_prep_read(sqe, slot, buf, sizeof(buf) - 1, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	kt_expect_res("read through the slot", kt_run(&ring), 7);
	if (strcmp(buf, "sqpoll\n"))
		kt_fail("read through the slot: \"%s\"", buf);
	io_uring_prep_close_direct(kt_sqe(&ring), slot);
	kt_expect_res("close_direct", kt_run(&ring), 0);

	free(fh);
	free(lfh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
