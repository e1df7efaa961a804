// SPDX-License-Identifier: GPL-2.0
/*
 * Error paths, each inline and through io-wq, each compared with what the
 * syscall returns for the same input: -EFAULT for bad pointers, -EINVAL
 * for bad AT_* and O_* flags and bad handle_bytes, -EBADF for bad fds,
 * -EOVERFLOW with the needed size written back, -EOPNOTSUPP where the
 * filesystem cannot export handles, -EMFILE at RLIMIT_NOFILE, and the path
 * lookup errors.  Also IOSQE_FIXED_FILE, which gives -EBADF as for
 * IORING_OP_OPENAT (the unused sqe fields: sqefields.c).
 */
#include "ktest.h"
#include <sys/resource.h>

#define KT_O_TMPFILE_BIT	020000000	/* the kernel's __O_TMPFILE */

static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
static struct io_uring ring;
static void *bad;	/* an unmapped address */

static const char *name(const char *check, unsigned int flags)
{
	static char buf[160];

	snprintf(buf, sizeof(buf), "%s%s", check,
		 flags & IOSQE_ASYNC ? " (IOSQE_ASYNC)" : "");
	return buf;
}

/* Encode with raw pointers: ring and syscall must both give want. */
static void enc_err(const char *check, int dfd, const char *path,
		    struct file_handle *fh, int *mnt, int flags, int want)
{
	unsigned int cap = 0, i;
	int r, s;

	if (fh && (void *)fh != bad)
		cap = fh->handle_bytes;
	for (i = 0; i < 2; i++) {
		s = kt_sys_encode(dfd, path, fh, mnt, flags);
		if (cap)
			fh->handle_bytes = cap;
		r = kt_ring_encode(&ring, dfd, path, fh, mnt, flags,
				   sqe_flags[i]);
		if (cap)
			fh->handle_bytes = cap;
		kt_expect_err(name(check, sqe_flags[i]), r, s, want);
	}
}

/* Encode through kt_encode_both (same result, same data written back). */
static void enc_both(const char *check, int dfd, const char *path,
		     int flags, unsigned int cap, int want)
{
	unsigned int i;

	for (i = 0; i < 2; i++)
		kt_expect_res(name(check, sqe_flags[i]),
			      kt_encode_both(name(check, sqe_flags[i]), &ring,
					     dfd, path, flags, cap,
					     sqe_flags[i], NULL), want);
}

static void open_err(const char *check, int mfd, struct file_handle *fh,
		     int flags, int want)
{
	unsigned int i;
	int r, s;

	for (i = 0; i < 2; i++) {
		s = kt_sys_open(mfd, fh, flags);
		if (s >= 0)
			close(s);
		r = kt_ring_open(&ring, mfd, fh, flags, sqe_flags[i]);
		if (r >= 0)
			close(r);
		kt_expect_err(name(check, sqe_flags[i]), r, s, want);
	}
}

/* Open where only agreement with the syscall is required. */
static void open_agree(const char *check, int mfd, struct file_handle *fh,
		       int flags)
{
	unsigned int i;
	int fd;

	for (i = 0; i < 2; i++) {
		fd = kt_open_both(name(check, sqe_flags[i]), &ring, mfd, fh,
				  flags, sqe_flags[i]);
		if (fd >= 0)
			close(fd);
	}
}

/* With RLIMIT_NOFILE at the lowest free fd, opens give -EMFILE. */
static void emfile(struct file_handle *fh)
{
	struct rlimit old, lim;
	int fd = kt_openf("/dev/null", O_RDONLY);

	close(fd);
	if (getrlimit(RLIMIT_NOFILE, &old))
		kt_fail("getrlimit: %s", strerror(errno));
	lim = old;
	lim.rlim_cur = fd;
	if (setrlimit(RLIMIT_NOFILE, &lim))
		kt_fail("setrlimit: %s", strerror(errno));
	open_err("open: at RLIMIT_NOFILE", kt.dirfd, fh, O_RDONLY, -EMFILE);
	if (setrlimit(RLIMIT_NOFILE, &old))
		kt_fail("setrlimit: %s", strerror(errno));
}

/* Run the one prepared sqe; it must fail with want. */
static void run_expect(const char *check, int want)
{
	kt_expect_res(check, kt_run(&ring), want);
}

static void fixed_file_checks(const char *file, struct file_handle *fh)
{
	struct file_handle *out = kt_fh_new(KT_MAX_HANDLE_SZ);
	struct io_uring_sqe *sqe;
	int mnt, openat_res;

	/* IOSQE_FIXED_FILE: as OPENAT, which gives -EBADF */
	io_uring_register_files_sparse(&ring, 4);
	sqe = kt_sqe(&ring);
	io_uring_prep_openat(sqe, 0, file, O_RDONLY, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	openat_res = kt_run(&ring);
	kt_expect_res("OPENAT with IOSQE_FIXED_FILE (reference)", openat_res,
		      -EBADF);
	kt_prep_encode(&ring, 0, file, out, &mnt, 0, IOSQE_FIXED_FILE);
	run_expect("encode with IOSQE_FIXED_FILE", -EBADF);
	kt_prep_open(&ring, 0, fh, O_RDONLY, IOSQE_FIXED_FILE);
	run_expect("open with IOSQE_FIXED_FILE", -EBADF);
	io_uring_unregister_files(&ring);

	free(out);
}

int main(int argc, char **argv)
{
	struct file_handle *fh, *big, *tmp;
	int mnt, fd, closed_fd, procfd, pathfd;
	const char *file, *loop;
	char *longpath, buf[64];
	unsigned int i, needed;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "errors\n");
	loop = kt_path("loop");
	if (symlink(strrchr(loop, '/') + 1, loop))	/* a link to itself */
		kt_fail("symlink: %s", strerror(errno));
	kt_expect_res("encode", kt_encode_both("encode", &ring, AT_FDCWD,
			file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	needed = fh->handle_bytes;
	bad = kt_bad_ptr();
	closed_fd = 1000;	/* high, so that no later open reuses it */
	close(closed_fd);
	big = kt_fh_new(4 * KT_MAX_HANDLE_SZ);
	tmp = kt_fh_new(KT_MAX_HANDLE_SZ);

	/* encode: -EFAULT */
	enc_err("encode: bad path pointer", AT_FDCWD, bad, tmp, &mnt, 0,
		-EFAULT);
	enc_err("encode: NULL path", AT_FDCWD, NULL, tmp, &mnt, 0, -EFAULT);
	enc_err("encode: bad handle pointer", AT_FDCWD, file, bad, &mnt, 0,
		-EFAULT);
	enc_err("encode: bad mount id pointer", AT_FDCWD, file, tmp, bad, 0,
		-EFAULT);

	/* encode: -EINVAL */
	enc_err("encode: AT_SYMLINK_NOFOLLOW", AT_FDCWD, file, tmp, &mnt,
		AT_SYMLINK_NOFOLLOW, -EINVAL);
	enc_err("encode: AT_NO_AUTOMOUNT", AT_FDCWD, file, tmp, &mnt,
		AT_NO_AUTOMOUNT, -EINVAL);
	enc_err("encode: flag 1<<30", AT_FDCWD, file, tmp, &mnt, 1 << 30,
		-EINVAL);
	big->handle_bytes = KT_MAX_HANDLE_SZ + 1;
	enc_err("encode: handle_bytes MAX_HANDLE_SZ+1", AT_FDCWD, file, big,
		&mnt, 0, -EINVAL);
	big->handle_bytes = ~0U;
	enc_err("encode: handle_bytes 0xffffffff", AT_FDCWD, file, big, &mnt,
		0, -EINVAL);

	/* encode: -EOVERFLOW, the needed size written back */
	enc_both("encode: handle_bytes 0", AT_FDCWD, file, 0, 0, -EOVERFLOW);
	enc_both("encode: handle_bytes needed-4", AT_FDCWD, file, 0,
		 needed - 4, -EOVERFLOW);
	for (i = 0; i < 2; i++) {
		tmp->handle_bytes = 0;
		kt_expect_res(name("encode: handle_bytes 0", sqe_flags[i]),
			      kt_ring_encode(&ring, AT_FDCWD, file, tmp, &mnt,
					     0, sqe_flags[i]), -EOVERFLOW);
		if (tmp->handle_bytes != needed)
			kt_fail("%s: wrote back handle_bytes %u, needed %u",
				name("encode: handle_bytes 0", sqe_flags[i]),
				tmp->handle_bytes, needed);
	}
	tmp->handle_bytes = KT_MAX_HANDLE_SZ;

	/* encode: -EBADF and path lookup errors */
	enc_both("encode: dirfd -1, relative path", -1, "x", 0,
		 KT_MAX_HANDLE_SZ, -EBADF);
	enc_both("encode: closed dirfd", closed_fd, "x", 0, KT_MAX_HANDLE_SZ,
		 -EBADF);
	enc_both("encode: AT_EMPTY_PATH on a closed fd", closed_fd, "",
		 AT_EMPTY_PATH, KT_MAX_HANDLE_SZ, -EBADF);
	enc_both("encode: nonexistent", AT_FDCWD, "nonexistent", 0,
		 KT_MAX_HANDLE_SZ, -ENOENT);
	fd = kt_openf(file, O_RDONLY);
	enc_both("encode: dirfd is a file", fd, "x", 0, KT_MAX_HANDLE_SZ,
		 -ENOTDIR);
	close(fd);
	snprintf(buf, sizeof(buf), "%s/x", strrchr(file, '/') + 1);
	enc_both("encode: file as a directory", AT_FDCWD, buf, 0,
		 KT_MAX_HANDLE_SZ, -ENOTDIR);
	enc_both("encode: symlink loop, followed", AT_FDCWD, loop,
		 AT_SYMLINK_FOLLOW, KT_MAX_HANDLE_SZ, -ELOOP);
	longpath = malloc(PATH_MAX + 2);
	memset(longpath, 'x', PATH_MAX + 1);
	longpath[PATH_MAX + 1] = 0;
	enc_both("encode: path longer than PATH_MAX", AT_FDCWD, longpath, 0,
		 KT_MAX_HANDLE_SZ, -ENAMETOOLONG);
	free(longpath);

	/* encode: -EOPNOTSUPP on procfs, by path and by fd */
	enc_both("encode: /proc/version", AT_FDCWD, "/proc/version", 0,
		 KT_MAX_HANDLE_SZ, -EOPNOTSUPP);
	enc_both("encode: /proc/self/status", AT_FDCWD, "/proc/self/status", 0,
		 KT_MAX_HANDLE_SZ, -EOPNOTSUPP);
	procfd = kt_openf("/proc/version", O_RDONLY);
	enc_both("encode: AT_EMPTY_PATH on a /proc fd", procfd, "",
		 AT_EMPTY_PATH, KT_MAX_HANDLE_SZ, -EOPNOTSUPP);

	/* open: -EFAULT */
	open_err("open: bad handle pointer", kt.dirfd, bad, O_RDONLY, -EFAULT);
	open_err("open: NULL handle", kt.dirfd, NULL, O_RDONLY, -EFAULT);

	/* open: -EINVAL for handle_bytes */
	memcpy(big, fh, sizeof(*fh) + fh->handle_bytes);
	big->handle_bytes = 0;
	open_err("open: handle_bytes 0", kt.dirfd, big, O_RDONLY, -EINVAL);
	big->handle_bytes = KT_MAX_HANDLE_SZ + 1;
	open_err("open: handle_bytes MAX_HANDLE_SZ+1", kt.dirfd, big,
		 O_RDONLY, -EINVAL);
	big->handle_bytes = ~0U;
	open_err("open: handle_bytes 0xffffffff", kt.dirfd, big, O_RDONLY,
		 -EINVAL);

	/* open: -EINVAL for O_* flags the syscall rejects */
	open_err("open: O_TMPFILE|O_RDONLY", kt.dirfd, fh, O_TMPFILE | O_RDONLY,
		 -EINVAL);
	open_err("open: __O_TMPFILE without O_DIRECTORY", kt.dirfd, fh,
		 KT_O_TMPFILE_BIT | O_RDWR, -EINVAL);

	/* open: -EBADF for bad mount fds */
	open_err("open: mount fd -1", -1, fh, O_RDONLY, -EBADF);
	open_err("open: closed mount fd", closed_fd, fh, O_RDONLY, -EBADF);
	open_err("open: mount fd 1<<30", 1 << 30, fh, O_RDONLY, -EBADF);
	pathfd = kt_openf(kt.dir, O_PATH | O_DIRECTORY);
	open_agree("open: O_PATH mount fd", pathfd, fh, O_RDONLY);
	close(pathfd);

	/* open: a mount fd on another filesystem ("/" or procfs) */
	fd = kt_openf("/", O_RDONLY | O_DIRECTORY);
	open_agree("open: mount fd on \"/\"", fd, fh, O_RDONLY);
	close(fd);

	/* open: handles the filesystem cannot decode */
	open_agree("open: mount fd on procfs", procfd, fh, O_RDONLY);
	fd = kt_sys_open(procfd, fh, O_RDONLY);
	if (fd >= 0)
		kt_fail("open: mount fd on procfs: the syscall opened it");
	close(procfd);
	memcpy(big, fh, sizeof(*fh) + fh->handle_bytes);
	for (i = 0; i < big->handle_bytes; i++)
		big->f_handle[i] ^= 0x5a;
	open_agree("open: scrambled handle bytes", kt.dirfd, big, O_RDONLY);
	memcpy(big, fh, sizeof(*fh) + fh->handle_bytes);
	big->handle_type = 0xdead;
	open_agree("open: unknown handle_type", kt.dirfd, big, O_RDONLY);
	big->handle_type = fh->handle_type;
	big->handle_bytes = 4;
	open_agree("open: truncated handle", kt.dirfd, big, O_RDONLY);

	emfile(fh);
	fixed_file_checks(file, fh);

	free(fh);
	free(big);
	free(tmp);
	io_uring_queue_exit(&ring);
	kt_pass();
}
