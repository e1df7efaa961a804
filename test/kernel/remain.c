// SPDX-License-Identifier: GPL-2.0
/*
 * What the inline attempt still may wait for (listed in the commit that
 * adds it, and shared with IORING_OP_OPENAT), where the VM can set it up;
 * each must give the syscall's result, inline and with IOSQE_ASYNC:
 *   - POSIX ACLs read by the open's permission check, cold (caches dropped
 *     first): opens for writing by nobody with CAP_DAC_READ_SEARCH only
 *     (which does not cover writing) of a file whose ACL lets nobody write,
 *     and of one whose ACL does not;
 *   - fanotify permission events: an open of a file with an FAN_OPEN_PERM
 *     mark waits for the listener, which allows it (fd) or denies it
 *     (-EPERM) after WAIT_MS.  The wait is reported, not asserted: it is
 *     one of the known waits.
 * Skips the part the kernel or filesystem lacks (ACLs, fanotify).
 */
#include "ktest.h"
#include <pthread.h>
#include <sys/fanotify.h>
#include <sys/prctl.h>
#include <sys/xattr.h>
#include <linux/capability.h>

#define NOBODY		65534
#define WAIT_MS		200

static struct io_uring ring;
static const char *acl_yes, *acl_no, *perm_ok, *perm_deny;
static struct file_handle *h_acl_yes, *h_acl_no, *h_ok, *h_deny;
static bool have_acl;

/* ---- ACLs ---- */

struct acl_entry {
	uint16_t tag, perm;
	uint32_t id;
};

/* user::rw- user:nobody:PERM group::--- mask::rw- other::--- */
static bool set_acl(const char *path, uint16_t nobody_perm)
{
	struct {
		uint32_t version;
		struct acl_entry e[5];
	} acl = {
		.version = 2,	/* POSIX_ACL_XATTR_VERSION */
		.e = {
			{ 0x01, 6, 0xffffffff },	/* ACL_USER_OBJ */
			{ 0x02, nobody_perm, NOBODY },	/* ACL_USER */
			{ 0x04, 0, 0xffffffff },	/* ACL_GROUP_OBJ */
			{ 0x10, 6, 0xffffffff },	/* ACL_MASK */
			{ 0x20, 0, 0xffffffff },	/* ACL_OTHER */
		},
	};

	return !setxattr(path, "system.posix_acl_access", &acl, sizeof(acl),
			 0);
}

/* nobody, with CAP_DAC_READ_SEARCH (to open by handle) and nothing else */
static void become_nobody_dac_read_search(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[2] = { 0 };

	if (prctl(PR_SET_KEEPCAPS, 1))
		kt_fail("PR_SET_KEEPCAPS: %s", strerror(errno));
	if (setgid(NOBODY) || setuid(NOBODY))
		kt_fail("setuid nobody: %s", strerror(errno));
	data[0].effective = data[0].permitted = 1U << CAP_DAC_READ_SEARCH;
	if (syscall(SYS_capset, &hdr, data))
		kt_fail("capset: %s", strerror(errno));
}

static unsigned int acl_sqe_flags;

/* The ring first, cold: then the syscall; the same results. */
static void acl_child(void)
{
	struct file_handle *c;
	int rfd, sfd;

	if (kt_drop_caches())
		kt_skip("cannot drop caches");
	become_nobody_dac_read_search();
	kt_ring_init(&ring, 4, 0);
	rfd = kt_ring_open(&ring, kt.dirfd, h_acl_yes, O_WRONLY,
			   acl_sqe_flags);
	if (rfd < 0)
		kt_fail("ACL lets nobody write (sqe flags %#x): ring gave %s",
			acl_sqe_flags, kt_res_str(rfd));
	kt_expect_inode_of("ACL lets nobody write", rfd, acl_yes);
	close(rfd);
	c = kt_fh_dup(h_acl_yes);
	sfd = kt_sys_open(kt.dirfd, c, O_WRONLY);
	free(c);
	if (sfd < 0)
		kt_fail("ACL lets nobody write: the syscall gave %s",
			kt_res_str(sfd));
	close(sfd);
	c = kt_fh_dup(h_acl_no);
	rfd = kt_ring_open(&ring, kt.dirfd, h_acl_no, O_WRONLY, acl_sqe_flags);
	kt_expect_err("ACL does not let nobody write", rfd,
		      kt_sys_open(kt.dirfd, c, O_WRONLY), -EACCES);
	free(c);
	io_uring_queue_exit(&ring);
}

/* ---- fanotify ---- */

static int fan = -1;
static int answered;

static void *listener(void *arg)
{
	struct fanotify_event_metadata ev[8];
	struct fanotify_response r;
	char path[64], target[4096];
	ssize_t n, len;
	int i;

	(void)arg;
	while ((n = read(fan, ev, sizeof(ev))) > 0) {
		for (i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
			if (!(ev[i].mask & FAN_OPEN_PERM))
				continue;
			snprintf(path, sizeof(path), "/proc/self/fd/%d",
				 ev[i].fd);
			len = readlink(path, target, sizeof(target) - 1);
			target[len > 0 ? len : 0] = 0;
			usleep(WAIT_MS * 1000);
			r.fd = ev[i].fd;
			r.response = strcmp(target, perm_deny) ? FAN_ALLOW :
				     FAN_DENY;
			/* counted first: the opener may check right after */
			__atomic_add_fetch(&answered, 1, __ATOMIC_SEQ_CST);
			if (write(fan, &r, sizeof(r)) != sizeof(r))
				kt_fail("fanotify response: %s",
					strerror(errno));
			close(ev[i].fd);
		}
	}
	return NULL;
}

static bool fanotify_part(void)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	pthread_t tid;
	int64_t t0;
	int i, fd;

	fan = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);
	if (fan < 0) {
		printf("skip fanotify: fanotify_init: %s\n", strerror(errno));
		return false;
	}
	if (fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD,
			  perm_ok) ||
	    fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_PERM, AT_FDCWD,
			  perm_deny)) {
		printf("skip fanotify: FAN_OPEN_PERM mark: %s\n",
		       strerror(errno));
		close(fan);
		return false;
	}
	if (pthread_create(&tid, NULL, listener, NULL))
		kt_fail("pthread_create failed");
	for (i = 0; i < 2; i++) {
		t0 = kt_now_ns();
		fd = kt_open_both("fanotify allows", &ring, kt.dirfd, h_ok,
				  O_RDONLY, sqe_flags[i]);
		if (fd < 0)
			kt_fail("fanotify allows: %s", kt_res_str(fd));
		kt_expect_inode_of("fanotify allows", fd, perm_ok);
		close(fd);
		kt_expect_res("fanotify denies",
			      kt_open_both("fanotify denies", &ring, kt.dirfd,
					   h_deny, O_RDONLY, sqe_flags[i]),
			      -EPERM);
		printf("fanotify%s: 2 opens by each way took %.0f ms "
		       "(the listener answers after %d ms)\n",
		       sqe_flags[i] ? " (IOSQE_ASYNC)" : "",
		       (kt_now_ns() - t0) / 1e6, WAIT_MS);
	}
	if (__atomic_load_n(&answered, __ATOMIC_SEQ_CST) != 8)
		kt_fail("the fanotify listener answered %d events, want 8",
			answered);
	pthread_cancel(tid);
	pthread_join(tid, NULL);
	close(fan);
	return true;
}

int main(int argc, char **argv)
{
	int mnt;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	if (geteuid())
		kt_skip("not root");

	acl_yes = kt_mkfile("acl-yes", "x");
	acl_no = kt_mkfile("acl-no", "x");
	have_acl = set_acl(acl_yes, 6) && set_acl(acl_no, 4);
	perm_ok = kt_mkfile("perm-ok", "x");
	perm_deny = kt_mkfile("perm-deny", "x");
	h_acl_yes = kt_fh_new(KT_MAX_HANDLE_SZ);
	h_acl_no = kt_fh_new(KT_MAX_HANDLE_SZ);
	h_ok = kt_fh_new(KT_MAX_HANDLE_SZ);
	h_deny = kt_fh_new(KT_MAX_HANDLE_SZ);
	kt_expect_res("encode", kt_sys_encode(AT_FDCWD, acl_yes, h_acl_yes,
					      &mnt, 0), 0);
	kt_expect_res("encode", kt_sys_encode(AT_FDCWD, acl_no, h_acl_no,
					      &mnt, 0), 0);
	kt_expect_res("encode", kt_sys_encode(AT_FDCWD, perm_ok, h_ok, &mnt,
					      0), 0);
	kt_expect_res("encode", kt_sys_encode(AT_FDCWD, perm_deny, h_deny,
					      &mnt, 0), 0);

	if (have_acl) {
		acl_sqe_flags = 0;
		kt_run_child("ACLs, inline", acl_child);
		acl_sqe_flags = IOSQE_ASYNC;
		kt_run_child("ACLs, IOSQE_ASYNC", acl_child);
	} else {
		printf("skip ACLs: setxattr system.posix_acl_access: %s\n",
		       strerror(errno));
	}
	if (!fanotify_part() && !have_acl)
		kt_skip("neither POSIX ACLs nor fanotify permission events "
			"here");

	io_uring_queue_exit(&ring);
	kt_pass();
}
