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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
 * The opcodes that the liburing headers we are built with define (0-48 for
 * liburing 2.3) are other operations on every kernel: NULL for a number
 * past them, else its name.
 */
#define FH_OP_NAME(op)	[IORING_OP_##op] = "IORING_OP_" #op
static inline const char *fh_liburing_opcode_name(unsigned int opcode)
{
	static const char *const names[IORING_OP_LAST] = {
		FH_OP_NAME(NOP), FH_OP_NAME(READV), FH_OP_NAME(WRITEV),
		FH_OP_NAME(FSYNC), FH_OP_NAME(READ_FIXED),
		FH_OP_NAME(WRITE_FIXED), FH_OP_NAME(POLL_ADD),
		FH_OP_NAME(POLL_REMOVE), FH_OP_NAME(SYNC_FILE_RANGE),
		FH_OP_NAME(SENDMSG), FH_OP_NAME(RECVMSG), FH_OP_NAME(TIMEOUT),
		FH_OP_NAME(TIMEOUT_REMOVE), FH_OP_NAME(ACCEPT),
		FH_OP_NAME(ASYNC_CANCEL), FH_OP_NAME(LINK_TIMEOUT),
		FH_OP_NAME(CONNECT), FH_OP_NAME(FALLOCATE), FH_OP_NAME(OPENAT),
		FH_OP_NAME(CLOSE), FH_OP_NAME(FILES_UPDATE), FH_OP_NAME(STATX),
		FH_OP_NAME(READ), FH_OP_NAME(WRITE), FH_OP_NAME(FADVISE),
		FH_OP_NAME(MADVISE), FH_OP_NAME(SEND), FH_OP_NAME(RECV),
		FH_OP_NAME(OPENAT2), FH_OP_NAME(EPOLL_CTL), FH_OP_NAME(SPLICE),
		FH_OP_NAME(PROVIDE_BUFFERS), FH_OP_NAME(REMOVE_BUFFERS),
		FH_OP_NAME(TEE), FH_OP_NAME(SHUTDOWN), FH_OP_NAME(RENAMEAT),
		FH_OP_NAME(UNLINKAT), FH_OP_NAME(MKDIRAT), FH_OP_NAME(SYMLINKAT),
		FH_OP_NAME(LINKAT), FH_OP_NAME(MSG_RING),
		FH_OP_NAME(FSETXATTR), FH_OP_NAME(SETXATTR),
		FH_OP_NAME(FGETXATTR), FH_OP_NAME(GETXATTR), FH_OP_NAME(SOCKET),
		FH_OP_NAME(URING_CMD), FH_OP_NAME(SEND_ZC),
		FH_OP_NAME(SENDMSG_ZC),
	};

	if (opcode >= IORING_OP_LAST)
		return NULL;
	/* a newer liburing's opcode that this table does not name yet */
	return names[opcode] ? names[opcode] : "an operation of liburing's";
}
#undef FH_OP_NAME

/*
 * A probe that says "supported" proves nothing: kernels from 6.19 on use
 * 63 and 64 for other opcodes.  So the opcodes are checked by behaviour,
 * against the syscalls.  An opcode that is not what it should be may do
 * anything with the fields it is given, so the check
 *
 *  - runs in a child process, which ends with it: an fd or a mapping the
 *    opcode leaves behind, a wait it never finishes, die there;
 *  - works on a private scratch file in a fresh directory under $TMPDIR
 *    (or /tmp), which it removes, never on a file of the caller's;
 *  - sends only fields that are harmless for any operation: the scratch
 *    file or directory as fd, an empty path, no length, no offset, and
 *    AT_EMPTY_PATH (an encode) or O_RDONLY (an open) as the flags; the
 *    caller's AT_HANDLE_* flags go only to an opcode already shown to
 *    encode.
 */
#ifndef FH_CHECK_CQE_WAIT_MS
#define FH_CHECK_CQE_WAIT_MS	1000	/* a completion that never comes */
#endif
#ifndef FH_CHECK_CHILD_WAIT_MS
#define FH_CHECK_CHILD_WAIT_MS	10000	/* a child that never ends */
#endif

/* 1: behaves; 0: does something else (res: the ring's); -errno: unknown */
struct fh_opcode_verdict {
	int verdict;
	int res;
};

struct fh_opcode_check {
	/* in */
	unsigned int encode_op, open_op;
	bool check_encode, check_open;
	unsigned int at_flags;	/* AT_HANDLE_* for the encodes */
	/* out: the encode without and with at_flags, the open */
	struct fh_opcode_verdict encode, encode_flags, open;
	/* the check itself could not run: the call that failed, its errno */
	char failed[64];
	int err;
};

static inline void fh_check_failed(struct fh_opcode_check *c,
				   const char *call, int err)
{
	snprintf(c->failed, sizeof(c->failed), "%s", call);
	c->err = err;
}

/* Submit the one prepared SQE; its result, or -ETIME if none comes. */
static inline int fh_check_run_one(struct io_uring *ring)
{
	struct __kernel_timespec ts = {
		.tv_sec = FH_CHECK_CQE_WAIT_MS / 1000,
		.tv_nsec = (FH_CHECK_CQE_WAIT_MS % 1000) * 1000000L,
	};
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_submit(ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* Encode the scratch file (fd, "", AT_EMPTY_PATH): the syscall's handle? */
static inline struct fh_opcode_verdict
fh_check_encode_op(struct io_uring *ring, unsigned int opcode, int fd,
		   unsigned int flags)
{
	struct fh_opcode_verdict v = { 0, 0 };
	struct fh_handle_buf want, got;
	union fh_mount_id want_mnt = { 0 }, got_mnt = { 0 };

	flags |= AT_EMPTY_PATH;
	if (name_to_handle_at(fd, "", fh_handle_ready(&want), &want_mnt.id,
			      (int)flags)) {
		v.verdict = -errno;
		return v;
	}
	memset(&got, 0, sizeof(got));
	fh_prep_name_to_handle(io_uring_get_sqe(ring), opcode, fd, "",
			       fh_handle_ready(&got), &got_mnt, flags);
	v.res = fh_check_run_one(ring);
	v.verdict = v.res == 0 && got_mnt.any == want_mnt.any &&
		    got.fh.handle_bytes == want.fh.handle_bytes &&
		    got.fh.handle_type == want.fh.handle_type &&
		    !memcmp(got.fh.f_handle, want.fh.f_handle,
			    want.fh.handle_bytes);
	return v;
}

/* Open the scratch file by handle, dirfd as mount fd: the same inode? */
static inline struct fh_opcode_verdict
fh_check_open_op(struct io_uring *ring, unsigned int opcode, int dirfd,
		 int fd)
{
	struct fh_opcode_verdict v = { 0, 0 };
	struct fh_handle_buf h;
	struct stat want, got;
	int mnt;

	if (name_to_handle_at(fd, "", fh_handle_ready(&h), &mnt,
			      AT_EMPTY_PATH) || fstat(fd, &want)) {
		v.verdict = -errno;
		return v;
	}
	fh_prep_open_by_handle(io_uring_get_sqe(ring), opcode, dirfd, &h.fh,
			       O_RDONLY | O_CLOEXEC);
	v.res = fh_check_run_one(ring);
	/* an fd it made dies with the child; fd 0-2 or ours are no proof */
	v.verdict = v.res > 2 && v.res != dirfd && v.res != fd &&
		    !fstat(v.res, &got) && got.st_ino == want.st_ino &&
		    got.st_dev == want.st_dev;
	return v;
}

/* Close every fd of the child from 3 on but the three it works with. */
static inline void fh_check_close_others(int a, int b, int c)
{
	int keep[3] = { a, b, c }, i, j, t, from = 3;

	for (i = 0; i < 3; i++)
		for (j = i + 1; j < 3; j++)
			if (keep[j] < keep[i]) {
				t = keep[i];
				keep[i] = keep[j];
				keep[j] = t;
			}
	for (i = 0; i < 3; i++) {
		if (keep[i] > from)
			syscall(SYS_close_range, from, keep[i] - 1, 0);
		from = keep[i] + 1;
	}
	syscall(SYS_close_range, from, ~0U, 0);
}

/*
 * The child: check, report through out, and end, with nothing open but
 * the scratch file and directory and out, so that the opcode can reach no
 * fd of its parent.
 */
static inline void fh_check_child(struct fh_opcode_check *c, int dirfd,
				  int fd, int out)
{
	struct io_uring ring;
	int ret;

	fh_check_close_others(dirfd, fd, out);
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret < 0) {
		fh_check_failed(c, "io_uring_queue_init", -ret);
	} else {
		if (c->check_encode) {
			c->encode = fh_check_encode_op(&ring, c->encode_op, fd,
						       0);
			if (c->encode.verdict == 1 && c->at_flags)
				c->encode_flags = fh_check_encode_op(&ring,
					c->encode_op, fd, c->at_flags);
		}
		if (c->check_open)
			c->open = fh_check_open_op(&ring, c->open_op, dirfd,
						   fd);
	}
	ret = write(out, c, sizeof(*c)) == (ssize_t)sizeof(*c) ? 0 : 1;
	syscall(SYS_close_range, 3, ~0U, 0);
	_exit(ret);
}

/* What the child wrote; 0, or -1 after fh_check_failed(). */
static inline int fh_check_collect(struct fh_opcode_check *c, pid_t pid,
				   int in)
{
	struct pollfd pfd = { .fd = in, .events = POLLIN };
	struct fh_opcode_check got;
	ssize_t n = -1;
	int ret;

	do {
		ret = poll(&pfd, 1, FH_CHECK_CHILD_WAIT_MS);
	} while (ret < 0 && errno == EINTR);
	if (ret > 0) {
		do {
			n = read(in, &got, sizeof(got));
		} while (n < 0 && errno == EINTR);
	}
	if (n != (ssize_t)sizeof(got))
		kill(pid, SIGKILL);
	/* a server's own waitpid(-1) may have reaped it: ECHILD is fine */
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(got)) {
		fh_check_failed(c, ret == 0 ? "the check's child (timed out)"
				    : "the check's child", ret == 0 ? ETIME
				    : EPIPE);
		return -1;
	}
	*c = got;
	return c->err ? -1 : 0;
}

/* Remove the scratch directory and whatever an opcode left in it. */
static inline void fh_check_scratch_remove(int dirfd, const char *dir)
{
	struct dirent *de;
	DIR *d = fdopendir(dirfd);

	if (!d) {
		close(dirfd);
	} else {
		while ((de = readdir(d))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (unlinkat(dirfd, de->d_name, 0))
				unlinkat(dirfd, de->d_name, AT_REMOVEDIR);
		}
		closedir(d);
	}
	rmdir(dir);
}

/*
 * Check c's opcodes in a child, on a scratch file: 0 with the verdicts in
 * c, or -1 with c->failed and c->err saying what kept the check from
 * running.
 */
static inline int fh_check_opcodes_isolated(struct fh_opcode_check *c)
{
	const char *tmp = getenv("TMPDIR");
	char dir[PATH_MAX];
	int pipefd[2], dirfd, fd, ret = -1;
	pid_t pid;

	c->err = 0;
	c->failed[0] = '\0';
	if (snprintf(dir, sizeof(dir), "%s/fio-fhandle-check.XXXXXX",
		     tmp && *tmp ? tmp : "/tmp") >= (int)sizeof(dir)) {
		fh_check_failed(c, "mkdtemp", ENAMETOOLONG);
		return -1;
	}
	if (!mkdtemp(dir)) {
		fh_check_failed(c, "mkdtemp", errno);
		return -1;
	}
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		fh_check_failed(c, "open", errno);
		rmdir(dir);
		return -1;
	}
	fd = openat(dirfd, "f", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		fh_check_failed(c, "open", errno);
	} else if (pipe2(pipefd, O_CLOEXEC)) {
		fh_check_failed(c, "pipe2", errno);
	} else {
		pid = fork();
		if (pid == 0) {
			close(pipefd[0]);
			fh_check_child(c, dirfd, fd, pipefd[1]);
		}
		close(pipefd[1]);
		if (pid < 0)
			fh_check_failed(c, "fork", errno);
		else
			ret = fh_check_collect(c, pid, pipefd[0]);
		close(pipefd[0]);
	}
	if (fd >= 0)
		close(fd);
	fh_check_scratch_remove(dirfd, dir);
	return ret;
}

#endif
