// SPDX-License-Identifier: GPL-2.0
/*
 * fhandle: a fio ioengine for file-handle metadata operations.
 *
 * One io_u is one metadata operation on io_u->file.  DDIR_READ runs the
 * "read" operation (by default open by handle + close), DDIR_WRITE runs the
 * "write" operation (by default encode a handle), so fio's read and write
 * statistics keep the two apart.  Operations go to the kernel either as
 * io_uring SQEs (the proposed IORING_OP_NAME_TO_HANDLE_AT and
 * IORING_OP_OPEN_BY_HANDLE_AT, plus OPENAT, READ and CLOSE) or as plain
 * syscalls, chosen by fh_backend with the same job file.
 *
 * Handles are encoded once per file before the timed phase (only when an
 * operation of the job opens by handle) and kept in one arena; the engine
 * keeps no fd per file, only one per mount.  Symlinks are followed by every
 * operation, as openat(2) does, unless fh_open_flags has nofollow.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "fio.h"
#include "optgroup.h"
#include "verify.h"
#include "fhandle-fio-version.h"
#include "fhandle_uring.h"

/* fio's name for this engine, and the prefix of every message */
#define FH_NAME		"fhandle"
#define FH_SQES_PER_OP	3	/* open, read, close */
#define FH_RING_MAX_SQES	32768	/* IORING_MAX_ENTRIES */
/* fds fio and the engine may hold besides the operations' own */
#define FH_SPARE_FDS	64

enum fh_backend { FH_BACKEND_URING, FH_BACKEND_SYNC };

enum fh_op {
	FH_OP_ENCODE,		/* name_to_handle_at */
	FH_OP_OPEN,		/* open_by_handle_at + close */
	FH_OP_OPEN_READ,	/* open_by_handle_at + read bs + close */
	FH_OP_OPENAT,		/* openat by path + close */
	FH_OP_OPENAT_READ,	/* openat by path + read bs + close */
};

/* What a CQE completed: kept in the low bits of user_data. */
enum fh_step {
	FH_STEP_ENCODE,
	FH_STEP_OPEN,
	FH_STEP_READ,
	FH_STEP_CLOSE,
	FH_STEP_MASK = 3,
};

struct fh_options {
	void *pad;		/* fio keeps its own pointer here */
	unsigned int backend;
	unsigned int read_op;
	unsigned int write_op;
	char *open_flags;
	unsigned int fixedfiles;
	unsigned int force_async;
	unsigned int sqpoll;
	char *encode_opcode;
	char *open_opcode;
	unsigned int cold_cache;
	char *encode_flags;
};

/* Per-io_u state: the operation in flight and the output of an encode. */
struct fh_iou {
	struct io_u *io_u;
	int pending;		/* CQEs still to come */
	int error;		/* first error of the operation */
	union fh_mount_id mount_id;
	struct fh_handle_buf out;
};

struct fh_mount {
	int mount_id;
	int fd;
};

struct fh_data {
	enum fh_backend backend;
	int open_flags;
	int encode_flags;	/* AT_* of the timed encodes */
	int init_encode_flags;	/* AT_* of the handles that opens use */
	unsigned int encode_opcode, open_opcode;
	/* encoded handles, one per file, found through f->engine_pos */
	unsigned char *arena;
	size_t arena_len, arena_cap;
	struct fh_mount *mounts;
	unsigned int nr_mounts;
	/* uring backend */
	struct io_uring ring;
	bool ring_ready;
	unsigned int sqe_flags;
	struct fh_iou *ious;	/* per io_u, by io_u->index */
	struct io_u **events;
	unsigned int nr_events;
	struct io_u **submit_list;	/* io_us queued since the last commit */
	unsigned int nr_submit;
};

/*
 * f->engine_pos: the handle's offset in the arena and its mount index
 * (a test builds the engine with a larger shift, to reach the mount limit)
 */
#ifndef FH_POS_MOUNT_SHIFT
#define FH_POS_MOUNT_SHIFT	48
#endif
#define FH_POS_OFF_MASK		((1ULL << FH_POS_MOUNT_SHIFT) - 1)

static inline struct file_handle *fh_file_handle(struct fh_data *fhd,
						 struct fio_file *f)
{
	return (struct file_handle *)(fhd->arena +
				      (f->engine_pos & FH_POS_OFF_MASK));
}

static inline int fh_file_mount_fd(struct fh_data *fhd, struct fio_file *f)
{
	return fhd->mounts[f->engine_pos >> FH_POS_MOUNT_SHIFT].fd;
}

static enum fh_op fh_io_u_op(struct thread_data *td, struct io_u *io_u)
{
	struct fh_options *o = td->eo;

	return io_u->ddir == DDIR_READ ? o->read_op : o->write_op;
}

static bool fh_op_by_handle(enum fh_op op)
{
	return op == FH_OP_OPEN || op == FH_OP_OPEN_READ;
}

static bool fh_op_reads(enum fh_op op)
{
	return op == FH_OP_OPEN_READ || op == FH_OP_OPENAT_READ;
}

/* Reads: the job's own, and the reads of verify's phase. */
static bool fh_job_reads(struct thread_data *td)
{
	return td_read(td) || td->o.verify != VERIFY_NONE;
}

/* Writes: verify_only turns a writing job into its verify phase alone. */
static bool fh_job_writes(struct thread_data *td)
{
	return td_write(td) && !td->o.verify_only;
}

/* The operations this job can issue: only its directions count. */
static bool fh_job_uses(struct thread_data *td, bool (*pred)(enum fh_op))
{
	struct fh_options *o = td->eo;

	return (fh_job_reads(td) && pred(o->read_op)) ||
	       (fh_job_writes(td) && pred(o->write_op));
}

static bool fh_op_is_encode(enum fh_op op)
{
	return op == FH_OP_ENCODE;
}

/* ------------------------------------------------------------------ */
/* Set-up: open flags, handles, mounts                                 */

struct fh_flag_name {
	const char *name;
	int flag;
};

/* the access modes first: FH_ACCESS_MODE_NAMES of them */
#define FH_ACCESS_MODE_NAMES	3
static const struct fh_flag_name fh_open_flag_names[] = {
	{ "rdonly", O_RDONLY },	{ "wronly", O_WRONLY },
	{ "rdwr", O_RDWR },	{ "path", O_PATH },
	{ "nonblock", O_NONBLOCK }, { "cloexec", O_CLOEXEC },
	{ "noatime", O_NOATIME }, { "direct", O_DIRECT },
	{ "sync", O_SYNC },	{ "noctty", O_NOCTTY },
	{ "nofollow", O_NOFOLLOW },
	{ NULL, 0 },
};

static const struct fh_flag_name fh_encode_flag_names[] = {
	{ "fid", AT_HANDLE_FID },
	{ "mnt_id_unique", AT_HANDLE_MNT_ID_UNIQUE },
	{ NULL, 0 },
};

/*
 * "a,b" into the OR of the named flags, each named once; -1 (after an
 * error naming the option) if a name is unknown or repeated.  *seen gets
 * a bit per name given, by its index in names.
 */
static int fh_parse_flags(struct thread_data *td, const char *option,
			  const struct fh_flag_name *names, const char *spec,
			  unsigned int *seen_out)
{
	const struct fh_flag_name *n;
	char *copy, *tok, *save = NULL;
	unsigned int seen = 0;
	int flags = 0;

	copy = strdup(spec ? spec : "");
	if (!copy) {
		td_verror(td, ENOMEM, "strdup");
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (n = names; n->name && strcmp(tok, n->name); n++)
			;
		if (!n->name || seen & (1U << (n - names))) {
			log_err(FH_NAME ": %s %s value '%s' (known, comma "
				"separated:", n->name ? "repeated" : "unknown",
				option, tok);
			for (n = names; n->name; n++)
				log_err(" %s", n->name);
			log_err(")\n");
			td_verror(td, EINVAL, option);
			free(copy);
			return -1;
		}
		seen |= 1U << (n - names);
		flags |= n->flag;
	}
	free(copy);
	if (seen_out)
		*seen_out = seen;
	return flags;
}

/* fh_open_flags: one access mode at most, and one that suits the ops. */
static int fh_parse_open_flags(struct thread_data *td, const char *spec)
{
	unsigned int seen;
	int flags = fh_parse_flags(td, "fh_open_flags", fh_open_flag_names,
				   spec, &seen);

	if (flags < 0)
		return -1;
	/* O_RDONLY is 0: count the names */
	if (__builtin_popcount(seen & ((1U << FH_ACCESS_MODE_NAMES) - 1)) > 1) {
		log_err(FH_NAME ": fh_open_flags: name one access mode of "
			"rdonly, wronly, rdwr (got '%s')\n", spec);
		td_verror(td, EINVAL, "fh_open_flags");
		return -1;
	}
	return flags;
}

/* An io_uring opcode number: a whole decimal number 0-255. */
static int fh_parse_opcode(struct thread_data *td, const char *option,
			   const char *spec, unsigned int *opcode)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(spec ? spec : "", &end, 10);
	if (!spec || !*spec || *end || errno || spec[0] == '-' ||
	    spec[0] == '+' || v > 255) {
		log_err(FH_NAME ": %s='%s': an io_uring opcode is a whole "
			"number from 0 to 255\n", option, spec ? spec : "");
		td_verror(td, EINVAL, option);
		return 1;
	}
	*opcode = (unsigned int)v;
	return 0;
}

static int fh_arena_reserve(struct fh_data *fhd, size_t len)
{
	size_t cap = fhd->arena_cap ? fhd->arena_cap : 4096;
	unsigned char *p;

	if (fhd->arena_len + len <= fhd->arena_cap)
		return 0;
	while (cap < fhd->arena_len + len)
		cap *= 2;
	p = realloc(fhd->arena, cap);
	if (!p)
		return -ENOMEM;
	fhd->arena = p;
	fhd->arena_cap = cap;
	return 0;
}

/* The mount id of an open fd: where the mount fd really is. */
static int fh_fd_mount_id(int fd, uint64_t *mount_id)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &stx))
		return -1;
	*mount_id = stx.stx_mnt_id;
	return 0;
}

/*
 * open_by_handle_at needs a real fd (not O_PATH) on the file's mount.  The
 * parent directory usually is on it; a file that is itself a mount point
 * (a bind mount) or a symlink into another mount is not: then the file.
 */
static int fh_open_mount_fd(struct thread_data *td, int mount_id,
			    const char *path)
{
	char dir[PATH_MAX];
	uint64_t dir_mnt;
	char *slash;
	int mfd;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	mfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd >= 0 && !fh_fd_mount_id(mfd, &dir_mnt) &&
	    dir_mnt == (uint64_t)mount_id)
		return mfd;
	if (mfd >= 0)
		close(mfd);
	mfd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (mfd < 0) {
		log_err(FH_NAME ": cannot open a mount fd for %s: %s\n", path,
			strerror(errno));
		td_verror(td, errno, "open mount fd");
	}
	return mfd;
}

/* The index of an fd on the mount that holds @path, opening one if new. */
static int fh_mount_index(struct thread_data *td, struct fh_data *fhd,
			  int mount_id, const char *path)
{
	struct fh_mount *m;
	unsigned int i;
	int mfd;

	for (i = 0; i < fhd->nr_mounts; i++)
		if (fhd->mounts[i].mount_id == mount_id)
			return i;
	/* f->engine_pos holds the index above FH_POS_MOUNT_SHIFT */
	if (fhd->nr_mounts == 1U << (64 - FH_POS_MOUNT_SHIFT)) {
		log_err(FH_NAME ": more than %u mounts in one job\n",
			fhd->nr_mounts);
		td_verror(td, EMLINK, "mounts");
		return -1;
	}
	mfd = fh_open_mount_fd(td, mount_id, path);
	if (mfd < 0)
		return -1;
	m = realloc(fhd->mounts, (fhd->nr_mounts + 1) * sizeof(*m));
	if (!m) {
		close(mfd);
		td_verror(td, ENOMEM, "realloc");
		return -1;
	}
	fhd->mounts = m;
	m[fhd->nr_mounts].mount_id = mount_id;
	m[fhd->nr_mounts].fd = mfd;
	return fhd->nr_mounts++;
}

static void fh_explain_encode_error(const char *path, int flags, int err)
{
	switch (err) {
	case EOPNOTSUPP:
		log_err(FH_NAME ": the filesystem of %s cannot export file "
			"handles (name_to_handle_at: %s)\n", path,
			strerror(err));
		break;
	case ENOENT:
		log_err(FH_NAME ": %s does not exist; the engine encodes "
			"the files fio lays out (create_serialize=0 is not "
			"supported)\n", path);
		break;
	case EINVAL:
		if (flags & (AT_HANDLE_FID | AT_HANDLE_MNT_ID_UNIQUE)) {
			log_err(FH_NAME ": name_to_handle_at(%s) refuses "
				"fh_encode_flags (AT_HANDLE_FID needs Linux "
				"6.5, AT_HANDLE_MNT_ID_UNIQUE 6.12): %s\n",
				path, strerror(err));
			break;
		}
		/* fall through */
	default:
		log_err(FH_NAME ": name_to_handle_at(%s): %s\n", path,
			strerror(err));
	}
}

/* Encode path with the syscall: 0 or an errno. */
static int fh_encode_sync(const char *path, struct fh_handle_buf *h,
			  union fh_mount_id *mount_id, int flags)
{
	mount_id->any = 0;
	if (name_to_handle_at(AT_FDCWD, path, fh_handle_ready(h), &mount_id->id,
			      flags))
		return errno;
	return 0;
}

/* Encode one file's handle with the syscall and append it to the arena. */
static int fh_encode_file(struct thread_data *td, struct fh_data *fhd,
			  struct fio_file *f)
{
	union fh_mount_id mount_id;
	struct fh_handle_buf h;
	size_t len;
	int err, idx;

	err = fh_encode_sync(f->file_name, &h, &mount_id,
			     fhd->init_encode_flags);
	if (err) {
		fh_explain_encode_error(f->file_name, fhd->init_encode_flags,
					err);
		td_verror(td, err, "name_to_handle_at");
		return 1;
	}
	idx = fh_mount_index(td, fhd, mount_id.id, f->file_name);
	if (idx < 0)
		return 1;

	len = (sizeof(h.fh) + h.fh.handle_bytes + 7) & ~(size_t)7;
	if (fh_arena_reserve(fhd, len)) {
		td_verror(td, ENOMEM, "handle arena");
		return 1;
	}
	memcpy(fhd->arena + fhd->arena_len, &h, sizeof(h.fh) + h.fh.handle_bytes);
	f->engine_pos = ((uint64_t)idx << FH_POS_MOUNT_SHIFT) | fhd->arena_len;
	fhd->arena_len += len;
	return 0;
}

static int fh_encode_all(struct thread_data *td, struct fh_data *fhd)
{
	struct fio_file *f;
	unsigned int i;

	for_each_file(td, f, i)
		if (fh_encode_file(td, fhd, f))
			return 1;
	/* hand back what the doubling over-allocated */
	if (fhd->arena_len && fhd->arena_len < fhd->arena_cap) {
		unsigned char *p = realloc(fhd->arena, fhd->arena_len);

		if (p) {
			fhd->arena = p;
			fhd->arena_cap = fhd->arena_len;
		}
	}
	return 0;
}

/*
 * The EPERM of an open by handle, by 6.12's rules (fs/fhandle.c): the
 * caller needs CAP_DAC_READ_SEARCH in the initial user namespace; since
 * 6.10 a user namespace's capabilities suffice only for a directory handle
 * opened with O_DIRECTORY, which a file of a fio file set never is.
 */
static void fh_explain_eperm(struct thread_data *td)
{
	log_err(FH_NAME ": open_by_handle_at needs CAP_DAC_READ_SEARCH in "
		"the initial user namespace (a user namespace's capabilities "
		"open only directory handles with O_DIRECTORY, since Linux "
		"6.10; the engine opens files): run as root, or measure opens "
		"by path with fh_read_op=openat\n");
	td_verror(td, EPERM, "open_by_handle_at");
}

/*
 * One open by handle with the syscall before the timed phase, so that a
 * missing CAP_DAC_READ_SEARCH is a clear error instead of a run of EPERMs.
 */
static int fh_check_open_by_handle(struct thread_data *td, struct fh_data *fhd)
{
	struct fio_file *f = td->files[0];
	int ofd;

	ofd = open_by_handle_at(fh_file_mount_fd(fhd, f), fh_file_handle(fhd, f),
				fhd->open_flags);
	if (ofd >= 0) {
		close(ofd);
		return 0;
	}
	if (errno == EPERM) {
		fh_explain_eperm(td);
		return 1;
	}
	log_err(FH_NAME ": open_by_handle_at(%s): %s\n", f->file_name,
		strerror(errno));
	td_verror(td, errno, "open_by_handle_at");
	return 1;
}

/*
 * One encode with the timed phase's flags before it: a filesystem that
 * cannot export handles, or a kernel that refuses the flags, is a clear
 * error now rather than a failed run.
 */
static int fh_check_encode(struct thread_data *td, struct fh_data *fhd)
{
	union fh_mount_id mount_id;
	struct fh_handle_buf h;
	const char *path = td->files[0]->file_name;
	int err;

	err = fh_encode_sync(path, &h, &mount_id, fhd->encode_flags);
	if (!err)
		return 0;
	fh_explain_encode_error(path, fhd->encode_flags, err);
	td_verror(td, err, "name_to_handle_at");
	return 1;
}

/* ------------------------------------------------------------------ */
/* fh_cold_cache: one drop for the whole group                         */

static int fh_drop_caches(struct thread_data *td)
{
	int dfd;

	sync();
	dfd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (dfd < 0 || write(dfd, "2", 1) != 1) {
		int err = errno;

		log_err(FH_NAME ": fh_cold_cache needs root: cannot write "
			"/proc/sys/vm/drop_caches: %s\n", strerror(err));
		if (dfd >= 0)
			close(dfd);
		td_verror(td, err, "drop_caches");
		return 1;
	}
	close(dfd);
	return 0;
}

struct ioengine_ops ioengine;

/* A job of td's group that is this engine with fh_cold_cache set. */
static bool fh_cold_peer(struct thread_data *td, struct thread_data *peer)
{
	struct fh_options *po = peer->eo;

	return peer->groupid == td->groupid && peer->io_ops == &ioengine &&
	       po && po->cold_cache;
}

/* A peer that failed or ended before the rendezvous will never come. */
static bool fh_peer_gone(struct thread_data *peer)
{
	return peer->error || peer->runstate >= TD_EXITED;
}

/*
 * fio runs the init of every job of a group at once, and each starts its
 * timed phase when its own init is done.  So the jobs of a group meet here,
 * after every init: the first job of the group drops the caches once, and
 * none goes on before.  Every job of the group must set fh_cold_cache (the
 * init refuses others), and a job whose init failed is not waited for.
 */
struct fh_rendezvous {
	unsigned int arrived;
	int result;		/* 0: pending, 1: dropped, -1: failed */
};

static struct thread_data *fh_cold_leader(struct thread_data *td)
{
	struct thread_data *peer;
	int i;

	for_each_td(peer, i)
		if (fh_cold_peer(td, peer))
			return peer;
	return td;
}

static unsigned int fh_cold_waiting_for(struct thread_data *td)
{
	struct thread_data *peer;
	unsigned int n = 0;
	int i;

	for_each_td(peer, i)
		if (fh_cold_peer(td, peer) &&
		    (peer == td || !fh_peer_gone(peer)))
			n++;
	return n;
}

/* The leader lives until all have met: its pid names the meeting. */
static void fh_rendezvous_name(struct thread_data *leader, char *name,
			       size_t len)
{
	snprintf(name, len, "/fio-fhandle-cold.%d.%u", (int)leader->pid,
		 leader->thread_number);
}

static struct fh_rendezvous *fh_rendezvous_map(struct thread_data *td,
					       struct thread_data *leader,
					       char *name, size_t len)
{
	struct fh_rendezvous *r;
	int fd;

	fh_rendezvous_name(leader, name, len);
	fd = shm_open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		td_verror(td, errno, "shm_open");
		return NULL;
	}
	if (ftruncate(fd, sizeof(*r))) {
		td_verror(td, errno, "ftruncate");
		r = MAP_FAILED;
	} else {
		r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (r == MAP_FAILED)
			td_verror(td, errno, "mmap");
	}
	close(fd);
	/*
	 * The leader removes the meeting when it is over, or when it cannot
	 * come; once it is gone, nobody meets there again.
	 */
	if (r == MAP_FAILED && (leader == td || fh_peer_gone(leader)))
		shm_unlink(name);
	return r == MAP_FAILED ? NULL : r;
}

static int fh_cold_cache_group(struct thread_data *td)
{
	struct thread_data *leader = fh_cold_leader(td);
	struct fh_rendezvous *r;
	char name[64];
	int ret = 0;

	r = fh_rendezvous_map(td, leader, name, sizeof(name));
	if (!r)
		return 1;
	__atomic_add_fetch(&r->arrived, 1, __ATOMIC_SEQ_CST);
	if (leader == td) {
		while (__atomic_load_n(&r->arrived, __ATOMIC_SEQ_CST) <
		       fh_cold_waiting_for(td) && !td->terminate)
			usleep(1000);
		ret = fh_drop_caches(td);
		__atomic_store_n(&r->result, ret ? -1 : 1, __ATOMIC_SEQ_CST);
		/* all that will come have mapped it */
		shm_unlink(name);
	} else {
		while (!__atomic_load_n(&r->result, __ATOMIC_SEQ_CST) &&
		       !fh_peer_gone(leader) && !td->terminate)
			usleep(1000);
		if (__atomic_load_n(&r->result, __ATOMIC_SEQ_CST) != 1) {
			/* a leader that failed before it met will not unlink */
			shm_unlink(name);
			log_err(FH_NAME ": fh_cold_cache: job %s, which drops "
				"the caches for its group, failed\n",
				leader->o.name);
			td_verror(td, ECANCELED, "fh_cold_cache");
			ret = 1;
		}
	}
	munmap(r, sizeof(*r));
	return ret;
}

/*
 * Every job of a cold-cache group takes part, or the drop lands mid-run;
 * and all start together (fio starts a startdelay job later, and the
 * others would wait for it).
 */
static int fh_check_cold_group(struct thread_data *td)
{
	struct thread_data *peer;
	unsigned int jobs = 0, delayed = 0;
	int i;

	for_each_td(peer, i) {
		/* a job whose init failed does not run (fio unloads its engine) */
		if (peer->groupid != td->groupid || fh_peer_gone(peer))
			continue;
		jobs++;
		delayed += peer->o.start_delay != 0;
		if (fh_cold_peer(td, peer))
			continue;
		log_err(FH_NAME ": fh_cold_cache=1 needs every job of its "
			"group to set it: job %s does not, and would run while "
			"the caches are dropped (separate them with "
			"stonewall)\n", peer->o.name);
		td_verror(td, EINVAL, "fh_cold_cache");
		return 1;
	}
	if (jobs > 1 && delayed) {
		log_err(FH_NAME ": fh_cold_cache=1 with startdelay in a group "
			"of several jobs: the drop waits for every job of the "
			"group, so give the delayed job its own group "
			"(stonewall)\n");
		td_verror(td, EINVAL, "fh_cold_cache");
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The uring backend: ring set-up and opcode verification             */

static void fh_no_opcode(struct thread_data *td, const char *name,
			 unsigned int opcode)
{
	struct utsname u;

	if (uname(&u))
		strcpy(u.release, "(unknown)");
	log_err(FH_NAME ": kernel %s has no %s (io_uring opcode %u): use "
		"fh_backend=sync, or run fio on the patched kernel in the "
		"VM: make vm-run CMD='fio <jobfile>' (see kernel/README.md)\n",
		u.release, name, opcode);
	td_verror(td, EOPNOTSUPP, "io_uring probe");
}

/* The reference syscall failed, or the opcode does something else. */
static int fh_opcode_misbehaves(struct thread_data *td, int verdict,
				const char *name, const char *option,
				unsigned int opcode, int ring_res)
{
	if (verdict < 0) {
		log_err(FH_NAME ": checking %s: the syscall failed: %s\n",
			name, strerror(-verdict));
		td_verror(td, -verdict, "verify opcode");
	} else if (ring_res == -EPERM) {
		fh_explain_eperm(td);
	} else {
		log_err(FH_NAME ": io_uring opcode %u does not behave as %s "
			"(res=%d): this kernel uses it for something else; set "
			"%s to the right number\n", opcode, name, ring_res,
			option);
		td_verror(td, EPROTO, "verify opcode");
	}
	return 1;
}

/* Encode the first file through the ring: the syscall's handle? */
static int fh_verify_encode_opcode(struct thread_data *td,
				   struct fh_data *fhd, unsigned int opcode)
{
	int res = 0, verdict;

	verdict = fh_opcode_encodes(&fhd->ring, opcode, td->files[0]->file_name,
				    (unsigned int)fhd->encode_flags, &res);
	if (verdict == 1)
		return 0;
	return fh_opcode_misbehaves(td, verdict, "IORING_OP_NAME_TO_HANDLE_AT",
				    "fh_encode_opcode", opcode, res);
}

/* Open the first file by handle through the ring: is it the same inode? */
static int fh_verify_open_opcode(struct thread_data *td, struct fh_data *fhd,
				 unsigned int opcode)
{
	struct fio_file *f = td->files[0];
	int res = 0, verdict;

	verdict = fh_opcode_opens(&fhd->ring, opcode, fh_file_mount_fd(fhd, f),
				  fh_file_handle(fhd, f), f->file_name, &res);
	if (verdict == 1)
		return 0;
	return fh_opcode_misbehaves(td, verdict, "IORING_OP_OPEN_BY_HANDLE_AT",
				    "fh_open_opcode", opcode, res);
}

/* Before the timed phase: the opcodes the job will send do what they must. */
static int fh_check_opcodes(struct thread_data *td, struct fh_data *fhd)
{
	struct io_uring_probe *probe;
	bool encode = fh_job_uses(td, fh_op_is_encode);
	bool open = fh_job_uses(td, fh_op_by_handle);
	int ret = 1;

	if (!encode && !open)
		return 0;

	probe = io_uring_get_probe_ring(&fhd->ring);
	if (!probe) {
		td_verror(td, EOPNOTSUPP, "io_uring probe");
		return 1;
	}
	if (encode && !io_uring_opcode_supported(probe, fhd->encode_opcode))
		fh_no_opcode(td, "IORING_OP_NAME_TO_HANDLE_AT",
			     fhd->encode_opcode);
	else if (open && !io_uring_opcode_supported(probe, fhd->open_opcode))
		fh_no_opcode(td, "IORING_OP_OPEN_BY_HANDLE_AT",
			     fhd->open_opcode);
	else if (encode && fh_verify_encode_opcode(td, fhd, fhd->encode_opcode))
		;
	else if (open && fh_verify_open_opcode(td, fhd, fhd->open_opcode))
		;
	else
		ret = 0;
	io_uring_free_probe(probe);
	return ret;
}

static int fh_ring_setup(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;
	struct io_uring_params p;
	unsigned int entries;
	int ret;

	/* every operation is at most FH_SQES_PER_OP SQEs in flight at once */
	entries = td->o.iodepth * FH_SQES_PER_OP;
	if (td->o.iodepth > FH_RING_MAX_SQES / FH_SQES_PER_OP) {
		log_err(FH_NAME ": iodepth=%u needs %u SQEs, more than an "
			"io_uring can hold (%u); the most is iodepth=%u\n",
			td->o.iodepth, entries, FH_RING_MAX_SQES,
			FH_RING_MAX_SQES / FH_SQES_PER_OP);
		td_verror(td, EINVAL, "iodepth");
		return 1;
	}
	memset(&p, 0, sizeof(p));
	if (o->sqpoll)
		p.flags |= IORING_SETUP_SQPOLL;
	ret = io_uring_queue_init_params(entries, &fhd->ring, &p);
	if (ret < 0) {
		log_err(FH_NAME ": io_uring_queue_init(%u entries%s): %s\n",
			entries, o->sqpoll ? ", SQPOLL" : "", strerror(-ret));
		td_verror(td, -ret, "io_uring_queue_init");
		return 1;
	}
	fhd->ring_ready = true;
	if (o->fixedfiles) {
		/* one fixed slot per io_u: io_u->index */
		ret = io_uring_register_files_sparse(&fhd->ring,
						     td->o.iodepth);
		if (ret < 0) {
			log_err(FH_NAME ": registering %u fixed files: %s\n",
				td->o.iodepth, strerror(-ret));
			td_verror(td, -ret, "io_uring_register_files_sparse");
			return 1;
		}
	}
	fhd->sqe_flags = o->force_async ? IOSQE_ASYNC : 0;
	fhd->events = calloc(td->o.iodepth, sizeof(*fhd->events));
	fhd->submit_list = calloc(td->o.iodepth, sizeof(*fhd->submit_list));
	if (!fhd->events || !fhd->submit_list) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* The engine's hooks                                                  */

/* fio options that act on an fd fio opens: this engine has none. */
static int fh_check_fio_options(struct thread_data *td)
{
	static const char why[] = "fio opens no fd with this engine (every "
				  "operation opens and closes its own)";
	const char *name = NULL, *hint = "";

	if (td->o.create_on_open) {
		name = "create_on_open=1";
		hint = "; fio lays the files out before the run without it";
	} else if (td->o.pre_read) {
		name = "pre_read=1";
	} else if (td->o.write_hint) {
		name = "write_hint";
	} else if (td->o.odirect) {
		name = "direct=1";
		hint = "; put direct in fh_open_flags";
	} else if (td->o.sync_io) {
		name = "sync";
		hint = "; put sync in fh_open_flags";
	} else if (fio_option_is_set(&td->o, fadvise_hint) &&
		   td->o.fadvise_hint != F_ADV_NONE) {
		name = "fadvise_hint";
	} else if (td->o.unlink_each_loop) {
		log_err(FH_NAME ": unlink_each_loop=1: the files fio lays "
			"out again are new inodes, and the handles encoded at "
			"init would be stale; use unlink=1 (after the run)\n");
		td_verror(td, EINVAL, "unlink_each_loop");
		return 1;
	}
	if (!name)
		return 0;
	log_err(FH_NAME ": %s is not supported: %s%s\n", name, why, hint);
	td_verror(td, EINVAL, name);
	return 1;
}

/* verify can mean something only if reads read data that was written. */
static int fh_check_verify(struct thread_data *td)
{
	struct fh_options *o = td->eo;

	if (td->o.verify == VERIFY_NONE)
		return 0;
	if (!fh_op_reads(o->read_op)) {
		log_err(FH_NAME ": verify checks the data that reads read, but "
			"fh_read_op reads none: use fh_read_op=open_read or "
			"openat_read\n");
		td_verror(td, EINVAL, "verify");
		return 1;
	}
	if (fh_job_writes(td)) {
		log_err(FH_NAME ": verify: this engine's writes (fh_write_op) "
			"write no data, so there would be nothing to check: "
			"lay the files out with a writing engine (e.g. "
			"ioengine=psync) and verify them here with "
			"verify_only=1, or with rw=read\n");
		td_verror(td, EINVAL, "verify");
		return 1;
	}
	return 0;
}

/* The O_* flags against the operations that use them. */
static int fh_check_open_flags(struct thread_data *td, struct fh_data *fhd)
{
	const char *why = NULL;

	if (!fh_job_uses(td, fh_op_reads))
		return 0;
	if (fhd->open_flags & O_PATH)
		why = "an O_PATH fd cannot be read; drop 'path' from "
		      "fh_open_flags or choose an operation without read";
	else if (fhd->open_flags & O_WRONLY)
		why = "an O_WRONLY fd cannot be read; use rdonly or rdwr, or "
		      "an operation without read";
	else if ((fhd->open_flags & O_DIRECT) &&
		 (td->o.min_bs[DDIR_READ] % 512 ||
		  td->o.max_bs[DDIR_READ] % 512))
		why = "direct reads need bs a multiple of the logical block "
		      "size (512 or more)";
	if (why) {
		log_err(FH_NAME ": fh_open_flags: %s\n", why);
		td_verror(td, EINVAL, "fh_open_flags");
		return 1;
	}
	/* O_DIRECT reads into the io_u buffers: fio aligns them then */
	if ((fhd->open_flags & O_DIRECT) && !td->o.mem_align)
		td->o.mem_align = page_size;
	return 0;
}

static int fh_check_options(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;

	if (td_trim(td)) {
		log_err(FH_NAME ": trims have no meaning here; use read "
			"(handle-open) and write (handle-encode)\n");
		td_verror(td, EINVAL, "rw");
		return 1;
	}
	if (fhd->backend == FH_BACKEND_SYNC &&
	    (o->fixedfiles || o->force_async || o->sqpoll)) {
		log_err(FH_NAME ": fh_fixedfiles, fh_force_async and fh_sqpoll "
			"need fh_backend=uring\n");
		td_verror(td, EINVAL, "fh_backend");
		return 1;
	}
	if (o->fixedfiles && (fhd->open_flags & O_CLOEXEC)) {
		log_err(FH_NAME ": cloexec has no meaning for fixed files\n");
		td_verror(td, EINVAL, "fh_open_flags");
		return 1;
	}
	if ((fhd->encode_flags & ~AT_SYMLINK_FOLLOW) &&
	    !fh_job_uses(td, fh_op_is_encode)) {
		log_err(FH_NAME ": fh_encode_flags shapes encodes, and this "
			"job issues none (fh_read_op, fh_write_op)\n");
		td_verror(td, EINVAL, "fh_encode_flags");
		return 1;
	}
	return fh_check_open_flags(td, fhd) || fh_check_verify(td) ||
	       fh_check_fio_options(td) ||
	       (o->cold_cache && fh_check_cold_group(td));
}

/*
 * Without fixed files every operation in flight holds an fd: iodepth of
 * them per job, and jobs run as threads share one fd table.  Raise the
 * soft RLIMIT_NOFILE if the hard one allows, else say so now.
 */
static int fh_check_nofile(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;
	struct thread_data *peer;
	struct rlimit rl;
	rlim_t need = FH_SPARE_FDS + fhd->nr_mounts;
	int i;

	if (fhd->backend == FH_BACKEND_SYNC || o->fixedfiles)
		return 0;
	if (!td->o.use_thread) {
		need += td->o.iodepth;
	} else {
		for_each_td(peer, i)
			if (peer->groupid == td->groupid &&
			    peer->io_ops == &ioengine)
				need += peer->o.iodepth;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl)) {
		td_verror(td, errno, "getrlimit");
		return 1;
	}
	if (need <= rl.rlim_cur)
		return 0;
	if (need <= rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (!setrlimit(RLIMIT_NOFILE, &rl))
			return 0;
	}
	log_err(FH_NAME ": iodepth=%u keeps up to %llu fds open at once "
		"(one per operation in flight, %s), beyond RLIMIT_NOFILE "
		"(soft %llu, hard %llu): raise the limit (ulimit -n), lower "
		"iodepth, or use fh_fixedfiles=1\n", td->o.iodepth,
		(unsigned long long)need,
		td->o.use_thread ? "for all the group's threads" : "and spares",
		(unsigned long long)rl.rlim_cur,
		(unsigned long long)rl.rlim_max);
	td_verror(td, EMFILE, "iodepth");
	return 1;
}

static void fh_cleanup(struct thread_data *td)
{
	struct fh_data *fhd = td->io_ops_data;
	unsigned int i;

	if (!fhd)
		return;
	if (((struct fh_options *)td->eo)->cold_cache) {
		char name[64];

		/* others may have made the meeting of a leader that failed */
		fh_rendezvous_name(td, name, sizeof(name));
		shm_unlink(name);
	}
	if (fhd->ring_ready)
		io_uring_queue_exit(&fhd->ring);
	for (i = 0; i < fhd->nr_mounts; i++)
		close(fhd->mounts[i].fd);
	free(fhd->mounts);
	free(fhd->arena);
	free(fhd->events);
	free(fhd->submit_list);
	free(fhd->ious);
	free(fhd);
	td->io_ops_data = NULL;
}

/*
 * The engine reads fio's structs; a build against other headers than the
 * loading fio's would read garbage, so check what can be checked.
 */
static int fh_check_fio_abi(struct thread_data *td);

/* The options' values into fhd: 0, or 1 after an error naming the option. */
static int fh_parse_options(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;
	int flags;

	fhd->backend = o->backend;
	fhd->open_flags = fh_parse_open_flags(td, o->open_flags);
	if (fhd->open_flags < 0)
		return 1;
	flags = fh_parse_flags(td, "fh_encode_flags", fh_encode_flag_names,
			       o->encode_flags, NULL);
	if (flags < 0)
		return 1;
	/* follow symlinks as openat does, unless told not to */
	fhd->init_encode_flags = fhd->open_flags & O_NOFOLLOW ?
				 0 : AT_SYMLINK_FOLLOW;
	fhd->encode_flags = flags | fhd->init_encode_flags;
	return fh_parse_opcode(td, "fh_encode_opcode", o->encode_opcode,
			       &fhd->encode_opcode) ||
	       fh_parse_opcode(td, "fh_open_opcode", o->open_opcode,
			       &fhd->open_opcode);
}

/* Handles for the opens by handle; a check of the encodes. */
static int fh_prepare_files(struct thread_data *td, struct fh_data *fhd)
{
	/* no files (nrfiles=0, an empty opendir): no I/O, as with psync */
	if (!td->files_index)
		return 0;
	if (fh_job_uses(td, fh_op_by_handle) &&
	    (fh_encode_all(td, fhd) || fh_check_open_by_handle(td, fhd)))
		return 1;
	if (fh_job_uses(td, fh_op_is_encode))
		return fh_check_encode(td, fhd);
	return 0;
}

static int fh_init(struct thread_data *td)
{
	struct fh_data *fhd;

	/* nothing of td may be written yet: fio records the error */
	if (fh_check_fio_abi(td))
		return ELIBBAD;
	fhd = calloc(1, sizeof(*fhd));
	if (!fhd) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	td->io_ops_data = fhd;
	/* files have no fd, so fio's fadvise on open has nothing to act on */
	if (!fio_option_is_set(&td->o, fadvise_hint))
		td->o.fadvise_hint = F_ADV_NONE;

	if (fh_parse_options(td, fhd) || fh_check_options(td, fhd))
		goto fail;
	fhd->ious = calloc(td->o.iodepth, sizeof(*fhd->ious));
	if (!fhd->ious) {
		td_verror(td, ENOMEM, "calloc");
		goto fail;
	}
	if (fh_prepare_files(td, fhd))
		goto fail;
	if (fhd->backend == FH_BACKEND_URING &&
	    (fh_ring_setup(td, fhd) || fh_check_nofile(td, fhd) ||
	     (td->files_index && fh_check_opcodes(td, fhd))))
		goto fail;
	return 0;
fail:
	if (!td->error)
		td_verror(td, EINVAL, FH_NAME " init");
	fh_cleanup(td);
	return 1;
}

/* Runs after init_io_u: the last step before the timed phase. */
static int fh_post_init(struct thread_data *td)
{
	struct fh_options *o = td->eo;

	if (o->cold_cache)
		return fh_cold_cache_group(td);
	return 0;
}

/* io_u->index shares a union with io_u->engine_data: index the state. */
static inline struct fh_iou *fh_iou_of(struct fh_data *fhd, struct io_u *io_u)
{
	return &fhd->ious[io_u->index];
}

static int fh_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct fh_data *fhd = td->io_ops_data;
	struct fh_iou *iou = fh_iou_of(fhd, io_u);

	iou->io_u = io_u;
	return 0;
}

/*
 * open_file, close_file and invalidate: files have no fd (a handle-open or
 * openat makes one per operation), so there is nothing to do.
 */
static int fh_file_nop(struct thread_data *td, struct fio_file *f)
{
	(void)td;
	(void)f;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The sync backend: each operation as plain syscalls, inline          */

/*
 * The timed calls go through syscall(2): glibc's open, read and close
 * wrappers are cancellation points, and in a multi-threaded process (fio
 * with thread=1) each call then pays glibc's cancellation bookkeeping,
 * about 75 ns per open + close on the host, which is not the kernel's
 * operation.  name_to_handle_at is no cancellation point.
 */
static int fh_sync_open(struct fh_data *fhd, struct io_u *io_u, enum fh_op op)
{
	struct fio_file *f = io_u->file;

	if (fh_op_by_handle(op))
		return syscall(SYS_open_by_handle_at, fh_file_mount_fd(fhd, f),
			       fh_file_handle(fhd, f), fhd->open_flags);
	return syscall(SYS_openat, AT_FDCWD, f->file_name, fhd->open_flags);
}

static ssize_t fh_sys_pread(int fd, void *buf, size_t len, off_t offset)
{
#if __SIZEOF_LONG__ == 8
	return syscall(SYS_pread64, fd, buf, len, offset);
#else
	return pread(fd, buf, len, offset);	/* offset in two registers */
#endif
}

/* Returns 0 or an errno; sets io_u->resid for short reads. */
static int fh_sync_op(struct fh_data *fhd, struct io_u *io_u, enum fh_op op)
{
	struct fh_iou *iou = fh_iou_of(fhd, io_u);
	ssize_t got;
	int ofd, err = 0;

	if (op == FH_OP_ENCODE)
		return fh_encode_sync(io_u->file->file_name, &iou->out,
				      &iou->mount_id, fhd->encode_flags);
	ofd = fh_sync_open(fhd, io_u, op);
	if (ofd < 0)
		return errno;
	if (fh_op_reads(op)) {
		got = fh_sys_pread(ofd, io_u->xfer_buf, io_u->xfer_buflen,
				   io_u->offset);
		if (got < 0)
			err = errno;
		else
			io_u->resid = io_u->xfer_buflen - got;
	}
	if (syscall(SYS_close, ofd) && !err)
		err = errno;
	return err;
}

/* Issue time (slat's end; iolog replay paces from td->last_issue). */
static void fh_stamp_issue(struct thread_data *td, struct io_u *io_u,
			   const struct timespec *now)
{
	io_u->issue_time = *now;
	if (td->o.read_iolog_file)
		td->last_issue = *now;
}

/*
 * Each operation inline.  fio reports no slat for an operation that is
 * done when queue returns (FIO_SYNCIO engines): clat is the operation.
 */
static enum fio_q_status fh_queue_sync(struct thread_data *td,
				       struct io_u *io_u)
{
	struct fh_data *fhd = td->io_ops_data;
	struct timespec now;

	if (fio_fill_issue_time(td)) {
		fio_gettime(&now, NULL);
		fh_stamp_issue(td, io_u, &now);
	}
	if (ddir_sync(io_u->ddir))
		io_u->error = 0;	/* nothing is written: nothing to sync */
	else
		io_u->error = fh_sync_op(fhd, io_u, fh_io_u_op(td, io_u));
	if (io_u->error) {
		io_u->resid = io_u->xfer_buflen;
		/* fio names the file only for errors that complete later */
		io_u_log_error(td, io_u);
	}
	io_u_mark_submit(td, 1);
	io_u_mark_complete(td, 1);
	return FIO_Q_COMPLETED;
}

/* ------------------------------------------------------------------ */
/* The uring backend: operations as SQEs                               */

static inline uint64_t fh_user_data(struct fh_iou *iou, enum fh_step step)
{
	return (uint64_t)(uintptr_t)iou | step;
}

static struct io_uring_sqe *fh_get_sqe(struct fh_data *fhd)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&fhd->ring);

	/* the ring holds FH_SQES_PER_OP per io_u: it cannot be full */
	assert(sqe);
	return sqe;
}

/* After an SQE's prep (which clears flags): tag it and count it. */
static void fh_sqe_ready(struct fh_data *fhd, struct fh_iou *iou,
			 struct io_uring_sqe *sqe, enum fh_step step,
			 unsigned int flags)
{
	io_uring_sqe_set_data64(sqe, fh_user_data(iou, step));
	sqe->flags |= flags | fhd->sqe_flags;
	iou->pending++;
}

/* The open of an open operation; direct into slot io_u->index if fixed. */
static void fh_prep_open(struct thread_data *td, struct fh_iou *iou,
			 enum fh_op op)
{
	struct fh_data *fhd = td->io_ops_data;
	struct fh_options *o = td->eo;
	struct fio_file *f = iou->io_u->file;
	struct io_uring_sqe *sqe = fh_get_sqe(fhd);

	if (fh_op_by_handle(op))
		fh_prep_open_by_handle(sqe, fhd->open_opcode,
				       fh_file_mount_fd(fhd, f),
				       fh_file_handle(fhd, f), fhd->open_flags);
	else
		io_uring_prep_openat(sqe, AT_FDCWD, f->file_name,
				     fhd->open_flags, 0);
	if (o->fixedfiles)
		sqe->file_index = iou->io_u->index + 1;
	/* with a fixed slot the whole operation is one linked chain */
	fh_sqe_ready(fhd, iou, sqe, FH_STEP_OPEN,
		     o->fixedfiles ? IOSQE_IO_LINK : 0);
}

/*
 * The read and close that follow an open, in one place for both ways:
 * with fixed files they are queued with the open, as one chain
 * open -link-> read -hardlink-> close on slot io_u->index; with normal
 * fds the fd is known only when the open completes, so they are queued
 * then, as read -hardlink-> close.  The hard link closes after a failed
 * or short read too.
 */
static void fh_prep_read_close(struct thread_data *td, struct fh_iou *iou,
			       enum fh_op op, int fd_or_slot)
{
	struct fh_data *fhd = td->io_ops_data;
	struct fh_options *o = td->eo;
	struct io_u *io_u = iou->io_u;
	struct io_uring_sqe *sqe;

	if (fh_op_reads(op)) {
		sqe = fh_get_sqe(fhd);
		io_uring_prep_read(sqe, fd_or_slot, io_u->xfer_buf,
				   io_u->xfer_buflen, io_u->offset);
		fh_sqe_ready(fhd, iou, sqe, FH_STEP_READ, IOSQE_IO_HARDLINK |
			     (o->fixedfiles ? IOSQE_FIXED_FILE : 0));
	}
	sqe = fh_get_sqe(fhd);
	if (o->fixedfiles)
		io_uring_prep_close_direct(sqe, fd_or_slot);
	else
		io_uring_prep_close(sqe, fd_or_slot);
	fh_sqe_ready(fhd, iou, sqe, FH_STEP_CLOSE, 0);
}

static void fh_prep_encode(struct thread_data *td, struct fh_iou *iou)
{
	struct fh_data *fhd = td->io_ops_data;
	struct io_uring_sqe *sqe = fh_get_sqe(fhd);

	iou->mount_id.any = 0;
	fh_prep_name_to_handle(sqe, fhd->encode_opcode, AT_FDCWD,
			       iou->io_u->file->file_name,
			       fh_handle_ready(&iou->out), &iou->mount_id,
			       (unsigned int)fhd->encode_flags);
	fh_sqe_ready(fhd, iou, sqe, FH_STEP_ENCODE, 0);
}

static enum fio_q_status fh_queue_uring(struct thread_data *td,
					struct io_u *io_u)
{
	struct fh_data *fhd = td->io_ops_data;
	struct fh_options *o = td->eo;
	struct fh_iou *iou = fh_iou_of(fhd, io_u);
	enum fh_op op = fh_io_u_op(td, io_u);
	struct timespec now;

	if (ddir_sync(io_u->ddir)) {
		/* nothing is written, nothing to sync: done at once */
		if (fio_fill_issue_time(td)) {
			fio_gettime(&now, NULL);
			fh_stamp_issue(td, io_u, &now);
		}
		io_u->error = 0;
		return FIO_Q_COMPLETED;
	}
	iou->pending = 0;
	iou->error = 0;
	if (op == FH_OP_ENCODE) {
		fh_prep_encode(td, iou);
	} else {
		fh_prep_open(td, iou, op);
		if (o->fixedfiles)
			fh_prep_read_close(td, iou, op, io_u->index);
	}
	fhd->submit_list[fhd->nr_submit++] = io_u;
	return FIO_Q_QUEUED;
}

static enum fio_q_status fh_queue(struct thread_data *td, struct io_u *io_u)
{
	struct fh_data *fhd = td->io_ops_data;

	fio_ro_check(td, io_u);
	if (fhd->backend == FH_BACKEND_SYNC)
		return fh_queue_sync(td, io_u);
	return fh_queue_uring(td, io_u);
}

/* Stamp the io_us just submitted: slat ends here (see fio_ioring_queued). */
static void fh_mark_issued(struct thread_data *td, struct fh_data *fhd)
{
	struct timespec now;
	unsigned int i;

	if (fio_fill_issue_time(td)) {
		fio_gettime(&now, NULL);
		for (i = 0; i < fhd->nr_submit; i++) {
			fh_stamp_issue(td, fhd->submit_list[i], &now);
			io_u_queued(td, fhd->submit_list[i]);
		}
	}
	io_u_mark_submit(td, fhd->nr_submit);
	fhd->nr_submit = 0;
}

/*
 * Submit every prepared SQE: the kernel may take fewer per call, so call
 * again until all are in.  -EAGAIN or -EBUSY: no room for completions;
 * the caller reaps, which makes room.  Returns 0, 1 for "reap first", or
 * -errno.
 */
static int fh_submit_all(struct thread_data *td, struct fh_data *fhd)
{
	unsigned int ready;
	int ret;

	while ((ready = io_uring_sq_ready(&fhd->ring))) {
		ret = io_uring_submit(&fhd->ring);
		if (ret == -EINTR)
			continue;
		if (ret == -EAGAIN || ret == -EBUSY)
			return 1;
		if (ret < 0) {
			td_verror(td, -ret, "io_uring_submit");
			return ret;
		}
		/* an SQPOLL thread takes the rest in its own time */
		if ((unsigned int)ret >= ready || !ret ||
		    (fhd->ring.flags & IORING_SETUP_SQPOLL))
			break;
	}
	/* new io_us can go out here too, from getevents before a commit */
	if (fhd->nr_submit)
		fh_mark_issued(td, fhd);
	return 0;
}

static int fh_commit(struct thread_data *td)
{
	struct fh_data *fhd = td->io_ops_data;

	if (fhd->backend == FH_BACKEND_SYNC)
		return 0;
	return fh_submit_all(td, fhd) < 0 ? -1 : 0;
}

/*
 * Submit what is prepared, then wait for a completion.  One syscall when
 * no new io_u goes out; else the io_us are stamped between submit and
 * wait, so that their slat does not hold the wait.
 */
static int fh_submit_and_wait(struct thread_data *td, struct fh_data *fhd)
{
	struct io_uring_cqe *cqe;
	int ret;

	if (fhd->nr_submit) {
		ret = fh_submit_all(td, fhd);
		if (ret < 0)
			return ret;
	} else {
		do {
			ret = io_uring_submit_and_wait(&fhd->ring, 1);
		} while (ret == -EINTR);
		if (ret >= 0)
			return 0;
		if (ret != -EAGAIN && ret != -EBUSY) {
			td_verror(td, -ret, "io_uring_submit");
			return ret;
		}
	}
	/* what was not submitted waits for room; a completion will come */
	do {
		ret = io_uring_wait_cqe(&fhd->ring, &cqe);
	} while (ret == -EINTR);
	if (ret < 0) {
		td_verror(td, -ret, "io_uring_wait_cqe");
		return ret;
	}
	return 0;
}

/* The first error of an operation wins; the cancellations it causes don't. */
static void fh_set_error(struct fh_iou *iou, int res)
{
	if (res < 0 && !iou->error)
		iou->error = -res;
}

/* One CQE of an operation; true when the operation is complete. */
static bool fh_complete_step(struct thread_data *td, struct fh_iou *iou,
			     enum fh_step step, int res)
{
	struct fh_options *o = td->eo;
	struct io_u *io_u = iou->io_u;

	iou->pending--;
	fh_set_error(iou, res);
	if (step == FH_STEP_OPEN && res >= 0 && !o->fixedfiles)
		fh_prep_read_close(td, iou, fh_io_u_op(td, io_u), res);
	else if (step == FH_STEP_READ && res >= 0)
		io_u->resid = io_u->xfer_buflen - res;
	if (iou->pending)
		return false;
	io_u->error = iou->error;
	if (io_u->error)
		io_u->resid = io_u->xfer_buflen;
	return true;
}

static unsigned int fh_reap(struct thread_data *td, struct fh_data *fhd,
			    unsigned int max)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;

	io_uring_for_each_cqe(&fhd->ring, head, cqe) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		struct fh_iou *iou = (void *)(uintptr_t)(ud & ~FH_STEP_MASK);

		seen++;
		if (fh_complete_step(td, iou, ud & FH_STEP_MASK, cqe->res))
			fhd->events[fhd->nr_events++] = iou->io_u;
		if (fhd->nr_events == max)
			break;
	}
	io_uring_cq_advance(&fhd->ring, seen);
	return fhd->nr_events;
}

static int fh_getevents(struct thread_data *td, unsigned int min,
			unsigned int max, const struct timespec *t)
{
	struct fh_data *fhd = td->io_ops_data;

	(void)t;
	fhd->nr_events = 0;
	if (fhd->backend == FH_BACKEND_SYNC)
		return 0;
	for (;;) {
		fh_reap(td, fhd, max);
		if (fhd->nr_events >= min || fhd->nr_events == max)
			break;
		/* submits the reads and closes that reaping prepared */
		if (fh_submit_and_wait(td, fhd))
			return -1;
	}
	/* reads and closes prepared by the last reap go out now */
	if (fh_submit_all(td, fhd) < 0)
		return -1;
	return fhd->nr_events;
}

static struct io_u *fh_event(struct thread_data *td, int event)
{
	struct fh_data *fhd = td->io_ops_data;

	return fhd->events[event];
}

/* ------------------------------------------------------------------ */
/* fio glue                                                            */

static int fh_check_fio_abi(struct thread_data *td)
{
	if (strcmp(fio_version_string, FHANDLE_FIO_VERSION)) {
		log_err(FH_NAME ": fhandle.so was built against the headers of "
			"%s but is loaded by %s; rebuild it (make) against "
			"this fio\n", FHANDLE_FIO_VERSION, fio_version_string);
		return 1;
	}
	/* io_ops lies deep in struct thread_data: a layout skew moves it */
	if (td->io_ops != &ioengine || td->eo == NULL) {
		log_err(FH_NAME ": fhandle.so does not match the layout of "
			"this fio's struct thread_data; rebuild it (make) "
			"against the source of the installed fio\n");
		return 1;
	}
	return 0;
}

static struct fio_option options[] = {
	{
		.name	= "fh_backend",
		.lname	= "fhandle backend",
		.type	= FIO_OPT_STR,
		.off1	= offsetof(struct fh_options, backend),
		.help	= "How operations reach the kernel",
		.def	= "uring",
		.posval = {
			{ .ival = "uring", .oval = FH_BACKEND_URING,
			  .help = "io_uring SQEs, iodepth honoured" },
			{ .ival = "sync", .oval = FH_BACKEND_SYNC,
			  .help = "plain syscalls, inline" },
		},
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
#define FH_OP_POSVALS							\
		{ .ival = "encode", .oval = FH_OP_ENCODE,		\
		  .help = "name_to_handle_at by path" },		\
		{ .ival = "open", .oval = FH_OP_OPEN,			\
		  .help = "open_by_handle_at + close" },		\
		{ .ival = "open_read", .oval = FH_OP_OPEN_READ,	\
		  .help = "open_by_handle_at + read bs + close" },	\
		{ .ival = "openat", .oval = FH_OP_OPENAT,		\
		  .help = "openat by path + close" },			\
		{ .ival = "openat_read", .oval = FH_OP_OPENAT_READ,	\
		  .help = "openat by path + read bs + close" }
	{
		.name	= "fh_read_op",
		.lname	= "fhandle read operation",
		.type	= FIO_OPT_STR,
		.off1	= offsetof(struct fh_options, read_op),
		.help	= "Operation of a read (DDIR_READ) io_u",
		.def	= "open",
		.posval = { FH_OP_POSVALS },
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_write_op",
		.lname	= "fhandle write operation",
		.type	= FIO_OPT_STR,
		.off1	= offsetof(struct fh_options, write_op),
		.help	= "Operation of a write (DDIR_WRITE) io_u",
		.def	= "encode",
		.posval = { FH_OP_POSVALS },
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_open_flags",
		.lname	= "fhandle open flags",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct fh_options, open_flags),
		.help	= "O_* flags of opens, comma separated: rdonly wronly "
			  "rdwr path nonblock cloexec noatime direct sync "
			  "noctty nofollow",
		.def	= "rdonly",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_fixedfiles",
		.lname	= "fhandle fixed files",
		.type	= FIO_OPT_BOOL,
		.off1	= offsetof(struct fh_options, fixedfiles),
		.help	= "Open into a registered file table and close with a "
			  "direct close, as one linked chain (uring)",
		.def	= "0",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_force_async",
		.lname	= "fhandle force async",
		.type	= FIO_OPT_BOOL,
		.off1	= offsetof(struct fh_options, force_async),
		.help	= "Set IOSQE_ASYNC on every SQE: measure the io-wq path "
			  "(uring)",
		.def	= "0",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_sqpoll",
		.lname	= "fhandle SQPOLL",
		.type	= FIO_OPT_BOOL,
		.off1	= offsetof(struct fh_options, sqpoll),
		.help	= "Submit through a kernel SQPOLL thread (uring)",
		.def	= "0",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	/* strings, checked at init: fio's int parser takes -1, 63.5, 1e2 */
	{
		.name	= "fh_encode_opcode",
		.lname	= "IORING_OP_NAME_TO_HANDLE_AT number",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct fh_options, encode_opcode),
		.help	= "io_uring opcode of name-to-handle, 0-255 (checked "
			  "by behaviour before the run)",
		.def	= "63",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_open_opcode",
		.lname	= "IORING_OP_OPEN_BY_HANDLE_AT number",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct fh_options, open_opcode),
		.help	= "io_uring opcode of open-by-handle, 0-255 (checked "
			  "by behaviour before the run)",
		.def	= "64",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_encode_flags",
		.lname	= "fhandle encode flags",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct fh_options, encode_flags),
		.help	= "AT_* flags of encodes, comma separated: fid "
			  "(AT_HANDLE_FID), mnt_id_unique "
			  "(AT_HANDLE_MNT_ID_UNIQUE: a 64-bit mount id)",
		.def	= "",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_cold_cache",
		.lname	= "fhandle cold cache",
		.type	= FIO_OPT_BOOL,
		.off1	= offsetof(struct fh_options, cold_cache),
		.help	= "Drop dentry and inode caches once for the group, "
			  "before any job's timed phase (root only)",
		.def	= "0",
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= NULL,
	},
};

struct ioengine_ops ioengine = {
	.name			= FH_NAME,
	.version		= FIO_IOOPS_VERSION,
	.flags			= FIO_ASYNCIO_SETS_ISSUE_TIME | FIO_NO_OFFLOAD,
	.init			= fh_init,
	.post_init		= fh_post_init,
	.queue			= fh_queue,
	.commit			= fh_commit,
	.getevents		= fh_getevents,
	.event			= fh_event,
	.cleanup		= fh_cleanup,
	.open_file		= fh_file_nop,
	.close_file		= fh_file_nop,
	.invalidate		= fh_file_nop,
	.get_file_size		= generic_get_file_size,
	.io_u_init		= fh_io_u_init,
	.options		= options,
	.option_struct_size	= sizeof(struct fh_options),
};
