// SPDX-License-Identifier: GPL-2.0
/*
 * Flags: AT_EMPTY_PATH on encode (dirfd of the file, or AT_FDCWD for the
 * cwd, path ""), and the O_* flags of open: access modes, O_CLOEXEC,
 * O_NONBLOCK, O_PATH and the rest give an fd with the same F_GETFL/F_GETFD
 * as the syscall's, and behave.
 */
#include "ktest.h"

/* may_fail: an error is fine if it is the syscall's error too */
static const struct {
	const char *name;
	int flags;
	bool may_fail;
} oflags[] = {
	{ "O_RDONLY", O_RDONLY, false },
	{ "O_WRONLY", O_WRONLY, false },
	{ "O_RDWR", O_RDWR, false },
	{ "O_CLOEXEC", O_RDONLY | O_CLOEXEC, false },
	{ "O_NONBLOCK", O_RDWR | O_NONBLOCK, false },
	{ "O_PATH", O_PATH, false },
	{ "O_PATH|O_CLOEXEC", O_PATH | O_CLOEXEC, false },
	{ "O_APPEND", O_WRONLY | O_APPEND, false },
	{ "O_SYNC", O_WRONLY | O_SYNC, false },
	{ "O_DSYNC", O_WRONLY | O_DSYNC, false },
	{ "O_NOATIME", O_RDONLY | O_NOATIME, false },
	{ "O_NOCTTY", O_RDONLY | O_NOCTTY, false },
	{ "O_NOFOLLOW", O_RDONLY | O_NOFOLLOW, false },
	{ "O_LARGEFILE", O_RDONLY | O_LARGEFILE, false },
	{ "O_DIRECT", O_RDONLY | O_DIRECT, true },
	{ "O_CREAT", O_RDWR | O_CREAT, true },
	{ "O_CREAT|O_EXCL", O_RDWR | O_CREAT | O_EXCL, true },
};

static void check_access(const char *name, int fd, int flags)
{
	char c;
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);
	bool path = flags & O_PATH;
	bool rd = !path && (flags & O_ACCMODE) != O_WRONLY;
	bool wr = !path && (flags & O_ACCMODE) != O_RDONLY;
	ssize_t n;

	if (!path && (fl & O_ACCMODE) != (flags & O_ACCMODE))
		kt_fail("%s: F_GETFL %#x, access mode want %#x", name, fl,
			flags & O_ACCMODE);
	if (!!(fl & O_PATH) != path)
		kt_fail("%s: F_GETFL %#x, O_PATH want %d", name, fl, path);
	if (!!(fl & O_NONBLOCK) != !!(flags & O_NONBLOCK))
		kt_fail("%s: F_GETFL %#x, O_NONBLOCK want %d", name, fl,
			!!(flags & O_NONBLOCK));
	if (!!(fl & O_APPEND) != !!(flags & O_APPEND))
		kt_fail("%s: F_GETFL %#x, O_APPEND want %d", name, fl,
			!!(flags & O_APPEND));
	if (!!(fdfl & FD_CLOEXEC) != !!(flags & O_CLOEXEC))
		kt_fail("%s: F_GETFD %#x, FD_CLOEXEC want %d", name, fdfl,
			!!(flags & O_CLOEXEC));
	if (flags & O_DIRECT)
		return;		/* unaligned I/O would fail anyway */
	n = pread(fd, &c, 1, 0);
	if (rd ? n != 1 : n != -1 || errno != EBADF)
		kt_fail("%s: pread gave %zd (%s), want %s", name, n,
			n < 0 ? strerror(errno) : "ok",
			rd ? "1 byte" : "EBADF");
	n = pwrite(fd, "f", 1, 0);
	if (wr ? n != 1 : n != -1 || errno != EBADF)
		kt_fail("%s: pwrite gave %zd (%s), want %s", name, n,
			n < 0 ? strerror(errno) : "ok",
			wr ? "1 byte" : "EBADF");
}

int main(int argc, char **argv)
{
	struct file_handle *fh, *efh, *dfh;
	struct io_uring ring;
	const char *file;
	struct stat st;
	unsigned int i;
	int fd, ffd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "flags\n");
	kt_expect_res("encode", kt_encode_both("encode", &ring, AT_FDCWD,
			file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);

	/* AT_EMPTY_PATH: the file's own fd, plain and O_PATH */
	ffd = kt_openf(file, O_RDONLY);
	kt_expect_res("AT_EMPTY_PATH", kt_encode_both("AT_EMPTY_PATH", &ring,
			ffd, "", AT_EMPTY_PATH, KT_MAX_HANDLE_SZ, 0, &efh), 0);
	if (!kt_fh_same(efh, fh))
		kt_fail("AT_EMPTY_PATH: handle %s, by path %s",
			kt_fh_str(efh), kt_fh_str(fh));
	free(efh);
	close(ffd);
	ffd = kt_openf(file, O_PATH);
	kt_expect_res("AT_EMPTY_PATH, O_PATH fd", kt_encode_both(
			"AT_EMPTY_PATH, O_PATH fd", &ring, ffd, "",
			AT_EMPTY_PATH, KT_MAX_HANDLE_SZ, 0, &efh), 0);
	if (!kt_fh_same(efh, fh))
		kt_fail("AT_EMPTY_PATH, O_PATH fd: handle %s, by path %s",
			kt_fh_str(efh), kt_fh_str(fh));
	free(efh);
	/* "" without AT_EMPTY_PATH is ENOENT */
	kt_expect_res("\"\" without AT_EMPTY_PATH", kt_encode_both(
			"\"\" without AT_EMPTY_PATH", &ring, ffd, "", 0,
			KT_MAX_HANDLE_SZ, 0, NULL), -ENOENT);
	close(ffd);
	/* AT_FDCWD, "" and AT_EMPTY_PATH: the cwd, which is DIR */
	kt_expect_res("AT_FDCWD + \"\" + AT_EMPTY_PATH", kt_encode_both(
			"AT_FDCWD + \"\" + AT_EMPTY_PATH", &ring, AT_FDCWD, "",
			AT_EMPTY_PATH, KT_MAX_HANDLE_SZ, 0, &efh), 0);
	kt_expect_res("encode DIR", kt_encode_both("encode DIR", &ring,
			AT_FDCWD, kt.dir, 0, KT_MAX_HANDLE_SZ, 0, &dfh), 0);
	if (!kt_fh_same(efh, dfh))
		kt_fail("AT_FDCWD + \"\" + AT_EMPTY_PATH: handle %s, DIR's %s",
			kt_fh_str(efh), kt_fh_str(dfh));
	free(efh);
	free(dfh);
	kt_expect_res("AT_FDCWD + \"\" + AT_EMPTY_PATH, IOSQE_ASYNC",
		      kt_encode_both("AT_FDCWD + \"\" + AT_EMPTY_PATH, async",
				     &ring, AT_FDCWD, "", AT_EMPTY_PATH,
				     KT_MAX_HANDLE_SZ, IOSQE_ASYNC, NULL), 0);
	kt_expect_res("AT_FDCWD + \"\" without AT_EMPTY_PATH", kt_encode_both(
			"AT_FDCWD + \"\"", &ring, AT_FDCWD, "", 0,
			KT_MAX_HANDLE_SZ, 0, NULL), -ENOENT);
	/* AT_EMPTY_PATH with a non-empty path is the path */
	kt_expect_res("AT_EMPTY_PATH with a path", kt_encode_both(
			"AT_EMPTY_PATH with a path", &ring, AT_FDCWD, file,
			AT_EMPTY_PATH, KT_MAX_HANDLE_SZ, 0, NULL), 0);

	for (i = 0; i < sizeof(oflags) / sizeof(oflags[0]); i++) {
		fd = kt_open_both(oflags[i].name, &ring, kt.dirfd, fh,
				  oflags[i].flags, 0);
		if (fd < 0 && oflags[i].may_fail)
			continue;	/* as the syscall did */
		if (fd < 0)
			kt_fail("%s: open gave %s", oflags[i].name,
				kt_res_str(fd));
		kt_expect_inode_of(oflags[i].name, fd, file);
		check_access(oflags[i].name, fd, oflags[i].flags);
		close(fd);
	}

	/* O_TRUNC through the ring alone truncates */
	fd = kt_ring_open(&ring, kt.dirfd, fh, O_WRONLY | O_TRUNC, 0);
	if (fd < 0)
		kt_fail("O_TRUNC: ring open gave %s", kt_res_str(fd));
	if (stat(file, &st) || st.st_size != 0)
		kt_fail("O_TRUNC: size %ld after open, want 0",
			(long)st.st_size);
	close(fd);

	free(fh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
