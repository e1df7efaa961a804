// SPDX-License-Identifier: GPL-2.0
/*
 * Handle capacities: every handle_bytes from 0 to a few bytes past the
 * needed size (most not a multiple of 4) and near MAX_HANDLE_SZ encode as
 * the syscall does (-EOVERFLOW with the needed size, or the handle); on
 * -EOVERFLOW not one byte of f_handle is written, by the ring as by the
 * syscall.  Opening a handle whose handle_bytes is not a multiple of 4
 * (the valid bytes plus 1 to 3 more, or 1 to 3 fewer) gives the syscall's
 * result.  Inline and through io-wq.
 */
#include "ktest.h"

#define FILL	0xa5

static struct io_uring ring;

static const char *name(const char *check, unsigned int cap,
			unsigned int flags)
{
	static char buf[160];

	snprintf(buf, sizeof(buf), "%s %u%s", check, cap,
		 flags & IOSQE_ASYNC ? " (IOSQE_ASYNC)" : "");
	return buf;
}

/* After -EOVERFLOW, f_handle must still be all FILL. */
static void expect_untouched(const char *check, const char *who,
			     const struct file_handle *fh)
{
	unsigned int i;

	for (i = 0; i < KT_MAX_HANDLE_SZ; i++)
		if (fh->f_handle[i] != FILL)
			kt_fail("%s: %s wrote f_handle[%u] = %#x on "
				"-EOVERFLOW", check, who, i, fh->f_handle[i]);
}

static void overflow_untouched(const char *check, const char *file,
			       unsigned int cap, unsigned int sqe_fl)
{
	struct file_handle *fh = kt_fh_new(cap);
	int mnt, res;

	memset(fh->f_handle, FILL, KT_MAX_HANDLE_SZ);
	res = kt_sys_encode(AT_FDCWD, file, fh, &mnt, 0);
	kt_expect_res(check, res, -EOVERFLOW);
	expect_untouched(check, "the syscall", fh);
	fh->handle_bytes = cap;
	res = kt_ring_encode(&ring, AT_FDCWD, file, fh, &mnt, 0, sqe_fl);
	kt_expect_res(check, res, -EOVERFLOW);
	expect_untouched(check, "the ring", fh);
	free(fh);
}

int main(int argc, char **argv)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	struct file_handle *fh, *odd;
	unsigned int i, cap, needed, f;
	const char *file;
	int res, fd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "capacity\n");
	kt_expect_res("encode", kt_encode_both("encode", &ring, AT_FDCWD,
			file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	needed = fh->handle_bytes;
	printf("%s needs %u bytes\n", kt_fstype(), needed);

	for (i = 0; i < 2; i++) {
		f = sqe_flags[i];
		for (cap = 0; cap <= KT_MAX_HANDLE_SZ; cap++) {
			if (cap > needed + 5 && cap < KT_MAX_HANDLE_SZ - 1)
				continue;
			res = kt_encode_both(name("capacity", cap, f), &ring,
					     AT_FDCWD, file, 0, cap, f, NULL);
			kt_expect_res(name("capacity", cap, f), res,
				      cap < needed ? -EOVERFLOW : 0);
			if (res == -EOVERFLOW)
				overflow_untouched(name("f_handle untouched, "
							"capacity", cap, f),
						   file, cap, f);
		}

		/* handle_bytes off a multiple of 4, up and down */
		odd = kt_fh_new(KT_MAX_HANDLE_SZ);
		memset(odd->f_handle, FILL, KT_MAX_HANDLE_SZ);
		memcpy(odd, fh, sizeof(*fh) + needed);
		for (cap = needed - 3; cap <= needed + 3; cap++) {
			odd->handle_bytes = cap;
			fd = kt_open_both(name("open, handle_bytes", cap, f),
					  &ring, kt.dirfd, odd, O_RDONLY, f);
			if (fd >= 0) {
				kt_expect_inode_of(name("open, handle_bytes",
							cap, f), fd, file);
				close(fd);
			}
		}
		free(odd);
	}

	free(fh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
