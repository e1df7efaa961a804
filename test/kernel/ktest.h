/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared helpers for the kernel conformance tests of the proposed io_uring
 * file-handle opcodes.  Every test is one program run as
 *
 *	NAME DIR
 *
 * that creates its files in DIR (named kt-NAME-PID-*), removes them on exit
 * and exits 0 (pass), 77 (skip, with a "skip: why" line) or 1 (fail, with a
 * "FAIL: NAME: check: detail" line).
 *
 * Skip detection (kt_require) checks behaviour, not only the probe: both
 * opcodes must be reported supported AND encoding DIR through the ring must
 * give exactly the syscall's handle and mount id, AND opening that handle
 * through the ring must open DIR.  If the probe says "supported" but the
 * behaviour differs, that is a FAIL - with one exception: on kernels 6.19
 * and later upstream uses 63 for IORING_OP_NOP128; there, a completion that
 * wrote nothing at all (handle buffer and mount id untouched) identifies
 * that other opcode, and the test skips.
 */
#ifndef KTEST_H
#define KTEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <ftw.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "fhandle_uring.h"
#include <linux/fs.h>

#define KT_PASS		0
#define KT_FAIL		1
#define KT_SKIP		77

#define KT_MAX_HANDLE_SZ	128	/* the kernel's MAX_HANDLE_SZ */
#define KT_OP_ENCODE	FHANDLE_OP_NAME_TO_HANDLE_AT
#define KT_OP_OPEN	FHANDLE_OP_OPEN_BY_HANDLE_AT

#define KT_MAX_FILES	128

static struct {
	const char *name;	/* test name: basename of argv[0] */
	const char *dir;	/* the directory under test */
	int dirfd;		/* O_RDONLY | O_DIRECTORY on dir */
	pid_t pid;		/* only this process cleans up */
	int nfiles;
	char *files[KT_MAX_FILES];	/* created, removed at exit */
} kt __attribute__((unused));

/* ---- reporting ---- */

__attribute__((format(printf, 1, 2), noreturn))
static inline void kt_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "FAIL: %s: ", kt.name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(KT_FAIL);
}

__attribute__((format(printf, 1, 2), noreturn))
static inline void kt_skip(const char *fmt, ...)
{
	va_list ap;

	printf("skip: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(KT_SKIP);
}

__attribute__((noreturn))
static inline void kt_pass(void)
{
	printf("pass: %s\n", kt.name);
	exit(KT_PASS);
}

/* "-2 (ENOENT)" style rendering of a result or -errno, for messages. */
static inline const char *kt_res_str(int res)
{
	static __thread char buf[8][64];
	static __thread int n;
	char *b = buf[n++ % 8];

	if (res < 0)
		snprintf(b, sizeof(buf[0]), "%d (%s)", res,
			 strerrorname_np(-res) ?: "?");
	else
		snprintf(b, sizeof(buf[0]), "%d", res);
	return b;
}

static inline void kt_expect_res(const char *check, int got, int want)
{
	if (got != want)
		kt_fail("%s: got %s, want %s", check, kt_res_str(got),
			kt_res_str(want));
}

/*
 * An error check: the ring's result must be want, and so must the plain
 * syscall's for the same input.
 */
static inline void kt_expect_err(const char *check, int ring_res,
				 int sys_res, int want)
{
	if (sys_res != want)
		kt_fail("%s: the syscall itself gave %s, want %s (set-up?)",
			check, kt_res_str(sys_res), kt_res_str(want));
	if (ring_res != want)
		kt_fail("%s: ring gave %s, want %s (syscall gives %s)", check,
			kt_res_str(ring_res), kt_res_str(want),
			kt_res_str(sys_res));
}

/* ---- files in the directory under test ---- */

static inline int kt_rm_one(const char *p, const struct stat *st, int type,
			    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(p);
	return 0;
}

/* Remove the directory p and what it holds. */
static inline void kt_rmdir_files(const char *p)
{
	if (!rmdir(p) || errno != ENOTEMPTY)
		return;
	nftw(p, kt_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

static inline void kt_cleanup(void)
{
	if (getpid() != kt.pid)
		return;
	while (kt.nfiles > 0) {
		char *p = kt.files[--kt.nfiles];

		if (unlink(p) && errno == EISDIR)
			kt_rmdir_files(p);
		free(p);
	}
}

/* The path DIR/kt-NAME-PID-leaf, remembered for removal at exit. */
static inline const char *kt_path(const char *leaf)
{
	char *p;

	if (kt.nfiles == KT_MAX_FILES)
		kt_fail("too many test files");
	if (asprintf(&p, "%s/kt-%s-%d-%s", kt.dir, kt.name, (int)kt.pid,
		     leaf) < 0)
		kt_fail("asprintf: %s", strerror(errno));
	kt.files[kt.nfiles++] = p;
	return p;
}

/* Create a regular file holding data; returns its path. */
static inline const char *kt_mkfile(const char *leaf, const char *data)
{
	const char *p = kt_path(leaf);
	size_t len = strlen(data);
	int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);

	if (fd < 0)
		kt_fail("create %s: %s", p, strerror(errno));
	if (write(fd, data, len) != (ssize_t)len)
		kt_fail("write %s: %s", p, strerror(errno));
	close(fd);
	return p;
}

static inline const char *kt_mkdir(const char *leaf)
{
	const char *p = kt_path(leaf);

	if (mkdir(p, 0755))
		kt_fail("mkdir %s: %s", p, strerror(errno));
	return p;
}

static inline const char *kt_mksymlink(const char *leaf, const char *target)
{
	const char *p = kt_path(leaf);

	if (symlink(target, p))
		kt_fail("symlink %s: %s", p, strerror(errno));
	return p;
}

static inline int kt_openf(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		kt_fail("open %s: %s", path, strerror(errno));
	return fd;
}

/*
 * A directory leaf holding n empty files f0 .. f(n-1), removed at exit with
 * what it holds; returns its path.
 */
static inline const char *kt_mkfileset(const char *leaf, int n)
{
	const char *dir = kt_mkdir(leaf);
	char path[4096];
	int i, fd;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			kt_fail("create %s: %s", path, strerror(errno));
		close(fd);
	}
	return dir;
}

/* An address that is not mapped: for -EFAULT checks. */
static inline void *kt_bad_ptr(void)
{
	long pg = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (p == MAP_FAILED)
		kt_fail("mmap: %s", strerror(errno));
	munmap(p, pg);
	return p;
}

/*
 * sync, then drop the page, dentry and inode caches.  Returns 0, or -errno
 * when /proc/sys/vm/drop_caches cannot be written (callers skip).
 *
 * sync alone leaves the metadata of recently changed files dirty in memory
 * (in ext4's journal, in XFS's log), where dropping the caches cannot drop
 * it: such files stay cached for seconds.  Freezing DIR's filesystem and
 * thawing it at once writes everything in place first (where it can be
 * frozen; tmpfs cannot be cold anyway).
 */
static inline int kt_drop_caches(void)
{
	int fd, ret = 0;

	sync();
	if (kt.dirfd > 0 && !ioctl(kt.dirfd, FIFREEZE, 0))
		ioctl(kt.dirfd, FITHAW, 0);
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, "3", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

/* ---- processes and threads ---- */

/*
 * Run fn in a forked child; the child fails the test (kt_fail) or returns;
 * the parent fails if the child did not exit 0.
 */
static inline void kt_run_child(const char *what, void (*fn)(void))
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		kt_fail("fork: %s", strerror(errno));
	if (!pid) {
		kt.pid = getpid();	/* it removes only its own files */
		kt.nfiles = 0;
		fn();
		kt_cleanup();
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		kt_fail("waitpid: %s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == KT_SKIP)
		kt_skip("%s child skipped", what);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		kt_fail("%s child: status %#x", what, status);
}

/* CLOCK_MONOTONIC in nanoseconds. */
static inline int64_t kt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The voluntary context switches of the calling thread so far. */
static inline long kt_thread_nvcsw(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		kt_fail("getrusage: %s", strerror(errno));
	return ru.ru_nvcsw;
}

/*
 * A field of /proc/self/task/TID/status ("voluntary_ctxt_switches", say),
 * or -1 when the thread or the field is not there.
 */
static inline long kt_task_status(pid_t tid, const char *field)
{
	char path[64], line[256];
	size_t len = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* The state letter of /proc/self/task/TID/stat ('R', 'S', 'D'...), or 0. */
static inline char kt_task_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');	/* the name may hold spaces */
	return p && p[1] == ' ' ? p[2] : 0;
}

/* The thread of this process whose comm starts with prefix, or -1. */
static inline pid_t kt_find_thread(const char *prefix)
{
	char path[300], comm[64];
	struct dirent *e;
	pid_t tid = -1;
	ssize_t n;
	DIR *d;
	int fd;

	d = opendir("/proc/self/task");
	if (!d)
		return -1;
	while (tid < 0 && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm",
			 e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		comm[n > 0 ? n : 0] = 0;
		if (!strncmp(comm, prefix, strlen(prefix)))
			tid = atoi(e->d_name);
	}
	closedir(d);
	return tid;
}

/* The number of open fds of this process. */
static inline int kt_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		kt_fail("opendir /proc/self/fd: %s", strerror(errno));
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;	/* not the one opendir holds */
}

/*
 * Whether an io-wq worker of this process sleeps in a FIFO open (its wchan
 * names fifo_open or wait_for_partner), polled for up to max_s seconds.
 * False also where wchan is not available (no KALLSYMS).
 */
static inline bool kt_fifo_open_parked(int max_s)
{
	char path[300], buf[64];
	struct dirent *e;
	int i, fd;
	ssize_t n;
	DIR *d;

	for (i = 0; i < 20 * max_s; i++) {
		d = opendir("/proc/self/task");
		if (!d)
			kt_fail("opendir /proc/self/task: %s", strerror(errno));
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%s/wchan",
				 e->d_name);
			fd = open(path, O_RDONLY);
			if (fd < 0)
				continue;
			n = read(fd, buf, sizeof(buf) - 1);
			close(fd);
			buf[n > 0 ? n : 0] = 0;
			if (strstr(buf, "fifo_open") ||
			    strstr(buf, "wait_for_partner")) {
				closedir(d);
				return true;
			}
		}
		closedir(d);
		usleep(50 * 1000);
	}
	return false;
}

/* ---- tracing: did a request go to io-wq? ---- */

#define KT_TRACE_ASYNC \
	"/sys/kernel/tracing/events/io_uring/io_uring_queue_async_work/enable"

/*
 * Enable the io_uring_queue_async_work tracepoint and empty the trace;
 * false where tracefs is not mounted at /sys/kernel/tracing (the VM's
 * init mounts it) or the tracepoint is missing, and under the selfcheck
 * emulation (KT_SELFCHECK set: it runs everything inline, and the host's
 * tracing is not ours to change).
 */
static inline bool kt_trace_async_reset(void)
{
	int fd;
	bool ok;

	if (getenv("KT_SELFCHECK"))
		return false;
	fd = open(KT_TRACE_ASYNC, O_WRONLY);
	if (fd < 0)
		return false;
	ok = write(fd, "1", 1) == 1;
	close(fd);
	fd = open("/sys/kernel/tracing/trace", O_WRONLY | O_TRUNC);
	if (fd < 0)
		return false;
	close(fd);
	return ok;
}

/* Requests queued to io-wq since kt_trace_async_reset(), or -1. */
static inline int kt_trace_async_count(void)
{
	FILE *f = fopen("/sys/kernel/tracing/trace", "r");
	char line[512];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += line[0] != '#' &&
		     strstr(line, "io_uring_queue_async_work");
	fclose(f);
	return n;
}

/* ---- handles ---- */

/* A handle buffer with room for KT_MAX_HANDLE_SZ, capacity cap. */
static inline struct file_handle *kt_fh_new(unsigned int cap)
{
	size_t room = cap > KT_MAX_HANDLE_SZ ? cap : KT_MAX_HANDLE_SZ;
	struct file_handle *fh = calloc(1, sizeof(*fh) + room);

	if (!fh)
		kt_fail("calloc: out of memory");
	fh->handle_bytes = cap;
	return fh;
}

static inline struct file_handle *kt_fh_dup(const struct file_handle *fh)
{
	struct file_handle *c = kt_fh_new(fh->handle_bytes);

	memcpy(c, fh, sizeof(*fh) + fh->handle_bytes);
	return c;
}

static inline bool kt_fh_same(const struct file_handle *a,
			      const struct file_handle *b)
{
	return a->handle_bytes == b->handle_bytes &&
	       a->handle_type == b->handle_type &&
	       a->handle_bytes <= KT_MAX_HANDLE_SZ &&
	       !memcmp(a->f_handle, b->f_handle, a->handle_bytes);
}

/* "bytes=N type=T hex..." for messages. */
static inline const char *kt_fh_str(const struct file_handle *fh)
{
	static __thread char buf[2][16 + 40 + 2 * KT_MAX_HANDLE_SZ];
	static __thread int n;
	char *b = buf[n++ % 2];
	unsigned int i, len = fh->handle_bytes;
	int off;

	off = snprintf(b, sizeof(buf[0]), "bytes=%u type=%d ",
		       fh->handle_bytes, fh->handle_type);
	if (len > KT_MAX_HANDLE_SZ)
		len = 0;
	for (i = 0; i < len; i++)
		off += snprintf(b + off, sizeof(buf[0]) - off, "%02x",
				fh->f_handle[i]);
	return b;
}

/* ---- plain syscalls, as 0/fd or -errno ---- */

static inline int kt_sys_encode(int dfd, const char *path,
				struct file_handle *fh, int *mnt, int flags)
{
	return name_to_handle_at(dfd, path, fh, mnt, flags) ? -errno : 0;
}

/* A new handle of path (from the cwd) by the syscall, which must succeed. */
static inline struct file_handle *kt_fh_of(const char *path, int *mnt)
{
	struct file_handle *fh = kt_fh_new(KT_MAX_HANDLE_SZ);

	kt_expect_res("encode", kt_sys_encode(AT_FDCWD, path, fh, mnt, 0), 0);
	return fh;
}

static inline int kt_sys_open(int mfd, struct file_handle *fh, int flags)
{
	int fd = open_by_handle_at(mfd, fh, flags);

	return fd < 0 ? -errno : fd;
}

/* ---- rings ---- */

static inline void kt_ring_init(struct io_uring *ring, unsigned int entries,
				unsigned int flags)
{
	int ret = io_uring_queue_init(entries, ring, flags);

	if (ret == -ENOSYS || ret == -EPERM)
		kt_skip("io_uring unavailable: io_uring_queue_init: %s",
			strerror(-ret));
	if (ret)
		kt_fail("io_uring_queue_init: %s", strerror(-ret));
}

static inline struct io_uring_sqe *kt_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe)
		kt_fail("io_uring_get_sqe: ring full");
	return sqe;
}

static inline void kt_submit(struct io_uring *ring, int n)
{
	int ret = io_uring_submit(ring);

	/*
	 * With SQPOLL, liburing counts every entry the SQ thread has not
	 * consumed yet, which may include earlier, already completed ones.
	 */
	if (ret >= n && (ring->flags & IORING_SETUP_SQPOLL))
		return;
	if (ret != n)
		kt_fail("io_uring_submit: got %s, want %d", kt_res_str(ret),
			n);
}

/* Reap one completion; returns cqe->res, and user_data if asked. */
static inline int kt_reap(struct io_uring *ring, uint64_t *user_data)
{
	struct io_uring_cqe *cqe;
	int ret, res;

	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		kt_fail("io_uring_wait_cqe: %s", strerror(-ret));
	res = cqe->res;
	if (user_data)
		*user_data = cqe->user_data;
	io_uring_cqe_seen(ring, cqe);
	return res;
}

/* Submit the one prepared sqe and wait for it: returns cqe->res. */
static inline int kt_run(struct io_uring *ring)
{
	kt_submit(ring, 1);
	return kt_reap(ring, NULL);
}

/* Prepare (not submit) an encode; sqe_flags such as IOSQE_ASYNC. */
static inline struct io_uring_sqe *
kt_prep_encode(struct io_uring *ring, int dfd, const char *path,
	       struct file_handle *fh, int *mnt, int flags,
	       unsigned int sqe_flags)
{
	struct io_uring_sqe *sqe = kt_sqe(ring);

	fh_prep_name_to_handle(sqe, KT_OP_ENCODE, dfd, path, fh, mnt,
			       (unsigned int)flags);
	sqe->flags |= sqe_flags;
	return sqe;
}

static inline struct io_uring_sqe *
kt_prep_open(struct io_uring *ring, int mfd, const struct file_handle *fh,
	     int flags, unsigned int sqe_flags)
{
	struct io_uring_sqe *sqe = kt_sqe(ring);

	fh_prep_open_by_handle(sqe, KT_OP_OPEN, mfd, fh, flags);
	sqe->flags |= sqe_flags;
	return sqe;
}

static inline int kt_ring_encode(struct io_uring *ring, int dfd,
				 const char *path, struct file_handle *fh,
				 int *mnt, int flags, unsigned int sqe_flags)
{
	kt_prep_encode(ring, dfd, path, fh, mnt, flags, sqe_flags);
	return kt_run(ring);
}

static inline int kt_ring_open(struct io_uring *ring, int mfd,
			       const struct file_handle *fh, int flags,
			       unsigned int sqe_flags)
{
	kt_prep_open(ring, mfd, fh, flags, sqe_flags);
	return kt_run(ring);
}

/* ---- the comparisons every test is built from ---- */

static inline struct stat kt_fstat(const char *check, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		kt_fail("%s: fstat(%d): %s", check, fd, strerror(errno));
	return st;
}

/* fd must be open on the same inode as ref_fd (st_dev and st_ino). */
static inline void kt_expect_same_inode(const char *check, int fd, int ref_fd)
{
	struct stat a = kt_fstat(check, fd), b = kt_fstat(check, ref_fd);

	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		kt_fail("%s: fd %d is dev %#lx ino %lu, want dev %#lx ino %lu",
			check, fd, (unsigned long)a.st_dev,
			(unsigned long)a.st_ino, (unsigned long)b.st_dev,
			(unsigned long)b.st_ino);
}

/* fd must be open on the inode st describes (st_dev and st_ino). */
static inline void kt_expect_same_inode_st(const char *check, int fd,
					   const struct stat *st)
{
	struct stat a = kt_fstat(check, fd);

	if (a.st_dev != st->st_dev || a.st_ino != st->st_ino)
		kt_fail("%s: fd %d is dev %#lx ino %lu, want dev %#lx ino %lu",
			check, fd, (unsigned long)a.st_dev,
			(unsigned long)a.st_ino, (unsigned long)st->st_dev,
			(unsigned long)st->st_ino);
}

/* fd must be open on path itself (not following a final symlink). */
static inline void kt_expect_inode_of(const char *check, int fd,
				      const char *path)
{
	struct stat a = kt_fstat(check, fd), b;

	if (lstat(path, &b))
		kt_fail("%s: lstat %s: %s", check, path, strerror(errno));
	if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		kt_fail("%s: fd %d is dev %#lx ino %lu, %s is dev %#lx ino %lu",
			check, fd, (unsigned long)a.st_dev,
			(unsigned long)a.st_ino, path, (unsigned long)b.st_dev,
			(unsigned long)b.st_ino);
}

/*
 * Encode (dfd, path, flags) with a handle buffer of capacity cap through
 * the ring (sqe_flags added) and through the syscall.  The results must be
 * equal; on success the handles (bytes, type) and mount ids must be equal,
 * on -EOVERFLOW the needed size and type written back and the mount id.
 * Returns the result; *out (if given) gets the ring's handle, to free().
 */
static inline int kt_encode_both(const char *check, struct io_uring *ring,
				 int dfd, const char *path, int flags,
				 unsigned int cap, unsigned int sqe_flags,
				 struct file_handle **out)
{
	struct file_handle *rfh = kt_fh_new(cap), *sfh = kt_fh_new(cap);
	int rmnt = -1, smnt = -1, rres, sres;

	sres = kt_sys_encode(dfd, path, sfh, &smnt, flags);
	rres = kt_ring_encode(ring, dfd, path, rfh, &rmnt, flags, sqe_flags);
	if (rres != sres)
		kt_fail("%s: encode %s: ring gave %s, syscall %s", check, path,
			kt_res_str(rres), kt_res_str(sres));
	if (!rres && !kt_fh_same(rfh, sfh))
		kt_fail("%s: encode %s: ring handle %s, syscall handle %s",
			check, path, kt_fh_str(rfh), kt_fh_str(sfh));
	if (rres == -EOVERFLOW &&
	    (rfh->handle_bytes != sfh->handle_bytes ||
	     rfh->handle_type != sfh->handle_type))
		kt_fail("%s: encode %s -EOVERFLOW: ring wrote back bytes=%u "
			"type=%d, syscall bytes=%u type=%d", check, path,
			rfh->handle_bytes, rfh->handle_type,
			sfh->handle_bytes, sfh->handle_type);
	if ((!rres || rres == -EOVERFLOW) && rmnt != smnt)
		kt_fail("%s: encode %s: ring mount id %d, syscall %d", check,
			path, rmnt, smnt);
	free(sfh);
	if (out)
		*out = rfh;
	else
		free(rfh);
	return rres;
}

/*
 * Open fh with flags through the ring (sqe_flags added) and through the
 * syscall, mount fd mfd.  The results must agree: the same -errno, or two
 * fds on the same inode with the same F_GETFL and FD_CLOEXEC.  Returns the
 * ring's fd (the caller closes it) or -errno.
 */
static inline int kt_open_both(const char *check, struct io_uring *ring,
			       int mfd, const struct file_handle *fh,
			       int flags, unsigned int sqe_flags)
{
	struct file_handle *copy = kt_fh_dup(fh);
	int rfd, sfd, rfl, sfl, rfd_fl, sfd_fl;

	sfd = kt_sys_open(mfd, copy, flags);
	free(copy);
	rfd = kt_ring_open(ring, mfd, fh, flags, sqe_flags);
	if ((rfd < 0 || sfd < 0) && rfd != sfd)
		kt_fail("%s: open flags %#x: ring gave %s, syscall %s", check,
			flags, kt_res_str(rfd), kt_res_str(sfd));
	if (rfd < 0)
		return rfd;
	kt_expect_same_inode(check, rfd, sfd);
	rfl = fcntl(rfd, F_GETFL);
	sfl = fcntl(sfd, F_GETFL);
	if (rfl != sfl)
		kt_fail("%s: open flags %#x: F_GETFL ring %#x, syscall %#x",
			check, flags, rfl, sfl);
	rfd_fl = fcntl(rfd, F_GETFD);
	sfd_fl = fcntl(sfd, F_GETFD);
	if (rfd_fl != sfd_fl)
		kt_fail("%s: open flags %#x: F_GETFD ring %#x, syscall %#x",
			check, flags, rfd_fl, sfd_fl);
	close(sfd);
	return rfd;
}

/* ---- start-up and skip detection ---- */

static inline bool kt_kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

static inline const char *kt_release(void)
{
	static struct utsname u;

	if (uname(&u))
		return "?";
	return u.release;
}

static inline const char *kt_fstype(void)
{
	static char buf[32];
	FILE *f;

	snprintf(buf, sizeof(buf), "?");
	/* fine for messages: the type name as stat -f shows it */
	f = popen("stat -f -c %T . 2>/dev/null", "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			buf[strcspn(buf, "\n")] = 0;
		pclose(f);
	}
	return buf;
}

/*
 * Skip unless this kernel really has both opcodes; see the comment at the
 * top.  Also skips if the filesystem under test cannot export handles.
 */
static inline void kt_require(struct io_uring *ring)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(ring);
	struct file_handle *sfh, *rfh;
	int smnt = -1, rmnt = -7, res, fd;
	unsigned int i;
	bool untouched;

	if (!p)
		kt_skip("kernel %s has no IORING_REGISTER_PROBE",
			kt_release());
	if (!io_uring_opcode_supported(p, KT_OP_ENCODE))
		kt_skip("kernel %s has no IORING_OP_NAME_TO_HANDLE_AT "
			"(opcode %d not supported by IORING_REGISTER_PROBE)",
			kt_release(), KT_OP_ENCODE);
	if (!io_uring_opcode_supported(p, KT_OP_OPEN))
		kt_skip("kernel %s has no IORING_OP_OPEN_BY_HANDLE_AT "
			"(opcode %d not supported by IORING_REGISTER_PROBE)",
			kt_release(), KT_OP_OPEN);
	io_uring_free_probe(p);

	sfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	res = kt_sys_encode(AT_FDCWD, kt.dir, sfh, &smnt, 0);
	if (res == -EOPNOTSUPP)
		kt_skip("%s (%s) cannot export file handles: "
			"name_to_handle_at gives EOPNOTSUPP", kt.dir,
			kt_fstype());
	kt_expect_res("name_to_handle_at(DIR) syscall", res, 0);

	rfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	memset(rfh->f_handle, 0xa5, KT_MAX_HANDLE_SZ);
	rfh->handle_type = 0x5a5a;
	res = kt_ring_encode(ring, AT_FDCWD, kt.dir, rfh, &rmnt, 0, 0);
	if (res || !kt_fh_same(rfh, sfh) || rmnt != smnt) {
		untouched = rfh->handle_bytes == KT_MAX_HANDLE_SZ &&
			    rfh->handle_type == 0x5a5a && rmnt == -7;
		for (i = 0; i < KT_MAX_HANDLE_SZ; i++)
			untouched = untouched && rfh->f_handle[i] == 0xa5;
		if (untouched && kt_kernel_at_least(6, 19))
			kt_skip("kernel %s: opcode %d is upstream's "
				"IORING_OP_NOP128, not NAME_TO_HANDLE_AT "
				"(res %s, nothing written)", kt_release(),
				KT_OP_ENCODE, kt_res_str(res));
		kt_fail("probe: opcode %d is reported supported, but encoding "
			"%s through the ring gave res %s, handle %s, mount id "
			"%d; the syscall gives handle %s, mount id %d",
			KT_OP_ENCODE, kt.dir, kt_res_str(res), kt_fh_str(rfh),
			rmnt, kt_fh_str(sfh), smnt);
	}

	fd = kt_ring_open(ring, kt.dirfd, sfh, O_RDONLY | O_DIRECTORY, 0);
	if (fd < 0)
		kt_fail("probe: opcode %d is reported supported, but opening "
			"the handle of %s through the ring gave %s",
			KT_OP_OPEN, kt.dir, kt_res_str(fd));
	kt_expect_same_inode("probe: open of DIR's handle", fd, kt.dirfd);
	close(fd);
	free(sfh);
	free(rfh);
}

/* Parse argv, open DIR; call first. */
static inline void kt_init(int argc, char **argv)
{
	const char *slash = strrchr(argv[0], '/');

	kt.name = slash ? slash + 1 : argv[0];
	kt.pid = getpid();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		exit(KT_FAIL);
	}
	kt.dir = realpath(argv[1], NULL);
	if (!kt.dir)
		kt_fail("realpath %s: %s", argv[1], strerror(errno));
	kt.dirfd = open(kt.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (kt.dirfd < 0)
		kt_fail("open %s: %s", kt.dir, strerror(errno));
	if (fchdir(kt.dirfd))
		kt_fail("chdir %s: %s", kt.dir, strerror(errno));
	atexit(kt_cleanup);
}

#endif
