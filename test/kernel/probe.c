// SPDX-License-Identifier: GPL-2.0
/*
 * IORING_REGISTER_PROBE: opcodes 63 and 64 (and nothing past them) are
 * supported; the reserved placeholders 49..62 are reported unsupported.
 */
#include "ktest.h"

int main(int argc, char **argv)
{
	struct io_uring_probe *p;
	struct io_uring ring;
	int op;

	kt_init(argc, argv);
	kt_ring_init(&ring, 8, 0);
	kt_require(&ring);

	p = io_uring_get_probe_ring(&ring);
	if (!p)
		kt_fail("io_uring_get_probe_ring failed after kt_require");
	for (op = 49; op <= 62; op++)
		if (io_uring_opcode_supported(p, op))
			kt_fail("probe: reserved opcode %d reported supported",
				op);
	if (!io_uring_opcode_supported(p, KT_OP_ENCODE) ||
	    !io_uring_opcode_supported(p, KT_OP_OPEN))
		kt_fail("probe: opcode %d/%d not supported on second probe",
			KT_OP_ENCODE, KT_OP_OPEN);
	if (p->last_op < KT_OP_OPEN)
		kt_fail("probe: last_op %u < %d", p->last_op, KT_OP_OPEN);
	if (io_uring_opcode_supported(p, KT_OP_OPEN + 1))
		kt_fail("probe: opcode %d past the new ones reported supported",
			KT_OP_OPEN + 1);
	io_uring_free_probe(p);
	io_uring_queue_exit(&ring);
	kt_pass();
}
