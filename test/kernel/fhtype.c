// SPDX-License-Identifier: GPL-2.0
/*
 * Handle types with bits the kernel keeps for itself.  Bits 8 to 15 of a
 * handle's type carry flags from the VFS to the filesystem (one of them asks
 * for a decode that does not block), so open_by_handle_at(2) refuses a
 * handle from userspace that has any of them set, with -EINVAL; the ring
 * must refuse it identically, inline, with IOSQE_ASYNC and from an SQPOLL
 * ring, for a file and a directory, and without CAP_DAC_READ_SEARCH the
 * -EPERM comes first, as from the syscall.  A type with bits above 15 set
 * (user flags on later kernels) gives whatever the syscall gives.  The
 * untouched handles still open.
 */
#include "ktest.h"
#include <linux/capability.h>

static struct io_uring ring, sqring;
static bool have_sq;

static struct file_handle *with_type(const struct file_handle *fh, int type)
{
	struct file_handle *c = kt_fh_dup(fh);

	c->handle_type = type;
	return c;
}

/* The ring (each way) and the syscall on fh must give want. */
static void refuse(const char *what, const struct file_handle *fh, int flags,
		   int want)
{
	struct file_handle *c = kt_fh_dup(fh);
	char check[160];
	int sys;

	sys = kt_sys_open(kt.dirfd, c, flags);
	if (sys >= 0)
		close(sys);
	free(c);
	if (sys != want)
		kt_fail("%s (type %#x): open_by_handle_at(2) gave %s, want %s: "
			"this kernel does not refuse the VFS flag bits", what,
			fh->handle_type, kt_res_str(sys), kt_res_str(want));
	snprintf(check, sizeof(check), "%s (type %#x), inline", what,
		 fh->handle_type);
	kt_expect_err(check, kt_ring_open(&ring, kt.dirfd, fh, flags, 0), sys,
		      want);
	snprintf(check, sizeof(check), "%s (type %#x), IOSQE_ASYNC", what,
		 fh->handle_type);
	kt_expect_err(check, kt_ring_open(&ring, kt.dirfd, fh, flags,
					  IOSQE_ASYNC), sys, want);
	if (have_sq) {
		snprintf(check, sizeof(check), "%s (type %#x), SQPOLL", what,
			 fh->handle_type);
		kt_expect_err(check, kt_ring_open(&sqring, kt.dirfd, fh, flags,
						  0), sys, want);
	}
}

/* Ring and syscall agree on fh, whatever the result. */
static void agree(const char *what, const struct file_handle *fh, int flags)
{
	int fd = kt_open_both(what, &ring, kt.dirfd, fh, flags, 0);

	if (fd >= 0)
		close(fd);
	fd = kt_open_both(what, &ring, kt.dirfd, fh, flags, IOSQE_ASYNC);
	if (fd >= 0)
		close(fd);
}

/* Without CAP_DAC_READ_SEARCH: -EPERM before the type is looked at. */
static struct file_handle *unpriv_fh;

static void unprivileged(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { 0 };
	struct io_uring r;

	kt_ring_init(&r, 4, 0);
	if (syscall(SYS_capset, &hdr, data))
		kt_fail("capset: %s", strerror(errno));
	kt_expect_err("no CAP_DAC_READ_SEARCH, bad type",
		      kt_ring_open(&r, kt.dirfd, unpriv_fh, O_RDONLY, 0),
		      kt_sys_open(kt.dirfd, unpriv_fh, O_RDONLY), -EPERM);
	io_uring_queue_exit(&r);
}

int main(int argc, char **argv)
{
	struct file_handle *ffh, *dfh, *bad;
	struct io_uring_params p = { .flags = IORING_SETUP_SQPOLL };
	const char *file, *dir;
	int bit, fd, mnt;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	have_sq = !io_uring_queue_init_params(8, &sqring, &p);

	file = kt_mkfile("file", "x");
	dir = kt_mkdir("dir");
	ffh = kt_fh_new(KT_MAX_HANDLE_SZ);
	dfh = kt_fh_new(KT_MAX_HANDLE_SZ);
	kt_expect_res("encode file", kt_sys_encode(AT_FDCWD, file, ffh, &mnt,
						   0), 0);
	kt_expect_res("encode dir", kt_sys_encode(AT_FDCWD, dir, dfh, &mnt, 0),
		      0);
	if (ffh->handle_type & ~0xff)
		kt_fail("the filesystem encoded type %#x, above one byte",
			ffh->handle_type);

	for (bit = 8; bit < 16; bit++) {
		bad = with_type(ffh, ffh->handle_type | 1 << bit);
		refuse("file", bad, O_RDONLY, -EINVAL);
		free(bad);
		bad = with_type(dfh, dfh->handle_type | 1 << bit);
		refuse("dir", bad, O_RDONLY | O_DIRECTORY, -EINVAL);
		free(bad);
	}
	/* the bit the 6.12 series used to use, and the other high ones */
	for (bit = 16; bit < 31; bit++) {
		bad = with_type(ffh, ffh->handle_type | 1 << bit);
		agree("file, type with a high bit", bad, O_RDONLY);
		free(bad);
	}

	/* the real types still work */
	fd = kt_open_both("file", &ring, kt.dirfd, ffh, O_RDONLY, 0);
	kt_expect_inode_of("file", fd, file);
	close(fd);
	fd = kt_open_both("dir", &ring, kt.dirfd, dfh, O_RDONLY | O_DIRECTORY,
			  0);
	kt_expect_inode_of("dir", fd, dir);
	close(fd);

	unpriv_fh = with_type(ffh, ffh->handle_type | 0x100);
	kt_run_child("unprivileged", unprivileged);
	free(unpriv_fh);

	printf("types with bits 8..15: -EINVAL from the syscall and the "
	       "ring%s\n", have_sq ? " (also SQPOLL)" : "");
	if (have_sq)
		io_uring_queue_exit(&sqring);
	io_uring_queue_exit(&ring);
	kt_pass();
}
