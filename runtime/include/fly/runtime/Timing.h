//===- Timing.h - Wall-clock timing helpers for fly-run ---------*- C++ -*-===//
//
// steady_clock helpers and summary statistics over per-call times in
// milliseconds. Header-only so that any tool can time without linking.
//
//===----------------------------------------------------------------------===//

#ifndef FLY_RUNTIME_TIMING_H
#define FLY_RUNTIME_TIMING_H

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <vector>

namespace fly::runtime {

/// steady_clock, not system_clock: it never jumps, so intervals are exact.
using Clock = std::chrono::steady_clock;

/// Milliseconds between two time points.
inline double elapsedMs(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration<double, std::milli>(end - start).count();
}

/// A stopwatch started at construction.
class Stopwatch {
public:
  Stopwatch() : start(Clock::now()) {}
  void restart() { start = Clock::now(); }
  /// Milliseconds since construction or the last restart().
  double elapsedMs() const {
    return fly::runtime::elapsedMs(start, Clock::now());
  }

private:
  Clock::time_point start;
};

/// Summary of a set of timings (all in milliseconds; all zero when empty).
struct TimingStats {
  size_t count = 0;
  double avg = 0;
  double median = 0;
  double min = 0;
  double max = 0;
};

/// Computes avg, median (mean of the two middle values for an even count),
/// min and max. Takes a copy because the median needs a sorted sequence.
inline TimingStats computeStats(std::vector<double> ms) {
  TimingStats stats;
  stats.count = ms.size();
  if (ms.empty())
    return stats;
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double t : ms)
    sum += t;
  stats.avg = sum / static_cast<double>(ms.size());
  size_t mid = ms.size() / 2;
  stats.median = ms.size() % 2 ? ms[mid] : (ms[mid - 1] + ms[mid]) / 2;
  stats.min = ms.front();
  stats.max = ms.back();
  return stats;
}

} // namespace fly::runtime

#endif // FLY_RUNTIME_TIMING_H
