// SPDX-License-Identifier: GPL-2.0
/*
 * nfsload: an NFSv3 client workload on libnfs's RPC layer, one phase per
 * NFS operation type, so that a server-side trace can be cut by phase.
 *
 *   readdirplus  READDIRPLUS of every directory of the export's tree
 *                (pages followed by cookie; new directories queued)
 *   lookup       LOOKUP of every file, by its directory's handle + name
 *   getattr      GETATTR of every file, by its handle
 *   read         READ of every file from offset 0, until end of file
 *
 * The tree (names, types, sizes, handles) comes from a readdirplus phase
 * of this run or from a handle file saved by an earlier run (-H with -l):
 * NFSv3 handles outlive a server restart, so a later run can GETATTR and
 * READ a cold server's files without warming it with a READDIRPLUS.
 *
 * Output: one line per phase on stdout (operations, ops/s, latency), and
 * with -o, one tab-separated line per phase with its wall-clock bounds
 * (CLOCK_REALTIME, as strace -ttt prints) for cutting a trace.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <nfsc/libnfs.h>
#include <nfsc/libnfs-raw.h>
#include <nfsc/libnfs-raw-mount.h>
#include <nfsc/libnfs-raw-nfs.h>

#define READ_CHUNK	65536
#define RDP_DIRCOUNT	8192
#define RDP_MAXCOUNT	65536
#define MAX_INFLIGHT	256

struct entry {
	char *name;
	int parent;		/* index of the directory; -1 for the root */
	int dir;
	uint64_t size;
	uint32_t fhlen;
	char fh[NFS3_FHSIZE];
};

struct tree {
	struct entry *v;
	size_t n, cap;
};

enum phase_kind { PH_READDIRPLUS, PH_LOOKUP, PH_GETATTR, PH_READ, PH_NR };

static const char *const phase_names[PH_NR] = {
	"readdirplus", "lookup", "getattr", "read",
};

/* One operation in flight. */
struct slot {
	struct phase *ph;
	size_t item;		/* tree index */
	uint64_t offset;	/* READ: next offset */
	uint64_t cookie;	/* READDIRPLUS: next cookie */
	cookieverf3 verf;
	struct timespec sent;
	int busy;
};

struct phase {
	enum phase_kind kind;
	struct tree *t;
	size_t *work;		/* tree indices still to start */
	size_t nwork, cap, next;
	int inflight;
	uint64_t ops, errors, bytes;
	uint64_t *lat_ns;
	size_t nlat, latcap;
};

static struct rpc_context *rpc;
static struct slot slots[MAX_INFLIGHT];
static int concurrency = 8;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("nfsload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		die("out of memory");
	return p;
}

static uint64_t ts_ns(const struct timespec *t)
{
	return (uint64_t)t->tv_sec * 1000000000ull + t->tv_nsec;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec t;

	clock_gettime(clk, &t);
	return ts_ns(&t);
}

static size_t tree_add(struct tree *t, const char *name, int parent, int dir)
{
	struct entry *e;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 1024;
		t->v = xrealloc(t->v, t->cap * sizeof(*t->v));
	}
	e = &t->v[t->n];
	memset(e, 0, sizeof(*e));
	e->name = strdup(name);
	if (!e->name)
		die("out of memory");
	e->parent = parent;
	e->dir = dir;
	return t->n++;
}

static void set_fh(struct entry *e, const nfs_fh3 *fh)
{
	if (fh->data.data_len > NFS3_FHSIZE)
		die("server handle of %u bytes", fh->data.data_len);
	e->fhlen = fh->data.data_len;
	memcpy(e->fh, fh->data.data_val, e->fhlen);
}

static nfs_fh3 entry_fh(struct entry *e)
{
	nfs_fh3 fh = { .data = { e->fhlen, e->fh } };

	return fh;
}

static void work_push(struct phase *ph, size_t item)
{
	if (ph->nwork == ph->cap) {
		ph->cap = ph->cap ? 2 * ph->cap : 1024;
		ph->work = xrealloc(ph->work, ph->cap * sizeof(*ph->work));
	}
	ph->work[ph->nwork++] = item;
}

static void wait_events(void)
{
	struct pollfd pfd = {
		.fd = rpc_get_fd(rpc),
		.events = rpc_which_events(rpc),
	};

	if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	if (rpc_service(rpc, pfd.revents) < 0)
		die("rpc: %s", rpc_get_error(rpc));
}

/* Connecting and mounting: run the loop until the callback says done. */
struct sync_cb {
	int done, status;
	fhandle3 root;
};

static void sync_wait(struct sync_cb *s)
{
	while (!s->done)
		wait_events();
	if (s->status != RPC_STATUS_SUCCESS)
		die("%s", rpc_get_error(rpc));
}

static void connect_cb(struct rpc_context *r, int status, void *data,
		       void *priv)
{
	struct sync_cb *s = priv;

	(void)r;
	s->status = status;
	if (status != RPC_STATUS_SUCCESS)
		fprintf(stderr, "nfsload: connect: %s\n", (char *)data);
	s->done = 1;
}

static void mnt_cb(struct rpc_context *r, int status, void *data, void *priv)
{
	struct sync_cb *s = priv;
	mountres3 *res = data;

	(void)r;
	s->done = 1;
	s->status = status;
	if (status != RPC_STATUS_SUCCESS)
		return;
	if (res->fhs_status != MNT3_OK) {
		fprintf(stderr, "nfsload: MNT failed: status %d\n",
			res->fhs_status);
		s->status = RPC_STATUS_ERROR;
		return;
	}
	s->root.fhandle3_len = res->mountres3_u.mountinfo.fhandle.fhandle3_len;
	s->root.fhandle3_val = malloc(s->root.fhandle3_len);
	if (!s->root.fhandle3_val)
		die("out of memory");
	memcpy(s->root.fhandle3_val,
	       res->mountres3_u.mountinfo.fhandle.fhandle3_val,
	       s->root.fhandle3_len);
}

static void do_connect(const char *server, int prog, int vers)
{
	struct sync_cb s = { 0 };

	if (rpc_connect_program_async(rpc, server, prog, vers, connect_cb,
				      &s))
		die("connect to %s: %s", server, rpc_get_error(rpc));
	sync_wait(&s);
}

/* MNT the export and return its root handle in t's root entry. */
static void mount_export(const char *server, char *export, struct tree *t)
{
	struct sync_cb s = { 0 };
	nfs_fh3 fh;

	rpc = rpc_init_context();
	if (!rpc)
		die("rpc_init_context failed");
	do_connect(server, MOUNT_PROGRAM, MOUNT_V3);
	if (rpc_mount3_mnt_async(rpc, mnt_cb, export, &s))
		die("MNT %s: %s", export, rpc_get_error(rpc));
	sync_wait(&s);
	rpc_destroy_context(rpc);

	if (!t->n)
		tree_add(t, "", -1, 1);
	fh.data.data_len = s.root.fhandle3_len;
	fh.data.data_val = s.root.fhandle3_val;
	set_fh(&t->v[0], &fh);
	free(s.root.fhandle3_val);

	rpc = rpc_init_context();
	if (!rpc)
		die("rpc_init_context failed");
	do_connect(server, NFS_PROGRAM, NFS_V3);
}

static void op_done(struct slot *sl, int status, int nfs_status)
{
	struct phase *ph = sl->ph;

	if (ph->nlat == ph->latcap) {
		ph->latcap = ph->latcap ? 2 * ph->latcap : 4096;
		ph->lat_ns = xrealloc(ph->lat_ns,
				      ph->latcap * sizeof(*ph->lat_ns));
	}
	ph->lat_ns[ph->nlat++] = now_ns(CLOCK_MONOTONIC) - ts_ns(&sl->sent);
	ph->ops++;
	if (status != RPC_STATUS_SUCCESS || nfs_status != NFS3_OK) {
		if (ph->errors++ < 10)
			fprintf(stderr, "nfsload: %s of '%s': %s %d\n",
				phase_names[ph->kind], ph->t->v[sl->item].name,
				status != RPC_STATUS_SUCCESS ? "rpc status" :
				"nfs status",
				status != RPC_STATUS_SUCCESS ? status :
				nfs_status);
	}
}

static int issue(struct slot *sl);

static void slot_free(struct slot *sl)
{
	sl->busy = 0;
	sl->ph->inflight--;
}

static void rdp_cb(struct rpc_context *r, int status, void *data, void *priv)
{
	struct slot *sl = priv;
	struct phase *ph = sl->ph;
	READDIRPLUS3res *res = data;
	entryplus3 *e;
	int more = 0;

	(void)r;
	op_done(sl, status, status == RPC_STATUS_SUCCESS ? (int)res->status : 0);
	if (status == RPC_STATUS_SUCCESS && res->status == NFS3_OK) {
		READDIRPLUS3resok *ok = &res->READDIRPLUS3res_u.resok;

		for (e = ok->reply.entries; e; e = e->nextentry) {
			fattr3 *a = &e->name_attributes.post_op_attr_u.attributes;
			size_t i;

			sl->cookie = e->cookie;
			if (!strcmp(e->name, ".") || !strcmp(e->name, ".."))
				continue;
			if (!e->name_handle.handle_follows ||
			    !e->name_attributes.attributes_follow)
				die("READDIRPLUS entry '%s' without handle or attributes",
				    e->name);
			i = tree_add(ph->t, e->name, (int)sl->item,
				     a->type == NF3DIR);
			ph->t->v[i].size = a->size;
			set_fh(&ph->t->v[i], &e->name_handle.post_op_fh3_u.handle);
			if (a->type == NF3DIR)
				work_push(ph, i);
		}
		memcpy(sl->verf, ok->cookieverf, sizeof(sl->verf));
		more = !ok->reply.eof;
	}
	if (more)
		issue(sl);	/* the next page: another READDIRPLUS */
	else
		slot_free(sl);
}

/*
 * LOOKUP and GETATTR: only the status matters, the first member of both
 * LOOKUP3res and GETATTR3res.
 */
static void status_cb(struct rpc_context *r, int status, void *data,
		      void *priv)
{
	struct slot *sl = priv;

	(void)r;
	op_done(sl, status,
		status == RPC_STATUS_SUCCESS ? (int)*(nfsstat3 *)data : 0);
	slot_free(sl);
}

static void read_cb(struct rpc_context *r, int status, void *data, void *priv)
{
	struct slot *sl = priv;
	READ3res *res = data;
	int more = 0;

	(void)r;
	op_done(sl, status, status == RPC_STATUS_SUCCESS ? (int)res->status : 0);
	if (status == RPC_STATUS_SUCCESS && res->status == NFS3_OK) {
		READ3resok *ok = &res->READ3res_u.resok;

		sl->ph->bytes += ok->count;
		sl->offset += ok->count;
		more = !ok->eof && ok->count;
	}
	if (more)
		issue(sl);
	else
		slot_free(sl);
}

static int issue(struct slot *sl)
{
	struct entry *e = &sl->ph->t->v[sl->item];
	int ret = -1;

	clock_gettime(CLOCK_MONOTONIC, &sl->sent);
	switch (sl->ph->kind) {
	case PH_READDIRPLUS: {
		READDIRPLUS3args a = {
			.dir = entry_fh(e), .cookie = sl->cookie,
			.dircount = RDP_DIRCOUNT, .maxcount = RDP_MAXCOUNT,
		};

		memcpy(a.cookieverf, sl->verf, sizeof(a.cookieverf));
		ret = rpc_nfs3_readdirplus_async(rpc, rdp_cb, &a, sl);
		break;
	}
	case PH_LOOKUP: {
		LOOKUP3args a = {
			.what = { entry_fh(&sl->ph->t->v[e->parent]), e->name },
		};

		ret = rpc_nfs3_lookup_async(rpc, status_cb, &a, sl);
		break;
	}
	case PH_GETATTR: {
		GETATTR3args a = { .object = entry_fh(e) };

		ret = rpc_nfs3_getattr_async(rpc, status_cb, &a, sl);
		break;
	}
	case PH_READ: {
		READ3args a = {
			.file = entry_fh(e), .offset = sl->offset,
			.count = READ_CHUNK,
		};

		ret = rpc_nfs3_read_async(rpc, read_cb, &a, sl);
		break;
	}
	default:
		break;
	}
	if (ret)
		die("queueing %s: %s", phase_names[sl->ph->kind],
		    rpc_get_error(rpc));
	return ret;
}

static struct slot *free_slot(void)
{
	int i;

	for (i = 0; i < concurrency; i++)
		if (!slots[i].busy)
			return &slots[i];
	return NULL;
}

static void run_phase(struct phase *ph)
{
	struct slot *sl;

	while (ph->next < ph->nwork || ph->inflight) {
		while (ph->next < ph->nwork && (sl = free_slot())) {
			memset(sl, 0, sizeof(*sl));
			sl->busy = 1;
			sl->ph = ph;
			sl->item = ph->work[ph->next++];
			ph->inflight++;
			issue(sl);
		}
		wait_events();
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct_us(struct phase *ph, double p)
{
	size_t i;

	if (!ph->nlat)
		return 0;
	i = (size_t)(p * (ph->nlat - 1) + 0.5);
	return ph->lat_ns[i] / 1000.0;
}

static void report(struct phase *ph, uint64_t t0, uint64_t t1, uint64_t w0,
		   uint64_t w1, FILE *tsv)
{
	double secs = (t1 - t0) / 1e9, sum = 0;
	size_t i;

	qsort(ph->lat_ns, ph->nlat, sizeof(*ph->lat_ns), cmp_u64);
	for (i = 0; i < ph->nlat; i++)
		sum += ph->lat_ns[i];
	printf("%-11s %7" PRIu64 " ops %8.3f s %9.0f ops/s  latency us: mean %.1f p50 %.1f p99 %.1f max %.1f  errors %" PRIu64 "\n",
	       phase_names[ph->kind], ph->ops, secs,
	       secs > 0 ? ph->ops / secs : 0,
	       ph->nlat ? sum / ph->nlat / 1000.0 : 0, pct_us(ph, 0.5),
	       pct_us(ph, 0.99), pct_us(ph, 1.0), ph->errors);
	if (tsv)
		fprintf(tsv, "%s\t%" PRIu64 ".%06" PRIu64 "\t%" PRIu64 ".%06" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%.1f\t%.1f\t%.1f\t%.0f\n",
			phase_names[ph->kind], w0 / 1000000000,
			w0 / 1000 % 1000000, w1 / 1000000000,
			w1 / 1000 % 1000000, ph->ops, ph->errors,
			ph->nlat ? sum / ph->nlat / 1000.0 : 0,
			pct_us(ph, 0.5), pct_us(ph, 0.99),
			secs > 0 ? ph->ops / secs : 0);
}

/*
 * The handle file: one line per entry after the root:
 * PARENT DIR SIZE HEXHANDLE NAME
 */
static void save_tree(struct tree *t, const char *path)
{
	FILE *f = fopen(path, "w");
	size_t i;
	uint32_t j;

	if (!f)
		die("%s: %s", path, strerror(errno));
	for (i = 1; i < t->n; i++) {
		struct entry *e = &t->v[i];

		if (strchr(e->name, '\n') || strchr(e->name, ' '))
			die("name '%s' has a space or newline", e->name);
		fprintf(f, "%d %d %" PRIu64 " ", e->parent, e->dir, e->size);
		for (j = 0; j < e->fhlen; j++)
			fprintf(f, "%02x", (unsigned char)e->fh[j]);
		fprintf(f, " %s\n", e->name);
	}
	if (fclose(f))
		die("%s: %s", path, strerror(errno));
}

static void load_tree(struct tree *t, const char *path)
{
	FILE *f = fopen(path, "r");
	char hex[2 * NFS3_FHSIZE + 1], name[256];
	int parent, dir, line = 0;
	uint64_t size;
	unsigned int b;
	size_t i, j;

	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fscanf(f, "%d %d %" SCNu64 " %128s %255s", &parent, &dir, &size,
		      hex, name) == 5) {
		line++;
		if (parent < 0 || (size_t)parent >= t->n ||
		    !t->v[parent].dir || strlen(hex) % 2)
			die("%s:%d: bad entry", path, line);
		i = tree_add(t, name, parent, dir);
		t->v[i].size = size;
		t->v[i].fhlen = strlen(hex) / 2;
		for (j = 0; j < t->v[i].fhlen; j++) {
			if (sscanf(hex + 2 * j, "%2x", &b) != 1)
				die("%s:%d: bad handle", path, line);
			t->v[i].fh[j] = (char)b;
		}
	}
	if (!feof(f) || !line)
		die("%s: unreadable or empty at entry %d", path, line + 1);
	fclose(f);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: nfsload [-c INFLIGHT] [-H HANDLEFILE [-l]] [-o PHASES.tsv] SERVER EXPORT [PHASE...]\n"
		"  PHASE: readdirplus, lookup, getattr, read (in the order given);\n"
		"  none: mount the export and exit\n"
		"  -c  operations in flight (1-%d, default 8)\n"
		"  -H  with -l, load the tree from HANDLEFILE; else save it there\n"
		"      after a readdirplus phase\n"
		"  -o  append one line per phase: name, start, end (CLOCK_REALTIME),\n"
		"      ops, errors, mean, p50, p99 latency (us), ops/s\n",
		MAX_INFLIGHT);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *handles = NULL, *tsv_path = NULL;
	struct tree t = { 0 };
	FILE *tsv = NULL;
	int opt, load = 0, i, failed = 0;
	enum phase_kind kinds[16];
	int nkinds = 0;

	while ((opt = getopt(argc, argv, "c:H:lo:")) != -1) {
		switch (opt) {
		case 'c':
			concurrency = atoi(optarg);
			if (concurrency < 1 || concurrency > MAX_INFLIGHT)
				usage();
			break;
		case 'H':
			handles = optarg;
			break;
		case 'l':
			load = 1;
			break;
		case 'o':
			tsv_path = optarg;
			break;
		default:
			usage();
		}
	}
	/* no PHASE: MNT only, the export answers (ganesha.sh's check) */
	if (argc - optind < 2 || (load && !handles))
		usage();
	for (i = optind + 2; i < argc; i++) {
		enum phase_kind k;

		for (k = 0; k < PH_NR; k++)
			if (!strcmp(argv[i], phase_names[k]))
				break;
		if (k == PH_NR || nkinds == 16) {
			fprintf(stderr, "nfsload: unknown phase '%s'\n", argv[i]);
			usage();
		}
		kinds[nkinds++] = k;
	}
	if (!load && nkinds && kinds[0] != PH_READDIRPLUS) {
		fprintf(stderr, "nfsload: the first phase must be readdirplus unless -l loads a tree\n");
		usage();
	}

	tree_add(&t, "", -1, 1);
	mount_export(argv[optind], argv[optind + 1], &t);
	if (load)
		load_tree(&t, handles);
	if (tsv_path) {
		tsv = fopen(tsv_path, "a");
		if (!tsv)
			die("%s: %s", tsv_path, strerror(errno));
	}

	for (i = 0; i < nkinds; i++) {
		struct phase ph = { .kind = kinds[i], .t = &t };
		uint64_t t0, t1, w0, w1;
		size_t j;

		if (ph.kind == PH_READDIRPLUS) {
			if (t.n > 1)
				die("readdirplus must come before the tree is known");
			work_push(&ph, 0);
		} else {
			for (j = 1; j < t.n; j++)
				if (!t.v[j].dir)
					work_push(&ph, j);
		}
		w0 = now_ns(CLOCK_REALTIME);
		t0 = now_ns(CLOCK_MONOTONIC);
		run_phase(&ph);
		t1 = now_ns(CLOCK_MONOTONIC);
		w1 = now_ns(CLOCK_REALTIME);
		report(&ph, t0, t1, w0, w1, tsv);
		if (ph.errors)
			failed = 1;
		if (ph.kind == PH_READDIRPLUS && handles && !load)
			save_tree(&t, handles);
		free(ph.work);
		free(ph.lat_ns);
	}
	if (tsv && fclose(tsv))
		die("%s: %s", tsv_path, strerror(errno));
	rpc_destroy_context(rpc);
	for (i = 0; (size_t)i < t.n; i++)
		free(t.v[i].name);
	free(t.v);
	return failed;
}
