// SPDX-License-Identifier: GPL-2.0
/*
 * open_by_handle_at's permission rules (relaxed in 6.10: without
 * CAP_DAC_READ_SEARCH in the initial namespace, a directory may be opened
 * with O_DIRECTORY by a caller privileged over the filesystem's or the
 * mount's namespace, within the mount fd's subtree and through mapped
 * inodes only): the ring gives the syscall's result in every case, for
 * nobody in a new user and mount namespace (mapped to its root), in a
 * forked child: on a tmpfs it mounted there (the namespace owns the
 * superblock), and
 *    on DIR as copied into the new mount namespace (it owns the mount),
 *    with mount fds inside and outside a subtree that nobody owns, and the
 *    mount fd DIR opened before the unshare (a mount of the old namespace).
 * The same rules for directories that are cold (caches dropped before the
 * unshare) and disconnected (an inode kept by an inotify watch, its
 * dentries dropped: the decode must reconnect it, in io-wq), each first
 * through the ring, then the syscall: from a plain ring, from an SQPOLL
 * ring created in the namespace, and through a personality registered in
 * the namespace on a ring created before the unshare (whose own
 * credentials are root's).
 * On kernels from 6.10 the syscall's successes are checked too, so that
 * the comparison covers the relaxed rules.  Skips where the kernel has no
 * user namespaces.  (Callers without any privilege, with and without
 * O_DIRECTORY: eperm.c.)
 */
#include "ktest.h"
#include <sched.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/prctl.h>

#define NOBODY	65534

static struct io_uring ring;
/* set up by root in DIR: nobody's subtree, and a directory outside it */
static const char *own, *own_sub, *own_file, *outside_own, *root_dir;
static struct file_handle *h_sub, *h_file, *h_own, *h_outside_own, *h_root;
static bool relaxed;	/* the kernel has 6.10's rules */

/* nobody's directories that are cold or disconnected in the namespace */
enum { VIA_RING, VIA_SQPOLL, VIA_PERSONALITY, NVIA };
static const char *const via_name[NVIA] = {
	"ring", "SQPOLL ring", "personality",
};
static const char *cold_dir[NVIA], *disc_dir[NVIA];
static struct file_handle *h_cold[NVIA], *h_disc[NVIA];

/* Open fh both ways with flags and mount fd mfd; the common result. */
static int both(const char *check, int mfd, struct file_handle *fh,
		int flags)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	char name[160];
	int i, fd = 0;

	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s%s", check,
			 sqe_flags[i] ? " (IOSQE_ASYNC)" : "");
		fd = kt_open_both(name, &ring, mfd, fh, flags, sqe_flags[i]);
		if (fd >= 0)
			close(fd);
	}
	return fd < 0 ? fd : 0;
}

/* As both(), and on a kernel with the relaxed rules, want that. */
static void expect(const char *check, int mfd, struct file_handle *fh,
		   int flags, int want)
{
	int res = both(check, mfd, fh, flags);

	if (relaxed && res != want)
		kt_fail("%s: ring and syscall gave %s, want %s on %s", check,
			kt_res_str(res), kt_res_str(want), kt_release());
	printf("%-60s %s\n", check, kt_res_str(res));
}

static struct file_handle *encode(const char *path)
{
	struct file_handle *fh = kt_fh_new(KT_MAX_HANDLE_SZ);
	int mnt;

	if (kt_sys_encode(AT_FDCWD, path, fh, &mnt, 0))
		kt_fail("encode %s: %s", path, strerror(errno));
	return fh;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		kt_fail("write %s to %s: %s", text, path, strerror(errno));
	close(fd);
}

/*
 * Open fh through the ring first (r, with personality pers if not 0), then
 * through the syscall: both must give the same, and want on a kernel with
 * the relaxed rules.
 */
static void ring_first(const char *check, struct io_uring *r, int pers,
		       int mfd, struct file_handle *fh, int flags, int want)
{
	struct io_uring_sqe *sqe;
	int rfd, sfd;

	sqe = kt_prep_open(r, mfd, fh, flags, 0);
	sqe->personality = pers;
	rfd = kt_run(r);
	sfd = kt_sys_open(mfd, fh, flags);
	if ((rfd < 0 || sfd < 0) && rfd != sfd)
		kt_fail("%s: ring gave %s, syscall %s", check, kt_res_str(rfd),
			kt_res_str(sfd));
	if (rfd >= 0) {
		kt_expect_same_inode(check, rfd, sfd);
		close(rfd);
		close(sfd);
		rfd = 0;
	}
	if (relaxed && rfd != want)
		kt_fail("%s: ring and syscall gave %s, want %s on %s", check,
			kt_res_str(rfd), kt_res_str(want), kt_release());
	printf("%-60s %s\n", check, kt_res_str(rfd));
}

/* Become nobody, in a new user namespace (as its root) and mount one. */
static void enter_userns(void)
{
	if (setgid(NOBODY) || setuid(NOBODY))
		kt_fail("setuid nobody: %s", strerror(errno));
	/* the uid change made /proc/self root's: make it ours again */
	if (prctl(PR_SET_DUMPABLE, 1))
		kt_fail("PR_SET_DUMPABLE: %s", strerror(errno));
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS)) {
		if (errno == EINVAL || errno == ENOSPC || errno == EPERM)
			kt_skip("no user namespaces: unshare: %s",
				strerror(errno));
		kt_fail("unshare: %s", strerror(errno));
	}
	write_file("/proc/self/setgroups", "deny");
	write_file("/proc/self/uid_map", "0 65534 1");
	write_file("/proc/self/gid_map", "0 65534 1");
}

/* A tmpfs mounted in the namespace: it owns the superblock. */
static void userns_tmpfs(void)
{
	struct file_handle *a, *ab, *f;
	char path[PATH_MAX];
	int mfd, fd;

	snprintf(path, sizeof(path), "%s/mnt", own);
	if (mount("none", path, "tmpfs", 0, "mode=0755"))
		kt_fail("mount tmpfs on %s in the user namespace: %s", path,
			strerror(errno));
	mfd = kt_openf(path, O_RDONLY | O_DIRECTORY);
	if (mkdirat(mfd, "a", 0700) || mkdirat(mfd, "a/b", 0700))
		kt_fail("mkdir in the tmpfs: %s", strerror(errno));
	fd = openat(mfd, "f", O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		kt_fail("create in the tmpfs: %s", strerror(errno));
	close(fd);
	snprintf(path, sizeof(path), "%s/mnt/a", own);
	a = encode(path);
	snprintf(path, sizeof(path), "%s/mnt/a/b", own);
	ab = encode(path);
	snprintf(path, sizeof(path), "%s/mnt/f", own);
	f = encode(path);

	expect("userns tmpfs: a/b, O_DIRECTORY", mfd, ab,
	       O_RDONLY | O_DIRECTORY, 0);
	expect("userns tmpfs: a, O_DIRECTORY|O_PATH", mfd, a,
	       O_PATH | O_DIRECTORY, 0);
	expect("userns tmpfs: a/b without O_DIRECTORY", mfd, ab, O_RDONLY,
	       -EPERM);
	expect("userns tmpfs: file, O_DIRECTORY", mfd, f,
	       O_RDONLY | O_DIRECTORY, -ESTALE);
	expect("userns tmpfs: file", mfd, f, O_RDONLY, -EPERM);
	fd = kt_openf("/", O_RDONLY | O_DIRECTORY);
	expect("userns tmpfs: a/b, O_DIRECTORY, mount fd /", fd, ab,
	       O_RDONLY | O_DIRECTORY, -EPERM);
	close(fd);
	free(a);
	free(ab);
	free(f);
	close(mfd);
}

/* DIR in the namespace's copy of the mounts: it owns the mount. */
static void userns_mount(int old_dirfd)
{
	int fd, ownfd;

	fd = kt_openf(kt.dir, O_RDONLY | O_DIRECTORY);
	ownfd = kt_openf(own, O_RDONLY | O_DIRECTORY);
	expect("userns mount: own/sub, mount fd own", ownfd, h_sub,
	       O_RDONLY | O_DIRECTORY, 0);
	expect("userns mount: own, mount fd own", ownfd, h_own,
	       O_RDONLY | O_DIRECTORY, 0);
	/* DIR is root's: not mapped in the namespace */
	expect("userns mount: own/sub, mount fd DIR", fd, h_sub,
	       O_RDONLY | O_DIRECTORY, -ESTALE);
	expect("userns mount: nobody's dir outside own, mount fd own", ownfd,
	       h_outside_own, O_RDONLY | O_DIRECTORY, -ESTALE);
	expect("userns mount: root's dir, mount fd DIR", fd, h_root,
	       O_RDONLY | O_DIRECTORY, -ESTALE);
	expect("userns mount: own/sub without O_DIRECTORY", ownfd, h_sub,
	       O_RDONLY, -EPERM);
	expect("userns mount: own/file, O_DIRECTORY", ownfd, h_file,
	       O_RDONLY | O_DIRECTORY, -ESTALE);
	expect("userns mount: own/sub, mount fd from the old namespace",
	       old_dirfd, h_sub, O_RDONLY | O_DIRECTORY, -EPERM);
	close(fd);
	close(ownfd);
}

/*
 * Cold and disconnected directories, as the namespace's own mount: the
 * decode reads or reconnects them (in io-wq), then the subtree check runs
 * with the credentials of the namespace, whichever way the request came.
 */
static void userns_cold(struct io_uring *pre)
{
	struct io_uring_params p = { .flags = IORING_SETUP_SQPOLL };
	struct io_uring sq, *r;
	int fd, ownfd, pers, via;
	char check[160];

	if (io_uring_queue_init_params(8, &sq, &p))
		kt_fail("SQPOLL ring in the user namespace failed");
	pers = io_uring_register_personality(pre);
	if (pers < 0)
		kt_fail("register personality: %s", kt_res_str(pers));
	fd = kt_openf(kt.dir, O_RDONLY | O_DIRECTORY);
	ownfd = kt_openf(own, O_RDONLY | O_DIRECTORY);
	for (via = 0; via < NVIA; via++) {
		r = via == VIA_SQPOLL ? &sq : via == VIA_PERSONALITY ? pre :
		    &ring;
		snprintf(check, sizeof(check), "cold (%s): mount fd DIR",
			 via_name[via]);
		ring_first(check, r, via == VIA_PERSONALITY ? pers : 0, fd,
			   h_cold[via], O_RDONLY | O_DIRECTORY, -ESTALE);
		snprintf(check, sizeof(check), "cold (%s): mount fd own",
			 via_name[via]);
		ring_first(check, r, via == VIA_PERSONALITY ? pers : 0, ownfd,
			   h_cold[via], O_RDONLY | O_DIRECTORY, 0);
		snprintf(check, sizeof(check), "disconnected (%s): mount fd own",
			 via_name[via]);
		ring_first(check, r, via == VIA_PERSONALITY ? pers : 0, ownfd,
			   h_disc[via], O_RDONLY | O_DIRECTORY, 0);
		snprintf(check, sizeof(check),
			 "disconnected (%s): without O_DIRECTORY",
			 via_name[via]);
		ring_first(check, r, via == VIA_PERSONALITY ? pers : 0, ownfd,
			   h_disc[via], O_RDONLY, -EPERM);
	}
	close(fd);
	close(ownfd);
	io_uring_queue_exit(&sq);
}

static void child_userns(void)
{
	int old_dirfd = kt_openf(kt.dir, O_RDONLY | O_DIRECTORY);
	struct io_uring pre;
	int in, via;

	/*
	 * As root still: a ring whose credentials are root's, and the
	 * directories made cold, or disconnected (inotify keeps the inode,
	 * the dentries go).
	 */
	kt_ring_init(&pre, 8, 0);
	in = inotify_init1(IN_CLOEXEC);
	if (in < 0)
		kt_skip("no inotify: %s", strerror(errno));
	for (via = 0; via < NVIA; via++)
		if (inotify_add_watch(in, disc_dir[via], IN_ATTRIB) < 0)
			kt_fail("inotify_add_watch %s: %s", disc_dir[via],
				strerror(errno));
	if (kt_drop_caches())
		kt_skip("cannot drop caches");

	enter_userns();
	kt_ring_init(&ring, 8, 0);
	userns_cold(&pre);
	userns_mount(old_dirfd);
	userns_tmpfs();
	close(old_dirfd);
	close(in);
	io_uring_queue_exit(&pre);
}

static const char *mkdir_owned(const char *leaf, uid_t uid)
{
	const char *p = kt_mkdir(leaf);

	if (chown(p, uid, uid))
		kt_fail("chown %s: %s", p, strerror(errno));
	return p;
}

int main(int argc, char **argv)
{
	int fd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	if (geteuid())
		kt_skip("not root: cannot set up the namespaces and owners");
	relaxed = kt_kernel_at_least(6, 10);

	own = mkdir_owned("own", NOBODY);
	own_sub = mkdir_owned("own/sub", NOBODY);
	mkdir_owned("own/mnt", NOBODY);
	own_file = kt_mkfile("own/file", "nobody's\n");
	if (chown(own_file, NOBODY, NOBODY))
		kt_fail("chown: %s", strerror(errno));
	outside_own = mkdir_owned("outside", NOBODY);
	cold_dir[VIA_RING] = mkdir_owned("own/cold1", NOBODY);
	cold_dir[VIA_SQPOLL] = mkdir_owned("own/cold2", NOBODY);
	cold_dir[VIA_PERSONALITY] = mkdir_owned("own/cold3", NOBODY);
	disc_dir[VIA_RING] = mkdir_owned("own/disc1", NOBODY);
	disc_dir[VIA_SQPOLL] = mkdir_owned("own/disc2", NOBODY);
	disc_dir[VIA_PERSONALITY] = mkdir_owned("own/disc3", NOBODY);
	for (fd = 0; fd < NVIA; fd++) {
		h_cold[fd] = encode(cold_dir[fd]);
		h_disc[fd] = encode(disc_dir[fd]);
	}
	root_dir = mkdir_owned("rootdir", 0);
	h_sub = encode(own_sub);
	h_file = encode(own_file);
	h_own = encode(own);
	h_outside_own = encode(outside_own);
	h_root = encode(root_dir);

	/* as root, everything opens */
	fd = kt_open_both("root: own/sub, O_DIRECTORY", &ring, kt.dirfd, h_sub,
			  O_RDONLY | O_DIRECTORY, 0);
	kt_expect_inode_of("root: own/sub", fd, own_sub);
	close(fd);
	fd = kt_open_both("root: own/file", &ring, kt.dirfd, h_file, O_RDONLY,
			  0);
	kt_expect_inode_of("root: own/file", fd, own_file);
	close(fd);

	kt_run_child("nobody in a user namespace", child_userns);

	free(h_sub);
	free(h_file);
	free(h_own);
	free(h_outside_own);
	free(h_root);
	io_uring_queue_exit(&ring);
	kt_pass();
}
