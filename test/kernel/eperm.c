// SPDX-License-Identifier: GPL-2.0
/*
 * -EPERM without CAP_DAC_READ_SEARCH, as the syscall, in forked children:
 * one drops the capability with capset(2) (a ring set up after the drop,
 * and one set up before it: the submitter's credentials count, inline and
 * through io-wq), one becomes nobody.  A personality registered before the
 * drop still carries the capability.  Encoding needs no privilege.  Both
 * get -EPERM for a directory's handle with O_DIRECTORY too (6.10's rules
 * do not apply to them).  For nobody, -EPERM comes before any error of a
 * bad handle.  An SQPOLL ring
 * keeps its creator's credentials (child_sqpoll).
 */
#include "ktest.h"
#include <sys/syscall.h>
#include <linux/capability.h>

#define NOBODY	65534

static struct file_handle *fh, *dfh;
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

/*
 * DIR's handle with O_DIRECTORY, which 6.10's rules allow to a caller
 * privileged over the filesystem's or the mount's namespace AND with
 * CAP_DAC_READ_SEARCH there (userns.c): not to these callers.  A bad
 * mount fd: whatever the syscall says (-EBADF first on 6.12).
 */
static void expect_eperm_dir(const char *who, struct io_uring *ring)
{
	char check[128];
	int r, s;

	snprintf(check, sizeof(check), "%s: DIR's handle, O_DIRECTORY", who);
	s = kt_sys_open(kt.dirfd, dfh, O_RDONLY | O_DIRECTORY);
	r = kt_ring_open(ring, kt.dirfd, dfh, O_RDONLY | O_DIRECTORY, 0);
	kt_expect_err(check, r, s, -EPERM);
	snprintf(check, sizeof(check), "%s: file handle, O_DIRECTORY", who);
	s = kt_sys_open(kt.dirfd, fh, O_RDONLY | O_DIRECTORY);
	r = kt_ring_open(ring, kt.dirfd, fh, O_RDONLY | O_DIRECTORY,
			 IOSQE_ASYNC);
	kt_expect_err(check, r, s, -EPERM);
	snprintf(check, sizeof(check), "%s: bad mount fd, O_DIRECTORY", who);
	kt_open_both(check, ring, 1000, dfh, O_RDONLY | O_DIRECTORY, 0);
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
	expect_eperm_dir("capset (CAP_SYS_ADMIN kept)", &after);
	expect_personality_opens(&before, id);
}

/*
 * Bad handles: the permission check comes first, so -EPERM (as the
 * syscall: on 6.12 a bad mount fd is -EBADF before that).
 */
static void expect_eperm_first(struct io_uring *ring)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	struct file_handle *bad = kt_fh_dup(fh);
	void *unmapped = kt_bad_ptr();
	char check[128];
	unsigned int i;
	int r, s;

	for (i = 0; i < 2; i++) {
		snprintf(check, sizeof(check), "nobody: bad handle pointer%s",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		s = kt_sys_open(kt.dirfd, unmapped, O_RDONLY);
		r = kt_ring_open(ring, kt.dirfd, unmapped, O_RDONLY,
				 sqe_flags[i]);
		kt_expect_err(check, r, s, -EPERM);
		snprintf(check, sizeof(check), "nobody: handle_bytes 0%s",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		bad->handle_bytes = 0;
		s = kt_sys_open(kt.dirfd, bad, O_RDONLY);
		r = kt_ring_open(ring, kt.dirfd, bad, O_RDONLY, sqe_flags[i]);
		kt_expect_err(check, r, s, -EPERM);
		snprintf(check, sizeof(check),
			 "nobody: handle_bytes MAX_HANDLE_SZ+1, O_DIRECTORY%s",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		bad->handle_bytes = KT_MAX_HANDLE_SZ + 1;
		s = kt_sys_open(kt.dirfd, bad, O_RDONLY | O_DIRECTORY);
		r = kt_ring_open(ring, kt.dirfd, bad, O_RDONLY | O_DIRECTORY,
				 sqe_flags[i]);
		kt_expect_err(check, r, s, -EPERM);
		snprintf(check, sizeof(check), "nobody: scrambled handle%s",
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		memcpy(bad, fh, sizeof(*fh) + fh->handle_bytes);
		memset(bad->f_handle, 0x5a, bad->handle_bytes);
		s = kt_sys_open(kt.dirfd, bad, O_RDONLY);
		r = kt_ring_open(ring, kt.dirfd, bad, O_RDONLY, sqe_flags[i]);
		kt_expect_err(check, r, s, -EPERM);
	}
	free(bad);
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
	expect_eperm_dir("nobody", &ring);
	expect_eperm_first(&ring);
}

/*
 * An SQPOLL ring's requests are issued by its SQ thread, with the
 * credentials of the ring's creator: a process that drops
 * CAP_DAC_READ_SEARCH after creating the ring still opens by handle
 * through it (inline and through io-wq), where the syscall now gives
 * -EPERM.  A personality registered after the drop carries the dropped
 * credentials: requests that name it get -EPERM.
 */
static void child_sqpoll(void)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	unsigned int i;
	int fd, id;

	kt_ring_init(&ring, 8, IORING_SETUP_SQPOLL);
	drop_dac_read_search();
	kt_expect_res("SQPOLL: the syscall after the drop",
		      kt_sys_open(kt.dirfd, fh, O_RDONLY), -EPERM);
	for (i = 0; i < 2; i++) {
		fd = kt_ring_open(&ring, kt.dirfd, fh, O_RDONLY, sqe_flags[i]);
		if (fd < 0)
			kt_fail("SQPOLL ring created before the drop (sqe "
				"flags %#x): %s; the SQ thread has the "
				"creator's credentials", sqe_flags[i],
				kt_res_str(fd));
		kt_expect_inode_of("SQPOLL ring created before the drop", fd,
				   file);
		close(fd);
	}
	id = io_uring_register_personality(&ring);
	if (id < 0)
		kt_fail("io_uring_register_personality: %s", strerror(-id));
	for (i = 0; i < 2; i++) {
		sqe = kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY, sqe_flags[i]);
		sqe->personality = id;
		kt_expect_res("SQPOLL with a personality registered after the "
			      "drop", kt_run(&ring), -EPERM);
	}
	io_uring_queue_exit(&ring);
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
	kt_expect_res("encode DIR", kt_encode_both("encode DIR", &ring,
			AT_FDCWD, kt.dir, 0, KT_MAX_HANDLE_SZ, 0, &dfh), 0);
	/* as root it opens, of course */
	fd = kt_open_both("open as root", &ring, kt.dirfd, fh, O_RDONLY, 0);
	kt_expect_inode_of("open as root", fd, file);
	close(fd);

	kt_run_child("capset", child_capset);
	kt_run_child("nobody", child_nobody);
	kt_run_child("SQPOLL", child_sqpoll);

	free(fh);
	free(dfh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
