// What a kernel prepares once from a constant input (a packed filter, a oneDNN primitive with
// reordered weights), kept for as long as runs reuse that constant. An op holds one cache;
// several threads may run the op at once.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "engine/tensor.h"

namespace poet::ops {

template <class Key, class Prepared>
class PreparedCache {
 public:
  // The prepared form for `source` (a constant tensor) and `key` (the ISA, the layer shape),
  // made by `make` when the last one was for another buffer or key. Holding a copy of `source`
  // keeps its buffer alive, so an equal data pointer means the same constant.
  std::shared_ptr<const Prepared> get(const Tensor& source, const Key& key,
                                      const std::function<Prepared()>& make) const {
    std::lock_guard lock(mutex_);
    if (!prepared_ || !(key_ == key) || source_.bytes().data() != source.bytes().data()) {
      prepared_ = std::make_shared<const Prepared>(make());
      key_ = key;
      source_ = source;
    }
    return prepared_;
  }

  // get(), except that a `fed` source (one the graph feeds at run time, whose buffer may hold
  // other values at the next run) is prepared afresh and not kept.
  std::shared_ptr<const Prepared> get_unless_fed(const Tensor& source, const Key& key, bool fed,
                                                 const std::function<Prepared()>& make) const {
    return fed ? std::make_shared<const Prepared>(make()) : get(source, key, make);
  }

 private:
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const Prepared> prepared_;
  mutable Key key_{};
  mutable Tensor source_;
};

// What a kernel prepares from its input shape alone (a oneDNN pooling primitive, a convolution's
// tiling plan): rebuilt when what Prepared::shape() returns differs from the key (a new batch
// size), shared otherwise. Thread-safe like PreparedCache.
template <class Prepared>
class ShapeCache {
 public:
  template <class Key>
  std::shared_ptr<const Prepared> get(const Key& key, const std::function<Prepared()>& make) const {
    std::lock_guard lock(mutex_);
    if (!prepared_ || !(prepared_->shape() == key))
      prepared_ = std::make_shared<const Prepared>(make());
    return prepared_;
  }

 private:
  mutable std::mutex mutex_;
  mutable std::shared_ptr<const Prepared> prepared_;
};

}  // namespace poet::ops
