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
 * operation of the job opens by handle), or loaded from a handle file that
 * a drop-only job wrote, and kept in one arena.  The engine keeps no fd
 * per file: one per mount (for opens by handle) and, when names are
 * resolved as a file server does, one per parent directory.  Symlinks are
 * followed by every operation, as openat(2) does, unless fh_open_flags has
 * nofollow.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "fio.h"
#include "iolog.h"
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
/* mounts one job can hold fds on (a test builds the engine with fewer) */
#ifndef FH_MAX_MOUNTS
#define FH_MAX_MOUNTS	65535
#endif
#define FH_HANDLE_FILE_MAGIC	"fio-fhandle handles 1"

enum fh_backend { FH_BACKEND_URING, FH_BACKEND_SYNC };

enum fh_op {
	FH_OP_ENCODE,		/* name_to_handle_at */
	FH_OP_OPEN,		/* open_by_handle_at + close */
	FH_OP_OPEN_READ,	/* open_by_handle_at + read bs + close */
	FH_OP_OPENAT,		/* openat by path + close */
	FH_OP_OPENAT_READ,	/* openat by path + read bs + close */
};

/* What a drop-only job drops: the value written to drop_caches. */
enum fh_drop {
	FH_DROP_NONE = 0,
	FH_DROP_INODES = 2,	/* dentries and inodes */
	FH_DROP_ALL = 3,	/* and the page cache: a cold disk */
};

/* How encodes and openat name a file. */
enum fh_resolve {
	FH_RESOLVE_PARENT,	/* an fd on the parent + the last component */
	FH_RESOLVE_FULL,	/* fio's file name, from AT_FDCWD */
};

/* What a CQE completed: kept in the low bits of user_data. */
enum fh_step {
	FH_STEP_ENCODE,
	FH_STEP_OPEN,
	FH_STEP_READ,
	FH_STEP_CLOSE,
	FH_STEP_MASK = 3,
};

/*
 * The values of fh_open_flags and fh_encode_flags, for the options'
 * posvals and for the callback that counts them: one list each.
 */
#define FH_OPEN_FLAGS(X)						\
	X("rdonly", O_RDONLY, "O_RDONLY")				\
	X("wronly", O_WRONLY, "O_WRONLY")				\
	X("rdwr", O_RDWR, "O_RDWR")					\
	X("path", O_PATH, "O_PATH")					\
	X("nonblock", O_NONBLOCK, "O_NONBLOCK")				\
	X("cloexec", O_CLOEXEC, "O_CLOEXEC")				\
	X("noatime", O_NOATIME, "O_NOATIME")				\
	X("direct", O_DIRECT, "O_DIRECT")				\
	X("sync", O_SYNC, "O_SYNC")					\
	X("noctty", O_NOCTTY, "O_NOCTTY")				\
	X("nofollow", O_NOFOLLOW, "O_NOFOLLOW")
/* the access modes come first: FH_ACCESS_MODE_NAMES of them */
#define FH_ACCESS_MODE_NAMES	3

#define FH_ENCODE_FLAGS(X)						\
	X("fid", AT_HANDLE_FID, "AT_HANDLE_FID")			\
	X("mnt_id_unique", AT_HANDLE_MNT_ID_UNIQUE,			\
	  "AT_HANDLE_MNT_ID_UNIQUE: a 64-bit mount id")

#define FH_FLAG_NAME(name, flag, what)	name,
#define FH_FLAG_VALUE(name, flag, what)	flag,
#define FH_FLAG_POSVAL(name, flag, what)				\
	{ .ival = name, .oval = flag, .help = what },

static const char *const fh_open_flag_names[] = {
	FH_OPEN_FLAGS(FH_FLAG_NAME) NULL
};
static const char *const fh_encode_flag_names[] = {
	FH_ENCODE_FLAGS(FH_FLAG_NAME) NULL
};

struct fh_options {
	void *pad;		/* fio keeps its own pointer here */
	unsigned int backend;
	unsigned int read_op;
	unsigned int write_op;
	char *open_flags_spec;	/* as given: parsed into open_flags */
	char *encode_flags_spec;
	int open_flags;
	int encode_flags;
	unsigned int fixedfiles;
	unsigned int force_async;
	unsigned int sqpoll;
	char *encode_opcode;
	char *open_opcode;
	unsigned int resolve;
	unsigned int drop_caches;
	char *handle_file;
	unsigned int iowq_workers[2];	/* bounded, unbounded; 0: as is */
};

/* Per-io_u state: the operation in flight and the output of an encode. */
struct fh_iou {
	struct io_u *io_u;
	int pending;		/* CQEs still to come */
	int error;		/* first error of the operation */
	union fh_mount_id mount_id;
	struct fh_handle_buf out;
};

/* user_data holds a struct fh_iou * and an enum fh_step in its low bits */
_Static_assert(_Alignof(struct fh_iou) > FH_STEP_MASK,
	       "struct fh_iou pointers must leave room for the step");

/* Per fio file, by f->fileno. */
struct fh_file {
	uint32_t handle;	/* offset of its handle in the arena */
	uint32_t dir;		/* index in dirs (fh_resolve=parent) */
	uint16_t mount;		/* index in mounts (opens by handle) */
	uint16_t name;		/* offset of the last component */
};

struct fh_mount {
	uint64_t mount_id;
	int fd;
};

struct fh_dir {
	const char *path;	/* a file's name, of which len bytes */
	unsigned int len;
	int fd;
};

/* The SQEs prepared and not yet submitted, in order: whose each is. */
struct fh_sq_track {
	struct io_u **owner;	/* the io_u an SQE completes the issue of */
	unsigned int mask, head, tail;
};

struct fh_data {
	enum fh_backend backend;
	int open_flags;
	int encode_flags;	/* AT_* of the timed encodes */
	int init_encode_flags;	/* AT_* of the handles that opens use */
	unsigned int encode_opcode, open_opcode;
	struct fh_file *files;
	/* encoded handles, one per file */
	unsigned char *arena;
	size_t arena_len, arena_cap;
	struct fh_mount *mounts;
	unsigned int nr_mounts;
	struct fh_dir *dirs;
	unsigned int nr_dirs;
	/* uring backend */
	struct io_uring ring;
	bool ring_ready;
	unsigned int sqe_flags;
	struct fh_iou *ious;	/* per io_u, by io_u->index */
	struct io_u **events;
	unsigned int nr_events;
	struct fh_sq_track sq;
};

static inline struct fh_file *fh_file_of(struct fh_data *fhd,
					 struct fio_file *f)
{
	return &fhd->files[f->fileno];
}

static inline struct file_handle *fh_file_handle(struct fh_data *fhd,
						 struct fio_file *f)
{
	return (struct file_handle *)(fhd->arena +
				      fh_file_of(fhd, f)->handle);
}

static inline int fh_file_mount_fd(struct fh_data *fhd, struct fio_file *f)
{
	return fhd->mounts[fh_file_of(fhd, f)->mount].fd;
}

/* Where encodes and openat resolve f's name: a dirfd and a name. */
static inline int fh_file_at(struct fh_data *fhd, struct fio_file *f,
			     const char **name)
{
	struct fh_file *ff;

	if (!fhd->dirs) {
		*name = f->file_name;
		return AT_FDCWD;
	}
	ff = fh_file_of(fhd, f);
	*name = f->file_name + ff->name;
	return fhd->dirs[ff->dir].fd;
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

static bool fh_op_is_encode(enum fh_op op)
{
	return op == FH_OP_ENCODE;
}

/* The operations that name a file: encodes and openat. */
static bool fh_op_by_name(enum fh_op op)
{
	return !fh_op_by_handle(op);
}

/* The operations that open the file. */
static bool fh_op_opens(enum fh_op op)
{
	return op != FH_OP_ENCODE;
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

/* An error: its message, then fio's record (callers save errno first). */
#define fh_fail(td, err, func, ...)					\
	do {								\
		log_err(FH_NAME ": " __VA_ARGS__);			\
		td_verror((td), (err), (func));				\
	} while (0)

/* ------------------------------------------------------------------ */
/* Options                                                             */

/*
 * fh_open_flags and fh_encode_flags: names joined with ','.  fio's own
 * multi-value type (FIO_OPT_STR_MULTI) lets a bad name through when a good
 * one follows it, so these are strings with the names as posvals (which
 * fio --enghelp=ENGINE,OPTION lists) and a callback that parses the whole
 * value when fio parses it: each name known and given once.  *flags gets
 * their OR, *seen a bit per name, by its index in names.
 */
static int fh_parse_flag_names(const char *option, const char *const *names,
			       const int *values, const char *value,
			       int *flags, unsigned int *seen)
{
	const char *p = value;
	unsigned int i;
	size_t len;

	*flags = 0;
	*seen = 0;
	while (*p) {
		len = strcspn(p, ",");
		for (i = 0; names[i]; i++)
			if (strlen(names[i]) == len &&
			    !strncmp(names[i], p, len))
				break;
		if (!names[i] || (*seen & (1U << i))) {
			log_err(FH_NAME ": %s %s value '%.*s' (known, joined "
				"with ',':", names[i] ? "repeated" : "unknown",
				option, (int)len, p);
			for (i = 0; names[i]; i++)
				log_err(" %s", names[i]);
			log_err(")\n");
			return 1;
		}
		*seen |= 1U << i;
		*flags |= values[i];
		p += len + !!p[len];
	}
	return 0;
}

static int fh_open_flags_cb(void *data, const char *str)
{
	static const int values[] = { FH_OPEN_FLAGS(FH_FLAG_VALUE) };
	struct fh_options *o = data;
	unsigned int modes = (1U << FH_ACCESS_MODE_NAMES) - 1, seen;

	if (fh_parse_flag_names("fh_open_flags", fh_open_flag_names, values,
				str, &o->open_flags, &seen))
		return 1;
	/* O_RDONLY is 0: count the names */
	if (__builtin_popcount(seen & modes) > 1) {
		log_err(FH_NAME ": fh_open_flags=%s: name one access mode of "
			"rdonly, wronly, rdwr\n", str);
		return 1;
	}
	return 0;
}

static int fh_encode_flags_cb(void *data, const char *str)
{
	static const int values[] = { FH_ENCODE_FLAGS(FH_FLAG_VALUE) };
	struct fh_options *o = data;
	unsigned int seen;

	return fh_parse_flag_names("fh_encode_flags", fh_encode_flag_names,
				   values, str, &o->encode_flags, &seen);
}

/* An io_uring opcode number: a whole decimal number 0-255. */
static int fh_parse_opcode(struct thread_data *td, const char *option,
			   const char *spec, unsigned int *opcode)
{
	const char *s = spec ? spec : "";
	unsigned long v = 0;

	for (; *s >= '0' && *s <= '9' && v <= 255; s++)
		v = v * 10 + (unsigned long)(*s - '0');
	if (!spec || !*spec || *s || v > 255) {
		fh_fail(td, EINVAL, option, "%s='%s': an io_uring opcode is a "
			"whole number from 0 to 255\n", option,
			spec ? spec : "");
		return 1;
	}
	*opcode = (unsigned int)v;
	return 0;
}

/* The options' values into fhd: 0, or 1 after an error naming one. */
static int fh_parse_options(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;

	fhd->backend = o->backend;
	fhd->open_flags = o->open_flags;
	/* follow symlinks as openat does, unless told not to */
	fhd->init_encode_flags = fhd->open_flags & O_NOFOLLOW ?
				 0 : AT_SYMLINK_FOLLOW;
	fhd->encode_flags = o->encode_flags | fhd->init_encode_flags;
	return fh_parse_opcode(td, "fh_encode_opcode", o->encode_opcode,
			       &fhd->encode_opcode) ||
	       fh_parse_opcode(td, "fh_open_opcode", o->open_opcode,
			       &fhd->open_opcode);
}

/* ------------------------------------------------------------------ */
/* Which jobs run together                                             */

struct ioengine_ops ioengine;

/*
 * fio starts a job that has stonewall only when every job before it has
 * ended, so the jobs between two stonewalls may run at the same time
 * (new_group changes only the reporting).  Only td->o is read of other
 * jobs: their engine options may be freed already.
 */
static int fh_run_set(struct thread_data *td)
{
	struct thread_data *peer;
	int i, set = 0;

	for_each_td(peer, i) {
		if (i && peer->o.stonewall)
			set++;
		if (peer == td)
			break;
	}
	return set;
}

/* Whether peer starts only after waitee has ended (wait_for, chained). */
static bool fh_waits_for(struct thread_data *peer, struct thread_data *waitee)
{
	struct thread_data *next;
	int hops, i;

	for (hops = 0; hops < (int)thread_number && peer->o.wait_for; hops++) {
		if (!strcmp(peer->o.wait_for, waitee->o.name))
			return true;
		for_each_td(next, i)
			if (!strcmp(next->o.name, peer->o.wait_for))
				break;
		if (i >= (int)thread_number)
			return false;
		peer = next;
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Set-up: files, directories, mounts, handles                         */

/* The length of the directory part of path; 0 if it has none. */
static size_t fh_dir_len(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return 0;
	return slash == path ? 1 : (size_t)(slash - path);
}

/* The offset of path's last component. */
static size_t fh_name_offset(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? (size_t)(slash - path) + 1 : 0;
}

/* Open the parent directory of path, or the cwd; -1 with errno. */
static int fh_open_parent(const char *path)
{
	char dir[PATH_MAX];
	size_t len = fh_dir_len(path);

	if (!len)
		return open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (len >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, len);
	dir[len] = '\0';
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int fh_arena_reserve(struct fh_data *fhd, size_t len)
{
	size_t cap = fhd->arena_cap ? fhd->arena_cap : 4096;
	unsigned char *p;

	if (fhd->arena_len + len <= fhd->arena_cap)
		return 0;
	if (fhd->arena_len + len > UINT32_MAX)
		return -E2BIG;
	while (cap < fhd->arena_len + len)
		cap *= 2;
	p = realloc(fhd->arena, cap);
	if (!p)
		return -ENOMEM;
	fhd->arena = p;
	fhd->arena_cap = cap;
	return 0;
}

/* Append a handle to the arena as f's. */
static int fh_arena_add(struct thread_data *td, struct fh_data *fhd,
			struct fio_file *f, const struct file_handle *fh)
{
	size_t size = sizeof(*fh) + fh->handle_bytes;
	size_t len = (size + 7) & ~(size_t)7;
	int err = fh_arena_reserve(fhd, len);

	if (err) {
		fh_fail(td, -err, "handle arena", "no room for %s's handle\n",
			f->file_name);
		return 1;
	}
	memcpy(fhd->arena + fhd->arena_len, fh, size);
	fh_file_of(fhd, f)->handle = (uint32_t)fhd->arena_len;
	fhd->arena_len += len;
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
static int fh_open_mount_fd(struct thread_data *td, uint64_t mount_id,
			    const char *path)
{
	uint64_t dir_mnt;
	int mfd, err;

	mfd = fh_open_parent(path);
	if (mfd >= 0 && !fh_fd_mount_id(mfd, &dir_mnt) && dir_mnt == mount_id)
		return mfd;
	if (mfd >= 0)
		close(mfd);
	mfd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (mfd < 0) {
		err = errno;
		fh_fail(td, err, "open mount fd", "cannot open a mount fd for "
			"%s: %s\n", path, strerror(err));
	}
	return mfd;
}

/* f's mount index, opening an fd on a mount not seen yet. */
static int fh_mount_index(struct thread_data *td, struct fh_data *fhd,
			  struct fio_file *f, uint64_t mount_id)
{
	struct fh_mount *m;
	unsigned int i;
	int mfd;

	for (i = 0; i < fhd->nr_mounts; i++)
		if (fhd->mounts[i].mount_id == mount_id)
			goto found;
	if (fhd->nr_mounts == FH_MAX_MOUNTS) {
		fh_fail(td, EMLINK, "mounts", "more than %u mounts in one "
			"job\n", fhd->nr_mounts);
		return 1;
	}
	mfd = fh_open_mount_fd(td, mount_id, f->file_name);
	if (mfd < 0)
		return 1;
	m = realloc(fhd->mounts, (fhd->nr_mounts + 1) * sizeof(*m));
	if (!m) {
		close(mfd);
		td_verror(td, ENOMEM, "realloc");
		return 1;
	}
	fhd->mounts = m;
	m[i].mount_id = mount_id;
	m[i].fd = mfd;
	fhd->nr_mounts++;
found:
	fh_file_of(fhd, f)->mount = (uint16_t)i;
	return 0;
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
		fio_fallthrough;
	default:
		log_err(FH_NAME ": name_to_handle_at(%s): %s\n", path,
			strerror(err));
	}
}

/* Encode path with the syscall: 0 or an errno. */
static int fh_encode_sync(int dfd, const char *path, struct fh_handle_buf *h,
			  union fh_mount_id *mount_id, int flags)
{
	mount_id->any = 0;
	if (name_to_handle_at(dfd, path, fh_handle_ready(h), &mount_id->id,
			      flags))
		return errno;
	return 0;
}

/* Encode one file's handle with the syscall, for opens by handle. */
static int fh_encode_file(struct thread_data *td, struct fh_data *fhd,
			  struct fio_file *f)
{
	union fh_mount_id mount_id;
	struct fh_handle_buf h;
	int err;

	err = fh_encode_sync(AT_FDCWD, f->file_name, &h, &mount_id,
			     fhd->init_encode_flags);
	if (err) {
		fh_explain_encode_error(f->file_name, fhd->init_encode_flags,
					err);
		td_verror(td, err, "name_to_handle_at");
		return 1;
	}
	return fh_mount_index(td, fhd, f, (uint64_t)mount_id.id) ||
	       fh_arena_add(td, fhd, f, &h.fh);
}

/* Hand back what the arena's doubling over-allocated. */
static void fh_arena_trim(struct fh_data *fhd)
{
	unsigned char *p;

	if (!fhd->arena_len || fhd->arena_len == fhd->arena_cap)
		return;
	p = realloc(fhd->arena, fhd->arena_len);
	if (p) {
		fhd->arena = p;
		fhd->arena_cap = fhd->arena_len;
	}
}

static int fh_encode_all(struct thread_data *td, struct fh_data *fhd)
{
	struct fio_file *f;
	unsigned int i;

	for_each_file(td, f, i) {
		if (td->terminate)
			return 1;
		if (fh_encode_file(td, fhd, f))
			return 1;
	}
	fh_arena_trim(fhd);
	return 0;
}

/* ---- the handle file: a drop-only job saves, the jobs after it load -- */

/*
 * Text, so that a user can read it: a first line FH_HANDLE_FILE_MAGIC and
 * the AT_* flags the handles were encoded with, then one line per file:
 * mount id, handle type, the handle's bytes in hex, and the file's name as
 * fio names it (the rest of the line).
 */
static int fh_write_handles(struct fh_data *fhd, struct thread_data *td,
			    FILE *out)
{
	static const char digits[] = "0123456789abcdef";
	char hex[2 * MAX_HANDLE_SZ + 1];
	struct fio_file *f;
	unsigned int i, b;

	fprintf(out, "%s flags=%d\n", FH_HANDLE_FILE_MAGIC,
		fhd->init_encode_flags);
	for_each_file(td, f, i) {
		struct file_handle *fh = fh_file_handle(fhd, f);

		for (b = 0; b < fh->handle_bytes; b++) {
			hex[2 * b] = digits[fh->f_handle[b] >> 4];
			hex[2 * b + 1] = digits[fh->f_handle[b] & 15];
		}
		hex[2 * b] = '\0';
		fprintf(out, "%llu %d %s %s\n", (unsigned long long)
			fhd->mounts[fh_file_of(fhd, f)->mount].mount_id,
			fh->handle_type, hex, f->file_name);
	}
	return ferror(out) ? EIO : 0;
}

/* Write the handles to path atomically: a whole file or none. */
static int fh_save_handles(struct thread_data *td, struct fh_data *fhd,
			   const char *path)
{
	char tmp[PATH_MAX];
	struct fio_file *f;
	unsigned int i;
	FILE *out;
	int err = 0;

	for_each_file(td, f, i)
		if (strchr(f->file_name, '\n')) {
			fh_fail(td, EINVAL, "fh_handle_file", "fh_handle_file: "
				"a file name with a newline cannot be saved: "
				"%s\n", f->file_name);
			return 1;
		}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path,
		     (int)getpid()) >= (int)sizeof(tmp)) {
		fh_fail(td, ENAMETOOLONG, "fh_handle_file", "fh_handle_file: "
			"%s: %s\n", path, strerror(ENAMETOOLONG));
		return 1;
	}
	out = fopen(tmp, "we");
	if (!out) {
		err = errno;
	} else {
		err = fh_write_handles(fhd, td, out);
		if (fclose(out) && !err)
			err = errno;
		if (!err && rename(tmp, path))
			err = errno;
	}
	if (!err)
		return 0;
	unlink(tmp);
	fh_fail(td, err, "fh_handle_file", "fh_handle_file: cannot write "
		"%s: %s\n", path, strerror(err));
	return 1;
}

struct fh_saved {
	char *name;
	uint64_t mount_id;
	struct fh_handle_buf h;
};

static int fh_saved_cmp(const void *a, const void *b)
{
	return strcmp(((const struct fh_saved *)a)->name,
		      ((const struct fh_saved *)b)->name);
}

static int fh_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* One line of a handle file into s; 0 or 1 if it is malformed. */
static int fh_parse_saved(char *line, struct fh_saved *s)
{
	unsigned long long mnt;
	int type, n = 0, hi, lo;
	unsigned int b;
	char *hex;
	size_t len;

	line[strcspn(line, "\n")] = '\0';
	if (sscanf(line, "%llu %d %n", &mnt, &type, &n) != 2 || !n)
		return 1;
	hex = line + n;
	len = strcspn(hex, " ");
	if (!len || len % 2 || len / 2 > MAX_HANDLE_SZ || hex[len] != ' ' ||
	    !hex[len + 1])
		return 1;
	for (b = 0; b < len / 2; b++) {
		hi = fh_hex_digit(hex[2 * b]);
		lo = fh_hex_digit(hex[2 * b + 1]);
		if (hi < 0 || lo < 0)
			return 1;
		s->h.bytes[b] = (unsigned char)(hi << 4 | lo);
	}
	s->h.fh.handle_bytes = (unsigned int)(len / 2);
	s->h.fh.handle_type = type;
	s->mount_id = mnt;
	s->name = strdup(hex + len + 1);
	return !s->name;
}

static void fh_free_saved(struct fh_saved *saved, size_t n)
{
	while (n--)
		free(saved[n].name);
	free(saved);
}

/* Read a handle file: its entries sorted by name, or NULL after an error. */
static struct fh_saved *fh_read_handle_file(struct thread_data *td,
					    struct fh_data *fhd,
					    const char *path, size_t *nr)
{
	struct fh_saved *saved = NULL, *grown;
	size_t n = 0, cap = 0, len = 0;
	char *line = NULL, magic[64];
	unsigned int lineno = 1;
	int flags = -1, err = 0;
	FILE *in = fopen(path, "re");

	if (!in) {
		err = errno;
		fh_fail(td, err, "fh_handle_file", "fh_handle_file: cannot "
			"read %s: %s (a drop-only job, fh_drop_caches, writes it)\n",
			path, strerror(err));
		return NULL;
	}
	snprintf(magic, sizeof(magic), "%s flags=%%d", FH_HANDLE_FILE_MAGIC);
	if (getline(&line, &len, in) < 0 || sscanf(line, magic, &flags) != 1)
		goto bad;
	if (flags != fhd->init_encode_flags) {
		fh_fail(td, EINVAL, "fh_handle_file", "fh_handle_file: %s "
			"holds handles encoded %s symlinks, and this job "
			"%s them (nofollow in fh_open_flags)\n", path,
			flags & AT_SYMLINK_FOLLOW ? "through" : "of",
			fhd->init_encode_flags ? "follows" : "does not follow");
		goto out;
	}
	while (getline(&line, &len, in) >= 0) {
		lineno++;
		if (n == cap) {
			cap = cap ? 2 * cap : 1024;
			grown = realloc(saved, cap * sizeof(*saved));
			if (!grown) {
				err = ENOMEM;
				break;
			}
			saved = grown;
		}
		if (fh_parse_saved(line, &saved[n]))
			goto bad;
		n++;
	}
	if (err || ferror(in)) {
		err = err ? err : EIO;
		fh_fail(td, err, "fh_handle_file", "fh_handle_file: reading "
			"%s: %s\n", path, strerror(err));
		goto out;
	}
	free(line);
	fclose(in);
	qsort(saved, n, sizeof(*saved), fh_saved_cmp);
	*nr = n;
	return saved;
bad:
	fh_fail(td, EINVAL, "fh_handle_file", "fh_handle_file: %s, line %u: "
		"not a handle file's line (%s)\n", path, lineno,
		lineno == 1 ? "a handle file starts with '"
		FH_HANDLE_FILE_MAGIC " flags=N'" : "mount id, handle type, "
		"hex bytes, file name");
out:
	free(line);
	fclose(in);
	fh_free_saved(saved, n);
	return NULL;
}

/* Each file's handle from the handle file, without touching the file. */
static int fh_load_handles(struct thread_data *td, struct fh_data *fhd,
			   const char *path)
{
	struct fh_saved key, *saved, *s;
	struct fio_file *f;
	unsigned int i;
	size_t n;
	int ret = 0;

	saved = fh_read_handle_file(td, fhd, path, &n);
	if (!saved)
		return 1;
	for_each_file(td, f, i) {
		key.name = f->file_name;
		s = bsearch(&key, saved, n, sizeof(*saved), fh_saved_cmp);
		if (!s) {
			fh_fail(td, ENOENT, "fh_handle_file", "fh_handle_file: "
				"%s has no handle for %s: the drop-only job "
				"that wrote it must have the same file set "
				"(directory, nrfiles, filename_format)\n", path,
				f->file_name);
			ret = 1;
			break;
		}
		if (fh_mount_index(td, fhd, f, s->mount_id) ||
		    fh_arena_add(td, fhd, f, &s->h.fh)) {
			ret = 1;
			break;
		}
	}
	fh_free_saved(saved, n);
	fh_arena_trim(fhd);
	return ret;
}

/* ---- parent directories, for names resolved as a file server does --- */

/* The dir of f, found or added through a hash of the dir paths. */
static int fh_dir_index(struct thread_data *td, struct fh_data *fhd,
			int *hash, unsigned int hmask, struct fio_file *f)
{
	unsigned int len = (unsigned int)fh_dir_len(f->file_name);
	uint32_t h = 2166136261u;
	unsigned int i;
	struct fh_dir *d;
	int fd, err;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)f->file_name[i]) * 16777619u;
	for (i = h & hmask; hash[i] >= 0; i = (i + 1) & hmask) {
		d = &fhd->dirs[hash[i]];
		if (d->len == len && !memcmp(d->path, f->file_name, len))
			return hash[i];
	}
	fd = fh_open_parent(f->file_name);
	if (fd < 0) {
		err = errno;
		fh_fail(td, err, "open", "cannot open the directory of %s: "
			"%s\n", f->file_name, strerror(err));
		return -1;
	}
	d = &fhd->dirs[fhd->nr_dirs];
	d->path = f->file_name;
	d->len = len;
	d->fd = fd;
	hash[i] = (int)fhd->nr_dirs;
	return (int)fhd->nr_dirs++;
}

/*
 * fh_resolve=parent: each distinct parent directory is opened once, and
 * encodes and openat name a file by that fd and its last component, as a
 * file server resolves a LOOKUP in a directory it holds.
 */
static int fh_open_dirs(struct thread_data *td, struct fh_data *fhd)
{
	unsigned int i, hsize = 2;
	struct fio_file *f;
	int *hash, idx, ret = 0;

	while (hsize < 2 * td->files_index)
		hsize *= 2;
	hash = malloc(hsize * sizeof(*hash));
	fhd->dirs = calloc(td->files_index, sizeof(*fhd->dirs));
	if (!hash || !fhd->dirs) {
		free(hash);
		td_verror(td, ENOMEM, "malloc");
		return 1;
	}
	memset(hash, 0xff, hsize * sizeof(*hash));
	for_each_file(td, f, i) {
		idx = fh_dir_index(td, fhd, hash, hsize - 1, f);
		if (idx < 0) {
			ret = 1;
			break;
		}
		fh_file_of(fhd, f)->dir = (uint32_t)idx;
		fh_file_of(fhd, f)->name =
			(uint16_t)fh_name_offset(f->file_name);
	}
	free(hash);
	/* room was made for a directory per file: hand back the rest */
	if (!ret && fhd->nr_dirs < td->files_index) {
		struct fh_dir *d = realloc(fhd->dirs,
					   fhd->nr_dirs * sizeof(*d));

		if (d)
			fhd->dirs = d;
	}
	return ret;
}

/* ---- checks of the file set before the timed phase ------------------- */

/*
 * The EPERM of an open by handle, by 6.12's rules (fs/fhandle.c): the
 * caller needs CAP_DAC_READ_SEARCH in the initial user namespace; since
 * 6.10 a user namespace's capabilities suffice only for a directory handle
 * opened with O_DIRECTORY, which a file of a fio file set never is.
 */
static void fh_explain_eperm(struct thread_data *td)
{
	fh_fail(td, EPERM, "open_by_handle_at", "open_by_handle_at needs "
		"CAP_DAC_READ_SEARCH in the initial user namespace (a user "
		"namespace's capabilities open only directory handles with "
		"O_DIRECTORY, since Linux 6.10; the engine opens files): run "
		"as root, or measure opens by path with fh_read_op=openat\n");
}

/*
 * One open by handle with the syscall before the timed phase, so that a
 * missing CAP_DAC_READ_SEARCH is a clear error instead of a run of EPERMs.
 * It opens the first mount fd's own handle (without O_DIRECTORY: the rule
 * of a file), so that no file of the set is looked at.
 */
static int fh_check_open_by_handle(struct thread_data *td,
				   struct fh_data *fhd)
{
	union fh_mount_id mnt;
	struct fh_handle_buf h;
	int mfd = fhd->mounts[0].fd, ofd, err;

	err = fh_encode_sync(mfd, "", &h, &mnt, AT_EMPTY_PATH);
	if (!err) {
		ofd = open_by_handle_at(mfd, &h.fh, O_RDONLY | O_CLOEXEC);
		if (ofd >= 0) {
			close(ofd);
			return 0;
		}
		err = errno;
	}
	if (err == EPERM) {
		fh_explain_eperm(td);
		return 1;
	}
	fh_fail(td, err, "open_by_handle_at", "open_by_handle_at of %s's "
		"mount: %s\n", td->files[0]->file_name, strerror(err));
	return 1;
}

/*
 * One encode with the timed phase's flags before it, of the first file's
 * directory (no file of the set is looked at): a filesystem that cannot
 * export handles, or a kernel that refuses the flags, is a clear error
 * now rather than a failed run.
 */
static int fh_check_encode(struct thread_data *td, struct fh_data *fhd)
{
	const char *path = td->files[0]->file_name;
	union fh_mount_id mount_id;
	struct fh_handle_buf h;
	int dfd, err;

	/* the directory's fd, where fh_resolve=parent opened it */
	dfd = fhd->dirs ? fhd->dirs[fh_file_of(fhd, td->files[0])->dir].fd
			: fh_open_parent(path);
	if (dfd < 0) {
		err = errno;
		fh_fail(td, err, "open", "cannot open the directory of %s: "
			"%s\n", path, strerror(err));
		return 1;
	}
	err = fh_encode_sync(dfd, "", &h, &mount_id,
			     fhd->encode_flags | AT_EMPTY_PATH);
	if (!fhd->dirs)
		close(dfd);
	if (!err)
		return 0;
	fh_explain_encode_error(path, fhd->encode_flags, err);
	td_verror(td, err, "name_to_handle_at");
	return 1;
}

/*
 * nofollow: an open of a symlink fails with ELOOP (unless O_PATH opens the
 * link itself), so a set with a link is refused now, naming it.  This
 * looks at every file of the set (the one check that does).
 */
static int fh_check_no_symlinks(struct thread_data *td, struct fh_data *fhd)
{
	struct fio_file *f;
	struct stat st;
	unsigned int i;

	if (!(fhd->open_flags & O_NOFOLLOW) || (fhd->open_flags & O_PATH) ||
	    !fh_job_uses(td, fh_op_opens))
		return 0;
	for_each_file(td, f, i) {
		if (fstatat(AT_FDCWD, f->file_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISLNK(st.st_mode))
			continue;
		fh_fail(td, ELOOP, "fh_open_flags", "fh_open_flags=nofollow: "
			"%s is a symbolic link, which every open of this job "
			"would refuse (ELOOP): add path to open links "
			"themselves, or drop nofollow\n", f->file_name);
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* fh_drop_caches: a job that drops the caches and does no I/O         */

static int fh_open_drop_caches(struct thread_data *td)
{
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC), err;

	if (fd >= 0)
		return fd;
	err = errno;
	fh_fail(td, err, "drop_caches", "fh_drop_caches needs root: cannot "
		"open /proc/sys/vm/drop_caches: %s\n", strerror(err));
	return -1;
}

/*
 * The drop is ordered by fio: the jobs to run on cold caches come after
 * this job behind a stonewall (or wait_for it).  So it must be alone among
 * the jobs that may run with it, and one job.
 */
static int fh_check_drop_job(struct thread_data *td)
{
	struct thread_data *peer;
	int i, set = fh_run_set(td);

	if (td->o.numjobs > 1 || td->subjob_number) {
		fh_fail(td, EINVAL, "fh_drop_caches", "fh_drop_caches: one drop "
			"per cold group: numjobs must be 1\n");
		return 1;
	}
	if (td->o.unlink) {
		fh_fail(td, EINVAL, "fh_drop_caches", "fh_drop_caches with "
			"unlink=1 would remove the file set that the jobs after "
			"it measure\n");
		return 1;
	}
	for_each_td(peer, i) {
		if (peer == td || fh_run_set(peer) != set ||
		    fh_waits_for(peer, td))
			continue;
		fh_fail(td, EINVAL, "fh_drop_caches", "fh_drop_caches: job "
			"%s would run while job %s drops the caches: put "
			"stonewall on the first job after the drop (or "
			"wait_for=%s on it)\n", peer->o.name, td->o.name,
			td->o.name);
		return 1;
	}
	return 0;
}

/*
 * Save the handles of the set (if asked), sync, drop the dentries and
 * inodes, and end the job: it does no I/O.  Interrupted (fio's SIGINT),
 * it drops nothing and leaves no handle file.
 */
static int fh_drop_job(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;
	bool saved = false;
	int dfd, ret = 1;

	if (fh_check_drop_job(td))
		return 1;
	dfd = fh_open_drop_caches(td);
	if (dfd < 0)
		return 1;
	if (o->handle_file && td->files_index) {
		if (fh_encode_all(td, fhd)) {
			ret = td->error ? 1 : 0;	/* or interrupted */
			goto out;
		}
		if (td->terminate)
			goto out_interrupted;
		if (fh_save_handles(td, fhd, o->handle_file))
			goto out;
		saved = true;
	}
	sync();
	if (td->terminate)
		goto out_interrupted;
	if (write(dfd, o->drop_caches == FH_DROP_ALL ? "3" : "2", 1) != 1) {
		int err = errno;

		fh_fail(td, err, "drop_caches", "fh_drop_caches: writing "
			"/proc/sys/vm/drop_caches: %s\n", strerror(err));
		goto out;
	}
	ret = 0;
	goto out_done;
out_interrupted:
	ret = 0;
	if (saved)
		unlink(o->handle_file);
out_done:
	/* a drop-only job: no timed phase */
	fio_mark_td_terminate(td);
out:
	close(dfd);
	return ret;
}

/* ------------------------------------------------------------------ */
/* The uring backend: ring set-up and opcode verification             */

static void fh_no_opcode(struct thread_data *td, const char *name,
			 unsigned int opcode)
{
	struct utsname u;

	if (uname(&u))
		strcpy(u.release, "(unknown)");
	fh_fail(td, EOPNOTSUPP, "io_uring probe", "kernel %s has no %s "
		"(io_uring opcode %u): use fh_backend=sync, or run fio on the "
		"patched kernel in the VM: make vm-run CMD='fio <jobfile>' "
		"(see kernel/README.md)\n", u.release, name, opcode);
}

/* A number liburing's header gives another operation is refused. */
static int fh_check_opcode_free(struct thread_data *td, const char *option,
				unsigned int opcode)
{
	const char *other = fh_liburing_opcode_name(opcode);

	if (!other)
		return 0;
	fh_fail(td, EINVAL, option, "%s=%u is %s on every kernel (liburing's "
		"header, which numbers opcodes 0-%u): set it to the number "
		"the kernel gives the file-handle opcode\n", option, opcode,
		other, IORING_OP_LAST - 1);
	return 1;
}

/* What the isolated check said of one opcode: 0 if it behaves. */
static int fh_opcode_verdict(struct thread_data *td,
			     const struct fh_opcode_verdict *v,
			     const char *name, const char *option,
			     unsigned int opcode)
{
	if (v->verdict == 1)
		return 0;
	if (v->verdict < 0) {
		fh_fail(td, -v->verdict, "verify opcode", "checking %s: the "
			"syscall fails on a scratch file in $TMPDIR: %s (set "
			"TMPDIR to a directory on a filesystem that exports "
			"file handles)\n", name, strerror(-v->verdict));
	} else if (v->res == -EPERM) {
		fh_explain_eperm(td);
	} else {
		fh_fail(td, EPROTO, "verify opcode", "io_uring opcode %u does "
			"not behave as %s (res=%d): this kernel uses it for "
			"something else; set %s to the right number\n", opcode,
			name, v->res, option);
	}
	return 1;
}

/* The encode opcode took AT_HANDLE_* as the syscall does? */
static int fh_flags_verdict(struct thread_data *td, struct fh_data *fhd,
			    const struct fh_opcode_verdict *v)
{
	int flags = fhd->encode_flags & ~AT_SYMLINK_FOLLOW;

	if (!flags || v->verdict == 1)
		return 0;
	if (v->verdict < 0) {
		fh_explain_encode_error("a scratch file in $TMPDIR", flags,
					-v->verdict);
		td_verror(td, -v->verdict, "name_to_handle_at");
		return 1;
	}
	fh_fail(td, EPROTO, "verify opcode", "IORING_OP_NAME_TO_HANDLE_AT "
		"(opcode %u) does not take fh_encode_flags as "
		"name_to_handle_at(2) does (res=%d)\n", fhd->encode_opcode,
		v->res);
	return 1;
}

static int fh_check_behaviour(struct thread_data *td, struct fh_data *fhd,
			      bool encode, bool open)
{
	struct fh_opcode_check c = {
		.encode_op = fhd->encode_opcode,
		.open_op = fhd->open_opcode,
		.check_encode = encode,
		.check_open = open,
		.at_flags = (unsigned int)fhd->encode_flags & ~AT_SYMLINK_FOLLOW,
	};

	if (fh_check_opcodes_isolated(&c)) {
		fh_fail(td, c.err, "verify opcode", "cannot check the opcodes' "
			"behaviour: %s: %s (the check runs on a scratch file "
			"in $TMPDIR)\n", c.failed, strerror(c.err));
		return 1;
	}
	if (encode && (fh_opcode_verdict(td, &c.encode,
					 "IORING_OP_NAME_TO_HANDLE_AT",
					 "fh_encode_opcode",
					 fhd->encode_opcode) ||
		       fh_flags_verdict(td, fhd, &c.encode_flags)))
		return 1;
	return open && fh_opcode_verdict(td, &c.open,
					 "IORING_OP_OPEN_BY_HANDLE_AT",
					 "fh_open_opcode", fhd->open_opcode);
}

/* Before the timed phase: the opcodes the job will send do what they must. */
static int fh_check_opcodes(struct thread_data *td, struct fh_data *fhd)
{
	struct io_uring_probe *probe;
	bool encode = fh_job_uses(td, fh_op_is_encode);
	bool open = fh_job_uses(td, fh_op_by_handle);
	bool missing_encode, missing_open;

	if (!encode && !open)
		return 0;
	if ((encode && fh_check_opcode_free(td, "fh_encode_opcode",
					    fhd->encode_opcode)) ||
	    (open && fh_check_opcode_free(td, "fh_open_opcode",
					  fhd->open_opcode)))
		return 1;
	probe = io_uring_get_probe_ring(&fhd->ring);
	if (!probe) {
		td_verror(td, EOPNOTSUPP, "io_uring probe");
		return 1;
	}
	missing_encode = encode &&
			 !io_uring_opcode_supported(probe, fhd->encode_opcode);
	missing_open = open &&
		       !io_uring_opcode_supported(probe, fhd->open_opcode);
	io_uring_free_probe(probe);
	if (missing_encode)
		fh_no_opcode(td, "IORING_OP_NAME_TO_HANDLE_AT",
			     fhd->encode_opcode);
	else if (missing_open)
		fh_no_opcode(td, "IORING_OP_OPEN_BY_HANDLE_AT",
			     fhd->open_opcode);
	else
		return fh_check_behaviour(td, fhd, encode, open);
	return 1;
}

static int fh_ring_setup(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;
	struct io_uring_params p;
	unsigned int entries = td->o.iodepth * FH_SQES_PER_OP;
	int ret;

	memset(&p, 0, sizeof(p));
	if (o->sqpoll)
		p.flags |= IORING_SETUP_SQPOLL;
	ret = io_uring_queue_init_params(entries, &fhd->ring, &p);
	if (ret < 0) {
		fh_fail(td, -ret, "io_uring_queue_init", "io_uring_queue_init"
			"(%u entries%s): %s\n", entries,
			o->sqpoll ? ", SQPOLL" : "", strerror(-ret));
		return 1;
	}
	fhd->ring_ready = true;
	if (o->fixedfiles) {
		/* one fixed slot per io_u: io_u->index */
		ret = io_uring_register_files_sparse(&fhd->ring,
						     td->o.iodepth);
		if (ret < 0) {
			fh_fail(td, -ret, "io_uring_register_files_sparse",
				"registering %u fixed files: %s\n",
				td->o.iodepth, strerror(-ret));
			return 1;
		}
	}
	if (o->iowq_workers[0] || o->iowq_workers[1]) {
		unsigned int vals[2] = { o->iowq_workers[0],
					 o->iowq_workers[1] };

		ret = io_uring_register_iowq_max_workers(&fhd->ring, vals);
		if (ret < 0) {
			fh_fail(td, -ret, "io_uring_register_iowq_max_workers",
				"fh_iowq_max_workers=%u,%u: %s\n",
				o->iowq_workers[0], o->iowq_workers[1],
				strerror(-ret));
			return 1;
		}
	}
	fhd->sqe_flags = o->force_async ? IOSQE_ASYNC : 0;
	fhd->sq.mask = p.sq_entries - 1;
	fhd->sq.owner = calloc(p.sq_entries, sizeof(*fhd->sq.owner));
	fhd->events = calloc(td->o.iodepth, sizeof(*fhd->events));
	if (!fhd->sq.owner || !fhd->events) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Checks of the job's options                                         */

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
		fh_fail(td, EINVAL, "unlink_each_loop", "unlink_each_loop=1: "
			"the files fio lays out again are new inodes, and the "
			"handles encoded at init would be stale; use unlink=1 "
			"(after the run)\n");
		return 1;
	}
	if (!name)
		return 0;
	fh_fail(td, EINVAL, name, "%s is not supported: %s%s\n", name, why,
		hint);
	return 1;
}

/*
 * fio 3.33 aborts a mixed job with a rate limit and a runtime (assertion
 * "ddir_rw(ddir)" in rate_ddir()) when a rate sleep ends past the
 * runtime: rate_ddir() then returns DDIR_INVAL, set_io_u_file() takes it
 * for a done file and tries the next one, and get_rw_ddir() hands the
 * stale DDIR_INVAL back to rate_ddir().  Any engine with a second file
 * left hits it; a file set always has one.
 */
static int fh_check_fio_rate_bug(struct thread_data *td)
{
	if (!td_rw(td) || !td->o.timeout || td->files_index < 2 ||
	    !(td->o.rate[DDIR_READ] || td->o.rate[DDIR_WRITE] ||
	      td->o.rate_iops[DDIR_READ] || td->o.rate_iops[DDIR_WRITE]))
		return 0;
	fh_fail(td, EINVAL, "rate", "a mixed rw job with rate or rate_iops "
		"and runtime on several files aborts fio 3.33 (rate_ddir: "
		"Assertion 'ddir_rw(ddir)' failed, with any engine: a rate "
		"wait that ends past the runtime leaves a stale direction): "
		"give reads and writes a job each, or bound the job with "
		"loops or number_ios instead of runtime\n");
	return 1;
}

/*
 * A replayed iolog whose lines name a file fio did not find: with
 * directory=, fio 3.33 puts the directory before the names of the log's
 * "add" lines only (full names too), so its other lines find no file
 * (fileno -1), and fio crashes on them, with any engine.  The log is read
 * before the engine's init (init_iolog).
 */
static int fh_check_iolog(struct thread_data *td)
{
	struct io_piece *ipo;
	struct flist_head *n;

	if (!td->o.read_iolog_file || td->o.read_iolog_chunked)
		return 0;
	flist_for_each(n, &td->io_log_list) {
		ipo = flist_entry(n, struct io_piece, list);
		if (ipo->fileno >= 0 &&
		    (unsigned int)ipo->fileno < td->files_index)
			continue;
		fh_fail(td, EINVAL, "read_iolog", "read_iolog=%s: a line names "
			"a file that fio did not add (with directory=, fio "
			"puts the directory before the names of the log's add "
			"lines only, and crashes on the others): leave out "
			"directory=, the log's names are taken as written\n",
			td->o.read_iolog_file);
		return 1;
	}
	return 0;
}

/* verify can mean something only if reads read data that was written. */
static int fh_check_verify(struct thread_data *td)
{
	struct fh_options *o = td->eo;

	if (td->o.verify == VERIFY_NONE)
		return 0;
	if (!fh_op_reads(o->read_op)) {
		fh_fail(td, EINVAL, "verify", "verify checks the data that "
			"reads read, but fh_read_op reads none: use "
			"fh_read_op=open_read or openat_read\n");
		return 1;
	}
	if (fh_job_writes(td)) {
		fh_fail(td, EINVAL, "verify", "verify: this engine's writes "
			"(fh_write_op) write no data, so there would be nothing "
			"to check: lay the files out with a writing engine "
			"(e.g. ioengine=psync) and verify them here with "
			"verify_only=1, or with rw=read\n");
		return 1;
	}
	return 0;
}

/* The O_* flags against the operations that use them. */
static int fh_check_open_flags(struct thread_data *td, struct fh_data *fhd)
{
	const char *why = NULL;

	if (!fh_job_uses(td, fh_op_reads))
		why = NULL;
	else if (fhd->open_flags & O_PATH)
		why = "an O_PATH fd cannot be read; drop 'path' from "
		      "fh_open_flags or choose an operation without read";
	else if ((fhd->open_flags & O_ACCMODE) == O_WRONLY)
		why = "an O_WRONLY fd cannot be read; use rdonly or rdwr, or "
		      "an operation without read";
	else if ((fhd->open_flags & O_DIRECT) &&
		 (td->o.min_bs[DDIR_READ] % 512 ||
		  td->o.max_bs[DDIR_READ] % 512))
		why = "direct reads need bs a multiple of the logical block "
		      "size (512 or more)";
	if (why) {
		fh_fail(td, EINVAL, "fh_open_flags", "fh_open_flags: %s\n",
			why);
		return 1;
	}
	/* O_DIRECT reads into the io_u buffers: fio aligns them then */
	if ((fhd->open_flags & O_DIRECT) && !td->o.mem_align)
		td->o.mem_align = page_size;
	return 0;
}

/* Options of the uring backend, and how deep a ring can be. */
static int fh_check_backend(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;

	if (fhd->backend == FH_BACKEND_SYNC) {
		if (!o->fixedfiles && !o->force_async && !o->sqpoll &&
		    !o->iowq_workers[0] && !o->iowq_workers[1])
			return 0;
		fh_fail(td, EINVAL, "fh_backend", "fh_fixedfiles, "
			"fh_force_async, fh_sqpoll and fh_iowq_max_workers "
			"need fh_backend=uring\n");
		return 1;
	}
	if (td->o.iodepth > FH_RING_MAX_SQES / FH_SQES_PER_OP) {
		fh_fail(td, EINVAL, "iodepth", "iodepth=%u needs %llu SQEs, "
			"more than an io_uring can hold (%u); the most is "
			"iodepth=%u\n", td->o.iodepth,
			(unsigned long long)td->o.iodepth * FH_SQES_PER_OP,
			FH_RING_MAX_SQES, FH_RING_MAX_SQES / FH_SQES_PER_OP);
		return 1;
	}
	if (o->fixedfiles && (fhd->open_flags & O_CLOEXEC)) {
		fh_fail(td, EINVAL, "fh_open_flags", "cloexec has no meaning "
			"for fixed files\n");
		return 1;
	}
	return 0;
}

/* fh_handle_file and fh_encode_flags against what the job does. */
static int fh_check_engine_files(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;

	if ((fhd->encode_flags & ~AT_SYMLINK_FOLLOW) &&
	    !fh_job_uses(td, fh_op_is_encode)) {
		fh_fail(td, EINVAL, "fh_encode_flags", "fh_encode_flags shapes "
			"encodes, and this job issues none (fh_read_op, "
			"fh_write_op)\n");
		return 1;
	}
	if (o->handle_file && !o->drop_caches &&
	    !fh_job_uses(td, fh_op_by_handle)) {
		fh_fail(td, EINVAL, "fh_handle_file", "fh_handle_file: a "
			"drop-only job (fh_drop_caches) writes it and a job "
			"that opens by handle reads it; this job does "
			"neither\n");
		return 1;
	}
	return 0;
}

static int fh_check_options(struct thread_data *td, struct fh_data *fhd)
{
	if (td_trim(td)) {
		fh_fail(td, EINVAL, "rw", "trims have no meaning here; use "
			"read (handle-open) and write (handle-encode)\n");
		return 1;
	}
	return fh_check_backend(td, fhd) || fh_check_engine_files(td, fhd) ||
	       fh_check_open_flags(td, fhd) || fh_check_verify(td) ||
	       fh_check_fio_options(td) || fh_check_fio_rate_bug(td) ||
	       fh_check_iolog(td);
}

/*
 * Each operation in flight holds an fd (without fixed files), and the
 * engine holds its mount and directory fds; jobs run as threads share one
 * fd table, so add up those of this engine that may run at the same time
 * (their iodepth: what their options hold is not safe to read).  Raise
 * the soft RLIMIT_NOFILE if the hard one allows, else say so now.
 */
static int fh_check_nofile(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;
	rlim_t held = fhd->nr_mounts + fhd->nr_dirs, need = FH_SPARE_FDS;
	struct thread_data *peer;
	struct rlimit rl;
	int i, set;

	if (fhd->backend == FH_BACKEND_SYNC)
		need += held + 1;
	else
		need += held + (o->fixedfiles ? 0 : td->o.iodepth);
	if (td->o.use_thread) {
		/* a peer's fds: its iodepth, and as many held as ours */
		set = fh_run_set(td);
		for_each_td(peer, i)
			if (peer != td && peer->io_ops == td->io_ops &&
			    fh_run_set(peer) == set)
				need += held + peer->o.iodepth;
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
	fh_fail(td, EMFILE, "iodepth", "iodepth=%u keeps up to %llu fds open at "
		"once (one per operation in flight, and the engine's mount "
		"and directory fds, %s), beyond RLIMIT_NOFILE (soft %llu, "
		"hard %llu): raise the limit (ulimit -n), lower iodepth, or "
		"use fh_fixedfiles=1\n", td->o.iodepth,
		(unsigned long long)need, td->o.use_thread ?
		"for all the threads that run with it" : "and spares",
		(unsigned long long)rl.rlim_cur,
		(unsigned long long)rl.rlim_max);
	return 1;
}

/* ------------------------------------------------------------------ */
/* The engine's hooks: init and cleanup                                */

static void fh_cleanup(struct thread_data *td)
{
	struct fh_data *fhd = td->io_ops_data;
	unsigned int i;

	if (!fhd)
		return;
	if (fhd->ring_ready)
		io_uring_queue_exit(&fhd->ring);
	for (i = 0; i < fhd->nr_mounts; i++)
		close(fhd->mounts[i].fd);
	for (i = 0; i < fhd->nr_dirs; i++)
		close(fhd->dirs[i].fd);
	free(fhd->mounts);
	free(fhd->dirs);
	free(fhd->files);
	free(fhd->arena);
	free(fhd->events);
	free(fhd->sq.owner);
	free(fhd->ious);
	free(fhd);
	td->io_ops_data = NULL;
}

/*
 * The engine reads fio's structs; a build against other headers than the
 * loading fio's would read garbage, so check what can be checked.
 */
static int fh_check_fio_abi(struct thread_data *td);

/*
 * Handles for the opens by handle (encoded, or loaded from a handle file),
 * parent directories for names, and the checks that need the file set.
 */
static int fh_prepare_files(struct thread_data *td, struct fh_data *fhd)
{
	struct fh_options *o = td->eo;

	fhd->files = calloc(td->files_index, sizeof(*fhd->files));
	if (!fhd->files) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	if (fh_check_no_symlinks(td, fhd))
		return 1;
	if (o->resolve == FH_RESOLVE_PARENT && fh_job_uses(td, fh_op_by_name) &&
	    fh_open_dirs(td, fhd))
		return 1;
	if (fh_job_uses(td, fh_op_by_handle) &&
	    ((o->handle_file ? fh_load_handles(td, fhd, o->handle_file) :
	      fh_encode_all(td, fhd)) || fh_check_open_by_handle(td, fhd)))
		return 1;
	if (fh_job_uses(td, fh_op_is_encode))
		return fh_check_encode(td, fhd);
	return 0;
}


static int fh_init(struct thread_data *td)
{
	struct fh_options *o;
	struct fh_data *fhd;

	/* nothing of td may be written yet: fio records the error */
	if (fh_check_fio_abi(td))
		return ELIBBAD;
	o = td->eo;
	fhd = calloc(1, sizeof(*fhd));
	if (!fhd) {
		td_verror(td, ENOMEM, "calloc");
		return 1;
	}
	td->io_ops_data = fhd;
	/* files have no fd, so fio's fadvise on open has nothing to act on */
	if (!fio_option_is_set(&td->o, fadvise_hint))
		td->o.fadvise_hint = F_ADV_NONE;
	/*
	 * The sync backend is a synchronous engine: fio stamps its issue
	 * time and says that iodepth means nothing, as for psync.
	 */
	if (o->backend == FH_BACKEND_SYNC)
		td->flags |= (unsigned long long)FIO_SYNCIO <<
			     TD_ENG_FLAG_SHIFT;

	if (fh_parse_options(td, fhd) || fh_check_options(td, fhd))
		goto fail;
	if (o->drop_caches) {
		fhd->files = calloc(td->files_index + 1, sizeof(*fhd->files));
		if (!fhd->files || fh_drop_job(td, fhd))
			goto fail;
		return 0;
	}
	fhd->ious = calloc(td->o.iodepth, sizeof(*fhd->ious));
	if (!fhd->ious) {
		td_verror(td, ENOMEM, "calloc");
		goto fail;
	}
	if (fhd->backend == FH_BACKEND_URING &&
	    (fh_ring_setup(td, fhd) ||
	     (td->files_index && fh_check_opcodes(td, fhd))))
		goto fail;
	if (td->files_index && fh_prepare_files(td, fhd))
		goto fail;
	if (fh_check_nofile(td, fhd))
		goto fail;
	return 0;
fail:
	if (!td->error)
		td_verror(td, EINVAL, FH_NAME " init");
	fh_cleanup(td);
	return 1;
}

/* io_u->index shares a union with io_u->engine_data: index the state. */
static inline struct fh_iou *fh_iou_of(struct fh_data *fhd, struct io_u *io_u)
{
	return &fhd->ious[io_u->index];
}

static int fh_io_u_init(struct thread_data *td, struct io_u *io_u)
{
	struct fh_data *fhd = td->io_ops_data;

	if (fhd->ious)
		fh_iou_of(fhd, io_u)->io_u = io_u;
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

/*
 * fio's own size lookup of a block device opens it through
 * the engine's open_file, which opens nothing here: look it up with an fd
 * of our own, read-only.
 */
static int fh_get_file_size(struct thread_data *td, struct fio_file *f)
{
	unsigned long long bytes = 0;
	int fd, err = 0;

	if (fio_file_size_known(f) || f->filetype != FIO_TYPE_BLOCK)
		return generic_get_file_size(td, f);
	fd = open(f->file_name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, BLKGETSIZE64, &bytes))
		err = errno;
	if (fd >= 0)
		close(fd);
	if (!err && !bytes)
		err = EINVAL;
	if (err) {
		fh_fail(td, err, "blockdev size", "cannot read the size of "
			"block device %s: %s\n", f->file_name, strerror(err));
		return 1;
	}
	f->real_file_size = bytes;
	fio_file_set_size_known(f);
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
	const char *name;
	int dfd;

	if (fh_op_by_handle(op))
		return syscall(SYS_open_by_handle_at, fh_file_mount_fd(fhd, f),
			       fh_file_handle(fhd, f), fhd->open_flags);
	dfd = fh_file_at(fhd, f, &name);
	return syscall(SYS_openat, dfd, name, fhd->open_flags);
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
	const char *name;
	ssize_t got;
	int ofd, dfd, err = 0;

	if (op == FH_OP_ENCODE) {
		dfd = fh_file_at(fhd, io_u->file, &name);
		return fh_encode_sync(dfd, name, &iou->out, &iou->mount_id,
				      fhd->encode_flags);
	}
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

/*
 * Each operation inline; fio stamps the issue time (FIO_SYNCIO), and
 * reports no slat for an operation done when queue returns: clat is the
 * operation.
 */
static enum fio_q_status fh_queue_sync(struct thread_data *td,
				       struct io_u *io_u)
{
	struct fh_data *fhd = td->io_ops_data;

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

/* Issue time (slat's end; iolog replay paces from td->last_issue). */
static void fh_stamp_issue(struct thread_data *td, struct io_u *io_u,
			   const struct timespec *now)
{
	io_u->issue_time = *now;
	if (td->o.read_iolog_file)
		td->last_issue = *now;
}

/*
 * The next SQE, which completes the issue of owner (the last SQE of a new
 * io_u's first batch) or of nothing (NULL).
 */
static struct io_uring_sqe *fh_get_sqe(struct fh_data *fhd,
				       struct io_u *owner)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&fhd->ring);

	/* the ring holds FH_SQES_PER_OP per io_u: it cannot be full */
	assert(sqe);
	fhd->sq.owner[fhd->sq.tail++ & fhd->sq.mask] = owner;
	return sqe;
}

/*
 * The kernel took the next n SQEs: the io_us whose first SQEs are all in
 * now count as issued (slat ends here, as in fio's io_uring engine).
 */
static void fh_sq_taken(struct thread_data *td, struct fh_data *fhd,
			unsigned int n)
{
	unsigned int issued = 0;
	struct timespec now;
	struct io_u *io_u;
	bool stamp = fio_fill_issue_time(td);

	if (stamp)
		fio_gettime(&now, NULL);
	while (n-- && fhd->sq.head != fhd->sq.tail) {
		io_u = fhd->sq.owner[fhd->sq.head++ & fhd->sq.mask];
		if (!io_u)
			continue;
		if (stamp) {
			fh_stamp_issue(td, io_u, &now);
			io_u_queued(td, io_u);
		}
		issued++;
	}
	if (issued)
		io_u_mark_submit(td, issued);
}

/* Whether an io_u waits in the SQ for its issue. */
static bool fh_sq_has_new(struct fh_data *fhd)
{
	unsigned int i;

	for (i = fhd->sq.head; i != fhd->sq.tail; i++)
		if (fhd->sq.owner[i & fhd->sq.mask])
			return true;
	return false;
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
	struct io_u *io_u = iou->io_u;
	struct fio_file *f = io_u->file;
	/* without fixed files the read and close come once the fd is known */
	struct io_uring_sqe *sqe = fh_get_sqe(fhd, o->fixedfiles ? NULL : io_u);
	const char *name;
	int dfd = fh_file_at(fhd, f, &name);

	if (fh_op_by_handle(op) && o->fixedfiles)
		fh_prep_open_by_handle_direct(sqe, fhd->open_opcode,
					      fh_file_mount_fd(fhd, f),
					      fh_file_handle(fhd, f),
					      fhd->open_flags, io_u->index);
	else if (fh_op_by_handle(op))
		fh_prep_open_by_handle(sqe, fhd->open_opcode,
				       fh_file_mount_fd(fhd, f),
				       fh_file_handle(fhd, f), fhd->open_flags);
	else if (o->fixedfiles)
		io_uring_prep_openat_direct(sqe, dfd, name, fhd->open_flags,
					    0, io_u->index);
	else
		io_uring_prep_openat(sqe, dfd, name, fhd->open_flags, 0);
	/* with a fixed slot the whole operation is one linked chain */
	fh_sqe_ready(fhd, iou, sqe, FH_STEP_OPEN,
		     o->fixedfiles ? IOSQE_IO_LINK : 0);
}

/*
 * The read and close that follow an open, in one place for both ways:
 * with fixed files they are queued with the open, as one chain
 * open -link-> read -hardlink-> close on slot io_u->index (the close
 * completes the issue); with normal fds the fd is known only when the open
 * completes, so they are queued then, as read -hardlink-> close.  The
 * hard link closes after a failed or short read too.
 */
static void fh_prep_read_close(struct thread_data *td, struct fh_iou *iou,
			       enum fh_op op, int fd_or_slot)
{
	struct fh_data *fhd = td->io_ops_data;
	struct fh_options *o = td->eo;
	struct io_u *io_u = iou->io_u;
	struct io_uring_sqe *sqe;

	if (fh_op_reads(op)) {
		sqe = fh_get_sqe(fhd, NULL);
		io_uring_prep_read(sqe, fd_or_slot, io_u->xfer_buf,
				   io_u->xfer_buflen, io_u->offset);
		fh_sqe_ready(fhd, iou, sqe, FH_STEP_READ, IOSQE_IO_HARDLINK |
			     (o->fixedfiles ? IOSQE_FIXED_FILE : 0));
	}
	sqe = fh_get_sqe(fhd, o->fixedfiles ? io_u : NULL);
	if (o->fixedfiles)
		io_uring_prep_close_direct(sqe, fd_or_slot);
	else
		io_uring_prep_close(sqe, fd_or_slot);
	fh_sqe_ready(fhd, iou, sqe, FH_STEP_CLOSE, 0);
}

static void fh_prep_encode(struct thread_data *td, struct fh_iou *iou)
{
	struct fh_data *fhd = td->io_ops_data;
	struct io_uring_sqe *sqe = fh_get_sqe(fhd, iou->io_u);
	const char *name;
	int dfd = fh_file_at(fhd, iou->io_u->file, &name);

	iou->mount_id.any = 0;
	fh_prep_name_to_handle(sqe, fhd->encode_opcode, dfd, name,
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
		io_u_mark_submit(td, 1);
		io_u_mark_complete(td, 1);
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
		fh_sq_taken(td, fhd, (unsigned int)ret);
		/* an SQPOLL thread takes the rest in its own time */
		if ((unsigned int)ret >= ready || !ret ||
		    (fhd->ring.flags & IORING_SETUP_SQPOLL))
			break;
	}
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

	if (fh_sq_has_new(fhd)) {
		ret = fh_submit_all(td, fhd);
		if (ret < 0)
			return ret;
	} else {
		do {
			ret = io_uring_submit_and_wait(&fhd->ring, 1);
		} while (ret == -EINTR);
		if (ret >= 0) {
			fh_sq_taken(td, fhd, (unsigned int)ret);
			return 0;
		}
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
			  .help = "plain syscalls, inline (iodepth 1)" },
		},
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
#define FH_OP_POSVALS							\
		{ .ival = "encode", .oval = FH_OP_ENCODE,		\
		  .help = "name_to_handle_at by name" },		\
		{ .ival = "open", .oval = FH_OP_OPEN,			\
		  .help = "open_by_handle_at + close" },		\
		{ .ival = "open_read", .oval = FH_OP_OPEN_READ,	\
		  .help = "open_by_handle_at + read bs + close" },	\
		{ .ival = "openat", .oval = FH_OP_OPENAT,		\
		  .help = "openat by name + close" },			\
		{ .ival = "openat_read", .oval = FH_OP_OPENAT_READ,	\
		  .help = "openat by name + read bs + close" }
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
		.off1	= offsetof(struct fh_options, open_flags_spec),
		.cb	= fh_open_flags_cb,
		.help	= "O_* flags of every open, joined with ','",
		.def	= "rdonly",
		.posval = { FH_OPEN_FLAGS(FH_FLAG_POSVAL) },
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_encode_flags",
		.lname	= "fhandle encode flags",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct fh_options, encode_flags_spec),
		.cb	= fh_encode_flags_cb,
		.help	= "AT_* flags of encodes, joined with ',' (default: "
			  "none)",
		.posval = { FH_ENCODE_FLAGS(FH_FLAG_POSVAL) },
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_resolve",
		.lname	= "fhandle name resolution",
		.type	= FIO_OPT_STR,
		.off1	= offsetof(struct fh_options, resolve),
		.help	= "How encodes and openat name a file",
		.def	= "parent",
		.posval = {
			{ .ival = "parent", .oval = FH_RESOLVE_PARENT,
			  .help = "an fd on its parent directory + the last "
				  "component, as a file server" },
			{ .ival = "full", .oval = FH_RESOLVE_FULL,
			  .help = "fio's file name, from AT_FDCWD" },
		},
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
	{
		.name	= "fh_iowq_max_workers",
		.lname	= "fhandle io-wq worker limits",
		.type	= FIO_OPT_INT,
		.off1	= offsetof(struct fh_options, iowq_workers[0]),
		.off2	= offsetof(struct fh_options, iowq_workers[1]),
		.help	= "io-wq's bounded,unbounded worker limits "
			  "(IORING_REGISTER_IOWQ_MAX_WORKERS; 0: as is; uring)",
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
		.name	= "fh_drop_caches",
		.lname	= "fhandle drop-only job",
		.type	= FIO_OPT_STR,
		.off1	= offsetof(struct fh_options, drop_caches),
		.help	= "A drop-only job: it drops caches (after saving "
			  "fh_handle_file) and does no I/O; the jobs after it "
			  "(stonewall) run cold (root only)",
		.def	= "none",
		.posval = {
			{ .ival = "none", .oval = FH_DROP_NONE,
			  .help = "not a drop-only job" },
			{ .ival = "inodes", .oval = FH_DROP_INODES,
			  .help = "dentries and inodes (2 into drop_caches)" },
			{ .ival = "all", .oval = FH_DROP_ALL,
			  .help = "and the page cache: every read goes to the "
				  "disk (3)" },
		},
		.category = FIO_OPT_C_ENGINE,
		.group	= FIO_OPT_G_INVALID,
	},
	{
		.name	= "fh_handle_file",
		.lname	= "fhandle handle file",
		.type	= FIO_OPT_STR_STORE,
		.off1	= offsetof(struct fh_options, handle_file),
		.help	= "Handles of the file set: saved by a drop-only job, "
			  "loaded (not encoded) by opens by handle",
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
	.queue			= fh_queue,
	.commit			= fh_commit,
	.getevents		= fh_getevents,
	.event			= fh_event,
	.cleanup		= fh_cleanup,
	.open_file		= fh_file_nop,
	.close_file		= fh_file_nop,
	.invalidate		= fh_file_nop,
	.get_file_size		= fh_get_file_size,
	.io_u_init		= fh_io_u_init,
	.options		= options,
	.option_struct_size	= sizeof(struct fh_options),
};
