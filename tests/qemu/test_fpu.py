"""x87 and SSE state is each guest's own (kernel/arch/fpu.h): guests/fpu loads a value into
st(0), xmm0, xmm15 and a rounding mode into MXCSR, gives the CPU away every round (to other fpu
guests with other values on the same CPU, or by moving itself to the next CPU) and checks that
all of it is still there. Before the hypervisor saved the state per guest, a guest read what
another had left in the x87 registers, and SSE faulted."""
from courier import scenario
from test_guests import boot, check_exited, check_healthy, elf, result_line

ROUNDS = 200


def fpu(cpus, placements):
    """placements: (name, cpu, value, hop) per guest; every guest passes with 0 mismatches."""
    mods = [(elf("fpu"), f"name={n} cpu={c} value={v} rounds={ROUNDS}" + (" hop" if hop else ""))
            for n, c, v, hop in placements]
    r = boot("exit=idle", smp=cpus, modules=mods)
    check_healthy(r)
    r.check_done(0)
    for n, _, v, _ in placements:
        result_line(r, n, "fpu", guest=n, value=v, rounds=ROUNDS, mismatches=0, result="pass")
        check_exited(r, n)


scenario(globals(), "fpu_shared_cpu",
         lambda: fpu(1, [("a", 0, 1234567, False), ("b", 0, 98765, False),
                         ("c", 0, 3, False)]))
scenario(globals(), "fpu_moving",
         lambda: fpu(3, [("a", 0, 11, True), ("b", 1, 22, True), ("c", 2, 33, False),
                         ("d", 0, 44, False)]), cost=2)
