// The process-wide oneDNN CPU engine, the per-thread stream, and the thread count.
//
// Debian's libdnnl 2.6 is built with the OpenMP runtime (DNNL_CPU_RUNTIME == OMP, linked to
// libgomp), so oneDNN's parallelism is OpenMP's: OMP_NUM_THREADS sets the default, and
// omp_set_num_threads() overrides it, but only for the calling thread (OpenMP's nthreads-var
// is per thread; a thread started later gets the default, not the caller's value). oneDNN
// sizes its work split when a primitive is created and runs it in an OpenMP team of that size
// (nested parallelism is off, so a primitive run from inside another OpenMP team is serial).
// poet therefore keeps one process-wide count here and applies it to the current thread both
// when a primitive is built and each time one runs: --threads N maps to set_num_threads(N),
// called before the graph's primitives are built.
//
// libgomp reads OMP_WAIT_POLICY when it loads (before main), so only the environment can set
// it. Its default spins after each parallel region; when the cores are shared (poet's own
// ThreadPool, other processes) that starves the next region's threads: measured on a loaded
// 2-core machine, a 35x35x192 1x1 conv on 2 threads ran at 1.2 GFLOP/s with the default and
// 35 GFLOP/s with OMP_WAIT_POLICY=passive.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace poet::kernels::onednn {

// The CPU engine, created on first use. dnnl::engine is safe to share between threads.
const dnnl::engine& cpu_engine();

// A stream on cpu_engine() for the calling thread (streams are not meant to be shared).
dnnl::stream& cpu_stream();

// Sets the number of OpenMP threads oneDNN uses from now on (n <= 0: OpenMP's default, i.e.
// OMP_NUM_THREADS or one per hardware thread).
void set_num_threads(int n);

// The count set_num_threads() chose, or OpenMP's default: what use_configured_threads() applies.
int num_threads();

// Applies num_threads() to the calling thread. Every primitive calls it before being built and
// before each run, so all threads see the same count.
void use_configured_threads();

}  // namespace poet::kernels::onednn
