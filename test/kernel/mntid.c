// SPDX-License-Identifier: GPL-2.0
/*
 * AT_HANDLE_MNT_ID_UNIQUE (6.12): the ring writes the 64-bit unique mount
 * id through addr3, exactly as the syscall (all 8 bytes; statx's
 * STATX_MNT_ID_UNIQUE agrees where the kernel has it), with the handle;
 * without the flag only an int is written (the next 4 bytes untouched);
 * with -EOVERFLOW the id is written too; an id pointer with only 4 bytes
 * mapped gives -EFAULT with the flag and success without, as the syscall;
 * combined with the other flags; inline and through io-wq.  Skips where
 * the syscall rejects the flag (after checking the ring rejects it too).
 */
#include "ktest.h"

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE	0x00004000U
#endif

#define FILL	0xa5a5a5a5a5a5a5a5ULL

static struct io_uring ring;

static const char *name(const char *check, unsigned int flags)
{
	static char buf[160];

	snprintf(buf, sizeof(buf), "%s%s", check,
		 flags & IOSQE_ASYNC ? " (IOSQE_ASYNC)" : "");
	return buf;
}

/*
 * Encode (dfd, path, flags) through both with 8-byte id buffers filled
 * with FILL: results, handles and all 8 bytes must agree.  Returns the
 * result; *id gets the ring's 8 bytes.
 */
static int enc64(const char *check, int dfd, const char *path, int flags,
		 unsigned int cap, unsigned int sqe_fl, uint64_t *id)
{
	struct file_handle *rfh = kt_fh_new(cap), *sfh = kt_fh_new(cap);
	uint64_t rid = FILL, sid = FILL;
	int rres, sres;

	sres = kt_sys_encode(dfd, path, sfh, (int *)&sid, flags);
	rres = kt_ring_encode(&ring, dfd, path, rfh, (int *)&rid, flags,
			      sqe_fl);
	if (rres != sres)
		kt_fail("%s: ring gave %s, syscall %s", check,
			kt_res_str(rres), kt_res_str(sres));
	if (!rres && !kt_fh_same(rfh, sfh))
		kt_fail("%s: ring handle %s, syscall %s", check,
			kt_fh_str(rfh), kt_fh_str(sfh));
	if (rid != sid)
		kt_fail("%s: ring wrote mount id bytes %#llx, syscall %#llx "
			"(filled with %#llx)", check, (unsigned long long)rid,
			(unsigned long long)sid, FILL);
	free(rfh);
	free(sfh);
	if (id)
		*id = rid;
	return rres;
}

/*
 * The id pointer 4 bytes before an unmapped page: the syscall's result
 * and the 4 mapped bytes, for ring and syscall, must agree; want is the
 * result.
 */
static void edge_case(const char *check, const char *file, uint32_t *edge,
		      int flags, unsigned int sqe_fl, int want)
{
	struct file_handle *fh = kt_fh_new(KT_MAX_HANDLE_SZ);
	uint32_t sbytes, rbytes;
	int sres, rres;

	*edge = (uint32_t)FILL;
	sres = kt_sys_encode(AT_FDCWD, file, fh, (int *)edge, flags);
	sbytes = *edge;
	*edge = (uint32_t)FILL;
	fh->handle_bytes = KT_MAX_HANDLE_SZ;
	rres = kt_ring_encode(&ring, AT_FDCWD, file, fh, (int *)edge, flags,
			      sqe_fl);
	rbytes = *edge;
	kt_expect_err(name(check, sqe_fl), rres, sres, want);
	if (rbytes != sbytes)
		kt_fail("%s: ring left %#x in the mapped bytes, syscall %#x",
			name(check, sqe_fl), rbytes, sbytes);
	free(fh);
}

/* statx's unique mount id of path, or 0 if the kernel has none. */
static uint64_t statx_unique(const char *path)
{
	struct statx stx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID_UNIQUE,
		  &stx))
		kt_fail("statx %s: %s", path, strerror(errno));
	return (stx.stx_mask & STATX_MNT_ID_UNIQUE) ? stx.stx_mnt_id : 0;
}

int main(int argc, char **argv)
{
	static const unsigned int sqe_flags[] = { 0, IOSQE_ASYNC };
	const char *file, *link;
	uint64_t id, id32, st_id;
	uint32_t *edge;
	long pg = sysconf(_SC_PAGESIZE);
	unsigned int i, f;
	char *pages;
	int res, fd;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	file = kt_mkfile("file", "mntid\n");
	link = kt_mksymlink("link", strrchr(file, '/') + 1);
	res = enc64("AT_HANDLE_MNT_ID_UNIQUE", AT_FDCWD, file,
		    AT_HANDLE_MNT_ID_UNIQUE, KT_MAX_HANDLE_SZ, 0, &id);
	if (res == -EINVAL)
		kt_skip("kernel %s has no AT_HANDLE_MNT_ID_UNIQUE (the syscall "
			"and the ring both give EINVAL)", kt_release());
	kt_expect_res("AT_HANDLE_MNT_ID_UNIQUE", res, 0);
	st_id = statx_unique(file);
	if (st_id && id != st_id)
		kt_fail("AT_HANDLE_MNT_ID_UNIQUE: %#llx, statx says %#llx",
			(unsigned long long)id, (unsigned long long)st_id);
	printf("unique mount id %#llx (statx: %#llx)\n",
	       (unsigned long long)id, (unsigned long long)st_id);

	/* an id pointer 4 bytes before an unmapped page */
	pages = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED || munmap(pages + pg, pg))
		kt_fail("mmap: %s", strerror(errno));
	edge = (uint32_t *)(pages + pg - 4);

	for (i = 0; i < 2; i++) {
		f = sqe_flags[i];
		kt_expect_res(name("unique id", f),
			      enc64(name("unique id", f), AT_FDCWD, file,
				    AT_HANDLE_MNT_ID_UNIQUE, KT_MAX_HANDLE_SZ,
				    f, &id), 0);
		kt_expect_res(name("int id", f),
			      enc64(name("int id", f), AT_FDCWD, file, 0,
				    KT_MAX_HANDLE_SZ, f, &id32), 0);
		if (id32 >> 32 != FILL >> 32)
			kt_fail("%s: the 4 bytes after the int id were "
				"written: %#llx", name("int id", f),
				(unsigned long long)id32);
		kt_expect_res(name("unique id, -EOVERFLOW", f),
			      enc64(name("unique id, -EOVERFLOW", f), AT_FDCWD,
				    file, AT_HANDLE_MNT_ID_UNIQUE, 0, f, &id),
			      -EOVERFLOW);
		if (id == FILL)
			kt_fail("%s: no mount id written",
				name("unique id, -EOVERFLOW", f));
		kt_expect_res(name("unique id, symlink followed", f),
			      enc64(name("unique id, symlink followed", f),
				    AT_FDCWD, link, AT_HANDLE_MNT_ID_UNIQUE |
				    AT_SYMLINK_FOLLOW, KT_MAX_HANDLE_SZ, f,
				    NULL), 0);
		fd = kt_openf(file, O_RDONLY);
		kt_expect_res(name("unique id, AT_EMPTY_PATH", f),
			      enc64(name("unique id, AT_EMPTY_PATH", f), fd,
				    "", AT_HANDLE_MNT_ID_UNIQUE | AT_EMPTY_PATH,
				    KT_MAX_HANDLE_SZ, f, NULL), 0);
		close(fd);
		res = enc64(name("unique id with AT_HANDLE_FID", f), AT_FDCWD,
			    file, AT_HANDLE_MNT_ID_UNIQUE | AT_HANDLE_FID,
			    KT_MAX_HANDLE_SZ, f, NULL);
		printf("AT_HANDLE_FID|AT_HANDLE_MNT_ID_UNIQUE: %s\n",
		       kt_res_str(res));
		kt_expect_res(name("/proc/version, unique id", f),
			      enc64(name("/proc/version, unique id", f),
				    AT_FDCWD, "/proc/version",
				    AT_HANDLE_MNT_ID_UNIQUE, KT_MAX_HANDLE_SZ,
				    f, NULL), -EOPNOTSUPP);
		edge_case("unique id, 4 bytes mapped", file, edge,
			  AT_HANDLE_MNT_ID_UNIQUE, f, -EFAULT);
		edge_case("int id, 4 bytes mapped", file, edge, 0, f, 0);
	}

	munmap(pages, pg);
	io_uring_queue_exit(&ring);
	kt_pass();
}
