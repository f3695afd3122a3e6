// KERN_TARGET_BEGIN("isa,list") compiles the rest of a kernel file for
// those instruction sets; KERN_TARGET_END closes it. GCC and clang spell
// this differently: clang ignores GCC's target pragma and then rejects
// every AVX intrinsic. The system headers come first, so the attribute
// reaches only the kernel file's own code.
#ifndef GHOSTLINE_KERN_TARGET_H
#define GHOSTLINE_KERN_TARGET_H
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#define KERN_PRAGMA(...) _Pragma(#__VA_ARGS__)
#if defined(__clang__)
#define KERN_TARGET_BEGIN(isa) KERN_PRAGMA(clang attribute push(__attribute__((target(isa))), apply_to = function))
#define KERN_TARGET_END KERN_PRAGMA(clang attribute pop)
#else
#define KERN_TARGET_BEGIN(isa) KERN_PRAGMA(GCC target(isa))
#define KERN_TARGET_END
#endif
#endif
