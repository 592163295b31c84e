/* Error codes: functions return 0 or a positive result on success, a negative E_* on failure. */
#ifndef COURIER_KERNEL_LIB_ERROR_H
#define COURIER_KERNEL_LIB_ERROR_H

enum {
	E_OK = 0,
	E_INVAL = -1,    /* malformed input or argument */
	E_NOMEM = -2,    /* out of frames or table space */
	E_RANGE = -3,    /* a value or region outside what is allowed */
	E_NOENT = -4,    /* not found */
	E_EXIST = -5,    /* already there */
	E_TIMEOUT = -6,  /* hardware did not answer in time */
	E_BUSY = -7,
	E_PERM = -8,     /* caller may not do this */
	E_NOSYS = -9,    /* not supported */
	E_CHECKSUM = -10,
	E_LOOP = -11,    /* a linked structure loops */
	E_FAULT = -12,   /* an address outside what the caller may reach */
};

const char *error_name(int err);

#endif
