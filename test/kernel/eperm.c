// SPDX-License-Identifier: GPL-2.0
/*
 * -EPERM without CAP_DAC_READ_SEARCH, as the syscall, in forked children:
 * one drops the capability with capset(2) (a ring set up after the drop,
 * and one set up before it: the submitter's credentials count, inline and
 * through io-wq), one becomes nobody.  A personality registered before the
 * drop still carries the capability.  Encoding needs no privilege.
 */
#include "ktest.h"
#include <sys/syscall.h>
#include <linux/capability.h>

#define NOBODY	65534

static struct file_handle *fh;
static const char *file;

static void drop_dac_read_search(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2];
	int i = CAP_TO_INDEX(CAP_DAC_READ_SEARCH);
	__u32 mask = CAP_TO_MASK(CAP_DAC_READ_SEARCH);

	if (syscall(SYS_capget, &hdr, data))
		kt_fail("capget: %s", strerror(errno));
	data[i].effective &= ~mask;
	data[i].permitted &= ~mask;
	data[i].inheritable &= ~mask;
	if (syscall(SYS_capset, &hdr, data))
		kt_fail("capset: %s", strerror(errno));
}

static void expect_eperm(const char *who, struct io_uring *ring)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	char check[128];
	unsigned int i;
	int r, s;

	for (i = 0; i < 2; i++) {
		snprintf(check, sizeof(check), "%s: open%s", who,
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		s = kt_sys_open(kt.dirfd, fh, O_RDONLY);
		if (s >= 0)
			close(s);
		r = kt_ring_open(ring, kt.dirfd, fh, O_RDONLY, sqe_flags[i]);
		if (r >= 0)
			close(r);
		kt_expect_err(check, r, s, -EPERM);
	}
}

/* A registered personality carries the credentials it was taken with. */
static void expect_personality_opens(struct io_uring *ring, int id)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	struct io_uring_sqe *sqe;
	unsigned int i;
	int fd;

	for (i = 0; i < 2; i++) {
		sqe = kt_prep_open(ring, kt.dirfd, fh, O_RDONLY, sqe_flags[i]);
		sqe->personality = id;
		fd = kt_run(ring);
		if (fd < 0)
			kt_fail("open with a personality registered before "
				"the drop (sqe flags %#x): %s", sqe_flags[i],
				kt_res_str(fd));
		kt_expect_inode_of("open with personality", fd, file);
		close(fd);
	}
}

static void child_capset(void)
{
	struct io_uring before, after;
	int id, fd;

	kt_ring_init(&before, 8, 0);
	id = io_uring_register_personality(&before);
	if (id < 0)
		kt_fail("io_uring_register_personality: %s", strerror(-id));
	/* start io-wq workers while the capability is still there */
	fd = kt_ring_open(&before, kt.dirfd, fh, O_RDONLY, IOSQE_ASYNC);
	if (fd < 0)
		kt_fail("async open before the drop: %s", kt_res_str(fd));
	close(fd);
	drop_dac_read_search();
	kt_ring_init(&after, 8, 0);

	/* encoding needs no privilege: still the syscall's handle */
	kt_expect_res("capset: encode", kt_encode_both("capset: encode",
			&after, AT_FDCWD, file, 0, KT_MAX_HANDLE_SZ, 0, NULL),
		      0);
	expect_eperm("capset, ring set up after the drop", &after);
	expect_eperm("capset, ring set up before the drop", &before);
	expect_personality_opens(&before, id);
}

static void child_nobody(void)
{
	struct io_uring ring;

	kt_ring_init(&ring, 8, 0);
	if (setgid(NOBODY) || setuid(NOBODY))
		kt_fail("setuid nobody: %s", strerror(errno));
	expect_eperm("nobody, ring set up as root", &ring);
	io_uring_queue_exit(&ring);
	kt_ring_init(&ring, 8, 0);
	expect_eperm("nobody, ring set up as nobody", &ring);
}

int main(int argc, char **argv)
{
	struct io_uring ring;
	int fd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	if (geteuid())
		kt_skip("not root: cannot test losing CAP_DAC_READ_SEARCH");

	file = kt_mkfile("file", "eperm\n");
	kt_expect_res("encode", kt_encode_both("encode", &ring, AT_FDCWD,
			file, 0, KT_MAX_HANDLE_SZ, 0, &fh), 0);
	/* as root it opens, of course */
	fd = kt_open_both("open as root", &ring, kt.dirfd, fh, O_RDONLY, 0);
	kt_expect_inode_of("open as root", fd, file);
	close(fd);

	kt_run_child("capset", child_capset);
	kt_run_child("nobody", child_nobody);

	free(fh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
