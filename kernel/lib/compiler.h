/* Compiler attributes and small helpers shared by the hypervisor, its host tests and tools. */
#ifndef COURIER_KERNEL_LIB_COMPILER_H
#define COURIER_KERNEL_LIB_COMPILER_H

#define __packed        __attribute__((packed))
#define __aligned(n)    __attribute__((aligned(n)))
#define __noreturn      __attribute__((noreturn))
#define __must_check    __attribute__((warn_unused_result))
#define __unused        __attribute__((unused))
#define __printf(a, b)  __attribute__((format(printf, a, b)))
/* Boot-only code and data: kept apart from the steady state so it is visible (and freeable). */
#define __boot          __attribute__((section(".boot.text")))
#define __bootdata      __attribute__((section(".boot.data")))

#define ARRAY_SIZE(a)   (sizeof(a) / sizeof((a)[0]))
#define BIT(n)          (1ull << (n))
/* Mask of bits hi..lo inclusive, spec style: GENMASK(15, 8). */
#define GENMASK(hi, lo) ((~0ull >> (63 - (hi))) & ~((1ull << (lo)) - 1))
#define ALIGN_UP(x, a)   (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((__typeof__(x))(a) - 1)) == 0)
#define MIN(a, b)       ((a) < (b) ? (a) : (b))
#define MAX(a, b)       ((a) > (b) ? (a) : (b))

#endif
