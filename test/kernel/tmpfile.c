// SPDX-License-Identifier: GPL-2.0
/*
 * Opens by handle that write: O_TRUNC truncates exactly as the syscall's
 * open does (with each access mode), O_TMPFILE on a directory's handle
 * gives an unnamed file in that directory that linkat() can name (unless
 * O_EXCL), O_TMPFILE on a file's handle and O_CREAT on a directory's fail
 * as the syscall does.  Inline and with IOSQE_ASYNC.  These are the opens
 * the kernel must not try inline (they take write access to the
 * filesystem): where tracefs is mounted, each (and O_CREAT) submitted
 * without IOSQE_ASYNC must go to io-wq; frozen.c checks what that means.
 */
#include "ktest.h"

static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
static struct io_uring ring;
static const char *file;

static const char *name(const char *check, unsigned int flags)
{
	static char buf[160];

	snprintf(buf, sizeof(buf), "%s%s", check,
		 flags & IOSQE_ASYNC ? " (IOSQE_ASYNC)" : "");
	return buf;
}

static void refill(void)
{
	int fd = kt_openf(file, O_WRONLY | O_TRUNC);

	if (write(fd, "0123456789", 10) != 10)
		kt_fail("write %s: %s", file, strerror(errno));
	close(fd);
}

static off_t size_of(const char *check, int fd)
{
	return kt_fstat(check, fd).st_size;
}

/* The file's size after the syscall's open and after the ring's. */
static void trunc_case(const char *check, struct file_handle *fh, int flags,
		       unsigned int sqe_fl)
{
	off_t want, got;
	int fd;

	refill();
	fd = kt_sys_open(kt.dirfd, fh, flags);
	if (fd < 0)
		kt_fail("%s: the syscall gave %s (set-up?)", check,
			kt_res_str(fd));
	want = size_of(check, fd);
	close(fd);
	refill();
	fd = kt_ring_open(&ring, kt.dirfd, fh, flags, sqe_fl);
	if (fd < 0)
		kt_fail("%s: ring gave %s, the syscall opened it", check,
			kt_res_str(fd));
	kt_expect_inode_of(check, fd, file);
	got = size_of(check, fd);
	if (got != want)
		kt_fail("%s: size %ld after the ring's open, %ld after the "
			"syscall's", check, (long)got, (long)want);
	close(fd);
	/* and both agree on the fd's flags */
	refill();
	fd = kt_open_both(check, &ring, kt.dirfd, fh, flags, sqe_fl);
	close(fd);
}

/*
 * O_TMPFILE on the directory's handle: an unnamed regular file on the
 * directory's filesystem, writable, that linkat(AT_EMPTY_PATH) names as
 * the syscall's fd does (-ENOENT with O_EXCL).
 */
static void tmpfile_case(const char *check, struct file_handle *dfh,
			 int flags, unsigned int sqe_fl)
{
	static int n;
	char leaf[32], buf[8] = "";
	int fd, sfd, lfd, rres, sres;
	const char *rname, *sname;
	struct stat st;

	/* two new inodes: compare what can be compared */
	sfd = kt_sys_open(kt.dirfd, dfh, flags);
	fd = kt_ring_open(&ring, kt.dirfd, dfh, flags, sqe_fl);
	if (fd < 0 || sfd < 0)
		kt_fail("%s: ring gave %s, syscall %s, want two fds", check,
			kt_res_str(fd), kt_res_str(sfd));
	if (fcntl(fd, F_GETFL) != fcntl(sfd, F_GETFL) ||
	    fcntl(fd, F_GETFD) != fcntl(sfd, F_GETFD))
		kt_fail("%s: F_GETFL/F_GETFD ring %#x/%#x, syscall %#x/%#x",
			check, fcntl(fd, F_GETFL), fcntl(fd, F_GETFD),
			fcntl(sfd, F_GETFL), fcntl(sfd, F_GETFD));
	st = kt_fstat(check, fd);
	if (!S_ISREG(st.st_mode) || st.st_nlink != 0 ||
	    st.st_dev != kt_fstat(check, kt.dirfd).st_dev)
		kt_fail("%s: mode %#o nlink %lu dev %#lx: want an unlinked "
			"regular file on dev %#lx", check, st.st_mode,
			(unsigned long)st.st_nlink, (unsigned long)st.st_dev,
			(unsigned long)kt_fstat(check, kt.dirfd).st_dev);
	if (pwrite(fd, "tmp", 3, 0) != 3)
		kt_fail("%s: write: %s", check, strerror(errno));

	snprintf(leaf, sizeof(leaf), "tmp-ring%d", n);
	rname = kt_path(leaf);
	snprintf(leaf, sizeof(leaf), "tmp-sys%d", n++);
	sname = kt_path(leaf);
	rres = linkat(fd, "", AT_FDCWD, rname, AT_EMPTY_PATH) ? -errno : 0;
	sres = linkat(sfd, "", AT_FDCWD, sname, AT_EMPTY_PATH) ? -errno : 0;
	kt_expect_err(check, rres, sres, (flags & O_EXCL) ? -ENOENT : 0);
	if (!rres) {
		kt_expect_inode_of(check, fd, rname);
		lfd = kt_openf(rname, O_RDONLY);
		if (read(lfd, buf, sizeof(buf) - 1) != 3 || strcmp(buf, "tmp"))
			kt_fail("%s: the linked file holds \"%s\"", check, buf);
		close(lfd);
	}
	close(sfd);
	close(fd);
}

/*
 * Where tracefs is mounted: an open by handle that writes (O_TRUNC,
 * O_CREAT, O_TMPFILE) goes to io-wq even when submitted without
 * IOSQE_ASYNC, as IORING_OP_OPENAT does; it is never tried inline.
 */
static void expect_punted(const char *check, struct file_handle *fh,
			  int flags)
{
	int fd, async;

	if (!kt_trace_async_reset()) {
		printf("note: no tracefs: %s not checked\n", check);
		return;
	}
	fd = kt_ring_open(&ring, kt.dirfd, fh, flags, 0);
	async = kt_trace_async_count();
	if (fd < 0)
		kt_fail("%s: %s", check, kt_res_str(fd));
	close(fd);
	if (async < 1)
		kt_fail("%s: completed inline; it must go to io-wq", check);
}

int main(int argc, char **argv)
{
	struct file_handle *fh, *dfh;
	unsigned int i, f;
	const char *dir;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "");
	dir = kt_mkdir("dir");
	kt_expect_res("encode file", kt_encode_both("encode file", &ring,
			AT_FDCWD, file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	kt_expect_res("encode dir", kt_encode_both("encode dir", &ring,
			AT_FDCWD, dir, 0, KT_MAX_HANDLE_SZ, 0, &dfh), 0);

	for (i = 0; i < 2; i++) {
		f = sqe_flags[i];
		trunc_case(name("O_WRONLY|O_TRUNC", f), fh, O_WRONLY | O_TRUNC,
			   f);
		trunc_case(name("O_RDWR|O_TRUNC", f), fh, O_RDWR | O_TRUNC, f);
		trunc_case(name("O_RDONLY|O_TRUNC", f), fh, O_RDONLY | O_TRUNC,
			   f);
		trunc_case(name("O_RDWR|O_CREAT|O_TRUNC", f), fh,
			   O_RDWR | O_CREAT | O_TRUNC, f);
		trunc_case(name("O_PATH|O_TRUNC", f), fh, O_PATH | O_TRUNC, f);

		tmpfile_case(name("O_TMPFILE|O_RDWR", f), dfh,
			     O_TMPFILE | O_RDWR, f);
		tmpfile_case(name("O_TMPFILE|O_WRONLY|O_EXCL", f), dfh,
			     O_TMPFILE | O_WRONLY | O_EXCL, f);
		kt_expect_res(name("O_TMPFILE on a file's handle", f),
			      kt_open_both(name("O_TMPFILE on a file's handle",
						f), &ring, kt.dirfd, fh,
					   O_TMPFILE | O_RDWR, f), -ENOTDIR);
		kt_expect_res(name("O_CREAT on a directory's handle", f),
			      kt_open_both(name("O_CREAT on a directory's "
						"handle", f), &ring, kt.dirfd,
					   dfh, O_CREAT | O_RDWR, f), -EISDIR);
	}

	refill();
	expect_punted("O_WRONLY|O_TRUNC, not tried inline", fh,
		      O_WRONLY | O_TRUNC);
	expect_punted("O_RDWR|O_CREAT, not tried inline", fh,
		      O_RDWR | O_CREAT);
	expect_punted("O_TMPFILE|O_RDWR, not tried inline", dfh,
		      O_TMPFILE | O_RDWR);

	free(fh);
	free(dfh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
