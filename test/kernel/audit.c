// SPDX-License-Identifier: GPL-2.0
/*
 * Audit (CONFIG_AUDIT, the debug kernel): with audit enabled, this test as
 * the audit daemon and a rule for the two opcodes, the requests are audited
 * as io_uring audits every request, one URINGOP record per issue: one for
 * a request that completes where it is first issued (inline; in io-wq with
 * IOSQE_ASYNC), two for one tried inline and retried in io-wq (a FIFO; a
 * cold file where there is a block device): the first success=no
 * exit=-EAGAIN, the last success=yes exit=0.  (A record's exit is what the
 * issue returned, 0 once the request completed; the request's result,
 * an error included, is only in the CQE, as for every opcode.)  So the
 * retry adds no record of its own beyond io_uring's.  This also runs the requests with
 * audit contexts that keep the names they look up (the path of an encode
 * is a struct filename that io-wq releases), which the debug kernel checks
 * with KASAN and kmemleak.  Audit's state is restored at the end.  Skips
 * without CONFIG_AUDIT.
 */
#include "ktest.h"
#include <poll.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>

#ifndef AUDIT_URINGOP
#define AUDIT_URINGOP		1336
#endif
#ifndef AUDIT_FILTER_URING_EXIT
#define AUDIT_FILTER_URING_EXIT	0x07
#endif

static int nl = -1;
static struct audit_status saved;
static bool rule_added, status_set;
static struct audit_rule_data rule;

static int nl_send(int type, const void *data, size_t len)
{
	struct {
		struct nlmsghdr h;
		char buf[4096];
	} m = { 0 };
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (len > sizeof(m.buf))
		kt_fail("audit netlink message of %zu bytes", len);
	m.h.nlmsg_len = NLMSG_LENGTH(len);
	m.h.nlmsg_type = type;
	m.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	memcpy(NLMSG_DATA(&m.h), data, len);
	if (sendto(nl, &m, m.h.nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/*
 * Receive one message within ms; its type and payload (NUL-terminated for
 * text).  Returns the type, 0 on timeout.
 */
static int nl_recv(char *buf, size_t size, int ms, size_t *len)
{
	char raw[9000];
	struct nlmsghdr *h = (struct nlmsghdr *)raw;
	struct pollfd p = { .fd = nl, .events = POLLIN };
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return 0;
	n = recv(nl, raw, sizeof(raw), 0);
	if (n < (ssize_t)sizeof(*h))
		kt_fail("audit netlink recv: %s", strerror(errno));
	*len = h->nlmsg_len - NLMSG_HDRLEN;
	if (*len >= size)
		*len = size - 1;
	memcpy(buf, NLMSG_DATA(h), *len);
	buf[*len] = 0;
	return h->nlmsg_type;
}

/* Send and wait for the ack (NLMSG_ERROR); returns its error. */
static int nl_request(int type, const void *data, size_t len)
{
	char buf[1024];
	size_t n;
	int t, ret = nl_send(type, data, len);

	if (ret)
		return ret;
	while ((t = nl_recv(buf, sizeof(buf), 2000, &n))) {
		if (t == NLMSG_ERROR)
			return ((struct nlmsgerr *)buf)->error;
	}
	return -ETIMEDOUT;
}

static void restore(void)
{
	struct audit_status st = saved;

	if (getpid() != kt.pid || nl < 0)
		return;
	if (rule_added)
		nl_request(AUDIT_DEL_RULE, &rule, sizeof(rule));
	if (status_set) {
		st.mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID;
		nl_request(AUDIT_SET, &st, sizeof(st));
	}
}

struct rec {
	int op;
	bool success;
	long exit;
};

/* The URINGOP records of this process within ms; returns how many. */
static int records(struct rec *r, int max, int ms)
{
	char buf[8192], *p;
	size_t len;
	int t, n = 0;

	while ((t = nl_recv(buf, sizeof(buf), ms, &len))) {
		if (t != AUDIT_URINGOP)
			continue;
		p = strstr(buf, " pid=");
		if (!p || atoi(p + 5) != getpid())
			continue;
		if (n == max)
			kt_fail("more than %d URINGOP records", max);
		p = strstr(buf, "uring_op=");
		r[n].op = p ? atoi(p + 9) : -1;
		r[n].success = strstr(buf, "success=yes");
		p = strstr(buf, "exit=");
		r[n].exit = p ? strtol(p + 5, NULL, 10) : -9999;
		n++;
		ms = 300;	/* the rest of this request's come soon */
	}
	return n;
}

/*
 * Run the prepared request; its records must be want (1 or 2): the last
 * success=yes exit=0, an earlier one success=no exit=-EAGAIN.  Returns
 * the CQE's res.
 */
static int audited(struct io_uring *ring, const char *what, int op, int want)
{
	struct rec r[8];
	int res, n, i;

	res = kt_run(ring);
	n = records(r, 8, 2000);
	printf("%-44s res=%-4d records:", what, res);
	for (i = 0; i < n; i++)
		printf(" [op %d %s exit %ld]", r[i].op,
		       r[i].success ? "yes" : "no", r[i].exit);
	printf("\n");
	if (n != want)
		kt_fail("%s: %d URINGOP records, want %d", what, n, want);
	for (i = 0; i < n; i++)
		if (r[i].op != op)
			kt_fail("%s: a record of opcode %d, want %d", what,
				r[i].op, op);
	if (r[n - 1].exit || !r[n - 1].success)
		kt_fail("%s: the last record has success=%s exit=%ld, want "
			"yes and 0 (the CQE has res=%d)", what,
			r[n - 1].success ? "yes" : "no", r[n - 1].exit, res);
	if (n == 2 && (r[0].exit != -EAGAIN || r[0].success))
		kt_fail("%s: the inline attempt's record has exit=%ld, want "
			"-EAGAIN", what, r[0].exit);
	return res;
}

static struct file_handle *fh, *pfh;
static const char *file, *fifo;

/* Forked after audit is on: its tasks get audit contexts. */
static void child(void)
{
	struct file_handle *out = kt_fh_new(KT_MAX_HANDLE_SZ);
	const char *leaf = strrchr(file, '/') + 1;
	bool block_fs = major(kt_fstat("DIR", kt.dirfd).st_dev) != 0;
	struct io_uring ring;
	int fd, rfd, mnt;

	kt_ring_init(&ring, 8, 0);
	/* relative: a walk from / would cross the VM's 9p root, never cached */
	kt_prep_encode(&ring, kt.dirfd, leaf, out, &mnt, 0, 0);
	audited(&ring, "encode, inline", KT_OP_ENCODE, 1);
	kt_prep_encode(&ring, kt.dirfd, leaf, out, &mnt, 0, IOSQE_ASYNC);
	audited(&ring, "encode, IOSQE_ASYNC", KT_OP_ENCODE, 1);
	kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY, 0);
	close(audited(&ring, "open, inline", KT_OP_OPEN, 1));
	kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY, IOSQE_ASYNC);
	close(audited(&ring, "open, IOSQE_ASYNC", KT_OP_OPEN, 1));
	rfd = kt_openf(fifo, O_RDONLY | O_NONBLOCK);
	kt_prep_open(&ring, kt.dirfd, pfh, O_WRONLY, 0);
	fd = audited(&ring, "open of a FIFO, retried", KT_OP_OPEN, 2);
	close(fd);
	close(rfd);
	kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY | O_DIRECTORY, 0);
	audited(&ring, "open, -ENOTDIR", KT_OP_OPEN, 1);
	if (block_fs) {
		if (kt_drop_caches())
			kt_skip("cannot drop caches");
		kt_prep_encode(&ring, kt.dirfd, leaf, out, &mnt, 0, 0);
		audited(&ring, "encode, cold, retried", KT_OP_ENCODE, 2);
		if (kt_drop_caches())
			kt_skip("cannot drop caches");
		kt_prep_open(&ring, kt.dirfd, fh, O_RDONLY, 0);
		close(audited(&ring, "open, cold, retried", KT_OP_OPEN, 2));
	}
	io_uring_queue_exit(&ring);
	free(out);
}

int main(int argc, char **argv)
{
	struct audit_status st = { 0 };
	struct io_uring ring;
	char buf[1024];
	size_t len;
	int t, ret, mnt;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);
	if (getenv("KT_SELFCHECK"))
		kt_skip("the emulation does not run the kernel's code");
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_AUDIT);
	if (nl < 0)
		kt_skip("no audit in this kernel: socket(NETLINK_AUDIT): %s",
			strerror(errno));
	if (nl_send(AUDIT_GET, NULL, 0))
		kt_skip("AUDIT_GET: %s", strerror(errno));
	while ((t = nl_recv(buf, sizeof(buf), 2000, &len)) && t != AUDIT_GET)
		if (t == NLMSG_ERROR && ((struct nlmsgerr *)buf)->error)
			kt_skip("AUDIT_GET: %s",
				strerror(-((struct nlmsgerr *)buf)->error));
	if (t != AUDIT_GET)
		kt_skip("no answer to AUDIT_GET");
	memcpy(&saved, buf, len < sizeof(saved) ? len : sizeof(saved));
	if (saved.pid && saved.pid != (unsigned int)getpid())
		kt_skip("an audit daemon runs (pid %u)", saved.pid);
	atexit(restore);

	st.mask = AUDIT_STATUS_ENABLED | AUDIT_STATUS_PID;
	st.enabled = 1;
	st.pid = getpid();
	ret = nl_request(AUDIT_SET, &st, sizeof(st));
	if (ret)
		kt_fail("AUDIT_SET enabled=1 pid=%d: %s", getpid(),
			strerror(-ret));
	status_set = true;
	rule.flags = AUDIT_FILTER_URING_EXIT;
	rule.action = AUDIT_ALWAYS;
	rule.mask[KT_OP_ENCODE / 32] |= 1U << (KT_OP_ENCODE % 32);
	rule.mask[KT_OP_OPEN / 32] |= 1U << (KT_OP_OPEN % 32);
	ret = nl_request(AUDIT_ADD_RULE, &rule, sizeof(rule));
	/* -EEXIST: left by a run that died; removed at the end all the same */
	if (ret && ret != -EEXIST)
		kt_fail("AUDIT_ADD_RULE (io_uring exit, ops %d and %d): %s",
			KT_OP_ENCODE, KT_OP_OPEN, strerror(-ret));
	rule_added = true;
	while (nl_recv(buf, sizeof(buf), 100, &len))
		;	/* the CONFIG_CHANGE records */

	file = kt_mkfile("file", "audit\n");
	fifo = kt_path("fifo");
	if (mkfifo(fifo, 0600))
		kt_fail("mkfifo: %s", strerror(errno));
	fh = kt_fh_of(file, &mnt);
	pfh = kt_fh_of(fifo, &mnt);
	kt_run_child("audited requests", child);

	free(fh);
	free(pfh);
	io_uring_queue_exit(&ring);
	kt_pass();
}
