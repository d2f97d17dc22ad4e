#include "kernels/onednn/engine.h"

#include <omp.h>

#include <atomic>

namespace poet::kernels::onednn {
namespace {

// OpenMP's default team size, read once before anyone overrides it on some thread.
int default_threads() {
  static const int n = omp_get_max_threads();
  return n;
}

std::atomic<int> configured_threads{0};  // 0: default_threads()

}  // namespace

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream& cpu_stream() {
  thread_local dnnl::stream stream(cpu_engine());
  return stream;
}

void set_num_threads(int n) {
  default_threads();
  configured_threads.store(n > 0 ? n : 0, std::memory_order_relaxed);
  use_configured_threads();
}

int num_threads() {
  int n = configured_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : default_threads();
}

void use_configured_threads() {
  int n = num_threads();
  if (omp_get_max_threads() != n) omp_set_num_threads(n);
}

}  // namespace poet::kernels::onednn
