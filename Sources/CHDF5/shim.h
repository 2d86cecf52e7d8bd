/*
 * Swift cannot import HDF5's function-like and cast macros (H5T_NATIVE_FLOAT
 * expands to `(H5OPEN H5T_NATIVE_FLOAT_g)`), and Swift 6 refuses to read C
 * mutable globals such as H5T_NATIVE_FLOAT_g, so every one the HDF5 module
 * needs goes through a static inline accessor here.  Calls whose C signature
 * changed between HDF5 1.10 and 1.12 (object/link info structs) are wrapped
 * too, so the Swift side does not depend on the API version.
 */
#ifndef CHDF5_SHIM_H
#define CHDF5_SHIM_H

#include <hdf5.h>
#include <string.h>

/* ---- property lists, selections, stacks ---- */
static inline hid_t chdf5_P_DEFAULT(void) { return H5P_DEFAULT; }
static inline hid_t chdf5_S_ALL(void) { return H5S_ALL; }
static inline hid_t chdf5_E_DEFAULT(void) { return H5E_DEFAULT; }
static inline hid_t chdf5_P_DATASET_CREATE(void) { return H5P_DATASET_CREATE; }
static inline hid_t chdf5_P_GROUP_CREATE(void) { return H5P_GROUP_CREATE; }
static inline size_t chdf5_T_VARIABLE(void) { return H5T_VARIABLE; }

/* ---- file access flags ---- */
static inline unsigned chdf5_F_ACC_TRUNC(void) { return H5F_ACC_TRUNC; }
static inline unsigned chdf5_F_ACC_RDONLY(void) { return H5F_ACC_RDONLY; }
static inline unsigned chdf5_F_ACC_RDWR(void) { return H5F_ACC_RDWR; }
static inline unsigned chdf5_F_OBJ_ALL(void) { return H5F_OBJ_ALL; }

/* ---- predefined datatypes ---- */
static inline hid_t chdf5_T_NATIVE_INT8(void) { return H5T_NATIVE_INT8; }
static inline hid_t chdf5_T_NATIVE_UINT8(void) { return H5T_NATIVE_UINT8; }
static inline hid_t chdf5_T_NATIVE_INT16(void) { return H5T_NATIVE_INT16; }
static inline hid_t chdf5_T_NATIVE_UINT16(void) { return H5T_NATIVE_UINT16; }
static inline hid_t chdf5_T_NATIVE_INT32(void) { return H5T_NATIVE_INT32; }
static inline hid_t chdf5_T_NATIVE_UINT32(void) { return H5T_NATIVE_UINT32; }
static inline hid_t chdf5_T_NATIVE_INT64(void) { return H5T_NATIVE_INT64; }
static inline hid_t chdf5_T_NATIVE_UINT64(void) { return H5T_NATIVE_UINT64; }
static inline hid_t chdf5_T_NATIVE_FLOAT(void) { return H5T_NATIVE_FLOAT; }
static inline hid_t chdf5_T_NATIVE_DOUBLE(void) { return H5T_NATIVE_DOUBLE; }
static inline hid_t chdf5_T_STD_I8LE(void) { return H5T_STD_I8LE; }
static inline hid_t chdf5_T_STD_U8LE(void) { return H5T_STD_U8LE; }
static inline hid_t chdf5_T_STD_I16LE(void) { return H5T_STD_I16LE; }
static inline hid_t chdf5_T_STD_U16LE(void) { return H5T_STD_U16LE; }
static inline hid_t chdf5_T_STD_I32LE(void) { return H5T_STD_I32LE; }
static inline hid_t chdf5_T_STD_U32LE(void) { return H5T_STD_U32LE; }
static inline hid_t chdf5_T_STD_I64LE(void) { return H5T_STD_I64LE; }
static inline hid_t chdf5_T_STD_U64LE(void) { return H5T_STD_U64LE; }
static inline hid_t chdf5_T_IEEE_F32LE(void) { return H5T_IEEE_F32LE; }
static inline hid_t chdf5_T_IEEE_F64LE(void) { return H5T_IEEE_F64LE; }
static inline hid_t chdf5_T_C_S1(void) { return H5T_C_S1; }

/* ---- version-independent wrappers ---- */

/* H5O_type_t of the object `name` refers to, or -1 (also for soft/external
 * links, which are never followed: a dangling or external link must not make
 * listing a group fail or open another file). */
static inline int chdf5_link_object_type(hid_t loc, const char *name) {
    H5L_info_t linfo;
    if (H5Lget_info(loc, name, &linfo, H5P_DEFAULT) < 0) return -1;
    if (linfo.type != H5L_TYPE_HARD) return -1;
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t oinfo;
    if (H5Oget_info_by_name3(loc, name, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
#elif H5_VERSION_GE(1, 10, 3)
    H5O_info_t oinfo;
    if (H5Oget_info_by_name2(loc, name, &oinfo, H5O_INFO_BASIC, H5P_DEFAULT) < 0) return -1;
#else
    H5O_info_t oinfo;
    if (H5Oget_info_by_name(loc, name, &oinfo, H5P_DEFAULT) < 0) return -1;
#endif
    return (int)oinfo.type;
}

/* Number of attributes on an object, or -1. */
static inline long long chdf5_num_attrs(hid_t obj) {
#if H5_VERSION_GE(1, 12, 0)
    H5O_info2_t oinfo;
    if (H5Oget_info3(obj, &oinfo, H5O_INFO_NUM_ATTRS) < 0) return -1;
#elif H5_VERSION_GE(1, 10, 3)
    H5O_info_t oinfo;
    if (H5Oget_info2(obj, &oinfo, H5O_INFO_NUM_ATTRS) < 0) return -1;
#else
    H5O_info_t oinfo;
    if (H5Oget_info(obj, &oinfo) < 0) return -1;
#endif
    return (long long)oinfo.num_attrs;
}

/* Frees the strings HDF5 allocated while reading variable-length data. */
static inline herr_t chdf5_reclaim(hid_t type, hid_t space, void *buf) {
#if H5_VERSION_GE(1, 12, 0)
    return H5Treclaim(type, space, H5P_DEFAULT, buf);
#else
    return H5Dvlen_reclaim(type, space, H5P_DEFAULT, buf);
#endif
}

/* ---- error stack ---- */

typedef struct {
    char *buf;
    size_t size;
    int found;
} chdf5_error_sink;

/* Walking upward visits the innermost (most specific) record first: that is
 * the one that says what went wrong ("file signature not found"), whereas the
 * outer records only repeat which API call failed. */
static herr_t chdf5_error_walker(unsigned n, const H5E_error2_t *err, void *data) {
    chdf5_error_sink *sink = (chdf5_error_sink *)data;
    (void)n;
    if (sink->found || err == NULL) return 0;
    const char *text = err->desc;
    char minor[256];
    if (text == NULL || text[0] == '\0') {
        minor[0] = '\0';
        if (H5Eget_msg(err->min_num, NULL, minor, sizeof minor) > 0) text = minor;
    }
    if (text == NULL || text[0] == '\0') return 0;
    strncpy(sink->buf, text, sink->size - 1);
    sink->buf[sink->size - 1] = '\0';
    sink->found = 1;
    return 0;
}

/* Copies the innermost description of the calling thread's current error
 * stack into buf (empty when there is none), then clears the stack.
 * Returns 1 when a description was found. */
static inline int chdf5_take_error_detail(char *buf, size_t size) {
    chdf5_error_sink sink = { buf, size, 0 };
    if (size == 0) return 0;
    buf[0] = '\0';
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, chdf5_error_walker, &sink);
    H5Eclear2(H5E_DEFAULT);
    return sink.found;
}

/* Switches off HDF5's automatic printing of the error stack.  In a
 * thread-safe build this setting belongs to the calling thread's default
 * stack, so it is applied on every entry rather than once per process. */
static inline void chdf5_silence_errors(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

#endif
