/* C-side checks of the C API, called from c_api_test.cpp. */
#ifndef DAXVM_C_API_CHECK_H
#define DAXVM_C_API_CHECK_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
int c_map_read_sync(const char *path, const char *expect, size_t len);
int c_errors(const char *empty_file, const char *regular_file);
int c_no_kernel(void);
int c_knobs(void); /* on the fake proc tree the caller set up */
int c_device(const char *path);
#ifdef __cplusplus
}
#endif
#endif
