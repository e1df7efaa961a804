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

#ifndef _GNU_SOURCE
#error "define _GNU_SOURCE before any include: struct file_handle needs it"
#endif

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <liburing.h>

#define FHANDLE_OP_NAME_TO_HANDLE_AT	63
#define FHANDLE_OP_OPEN_BY_HANDLE_AT	64

/* name_to_handle_at flags newer than Debian 12's headers (6.5, 6.12). */
#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID			0x200
#endif
#ifndef AT_HANDLE_MNT_ID_UNIQUE
#define AT_HANDLE_MNT_ID_UNIQUE		0x001
#endif

/* A struct file_handle with room for the largest handle. */
struct fh_handle_buf {
	struct file_handle fh;
	unsigned char bytes[MAX_HANDLE_SZ];
};

/*
 * Where an encode writes the mount id: an int, or a __u64 with
 * AT_HANDLE_MNT_ID_UNIQUE.  Zeroed first, so either reads back as .any.
 */
union fh_mount_id {
	int id;
	uint64_t unique;
	uint64_t any;
};

/* The handle buffer, ready for an encode: capacity = the largest handle. */
static inline struct file_handle *fh_handle_ready(struct fh_handle_buf *h)
{
	h->fh.handle_bytes = MAX_HANDLE_SZ;
	return &h->fh;
}

/*
 * NAME_TO_HANDLE_AT: fd = dirfd or AT_FDCWD, addr = path, addr2 = struct
 * file_handle * (handle_bytes = capacity on entry), addr3 = the mount id
 * (an int *, or a __u64 * with AT_HANDLE_MNT_ID_UNIQUE), open_flags =
 * AT_SYMLINK_FOLLOW | AT_EMPTY_PATH | AT_HANDLE_FID |
 * AT_HANDLE_MNT_ID_UNIQUE.  cqe->res = 0 or -errno.
 */
static inline void fh_prep_name_to_handle(struct io_uring_sqe *sqe,
					  unsigned int opcode, int dfd,
					  const char *path,
					  struct file_handle *fh,
					  void *mount_id, unsigned int flags)
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

/* Submit what is prepared and return the result of the one SQE. */
static inline int fh_ring_run_one(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_submit_and_wait(ring, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/*
 * A probe that says "supported" proves nothing: kernels from 6.19 on use
 * 63 and 64 for other opcodes.  These check behaviour instead, against the
 * syscalls, on one existing file.  Each returns 1 if the opcode behaves,
 * 0 if it does something else (*ring_res holds what the ring returned),
 * or -errno if the reference syscall itself failed.
 */
static inline int fh_opcode_encodes(struct io_uring *ring,
				    unsigned int opcode, const char *path,
				    unsigned int flags, int *ring_res)
{
	struct fh_handle_buf want, got;
	union fh_mount_id want_mnt = { 0 }, got_mnt = { 0 };

	if (name_to_handle_at(AT_FDCWD, path, fh_handle_ready(&want),
			      &want_mnt.id, (int)flags))
		return -errno;
	memset(&got, 0, sizeof(got));
	fh_prep_name_to_handle(io_uring_get_sqe(ring), opcode, AT_FDCWD, path,
			       fh_handle_ready(&got), &got_mnt, flags);
	*ring_res = fh_ring_run_one(ring);
	return *ring_res == 0 && got_mnt.any == want_mnt.any &&
	       got.fh.handle_bytes == want.fh.handle_bytes &&
	       got.fh.handle_type == want.fh.handle_type &&
	       !memcmp(got.fh.f_handle, want.fh.f_handle,
		       want.fh.handle_bytes);
}

/*
 * Open fh (the handle of path) through the ring: the same inode?  Another
 * opcode may return a number that is no new fd (NOP returns 0, stdin):
 * only an fd on the file itself, other than mount_fd, is closed.
 */
static inline int fh_opcode_opens(struct io_uring *ring, unsigned int opcode,
				  int mount_fd, const struct file_handle *fh,
				  const char *path, int *ring_res)
{
	struct stat want, got;
	int same;

	if (stat(path, &want))
		return -errno;
	fh_prep_open_by_handle(io_uring_get_sqe(ring), opcode, mount_fd, fh,
			       O_RDONLY | O_CLOEXEC);
	*ring_res = fh_ring_run_one(ring);
	if (*ring_res < 0 || *ring_res == mount_fd)
		return 0;
	same = !fstat(*ring_res, &got) && got.st_ino == want.st_ino &&
	       got.st_dev == want.st_dev;
	if (same)
		close(*ring_res);
	return same;
}

#endif
