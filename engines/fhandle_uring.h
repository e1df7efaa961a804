/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two proposed io_uring opcodes for file handles, and liburing-style
 * helpers to prepare them.  No released kernel has them; the numbers are
 * the proposal's and can be overridden, because upstream kernels from 6.19
 * on use 63 and 64 for IORING_OP_NOP128 and IORING_OP_URING_CMD128.
 *
 * Shared by the engine, the example and the kernel conformance tests.
 */
#ifndef FHANDLE_URING_H
#define FHANDLE_URING_H

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <liburing.h>

#define FHANDLE_OP_NAME_TO_HANDLE_AT	63
#define FHANDLE_OP_OPEN_BY_HANDLE_AT	64

/*
 * NAME_TO_HANDLE_AT: fd = dirfd or AT_FDCWD, addr = path, addr2 = struct
 * file_handle * (handle_bytes = capacity on entry), addr3 = int * mount id,
 * open_flags = AT_SYMLINK_FOLLOW | AT_EMPTY_PATH.  cqe->res = 0 or -errno.
 */
static inline void fh_prep_name_to_handle(struct io_uring_sqe *sqe,
					  unsigned int opcode, int dfd,
					  const char *path,
					  struct file_handle *fh,
					  int *mount_id, unsigned int flags)
{
	io_uring_prep_rw(opcode, sqe, dfd, path, 0, 0);
	sqe->addr2 = (uint64_t)(uintptr_t)fh;
	sqe->addr3 = (uint64_t)(uintptr_t)mount_id;
	sqe->open_flags = flags;
}

/*
 * OPEN_BY_HANDLE_AT: fd = any fd on the filesystem, addr = struct
 * file_handle *, open_flags = O_* flags.  cqe->res = fd or -errno.
 */
static inline void fh_prep_open_by_handle(struct io_uring_sqe *sqe,
					  unsigned int opcode, int mount_fd,
					  const struct file_handle *fh,
					  int flags)
{
	io_uring_prep_rw(opcode, sqe, mount_fd, fh, 0, 0);
	sqe->open_flags = (uint32_t)flags;
}

/*
 * Direct variant: install into fixed slot file_index (0-based), or let the
 * kernel pick one with IORING_FILE_INDEX_ALLOC; cqe->res is then 0 or the
 * allocated slot.
 */
static inline void fh_prep_open_by_handle_direct(struct io_uring_sqe *sqe,
						 unsigned int opcode,
						 int mount_fd,
						 const struct file_handle *fh,
						 int flags,
						 unsigned int file_index)
{
	fh_prep_open_by_handle(sqe, opcode, mount_fd, fh, flags);
	if (file_index == IORING_FILE_INDEX_ALLOC)
		sqe->file_index = IORING_FILE_INDEX_ALLOC;
	else
		sqe->file_index = file_index + 1;
}

#endif
