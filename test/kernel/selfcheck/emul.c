// SPDX-License-Identifier: GPL-2.0
/*
 * LD_PRELOAD emulation of the two proposed opcodes, to check the tests' own
 * logic on a kernel that lacks them (see selfcheck.sh).  NOT a test of any
 * kernel: io_uring_submit() runs each opcode 63/64 sqe as the syscall right
 * away and posts the result to the ring itself with IORING_OP_MSG_RING
 * (5.18+); direct opens become IORING_OP_OPENAT direct of /proc/self/fd/N.
 * io_uring_get_probe_ring() reports 63/64 supported and 49..62 not, which
 * give -EINVAL when submitted.
 * Known limit: a registered personality's credentials are not applied.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <liburing.h>

#define OP_ENCODE	63
#define OP_OPEN		64
#define HIGH_FD		500	/* parked fds for direct opens, out of the way */

static void post_result(struct io_uring *ring, struct io_uring_sqe *sqe,
			int res)
{
	__u64 user_data = sqe->user_data;
	__u8 flags = sqe->flags;

	io_uring_prep_rw(IORING_OP_MSG_RING, sqe, ring->ring_fd, NULL,
			 (unsigned int)res, user_data);
	sqe->flags = flags | IOSQE_CQE_SKIP_SUCCESS;
	sqe->user_data = user_data;
}

static void open_direct(struct io_uring_sqe *sqe, int fd)
{
	static int next = HIGH_FD;
	unsigned int file_index = sqe->file_index;
	int flags = (int)sqe->open_flags;
	__u64 user_data = sqe->user_data;
	__u8 sqe_flags = sqe->flags;
	char *path = malloc(32);	/* read by the kernel later: leaked */
	int parked = dup2(fd, next++);

	close(fd);
	snprintf(path, 32, "/proc/self/fd/%d", parked);
	io_uring_prep_openat(sqe, AT_FDCWD, path, flags, 0);
	sqe->file_index = file_index;
	sqe->user_data = user_data;
	sqe->flags = sqe_flags;
}

static void emulate(struct io_uring *ring, struct io_uring_sqe *sqe)
{
	int fd, ret;

	if (sqe->flags & IOSQE_FIXED_FILE) {
		sqe->flags &= ~IOSQE_FIXED_FILE;
		post_result(ring, sqe, -EBADF);
		return;
	}
	if (sqe->ioprio || sqe->len || sqe->buf_index || sqe->__pad2[0] ||
	    (sqe->opcode == OP_ENCODE ? sqe->splice_fd_in :
	     sqe->off || sqe->addr3)) {
		post_result(ring, sqe, -EINVAL);	/* unused fields */
		return;
	}
	if (sqe->opcode == OP_ENCODE) {
		ret = name_to_handle_at(sqe->fd, (char *)sqe->addr,
					(struct file_handle *)sqe->addr2,
					(int *)sqe->addr3, sqe->open_flags);
		post_result(ring, sqe, ret ? -errno : 0);
		return;
	}
	if (sqe->file_index && (sqe->open_flags & O_CLOEXEC)) {
		post_result(ring, sqe, -EINVAL);	/* as OPENAT direct */
		return;
	}
	fd = open_by_handle_at(sqe->fd, (struct file_handle *)sqe->addr,
			       sqe->open_flags);
	if (fd >= 0 && sqe->file_index)
		open_direct(sqe, fd);
	else
		post_result(ring, sqe, fd < 0 ? -errno : fd);
}

int io_uring_submit(struct io_uring *ring)
{
	static int (*real)(struct io_uring *);
	struct io_uring_sqe *sqe;
	unsigned int i;

	if (!real)
		real = dlsym(RTLD_NEXT, "io_uring_submit");
	for (i = ring->sq.sqe_head; i != ring->sq.sqe_tail; i++) {
		sqe = &ring->sq.sqes[i & *ring->sq.kring_mask];
		if (sqe->opcode == OP_ENCODE || sqe->opcode == OP_OPEN)
			emulate(ring, sqe);
		else if (sqe->opcode >= 49 && sqe->opcode < OP_ENCODE)
			post_result(ring, sqe, -EINVAL);	/* placeholders */
	}
	return real(ring);
}

struct io_uring_probe *io_uring_get_probe_ring(struct io_uring *ring)
{
	static struct io_uring_probe *(*real)(struct io_uring *);
	struct io_uring_probe *p;
	int op;

	if (!real)
		real = dlsym(RTLD_NEXT, "io_uring_get_probe_ring");
	p = real(ring);		/* liburing allocates room for 256 ops */
	if (!p)
		return p;
	for (op = 49; op <= OP_OPEN; op++) {
		p->ops[op].op = op;
		p->ops[op].flags = op >= OP_ENCODE ? IO_URING_OP_SUPPORTED : 0;
	}
	p->last_op = OP_OPEN;
	p->ops_len = OP_OPEN + 1;
	return p;
}
