// SPDX-License-Identifier: GPL-2.0
/*
 * AT_HANDLE_FID (6.5): the ring gives the syscall's file id, handle and
 * mount id, for a file, a directory, a symlink (followed and not), an fd
 * with AT_EMPTY_PATH and a file on procfs (which has no export operations:
 * a file id, but no handle without the flag), with -EOVERFLOW as the
 * syscall, inline and through io-wq; opening a file id by handle gives
 * the syscall's result.  Skips where the syscall rejects the flag (after
 * checking that the ring rejects it too).
 */
#include "ktest.h"

static struct io_uring ring;

static const char *name(const char *check, unsigned int flags)
{
	static char buf[160];

	snprintf(buf, sizeof(buf), "%s%s", check,
		 flags & IOSQE_ASYNC ? " (IOSQE_ASYNC)" : "");
	return buf;
}

/* Encode with AT_HANDLE_FID | flags, ring vs syscall; the result. */
static int fid_both(const char *check, int dfd, const char *path, int flags,
		    unsigned int cap, unsigned int sqe_fl,
		    struct file_handle **out)
{
	return kt_encode_both(name(check, sqe_fl), &ring, dfd, path,
			      AT_HANDLE_FID | flags, cap, sqe_fl, out);
}

/* Open fh as the syscall does, whatever that is; closes the fd. */
static void open_agrees(const char *check, int mfd, struct file_handle *fh,
			int flags, unsigned int sqe_fl)
{
	int fd = kt_open_both(name(check, sqe_fl), &ring, mfd, fh, flags,
			      sqe_fl);

	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	struct file_handle *fh, *plain, *pfh;
	const char *file, *dir, *link;
	unsigned int i, f;
	int res, fd, procfd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "fid\n");
	dir = kt_mkdir("dir");
	link = kt_mksymlink("link", strrchr(file, '/') + 1);

	res = fid_both("AT_HANDLE_FID on a file", AT_FDCWD, file, 0,
		       KT_MAX_HANDLE_SZ, 0, &fh);
	if (res == -EINVAL)
		kt_skip("kernel %s has no AT_HANDLE_FID (the syscall and the "
			"ring both give EINVAL)", kt_release());
	kt_expect_res("AT_HANDLE_FID on a file", res, 0);
	kt_expect_res("plain handle", kt_encode_both("plain handle", &ring,
			AT_FDCWD, file, 0, KT_MAX_HANDLE_SZ, 0, &plain), 0);
	printf("file id %s, handle %s\n", kt_fh_str(fh), kt_fh_str(plain));

	for (i = 0; i < 2; i++) {
		f = sqe_flags[i];
		kt_expect_res(name("AT_HANDLE_FID on a file", f),
			      fid_both("AT_HANDLE_FID on a file", AT_FDCWD,
				       file, 0, KT_MAX_HANDLE_SZ, f, NULL), 0);
		kt_expect_res(name("AT_HANDLE_FID on a directory", f),
			      fid_both("AT_HANDLE_FID on a directory",
				       AT_FDCWD, dir, 0, KT_MAX_HANDLE_SZ, f,
				       NULL), 0);
		kt_expect_res(name("AT_HANDLE_FID on a symlink", f),
			      fid_both("AT_HANDLE_FID on a symlink", AT_FDCWD,
				       link, 0, KT_MAX_HANDLE_SZ, f, NULL), 0);
		kt_expect_res(name("AT_HANDLE_FID|AT_SYMLINK_FOLLOW", f),
			      fid_both("AT_HANDLE_FID|AT_SYMLINK_FOLLOW",
				       AT_FDCWD, link, AT_SYMLINK_FOLLOW,
				       KT_MAX_HANDLE_SZ, f, NULL), 0);
		fd = kt_openf(file, O_PATH);
		kt_expect_res(name("AT_HANDLE_FID|AT_EMPTY_PATH", f),
			      fid_both("AT_HANDLE_FID|AT_EMPTY_PATH", fd, "",
				       AT_EMPTY_PATH, KT_MAX_HANDLE_SZ, f,
				       NULL), 0);
		close(fd);
		kt_expect_res(name("AT_HANDLE_FID, capacity 0", f),
			      fid_both("AT_HANDLE_FID, capacity 0", AT_FDCWD,
				       file, 0, 0, f, NULL), -EOVERFLOW);
		kt_expect_res(name("AT_HANDLE_FID, nonexistent", f),
			      fid_both("AT_HANDLE_FID, nonexistent", AT_FDCWD,
				       "nonexistent", 0, KT_MAX_HANDLE_SZ, f,
				       NULL), -ENOENT);

		/* procfs: a file id, though no handle */
		kt_expect_res(name("/proc/version without AT_HANDLE_FID", f),
			      kt_encode_both(name("/proc/version", f), &ring,
					     AT_FDCWD, "/proc/version", 0,
					     KT_MAX_HANDLE_SZ, f, NULL),
			      -EOPNOTSUPP);
		kt_expect_res(name("AT_HANDLE_FID on /proc/version", f),
			      fid_both("AT_HANDLE_FID on /proc/version",
				       AT_FDCWD, "/proc/version", 0,
				       KT_MAX_HANDLE_SZ, f, &pfh), 0);

		/* a file id opens as the syscall opens it */
		open_agrees("open the file id", kt.dirfd, fh, O_RDONLY, f);
		procfd = kt_openf("/proc/version", O_RDONLY);
		open_agrees("open the procfs file id", procfd, pfh, O_RDONLY,
			    f);
		close(procfd);
		free(pfh);
	}

	free(fh);
	free(plain);
	io_uring_queue_exit(&ring);
	kt_pass();
}
