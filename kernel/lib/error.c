#include "kernel/lib/error.h"

const char *error_name(int err)
{
	switch (err) {
	case E_OK: return "ok";
	case E_INVAL: return "invalid";
	case E_NOMEM: return "out of memory";
	case E_RANGE: return "out of range";
	case E_NOENT: return "not found";
	case E_EXIST: return "exists";
	case E_TIMEOUT: return "timeout";
	case E_BUSY: return "busy";
	case E_PERM: return "not permitted";
	case E_NOSYS: return "not supported";
	case E_CHECKSUM: return "bad checksum";
	case E_LOOP: return "loop";
	case E_FAULT: return "fault";
	}
	return "unknown error";
}
