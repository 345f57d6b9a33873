//===- MonarchKernel.cpp - fused Monarch matmul kernel generator -*- C++
//-*-===//
//
// Natural layout: one CTA owns 64 rows of x and y. Shared
// memory (one dynamic buffer, starting at the first 1024-byte boundary of
// the real dynamic region, found through an external .shared array: see
// emitSetup for why gpu.dynamic_shared_memory's own address is not used):
//
//   G     64 x (k*q) storage-type elements: g = permuted h, kept as l*(r/64)
//         blocks of 64 rows x 64 columns, each 8 KB in the 128-byte swizzled
//         K-major layout TMA would write (so it is a valid wgmma A operand)
//   WORK  phase 1: a ring of stages1 slots {x tile 64x64, w1[kk] tile q x 64}
//         phase 2: the f16/bf16 output staging tile 64 x (S*l) and a ring of
//                  stages2 slots {w2[ll] tile S x 64}
//
// Phase 1 (factor 1): for kk in 0..k: a (p/64)-step TMA + wgmma m64n<q>k16
//   loop (x column block kk against w1[kk], both K-major) into f32 registers;
//   after wgmma.wait 0 every thread converts its accumulator fragment to the
//   storage type and stores each value straight into G at its g position
//   (h column j = kk*q + qq goes to g[ll = j % l, rr = j / l]): the
//   permutation costs nothing. The x/w1 ring streams across kk blocks.
// Then fence.proxy.async (wgmma reads what generic stores wrote) + barrier.
// Phase 2 (factor 2): for each chunk c of S output "ss" values and each ll:
//   (r/64)-step loop of wgmma m64n<S>k16 with A = G block (ll, kt) and
//   B = TMA tile of w2[ll, c*S.., kt*64..]; after wait 0 the fragment gets
//   bias[(c*S+n)*l+ll] and GELU in registers and is stored to the staging
//   tile at column n*l+ll. After all ll the staging tile holds y columns
//   [c*S*l, (c+1)*S*l) of 64 rows contiguously; all threads copy it out with
//   16-byte stores (rows >= m skipped).
// Direct stores (Plan::directStores, l of 1, 2 or 4, the usual case): the
//   l accumulators of a chunk stay live instead, so a thread's columns n,
//   n+1 of every ll are the contiguous y columns n*l .. n*l+2l-1: one
//   16-byte store, bias one load, an optional residual add (its tile
//   loaded before the chunk's wgmmas); no staging tile. Two warpgroups
//   then split every wgmma's N (same 64 rows, the A tiles shared).
//
// Blocked output (MonarchSpec::blockedOutput, the up projection of a
// Monarch MLP): CTA (row tile, ll) computes only g[:, ll, :] (64 x r) in
// phase 1 -- k GEMMs of N = q/l against w1 rows permuted at compile time so
// that the rows landing in ll are contiguous -- and y'[:, ll*s ..] in phase
// 2: no ll loop, no interleaved staging (packed 32-bit stores), a quarter of
// the shared memory, so that several warpgroups (64 rows each, see Plan)
// share every weight tile a CTA loads. The consumer
// (MonarchSpec::inputBlocks) reads that order back through its TMA
// coordinates and a matching permutation of its w1 columns. Where S is a
// multiple of 64 (Plan::tmaStore) a chunk leaves by TMA store instead of
// the threads' copy-out: the staging tile is written in the 128-byte
// swizzled layout (one 64 x 64 box per warpgroup and 64 columns), two
// buffers, so a chunk's store drains while the next chunk is computed.
//
// Folded LayerNorm (MonarchSpec::layerNormInput, blocked output): each
// thread loads the statistics partials of its two fragment rows from %stats
// when the CTA starts and merges them into (rstd, shift) once the first TMA
// loads are issued; factor 2's epilogue computes acc * rstd + shift * colsum
// before the bias, the column sums loaded with the bias pairs before the
// chunk's k loop.
//
// Row statistics out (MonarchSpec::rowStatistics, direct stores): per chunk
// and fragment row, the quad of lanes holding the row reduces the rounded
// values it stores to the chunk's (mean, variance) (two passes, shuffles),
// merged into a running pair carried by the chunk loop (Chan's update for
// equal-sized chunks); after the loop lane 0 of each quad writes its
// warpgroup's partial of the row.
//
// Monarch MLP (MonarchMlpSpec, emitMonarchMlp): three kernels in one
// gpu.module -- split factor 1 of the up projection (g'), the hidden kernel
// (Stage::Hidden, emitHiddenToGlobal: the up projection's factor 2, its
// GELU and the down projection's factor 1 per 64 hidden columns, into h')
// and split factor 2 of the down projection -- so that the hidden layer
// is never stored.
//
// The accumulator fragment is read at the LLVM level: the opaque
// !nvgpu.warpgroup.accumulator is cast to the struct convert-nvgpu-to-nvvm
// turns it into (!llvm.struct<(struct<(f32 x N/2)>)>), and the casts fold
// in reconcile-unrealized-casts. Fragment layout of m64nNk16 (f32): thread
// t = 32 w + 4 a + b holds, for every 8-column group j, elements 4j+0/1 at
// row 16w+a, columns 8j+2b+0/1 and 4j+2/3 at row 16w+a+8, same columns.
//
// Shared building blocks with WgmmaGemm.cpp: per-k16 wgmma ops with
// descriptors built on views of the ring (K-major B: +32 bytes per k16
// step inside the swizzled 128-byte row), waitGroup = 3 so the last op of a
// tile retires the previous tile before its slot is refilled, TMA
// descriptors passed as !llvm.ptr, the ex2/rcp GELU.
//
//===----------------------------------------------------------------------===//

#include "fly/Conversion/FlyToGPU/MonarchKernel.h"
#include "KernelText.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

namespace fly::gpu {
namespace {

using detail::FuncWriter;

constexpr int64_t kTileM = 64;    // rows per warpgroup = one wgmma M
constexpr int64_t kTileK = 64;    // 64 x 2 bytes = one 128-byte swizzle row
constexpr int64_t kWgmmaK = 16;   // k of one f16/bf16 wgmma
constexpr int64_t kThreads = 128; // one warpgroup (mma fragments use tid)
// Blocked output: warpgroups per CTA, each 64 rows, sharing every weight
// tile a CTA loads (fewer CTAs stream w1/w2 through L2); see Plan.
constexpr int64_t kWarpgroupPreference[] = {2, 4, 1};
// Blocked output: widest factor-2 N (wider costs registers and measured no
// faster than 128 with two warpgroups).
constexpr int64_t kMaxBlockedTileS = 128;
constexpr int64_t kElemBytes = 2;
constexpr int64_t kAtom = 1024; // 8 rows x 128 B swizzle period
constexpr int64_t kBlockBytes = kTileM * kTileK * kElemBytes; // 8 KB
constexpr int64_t kStagingPad = 8; // elements per staging row (16 B)
constexpr int64_t kVector = 8;     // elements per 16-byte copy-out store
// Blocked output stored by TMA: staging buffers, so that the store of chunk
// c drains while chunk c + 1 is computed and written.
constexpr int64_t kStagingBuffers = 2;
constexpr int64_t kMaxStages1 = 4, kMaxStages2 = 6;
constexpr int64_t kMaxBlockedStages = 4;
constexpr int64_t kMaxFactor1Stages = 6; // split factors: factor 1's ring
// Split factors, factor 2: its w2 ring (every 64-row CTA streams all of w2
// from L2, one CTA per SM: the tiles in flight set its pace).
constexpr int64_t kMaxFactor2Stages = 10;
// Split factors, factor 2, persistent: CTAs (one per SM of an H100 SXM;
// any count is correct, fewer SMs only queue the rest).
constexpr int64_t kPersistentFactor2Ctas = 132;
constexpr int64_t kSplitMaxRowTiles = 32; // see monarchSplitFactorsPay
constexpr int64_t kMaxHiddenStages = 4;   // Monarch MLP hidden kernel's ring
constexpr int64_t kMlpFactor1Stages = 2;  // see emitMonarchMlp
// The hidden kernel's S: 64 x 64 f32 per warpgroup, 32 values per thread.
constexpr int64_t kHiddenScores = kTileM * kTileK / kThreads;
// Natural output stored from registers: at most this many f32 accumulator
// columns (S*l) live per chunk (S*l/2 registers per thread); fewer with a
// residual, whose prefetched tile (S*l/2 16-bit pairs) is live too.
constexpr int64_t kDirectAccElems = 192, kDirectAccElemsResidual = 128;
constexpr int64_t kDefaultTilesInFlight = 1; // see MonarchEmitOptions
constexpr int64_t kMaxDynamicSmem = 227 * 1024;
// Per-CTA dynamic shared memory that lets two CTAs share an SM (228 KB per
// SM, 1 KB of it reserved per CTA), less a margin for static .shared data.
constexpr int64_t kTwoCtaSmem = 113 * 1024 - 256;
constexpr int64_t kMbarrierSpinTicks = 10000000;
// Warp-specialised hidden kernel (Plan::hiddenProducer): the named barrier
// of the consumer warpgroups' epilogue and (ping-pong) the first turn
// barrier; 1 .. W are the warpgroups' own.
constexpr int64_t kConsumersBarrier = 3, kFirstTurnBarrier = 4;
constexpr int64_t kMaxTmaCoordinate = std::numeric_limits<int32_t>::max();

/// External (never demoted) zero-length .shared array: the true start of
/// dynamic shared memory, after every static .shared variable.
std::string dynamicSmemSymbol() { return "fly_monarch_dynamic_smem"; }

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }
std::string str(int64_t v) { return std::to_string(v); }

/// What one kernel computes: a whole Monarch matmul, or (split factors)
/// factor 1 into h' or factor 2 from h', or (a Monarch MLP, see
/// emitHiddenToGlobal) the up projection's factor 2, its GELU and the down
/// projection's factor 1 from g' into h'.
enum class Stage { Fused, Factor1, Factor2, Hidden };

/// Every size the emitter needs. `valid` is false when nothing fits.
///
/// Natural layout: G holds all of g (64 x k*q) and the output staging tile
/// interleaves the l factor-2 GEMMs; one CTA per SM. Shared memory:
///   [align][G][WORK = max(ring1, staging + ring2)]
/// Blocked output: G holds g[:, ll, :] (64 x r) of the CTA's ll; ring2 has
/// its own region so that factor 2's first tiles load during factor 1, and
/// the budget aims at two CTAs per SM:
///   [align][G][ring2][max(ring1, staging)]
struct Plan {
  MonarchSpec spec;
  bool blocked = false;
  int64_t n = 0, outCols = 0, gCols = 0, n1 = 0;
  int64_t kt1 = 0, t1 = 0, kt2 = 0, t2 = 0;
  int64_t tileS = 0, chunks = 0;
  int64_t gBytes = 0, workMax = 0;
  int64_t slot1 = 0, stages1 = 0;
  int64_t stagingStride = 0, stagingBytes = 0, slot2 = 0, stages2 = 0;
  int64_t ring1Offset = 0, stagingOffset = 0, ring2Offset = 0;
  int64_t workBytes = 0, dynamicSmemBytes = 0, gridX = 0;
  int64_t warpgroups = 1, rows = kTileM, threads = kThreads;
  bool directStores = false; // natural output straight from registers
  // Blocked output with whole 64-column boxes: the staging tile is written
  // in the 128-byte swizzled layout and stored by TMA, double-buffered
  // (see emitFactor2).
  bool tmaStore = false;
  int64_t stagingBufferBytes = 0;
  // Natural output stored from registers: warpgroups splitting every
  // wgmma's N (same 64 rows; each loads the shared A, half of B).
  int64_t nSplit = 1, n1w = 0, tileSw = 0;
  bool valid = false;
  Stage stage = Stage::Fused;
  // Monarch MLP hidden kernel (Stage::Hidden): the up projection's spec,
  // hidden columns per (kk, ll) in chunks of 64, the bytes of one G buffer
  // (rows x r of g'; two buffers) and the offset of the H tiles after the
  // ring.
  MonarchSpec up;
  int64_t hiddenChunks = 0, gTileBytes = 0, hOffset = 0;
  // Hidden kernel, warp-specialised (emitHiddenWarpSpecialized): a producer
  // warpgroup after the consumers, per-slot empty barriers instead of the
  // per-step CTA barrier; `hiddenPingPong`: the two consumer warpgroups
  // take turns issuing their wgmmas.
  bool hiddenProducer = false, hiddenPingPong = false;
  // Split factors, factor 2 stored from registers, persistent: gridX CTAs
  // walk the rowTiles 64-row tiles; the w2 ring runs on across them and
  // each group's part of G reloads for the next tile once the last chunk
  // is done with it (emitFactor2Persistent).
  bool persistent = false;
  int64_t rowTiles = 0;

  /// The plan of `spec`'s kernel, or with split factors of its factor-2
  /// kernel; `factor1`: of a split spec's factor-1 kernel.
  explicit Plan(const MonarchSpec &s, bool factor1 = false,
                int64_t factor1Warpgroups = 0, int64_t factor1Stages = 0)
      : spec(s) {
    stage = factor1          ? Stage::Factor1
            : s.splitFactors ? Stage::Factor2
                             : Stage::Fused;
    blocked = s.blockedOutput;
    n = s.k * s.p;
    outCols = s.l * s.s;
    // Factor 1's wgmma N: all q rows of w1[kk], or (blocked) the q/l rows
    // that land in this CTA's ll.
    n1 = blocked ? s.q / std::max<int64_t>(s.l, 1) : s.q;
    gCols = blocked ? s.r : s.k * s.q;
    kt1 = s.p / kTileK;
    t1 = s.k * kt1;
    kt2 = s.r / kTileK;
    if (stage == Stage::Factor1) {
      planFactor1(factor1Warpgroups, factor1Stages);
      return;
    }
    if (blocked) {
      // Warpgroups (64-row slices sharing each weight tile) in order of
      // preference: two leave room for 4-deep rings; four fill shared
      // memory with G and leave rings of 2 and 3 slots (H100, GPT-2 up
      // projection: 59-62 us vs 64-65 us; one warpgroup, two CTAs per SM:
      // 68-70 us; docs/design-notes.md).
      for (int64_t wg : kWarpgroupPreference) {
        if (tileS)
          break;
        if (wg > 1 && ceilDiv(s.m, kTileM) < wg)
          continue;
        setWarpgroups(wg);
        for (int64_t budget : {kTwoCtaSmem, kMaxDynamicSmem})
          if ((wg == 1 || budget == kMaxDynamicSmem) && planBlocked(budget))
            break;
      }
    } else {
      setWarpgroups(1);
      planNatural();
    }
    if (!tileS)
      return;
    if (!n1w) {
      n1w = n1;
      tileSw = tileS;
    }
    chunks = s.s / tileS;
    t2 = chunks * (blocked ? 1 : s.l) * kt2;
    valid = dynamicSmemBytes <= kMaxDynamicSmem;
    if (stage == Stage::Factor2 && directStores) {
      persistent = true;
      rowTiles = gridX;
      gridX = std::min(rowTiles, kPersistentFactor2Ctas);
    }
  }

  /// The hidden kernel of a Monarch MLP (emitHiddenToGlobal): `downSpec`
  /// is the down projection with split factors (its h' and w1 layout),
  /// `upSpec` the up projection (bias, GELU, folded LayerNorm). Per CTA
  /// (rows, kk): two G buffers of rows x r_up, a ring of {w2_up tile 64 x
  /// r_up, w1_down tile q x 64} slots, two 64 x 64 H tiles per warpgroup.
  Plan(const MonarchSpec &upSpec, const MonarchSpec &downSpec,
       MonarchHiddenSchedule schedule)
      : spec(downSpec), up(upSpec) {
    stage = Stage::Hidden;
    n = spec.k * spec.p;
    outCols = spec.l * spec.s;
    n1 = n1w = spec.q;
    kt2 = up.r / kTileK;
    tileS = tileSw = kTileK;
    hiddenChunks = spec.p / up.l / kTileK;
    t1 = up.l * hiddenChunks;
    for (int64_t wg : {2, 1}) {
      if (wg > 1 && ceilDiv(spec.m, kTileM) < wg)
        continue;
      setWarpgroups(wg);
      gridX = ceilDiv(spec.m, rows) * spec.k;
      gTileBytes = rows * up.r * kElemBytes;
      gBytes = 2 * gTileBytes;
      slot1 = (kTileK * up.r + n1 * kTileK) * kElemBytes;
      int64_t hBytes = 2 * wg * kBlockBytes; // H double-buffered
      int64_t avail = kMaxDynamicSmem - kAtom - gBytes - hBytes;
      stages1 = std::min(kMaxHiddenStages, avail / slot1);
      if (stages1 < 2)
        continue;
      stages2 = 2;
      hOffset = stages1 * slot1;
      workBytes = hOffset + hBytes;
      dynamicSmemBytes = kAtom + gBytes + workBytes;
      valid = true;
      hiddenProducer = schedule != MonarchHiddenSchedule::Lockstep;
      hiddenPingPong = schedule == MonarchHiddenSchedule::PingPong && wg == 2;
      if (hiddenProducer)
        threads += kThreads;
      return;
    }
  }

private:
  /// Split factors, factor 1: one CTA per (row tile, kk), all q kernel
  /// columns of w1[kk] in one wgmma N, two warpgroups (128 rows) sharing
  /// every w1 tile where m allows; no G, so the ring takes what is left.
  void planFactor1(int64_t wantWarpgroups, int64_t wantStages) {
    for (int64_t wg : {2, 1}) {
      if ((wg > 1 && ceilDiv(spec.m, kTileM) < wg) ||
          (wantWarpgroups && wg != wantWarpgroups))
        continue;
      setWarpgroups(wg);
      gBytes = 0;
      gridX = ceilDiv(spec.m, rows) * spec.k;
      n1w = n1;
      t1 = kt1;
      stages1 = std::min(kMaxFactor1Stages, (kMaxDynamicSmem - kAtom) /
                                                std::max<int64_t>(slot1, 1));
      if (wantStages)
        stages1 = std::min(stages1, wantStages);
      if (stages1 < 2)
        continue;
      workBytes = stages1 * slot1;
      dynamicSmemBytes = kAtom + workBytes;
      valid = true;
      return;
    }
  }

  void setWarpgroups(int64_t wg) {
    warpgroups = wg;
    rows = kTileM * wg;
    threads = kThreads * wg;
    gridX = ceilDiv(spec.m, rows) * (blocked ? spec.l : 1);
    gBytes = rows * gCols * kElemBytes;
    slot1 = rows * kTileK * kElemBytes + n1 * kTileK * kElemBytes;
  }

  /// Whether a factor-2 N of `cand` leaves by TMA store (whole 64-column
  /// boxes of a blocked output).
  bool storesByTma(int64_t cand) const { return blocked && cand % kTileK == 0; }

  int64_t stagingFor(int64_t cand, int64_t &stride) const {
    if (storesByTma(cand)) {
      // TMA store: cand/64 swizzled boxes of rows x 64, two buffers.
      stride = kTileK;
      return kStagingBuffers * roundUp(rows * cand * kElemBytes, kAtom);
    }
    stride = cand * (blocked ? 1 : spec.l) + kStagingPad;
    return roundUp(rows * stride * kElemBytes, kAtom);
  }

  void planNatural() {
    const MonarchSpec &s = spec;
    workMax = kMaxDynamicSmem - kAtom - gBytes;
    // Split factors, factor 2: G arrives by TMA, one barrier per group ll
    // (ring 1's barriers; no ring 1).
    stages1 =
        stage == Stage::Factor2
            ? s.l
            : std::min(kMaxStages1, workMax / std::max<int64_t>(slot1, 1));
    if (stages1 < 2 && stage != Stage::Factor2)
      return;
    int64_t ring1Bytes = stage == Stage::Factor2 ? 0 : stages1 * slot1;
    int64_t maxStages2 =
        stage == Stage::Factor2 ? kMaxFactor2Stages : kMaxStages2;
    // l accumulators of 64 x S live at once (S*l/2 registers per thread),
    // y columns n*l .. n*l+2l-1 in one store of at most 16 bytes.
    if (s.l == 1 || s.l == 2 || s.l == 4) {
      int64_t maxElems = s.residual ? kDirectAccElemsResidual : kDirectAccElems;
      // Two warpgroups when both factors' N split into 8-row halves (whole
      // 128-byte swizzle atoms of the B tiles).
      int64_t split = s.q % 16 == 0 ? 2 : 1;
      for (int64_t cand = std::min<int64_t>(s.s, split * maxElems / s.l) /
                          (8 * split) * (8 * split);
           cand >= 8 * split; cand -= 8 * split) {
        int64_t slot = cand * kTileK * kElemBytes;
        int64_t st = std::min(maxStages2, workMax / slot);
        if (s.s % cand || st < 3)
          continue;
        directStores = true;
        nSplit = split;
        threads = kThreads * split;
        n1w = n1 / split;
        tileSw = cand / split;
        tileS = cand;
        slot2 = slot;
        stages2 = st;
        ring1Offset = stagingOffset = ring2Offset = 0;
        workBytes = std::max(ring1Bytes, stages2 * slot2);
        dynamicSmemBytes = kAtom + gBytes + workBytes;
        return;
      }
    }
    // Widest S (wgmma N of factor 2) that divides s and leaves a ring of 3
    // (else 2) slots next to the staging tile.
    for (int64_t minStages : {3, 2}) {
      for (int64_t cand = std::min<int64_t>(s.s, 256) / 8 * 8; cand >= 8;
           cand -= 8) {
        if (s.s % cand)
          continue;
        int64_t stride;
        int64_t staging = stagingFor(cand, stride);
        int64_t slot = cand * kTileK * kElemBytes;
        int64_t st = std::min(maxStages2, (workMax - staging) / slot);
        if (st >= minStages) {
          tileS = cand;
          stagingStride = stride;
          stagingBytes = staging;
          slot2 = slot;
          stages2 = st;
          break;
        }
      }
      if (tileS)
        break;
    }
    if (!tileS)
      return;
    ring1Offset = 0;
    stagingOffset = 0;
    ring2Offset = stagingBytes;
    workBytes = std::max(ring1Bytes, stagingBytes + stages2 * slot2);
    dynamicSmemBytes = kAtom + gBytes + workBytes;
  }

  /// Widest S (at most kMaxBlockedTileS) with a factor-2 ring of 3 (else
  /// 2) slots and a factor-1 ring of 2 within `budget` bytes; then both
  /// rings as deep as what is left allows (factor 2 first, up to 4 each).
  bool planBlocked(int64_t budget) {
    const MonarchSpec &s = spec;
    int64_t avail = budget - kAtom - gBytes;
    for (int64_t minStages : {3, 2}) {
      for (int64_t cand = std::min<int64_t>(s.s, kMaxBlockedTileS) / 8 * 8;
           cand >= 8; cand -= 8) {
        if (s.s % cand)
          continue;
        int64_t stride;
        int64_t staging = stagingFor(cand, stride);
        int64_t slot = cand * kTileK * kElemBytes;
        if (avail - std::max(2 * slot1, staging) < minStages * slot)
          continue;
        tileS = cand;
        stagingStride = stride;
        stagingBytes = staging;
        tmaStore = storesByTma(cand);
        stagingBufferBytes = tmaStore ? staging / kStagingBuffers : staging;
        slot2 = slot;
        stages2 = minStages;
        while (stages2 < kMaxBlockedStages &&
               avail - std::max(2 * slot1, staging) >= (stages2 + 1) * slot)
          ++stages2;
        stages1 = 2;
        while (stages1 < kMaxBlockedStages &&
               std::max((stages1 + 1) * slot1, staging) + stages2 * slot2 <=
                   avail)
          ++stages1;
        ring2Offset = 0;
        ring1Offset = stagingOffset = stages2 * slot2;
        workBytes = ring2Offset + stages2 * slot2 +
                    std::max(stages1 * slot1, stagingBytes);
        dynamicSmemBytes = kAtom + gBytes + workBytes;
        return true;
      }
    }
    return false;
  }
};

struct Types {
  std::string elem, smemSpace = "#gpu.address_space<workgroup>";
  std::string smemBytes, tmaX, tmaW1, tmaW2, bars1, bars2, barsEmpty, acc1,
      acc2;
  std::string acc1Struct, acc2Struct;
  std::string xSlot, w1Slot, w2Slot, aStep, w1Step, w2Step;
  std::string descA, descW1, descW2, gFlat, staging, pair;
  std::string stagingBox, tmaY; // TMA store (Plan::tmaStore)
  std::string globalX, globalW1, globalW2, globalW1Flat, globalW2Flat,
      globalBias, globalY, globalColsum, globalStats, globalStatsOut;
  std::string globalH; // split factors: h' [m, l*r]

  explicit Types(const Plan &p) {
    const MonarchSpec &s = p.spec;
    elem = s.elementType;
    auto smem = [&](const std::string &shape, const std::string &e) {
      return "memref<" + shape + "x" + e + ", " + smemSpace + ">";
    };
    auto tensorMap = [&](const std::string &box) {
      return "!nvgpu.tensormap.descriptor<tensor = " + box +
             ", swizzle = swizzle_128b, l2promo = l2promo_256b, oob = zero, "
             "interleave = none>";
    };
    auto accType = [&](int64_t cols) {
      return "!nvgpu.warpgroup.accumulator<fragmented = vector<" + str(kTileM) +
             "x" + str(cols) + "xf32>>";
    };
    auto accStruct = [&](int64_t cols) {
      std::string fields;
      for (int64_t i = 0; i < cols / 2; ++i)
        fields += i ? ", f32" : "f32";
      return "!llvm.struct<(struct<(" + fields + ")>)>";
    };
    smemBytes = "memref<?xi8, " + smemSpace + ">";
    xSlot = smem(str(p.rows) + "x" + str(kTileK), elem);
    w1Slot = smem(str(p.n1) + "x" + str(kTileK), elem);
    w2Slot = smem(str(p.tileS) + "x" + str(kTileK), elem);
    tmaX = tensorMap(xSlot);
    tmaW1 = tensorMap(w1Slot);
    tmaW2 = tensorMap(w2Slot);
    auto group = [&](int64_t count) {
      return "!nvgpu.mbarrier.group<memorySpace = " + smemSpace +
             ", num_barriers = " + str(count) + ">";
    };
    // The hidden kernel's ring has separate w2 and w1 barriers per slot.
    bars1 = group(p.stage == Stage::Hidden ? 2 * p.stages1 : p.stages1);
    bars2 = group(p.stages2);
    // Warp-specialised hidden kernel: empty barriers of the w2 and w1 halves
    // of every ring slot, then of the two G buffers.
    if (p.hiddenProducer)
      barsEmpty = group(2 * p.stages1 + 2);
    acc1 = accType(p.n1w);
    acc2 = accType(p.tileSw);
    acc1Struct = accStruct(p.n1w);
    acc2Struct = accStruct(p.tileSw);
    aStep = smem(str(kTileM) + "x" + str(kWgmmaK), elem);
    w1Step = smem(str(kWgmmaK) + "x" + str(p.n1w), elem);
    w2Step = smem(str(kWgmmaK) + "x" + str(p.tileSw), elem);
    descA = "!nvgpu.warpgroup.descriptor<tensor = " + aStep + ">";
    descW1 = "!nvgpu.warpgroup.descriptor<tensor = " + w1Step + ">";
    descW2 = "!nvgpu.warpgroup.descriptor<tensor = " + w2Step + ">";
    gFlat = smem(str(p.gBytes / kElemBytes), elem);
    pair = "vector<2x" + elem + ">";
    staging = smem(str(p.rows) + "x" + str(p.stagingStride), elem);
    if (p.tmaStore) {
      // Box b of the staging tile: rows b*rows .. (b+1)*rows, swizzled.
      staging = smem(str(p.tileS / kTileK * p.rows) + "x" + str(kTileK), elem);
      stagingBox = smem(str(kTileM) + "x" + str(kTileK), elem);
      tmaY = tensorMap(stagingBox);
    }
    auto global = [&](const std::string &shape) {
      return "memref<" + shape + "x" + elem + ">";
    };
    globalX = global(str(s.m) + "x" + str(p.n));
    globalW1 = global(str(s.k) + "x" + str(s.q) + "x" + str(s.p));
    globalW2 = global(str(s.l) + "x" + str(s.s) + "x" + str(s.r));
    globalW1Flat = global(str(s.k * s.q) + "x" + str(s.p));
    globalW2Flat = global(str(s.l * s.s) + "x" + str(s.r));
    globalBias = global(str(p.outCols));
    globalColsum = "memref<" + str(p.outCols) + "xf32>";
    globalStats = detail::rowPartialsType(s.m, s.layerNormPartials);
    globalStatsOut = detail::rowPartialsType(s.m, p.nSplit);
    globalY = global(str(s.m) + "x" + str(p.outCols));
    globalH = global(str(s.m) + "x" + str(s.l * s.r));
  }
};

/// The gpu.func of a plan: the spec's kernel name, with split factors
/// suffixed by the factor.
std::string kernelFunctionName(const Plan &p) {
  std::string name = monarchKernelName(p.spec);
  if (p.stage == Stage::Factor1)
    return name + "_f1";
  if (p.stage == Stage::Factor2)
    return name + "_f2";
  if (p.stage == Stage::Hidden)
    return name + (p.hiddenPingPong   ? "_hidden_pp"
                   : p.hiddenProducer ? "_hidden_ws"
                                      : "_hidden");
  return name;
}

/// The buffer arguments after x, w1, w2 (host functions) or their TMA
/// descriptors (kernel), as (name, type).
std::vector<std::pair<std::string, std::string>> bufferArgs(const Plan &p,
                                                            const Types &t) {
  const MonarchSpec &s = p.spec;
  std::vector<std::pair<std::string, std::string>> args;
  if (s.bias)
    args.emplace_back("%bias", t.globalBias);
  if (s.layerNormInput) {
    args.emplace_back("%colsum", t.globalColsum);
    args.emplace_back("%stats", t.globalStats);
  }
  if (s.residual)
    args.emplace_back("%res", t.globalY);
  args.emplace_back("%y", t.globalY);
  if (s.rowStatistics)
    args.emplace_back("%stats_out", t.globalStatsOut);
  return args;
}

/// The hidden kernel's arguments after its three TMA descriptors and
/// before %h: the up projection's bias and, with a folded LayerNorm, its
/// colsum and x's row statistics (as the up projection's kernel takes them).
std::vector<std::pair<std::string, std::string>>
hiddenBufferArgs(const Plan &p) {
  const MonarchSpec &u = p.up;
  std::string cols = str(u.l * u.s);
  std::vector<std::pair<std::string, std::string>> args = {
      {"%bias", "memref<" + cols + "x" + u.elementType + ">"}};
  if (u.layerNormInput) {
    args.emplace_back("%colsum", "memref<" + cols + "xf32>");
    args.emplace_back("%stats",
                      detail::rowPartialsType(u.m, u.layerNormPartials));
  }
  return args;
}

//===----------------------------------------------------------------------===//
// Kernel
//===----------------------------------------------------------------------===//

class KernelEmitter {
public:
  KernelEmitter(const Plan &plan, const Types &types, int64_t tilesInFlight)
      : p(plan), s(plan.spec), t(types), w(/*indent=*/2),
        inFlight(tilesInFlight) {}

  std::string emit() {
    emitSetup();
    // Folded LayerNorm: the two rows' statistics are ready at launch; their
    // load latency hides behind factor 1.
    const MonarchSpec &ln = p.stage == Stage::Hidden ? p.up : s;
    if (ln.layerNormInput && !p.hiddenProducer)
      emitRowStatisticsLoads(ln);
    if (p.hiddenProducer) {
      emitHiddenWarpSpecialized();
    } else if (p.stage == Stage::Hidden) {
      emitHiddenToGlobal();
    } else if (p.stage == Stage::Factor1) {
      emitFactor1ToGlobal();
    } else {
      if (p.stage == Stage::Factor2)
        emitLoadGAndPreload2();
      else
        emitFactor1();
      emitFactor2();
    }
    w.line("gpu.return");

    std::ostringstream os;
    os << "    gpu.func @" << kernelFunctionName(p) << "(%tma_x_ptr: !llvm.ptr";
    if (p.stage != Stage::Factor2)
      os << ", %tma_w1_ptr: !llvm.ptr";
    if (p.stage == Stage::Hidden)
      os << ", %tma_w2_ptr: !llvm.ptr"
         << detail::joinArgs(hiddenBufferArgs(p), ": ")
         << ", %h: " << t.globalH;
    else if (p.stage != Stage::Factor1)
      os << ", %tma_w2_ptr: !llvm.ptr"
         << (p.tmaStore ? ", %tma_y_ptr: !llvm.ptr" : "")
         << detail::joinArgs(bufferArgs(p, t), ": ");
    else
      os << ", %h: " << t.globalH;
    os << ") kernel attributes {known_block_size = array<i32: " << p.threads
       << ", 1, 1>";
    if (hasRegisterHandOff())
      os << detail::registerHandOffAttributes(p.threads);
    os << "} {\n";
    os << w.finish();
    os << "    }\n";
    return os.str();
  }

private:
  std::string add(const std::string &a, const std::string &b,
                  const std::string &hint = "add") {
    return w.def(hint, "arith.addi " + a + ", " + b + " : index");
  }
  std::string addc(const std::string &a, int64_t c,
                   const std::string &hint = "add") {
    return c == 0 ? a : add(a, w.index(c), hint);
  }
  std::string mulc(const std::string &a, int64_t c,
                   const std::string &hint = "mul") {
    return c == 1 ? a
                  : w.def(hint,
                          "arith.muli " + a + ", " + w.index(c) + " : index");
  }
  std::string divc(const std::string &a, int64_t c,
                   const std::string &hint = "div") {
    return c == 1 ? a
                  : w.def(hint,
                          "arith.divui " + a + ", " + w.index(c) + " : index");
  }
  std::string remc(const std::string &a, int64_t c,
                   const std::string &hint = "rem") {
    return c == 1 ? w.index(0)
                  : w.def(hint,
                          "arith.remui " + a + ", " + w.index(c) + " : index");
  }
  std::string view(const std::string &hint, const std::string &byteOffset,
                   const std::string &type) {
    return w.def(hint, "memref.view " + smem + "[" + byteOffset +
                           "][] : " + t.smemBytes + " to " + type);
  }

  void emitSetup() {
    w.line("%tma_x = builtin.unrealized_conversion_cast %tma_x_ptr : "
           "!llvm.ptr to " +
           t.tmaX);
    if (p.stage != Stage::Factor2)
      w.line("%tma_w1 = builtin.unrealized_conversion_cast %tma_w1_ptr : "
             "!llvm.ptr to " +
             t.tmaW1);
    if (p.stage != Stage::Factor1)
      w.line("%tma_w2 = builtin.unrealized_conversion_cast %tma_w2_ptr : "
             "!llvm.ptr to " +
             t.tmaW2);
    if (p.tmaStore)
      w.line("%tma_y = builtin.unrealized_conversion_cast %tma_y_ptr : "
             "!llvm.ptr to " +
             t.tmaY);
    tid = w.def("tid", "gpu.thread_id x");
    std::string block = w.def("block", "gpu.block_id x");
    if (p.blocked) {
      // The l CTAs of one row tile are neighbours: x is read once from HBM.
      llFixed = remc(block, s.l, "cta_ll");
      row0 = mulc(divc(block, s.l, "row_tile"), p.rows, "row0");
    } else if (p.stage == Stage::Factor1 || p.stage == Stage::Hidden) {
      // The k CTAs of one row tile are neighbours (each reads its block of
      // the rows; w1[kk] is shared by every row tile through L2; the hidden
      // kernel's k CTAs read the same g' rows).
      kkFixed = remc(block, s.k, "cta_kk");
      row0 = mulc(divc(block, s.k, "row_tile"), p.rows, "row0");
    } else {
      row0 = mulc(block, kTileM, "row0");
    }
    isLeader = w.def("is_leader",
                     "arith.cmpi eq, " + tid + ", " + w.index(0) + " : index");
    smem = w.def("smem", "gpu.dynamic_shared_memory : " + t.smemBytes);
    // Where the dynamic shared memory really starts. The global behind
    // gpu.dynamic_shared_memory is internal, so NVPTX "demotes" it into an
    // ordinary 1-byte .shared variable placed among the static ones: the
    // mbarrier groups sit right after it, inside what looks like our buffer
    // (compute-sanitizer racecheck: G stores overwrote an mbarrier). An
    // external zero-length .shared array is the real dynamic start (after
    // every static variable); G begins at its first 1024-byte boundary
    // (swizzled TMA tiles and hand-swizzled G need 1024-byte atoms; the
    // launch reserves kAtom bytes for this). Views stay relative to `smem`.
    std::string addr =
        w.def("smem_addr", "memref.extract_aligned_pointer_as_index " + smem +
                               " : " + t.smemBytes + " -> index");
    std::string dynPtr =
        w.def("dyn_ptr", "llvm.mlir.addressof @" + dynamicSmemSymbol() +
                             " : !llvm.ptr<3>");
    std::string dynInt =
        w.def("dyn_i64", "llvm.ptrtoint " + dynPtr + " : !llvm.ptr<3> to i64");
    std::string dyn =
        w.def("dyn_addr", "arith.index_cast " + dynInt + " : i64 to index");
    std::string up = addc(dyn, kAtom - 1, "dyn_up");
    std::string aligned =
        w.def("g_addr",
              "arith.andi " + up + ", " + w.index(~(kAtom - 1)) + " : index");
    gOff = w.def("g_off", "arith.subi " + aligned + ", " + addr + " : index");
    work = addc(gOff, p.gBytes, "work");
    ring1 = addc(work, p.ring1Offset, "ring1");
    ring2 = addc(work, p.ring2Offset, "ring2");
    std::string stagingOff = addc(work, p.stagingOffset, "staging_off");
    if (p.stage == Stage::Hidden)
      hOff = addc(work, p.hOffset, "h_off");

    bars1 = w.def("full1", "nvgpu.mbarrier.create -> " + t.bars1);
    if (p.stage != Stage::Factor1)
      bars2 = w.def("full2", "nvgpu.mbarrier.create -> " + t.bars2);
    if (p.hiddenProducer)
      empty = w.def("empty", "nvgpu.mbarrier.create -> " + t.barsEmpty);
    w.open("scf.if " + isLeader);
    int64_t barriers1 = p.stage == Stage::Hidden ? 2 * p.stages1 : p.stages1;
    for (int64_t i = 0; i < barriers1; ++i)
      w.line("nvgpu.mbarrier.init " + bars1 + "[" + w.index(i) + "], " +
             w.index(1) + " : " + t.bars1);
    for (int64_t i = 0; i < p.stages2 && p.stage != Stage::Factor1; ++i)
      w.line("nvgpu.mbarrier.init " + bars2 + "[" + w.index(i) + "], " +
             w.index(1) + " : " + t.bars2);
    if (p.hiddenProducer) {
      // One arrival per consumer warp (emitHiddenRelease).
      for (int64_t i = 0; i < 2 * p.stages1 + 2; ++i)
        w.line("nvgpu.mbarrier.init " + empty + "[" + w.index(i) + "], " +
               w.index(p.warpgroups * kThreads / 32) + " : " + t.barsEmpty);
    }
    w.line("nvgpu.tma.prefetch.descriptor %tma_x : " + t.tmaX);
    if (p.stage != Stage::Factor2)
      w.line("nvgpu.tma.prefetch.descriptor %tma_w1 : " + t.tmaW1);
    if (p.stage != Stage::Factor1)
      w.line("nvgpu.tma.prefetch.descriptor %tma_w2 : " + t.tmaW2);
    if (p.tmaStore)
      w.line("nvgpu.tma.prefetch.descriptor %tma_y : " + t.tmaY);
    w.close();
    w.line("gpu.barrier");

    // Fragment coordinates of this thread (see the file comment).
    std::string warp = divc(tid, 32, "warp");
    std::string lane = remc(tid, 32, "lane");
    std::string laneRow = divc(lane, 4, "lane_row");
    laneCol = remc(lane, 4, "lane_col");
    // warp counts across warpgroups: warp 4g + w of warpgroup g holds rows
    // 64g + 16w + ... of the CTA's rows.
    // (N split: both warpgroups hold the same 64 rows.)
    warpgroup = divc(tid, kThreads, "warpgroup");
    rowA = add(
        mulc(p.nSplit > 1 ? remc(warp, 4, "wg_warp") : warp, 16, "warp_row"),
        laneRow, "frag_row");
    wgBytes = p.warpgroups == 1 ? w.index(0)
                                : mulc(warpgroup, kBlockBytes, "wg_bytes");
    // N split: this warpgroup's first column of each factor's wgmma N, and
    // the byte offset of its rows in the K-major B tiles (128 B per row).
    nCol1 = p.nSplit > 1 ? mulc(warpgroup, p.n1w, "n_col1") : w.index(0);
    nCol2 = p.nSplit > 1 ? mulc(warpgroup, p.tileSw, "n_col2") : w.index(0);
    bOff1 = mulc(nCol1, kTileK * kElemBytes, "b_off1");
    bOff2 = mulc(nCol2, kTileK * kElemBytes, "b_off2");
    swz = laneRow; // rowA % 8: warp*16 is a multiple of 8

    colPair = mulc(laneCol, 2, "frag_col");
    gRowPart = mulc(rowA, kTileK, "g_row_part"); // elements
    gView = view("g_view", gOff, t.gFlat);
    stagingBase = stagingOff;
    if (!p.tmaStore)
      stagingView = view("staging", stagingOff, t.staging);
  }

  std::string parityOf(const std::string &tile, int64_t stages) {
    std::string round = divc(tile, stages, "round");
    std::string odd = w.def("round_odd", "arith.andi " + round + ", " +
                                             w.index(1) + " : index");
    return w.def("parity",
                 "arith.cmpi ne, " + odd + ", " + w.index(0) + " : index");
  }

  /// Leader only: x and w1 tiles of phase-1 tile `tile` (= kk*kt1 + kt).
  void emitLoad1(const std::string &tile) {
    std::string slot = remc(tile, p.stages1, "slot");
    // Split factors, factor 1: the tiles of the CTA's block kk only.
    std::string kk = kkFixed.empty() ? divc(tile, p.kt1, "kk") : kkFixed;
    std::string kt = kkFixed.empty() ? remc(tile, p.kt1, "kt") : tile;
    std::string aOff = add(ring1, mulc(slot, p.slot1), "a_off");
    std::string aDst = view("x_dst", aOff, t.xSlot);
    std::string bDst =
        view("w1_dst", addc(aOff, p.warpgroups * kBlockBytes), t.w1Slot);
    std::string kElem = mulc(kt, kTileK, "k_elem");
    std::string xCol;
    if (s.inputBlocks > 0) {
      // Logical column kk*p + e (e = kt*64) in the producer's blocked order:
      // piece e / pb of block kk lies at piece*(n/L) + kk*pb (pb = p/L).
      int64_t pb = s.p / s.inputBlocks;
      std::string piece = divc(kt, pb / kTileK, "x_piece");
      std::string inPiece = mulc(remc(kt, pb / kTileK, "x_kt"), kTileK, "x_e");
      xCol = add(add(mulc(piece, p.n / s.inputBlocks), mulc(kk, pb), "x_col"),
                 inPiece, "x_col");
    } else {
      xCol = add(mulc(kk, s.p), kElem, "x_col");
    }
    std::string wRow = mulc(kk, s.q, "w1_row");
    if (p.blocked)
      wRow = add(wRow, mulc(llFixed, p.n1), "w1_row");
    w.line("nvgpu.mbarrier.arrive.expect_tx " + bars1 + "[" + slot + "], " +
           w.index(p.slot1) + " : " + t.bars1);
    w.line("nvgpu.tma.async.load %tma_x[" + xCol + ", " + row0 + "], " + bars1 +
           "[" + slot + "] to " + aDst + " : " + t.tmaX + ", " + t.bars1 +
           " -> " + t.xSlot);
    w.line("nvgpu.tma.async.load %tma_w1[" + kElem + ", " + wRow + "], " +
           bars1 + "[" + slot + "] to " + bDst + " : " + t.tmaW1 + ", " +
           t.bars1 + " -> " + t.w1Slot);
  }

  /// Leader only: w2 tile of phase-2 tile `tile` = ((c*l + ll)*kt2 + kt)
  /// (blocked: c*kt2 + kt, ll is the CTA's).
  void emitLoad2(const std::string &tile) {
    std::string slot = remc(tile, p.stages2, "slot");
    // Persistent factor 2: `tile` counts on across the CTA's row tiles.
    std::string local = p.persistent ? remc(tile, p.t2, "local_tile") : tile;
    std::string kt = remc(local, p.kt2, "kt");
    std::string cl = divc(local, p.kt2, "cl");
    std::string ll = p.blocked ? llFixed : remc(cl, s.l, "ll");
    std::string c = p.blocked ? cl : divc(cl, s.l, "chunk");
    std::string dst = view("w2_dst", add(ring2, mulc(slot, p.slot2)), t.w2Slot);
    std::string row = add(mulc(ll, s.s), mulc(c, p.tileS), "w2_row");
    std::string kElem = mulc(kt, kTileK, "k_elem");
    w.line("nvgpu.mbarrier.arrive.expect_tx " + bars2 + "[" + slot + "], " +
           w.index(p.slot2) + " : " + t.bars2);
    w.line("nvgpu.tma.async.load %tma_w2[" + kElem + ", " + row + "], " +
           bars2 + "[" + slot + "] to " + dst + " : " + t.tmaW2 + ", " +
           t.bars2 + " -> " + t.w2Slot);
  }

  /// The k16 wgmmas of one 64-wide k-tile: A at byte `aBase` (64x64 swizzled
  /// block), B at `bBase` (N x 64 swizzled tile).
  std::string emitTileMma(const std::string &acc, const std::string &aBase,
                          const std::string &bBase, const std::string &bStep,
                          const std::string &bDescType, const std::string &bTma,
                          const std::string &bTmaType,
                          const std::string &accType, int64_t depth) {
    std::string cur = acc;
    int64_t steps = kTileK / kWgmmaK;
    for (int64_t ks = 0; ks < steps; ++ks) {
      int64_t off = ks * kWgmmaK * kElemBytes;
      std::string bView = view("b_step", addc(bBase, off, "b_off"), bStep);
      std::string bDesc =
          w.def("b_desc", "nvgpu.warpgroup.generate.descriptor " + bView +
                              ", " + bTma + " : " + bStep + ", " + bTmaType +
                              " -> " + bDescType);
      std::string aView = view("a_step", addc(aBase, off, "a_off"), t.aStep);
      std::string aDesc =
          w.def("a_desc", "nvgpu.warpgroup.generate.descriptor " + aView +
                              ", %tma_x : " + t.aStep + ", " + t.tmaX + " -> " +
                              t.descA);
      // Each op is one wgmma group; with depth*steps-1 groups allowed in
      // flight the last op of this tile retires tile - depth (depth 0: the
      // last op waits for the whole tile).
      int64_t waitGroup = depth > 0         ? depth * steps - 1
                          : ks + 1 == steps ? 0
                                            : steps - 1;
      cur = w.def("acc", "nvgpu.warpgroup.mma " + aDesc + ", " + bDesc + ", " +
                             cur + " {waitGroup = " + str(waitGroup) +
                             " : i64} : " + t.descA + ", " + bDescType + ", " +
                             accType + " -> " + accType);
    }
    return cur;
  }

  /// Opens `scf.for iv = from to upper` carrying an accumulator of
  /// `accType` from zero: the loop's result, induction variable and
  /// iteration argument (close with scf.yield of the accumulator).
  struct AccumulatorLoop {
    std::string result, iv, acc;
  };
  AccumulatorLoop openAccumulatorLoop(const std::string &hint,
                                      const std::string &iv, int64_t from,
                                      const std::string &upper,
                                      const std::string &accType) {
    std::string init =
        w.def("acc_init", "nvgpu.warpgroup.mma.init.accumulator -> " + accType);
    AccumulatorLoop l{w.fresh(hint), w.fresh(iv), w.fresh("acc_in")};
    w.open(l.result + " = scf.for " + l.iv + " = " + w.index(from) + " to " +
           upper + " step " + w.index(1) + " iter_args(" + l.acc + " = " +
           init + ") -> (" + accType + ")");
    return l;
  }

  /// The k loop of factor 1 for block `kk` ("": the CTA's block kk of split
  /// factors, whose ring tiles are just kt) over ring 1. Returns the
  /// accumulator (wgmmas possibly still in flight).
  std::string emitFactor1Tiles(const std::string &kk, int64_t depth) {
    auto [accOut, kt, accIn] =
        openAccumulatorLoop("acc_h", "kt", 0, w.index(p.kt1), t.acc1);
    std::string tile = kk.empty() ? kt : add(mulc(kk, p.kt1), kt, "tile");
    std::string slot = remc(tile, p.stages1, "slot");
    w.line("nvgpu.mbarrier.try_wait.parity " + bars1 + "[" + slot + "], " +
           parityOf(tile, p.stages1) + ", " + w.index(kMbarrierSpinTicks) +
           " : " + t.bars1);
    std::string slotBase = add(ring1, mulc(slot, p.slot1), "slot_base");
    // This warpgroup's 64 rows of the x tile; w1's tile follows all rows.
    std::string aBase = add(slotBase, wgBytes, "a_base");
    std::string bBase =
        add(addc(slotBase, p.warpgroups * kBlockBytes), bOff1, "b_base");
    std::string acc = emitTileMma(accIn, aBase, bBase, t.w1Step, t.descW1,
                                  "%tma_w1", t.tmaW1, t.acc1, depth);
    w.line("gpu.barrier");
    // Slot of tile - depth is free (retired in every thread before the
    // barrier): refill it with tile + stages - depth.
    std::string next = addc(tile, p.stages1 - depth, "next");
    std::string inRange = w.def("in_range", "arith.cmpi ult, " + next + ", " +
                                                w.index(p.t1) + " : index");
    std::string doLoad =
        w.def("do_load", "arith.andi " + isLeader + ", " + inRange + " : i1");
    w.open("scf.if " + doLoad);
    emitLoad1(next);
    w.close();
    w.line("scf.yield " + acc + " : " + t.acc1);
    w.close();
    return accOut;
  }

  void emitFactor1() {
    int64_t depth = depthFor(p.stages1);
    w.line("// Factor 1: k block GEMMs x[:, kk*p..] . w1[kk]^T -> G (g order)");
    w.open("scf.if " + isLeader);
    emitPreload1();
    // Factor 2's ring has its own region here: its first tiles load while
    // factor 1 runs.
    if (p.blocked)
      emitPreload2();
    w.close();
    if (s.layerNormInput)
      emitRowStatisticsMerge(s);

    std::string kk = w.fresh("kk");
    w.open("scf.for " + kk + " = " + w.index(0) + " to " + w.index(s.k) +
           " step " + w.index(1));
    std::string accOut = emitFactor1Tiles(kk, depth);

    w.line("nvvm.wgmma.wait.group.sync.aligned 0");
    // Natural: h column j = kk*q + 8*jg + colPair + e goes to
    // g[ll = j % l, rr = j / l]: block (ll, rr / 64) of G, column rr % 64 of
    // the swizzled 64x64 block. Blocked: fragment column c of block kk is
    // h column (kk*(q/l) + c)*l + ll, i.e. rr = kk*(q/l) + c of this CTA's ll.
    std::string frag =
        w.def("frag_h", "builtin.unrealized_conversion_cast " + accOut + " : " +
                            t.acc1 + " to " + t.acc1Struct);
    std::string hBase = add(add(mulc(kk, p.n1), nCol1), colPair, "h_base");
    for (int64_t jg = 0; jg < p.n1w / 8; ++jg) {
      if (p.blocked) {
        // Columns colPair and colPair+1 are neighbours in G too (same
        // 8-element chunk): one 32-bit store per pair.
        std::string rr = addc(hBase, 8 * jg, "h_col");
        std::string kc = remc(rr, kTileK, "g_kc");
        std::string sw = w.def("g_swz", "arith.xori " + divc(kc, 8, "g_chunk") +
                                            ", " + swz + " : index");
        std::string idx =
            add(mulc(divc(rr, kTileK), p.rows * kTileK), gRowPart, "g_idx");
        idx = add(add(idx, mulc(sw, 8), "g_idx"), remc(kc, 8), "g_idx");
        for (int64_t half = 0; half < 2; ++half) {
          std::string pair = packPair(frag, t.acc1Struct, 4 * jg + 2 * half);
          w.line("vector.store " + pair + ", " + gView + "[" +
                 addc(idx, half * 8 * kTileK, "g_at") +
                 "] {alignment = 4 : i64} : " + t.gFlat + ", " + t.pair);
        }
        continue;
      }
      for (int64_t e = 0; e < 2; ++e) {
        std::string j = addc(hBase, 8 * jg + e, "h_col");
        std::string ll = p.blocked ? w.index(0) : remc(j, s.l, "g_ll");
        std::string rr = p.blocked ? j : divc(j, s.l, "g_rr");
        std::string blk = add(mulc(ll, p.kt2), divc(rr, kTileK), "g_blk");
        std::string kc = remc(rr, kTileK, "g_kc");
        std::string chunk = divc(kc, 8, "g_chunk");
        std::string sw =
            w.def("g_swz", "arith.xori " + chunk + ", " + swz + " : index");
        std::string idx = add(mulc(blk, p.rows * kTileK), gRowPart, "g_idx");
        idx = add(idx, mulc(sw, 8), "g_idx");
        idx = add(idx, remc(kc, 8), "g_idx");
        for (int64_t half = 0; half < 2; ++half) {
          std::string v = w.def("h", "llvm.extractvalue " + frag + "[0, " +
                                         str(4 * jg + 2 * half + e) +
                                         "] : " + t.acc1Struct);
          std::string hv =
              w.def("h_t", "arith.truncf " + v + " : f32 to " + t.elem);
          // Row +8 is +8*64 elements, same swizzle phase.
          std::string at = addc(idx, half * 8 * kTileK, "g_at");
          w.line("memref.store " + hv + ", " + gView + "[" + at +
                 "] : " + t.gFlat);
        }
      }
    }
    w.close();
    // wgmma (async proxy) reads G, which generic stores wrote.
    w.line("nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = "
           "#nvvm.shared_space<cta>}");
    w.line("gpu.barrier");
  }

  /// Split factors, factor 1: h[:, kk*q ..] = x[:, kk*p ..] . w1[kk]^T for
  /// the CTA's rows (each warpgroup 64 of them) and block kk, stored to
  /// h' straight from the fragments. Kernel column c = ll*(q/l) + i (w1
  /// rows permuted, monarchKernelW1Source) is h column kk*q + i*l + ll,
  /// i.e. g[ll, kk*(q/l) + i] = h'[b, ll*r + kk*(q/l) + i]: a thread's two
  /// neighbouring columns are neighbours in h' too (q/l is a multiple of 8).
  void emitFactor1ToGlobal() {
    int64_t depth = factor1Depth();
    w.line("// Factor 1 of block kk into h' (g order, blocked by ll)");
    w.open("scf.if " + isLeader);
    emitPreload1();
    w.close();
    std::string accOut = emitFactor1Tiles("", depth);
    w.line("nvvm.wgmma.wait.group.sync.aligned 0");
    // The ring is free once every warpgroup's last wgmmas are done.
    emitHPrimeStores(accOut, ring1, p.stages1 * p.slot1);
  }

  /// Stores factor 1's accumulator of block kkFixed (kernel columns
  /// permuted, see emitFactor1ToGlobal) to h'. Through a padded row-major
  /// staging tile at byte `stagingOff` (free shared memory of
  /// `stagingCapacity` bytes) where it fits: every thread then copies
  /// 16-byte runs of 8 kernel columns, which are 8 neighbouring h' columns
  /// (q/l is a multiple of 8); a thread's own fragment holds only 2-column
  /// pairs, and their 4-byte stores kept the warps waiting on the store
  /// queue (ncu, MLP factor 1: half the stall samples on STG).
  void emitHPrimeStores(const std::string &accOut,
                        const std::string &stagingOff,
                        int64_t stagingCapacity) {
    std::string frag =
        w.def("frag_h", "builtin.unrealized_conversion_cast " + accOut + " : " +
                            t.acc1 + " to " + t.acc1Struct);
    int64_t per = s.q / s.l;
    std::string kkBase = mulc(kkFixed, per, "h_kk");
    int64_t stride = p.n1 + kStagingPad;
    if (p.rows * stride * kElemBytes > stagingCapacity) {
      std::string rows[2], valid[2];
      emitFragmentRows("h_row", rows, valid);
      for (int64_t jg = 0; jg < p.n1 / 8; ++jg) {
        int64_t ll = 8 * jg / per, i0 = 8 * jg % per;
        std::string col =
            add(addc(kkBase, ll * s.r + i0, "h_col"), colPair, "h_col");
        for (int64_t half = 0; half < 2; ++half) {
          std::string pair = packPair(frag, t.acc1Struct, 4 * jg + 2 * half);
          w.open("scf.if " + valid[half]);
          w.line("vector.store " + pair + ", %h[" + rows[half] + ", " + col +
                 "] {alignment = 4 : i64} : " + t.globalH + ", " + t.pair);
          w.close();
        }
      }
      return;
    }
    std::string type = "memref<" + str(p.rows) + "x" + str(stride) + "x" +
                       t.elem + ", " + t.smemSpace + ">";
    // Every warpgroup's wgmmas have read the shared memory reused here.
    emitComputeBarrier();
    std::string tile = view("h_stage", stagingOff, type);
    std::string rowB = addc(rowA, 8, "frag_row_b");
    for (int64_t jg = 0; jg < p.n1 / 8; ++jg) {
      std::string col = addc(colPair, 8 * jg, "st_col");
      for (int64_t half = 0; half < 2; ++half)
        w.line("vector.store " +
               packPair(frag, t.acc1Struct, 4 * jg + 2 * half) + ", " + tile +
               "[" + (half ? rowB : rowA) + ", " + col +
               "] {alignment = 4 : i64} : " + type + ", " + t.pair);
    }
    emitComputeBarrier();
    int64_t perRow = p.n1 / kVector;
    std::string ve = "vector<" + str(kVector) + "x" + t.elem + ">";
    std::string rowsLeft = w.def("rows_left", "arith.subi " + w.index(s.m) +
                                                  ", " + row0 + " : index");
    std::string rows = w.def("rows", "arith.minsi " + rowsLeft + ", " +
                                         w.index(p.rows) + " : index");
    std::string total = mulc(rows, perRow, "copy_total");
    std::string i = w.fresh("i");
    w.open("scf.for " + i + " = " + tid + " to " + total + " step " +
           w.index(computeThreads()));
    std::string r = divc(i, perRow, "cr");
    std::string c = mulc(remc(i, perRow, "cv"), kVector, "cc");
    std::string v =
        w.def("h_v", "vector.load " + tile + "[" + r + ", " + c +
                         "] {alignment = 16 : i64} : " + type + ", " + ve);
    // Kernel column c = ll*(q/l) + i is h' column ll*r + kk*(q/l) + i.
    std::string col =
        add(add(mulc(divc(c, per, "c_ll"), s.r, "h_ll"), kkBase, "h_col"),
            remc(c, per, "c_i"), "h_col");
    w.line("vector.store " + v + ", %h[" + add(row0, r, "h_row") + ", " + col +
           "] {alignment = 16 : i64} : " + t.globalH + ", " + ve);
    w.close();
  }

  /// Monarch MLP, the hidden kernel: CTA (rows, kk) computes block kk of
  /// the down projection's h for its rows while the hidden layer stays on
  /// the SM. Per up-projection block ll and chunk c of 64 hidden columns
  /// (ss = kk*(p/l_up) + c*64 + n: hidden column ss*l_up + ll, which is the
  /// down projection's input column kk*p + (c*64 + n)*l_up + ll), step
  /// st = ll*chunks + c:
  ///   S   = G[ll] . w2_up[ll, ss, :]^T                 64 x 64, K = r_up
  ///   H   = gelu(S * rstd + shift * colsum + bias)     rounded, in smem
  ///   acc += H . w1_down'[kk, :, ll*(p/l_up) + c*64 ..]^T          N = q
  /// w1_down' has its p axis permuted like a blocked input of l_up blocks
  /// (monarchKernelW1Source), so that a chunk's K columns are contiguous,
  /// and its q axis like split factor 1's, whose stores to h' end the
  /// kernel. G[ll] (rows x r_up of g', the up projection's factor 1 blocked
  /// by ll) arrives per ll in one of two buffers on bars2; ring 1's slots
  /// hold a step's w2 tiles (barrier slot) and w1 tile (barrier stages +
  /// slot); H has two buffers per warpgroup (step st writes H[st % 2]).
  ///
  /// Steps overlap like FlashAttention-3's softmax and P.V: step st issues
  /// S(st), then acc += H(st-1) . w1(st-1)^T, waits for S(st) only, and
  /// computes its GELU while the tensor cores run acc(st-1). S is an
  /// inline-asm block (fence, the wgmmas, the first without accumulate,
  /// commit) whose results pass through a tied `wait_group 4` statement
  /// (wgmmaWaitForResults) before any other code reads them: with nvgpu
  /// ops, S's zero initialisation and copies of S landed inside the acc
  /// wgmmas' pipeline stage and ptxas serialised every wgmma (C7515). acc
  /// stays nvgpu (four groups per step that never wait) and asynchronous
  /// across the loop. After step st's wait S(st) and acc(st-2) are retired
  /// in every thread, so after one CTA barrier the w2 tiles of step st, the
  /// w1 tile of step st-2, this warpgroup's H[st % 2] and (last chunk of
  /// ll) G[ll] are free. Step 0 (no acc yet) runs S with a wait 0.
  void emitHiddenToGlobal() {
    const MonarchSpec &u = p.up;
    w.line("// Monarch MLP hidden layer: up factor 2, GELU, down factor 1");
    w.open("scf.if " + isLeader);
    emitHiddenPreloads(/*ring=*/true);
    w.close();
    if (u.layerNormInput)
      emitRowStatisticsMerge(u);
    emitHiddenSteps();
  }

  /// Leader or producer: G[0] and G[1] into the two (free) G buffers and
  /// (`ring`) the first stages1 steps' w2 and w1 tiles into the free ring.
  void emitHiddenPreloads(bool ring) {
    for (int64_t ll = 0; ll < std::min<int64_t>(2, p.up.l); ++ll)
      emitLoadHiddenG(w.index(ll));
    for (int64_t i = 0; ring && i < std::min(p.stages1, p.t1); ++i) {
      emitLoadHiddenW2(w.index(i));
      emitLoadHiddenW1(w.index(i));
    }
  }

  /// The hidden kernel warp-specialised (Plan::hiddenProducer): warpgroups
  /// 0 .. W-1 run the steps of emitHiddenToGlobal without its per-step CTA
  /// barrier and without refills -- after each step's S wait every consumer
  /// warp arrives on the empty barriers of what that wait retired
  /// (emitHiddenRelease) -- while warpgroup W, with its registers handed to
  /// the consumers by setmaxnreg, has one thread stream G, w2 and w1 tiles
  /// as slots come free (emitHiddenProducer), so no warp that computes ever
  /// waits for the other warpgroup. With Plan::hiddenPingPong the two
  /// consumers also take turns issuing their wgmmas (FlashAttention-3's
  /// inter-warpgroup overlap): each step's S and acc wgmmas are issued
  /// between a bar.sync on this warpgroup's turn barrier and a bar.arrive
  /// on the other's, so the tensor cores run one warpgroup's wgmmas while
  /// the other computes its GELU.
  void emitHiddenWarpSpecialized() {
    const MonarchSpec &u = p.up;
    w.line("// Monarch MLP hidden layer (warp-specialised): up factor 2, "
           "GELU, down factor 1");
    wgUniform = detail::uniformWarpgroup(w, tid, kThreads);
    std::string isConsumer =
        w.def("is_consumer", "arith.cmpi ult, " + wgUniform + ", " +
                                 w.index(p.warpgroups) + " : index");
    w.open("scf.if " + isConsumer);
    if (hasRegisterHandOff())
      w.line("nvvm.setmaxregister increase " + str(detail::kConsumerRegisters));
    if (u.layerNormInput) {
      emitRowStatisticsLoads(u);
      emitRowStatisticsMerge(u);
    }
    isWarpLeader =
        w.def("warp_leader", "arith.cmpi eq, " + remc(tid, 32, "lane") + ", " +
                                 w.index(0) + " : index");
    emitHiddenSteps();
    w.elseRegion();
    if (hasRegisterHandOff())
      w.line("nvvm.setmaxregister decrease " + str(detail::kProducerRegisters));
    std::string isProducer =
        w.def("is_producer", "arith.cmpi eq, " + tid + ", " +
                                 w.index(p.warpgroups * kThreads) + " : index");
    w.open("scf.if " + isProducer);
    emitHiddenProducer();
    w.close();
    w.close();
  }

  /// The threads that compute (all but a producer warpgroup) and a barrier
  /// of theirs: the CTA barrier, or a named one that the producer, which
  /// has left, does not count in.
  int64_t computeThreads() const {
    return p.hiddenProducer ? p.warpgroups * kThreads : p.threads;
  }
  void emitComputeBarrier() {
    if (p.hiddenProducer)
      w.line("nvvm.barrier id = " + w.i32(kConsumersBarrier) +
             " number_of_threads = " + w.i32(computeThreads()));
    else
      w.line("gpu.barrier");
  }

  /// Whether the kernel hands its producer warpgroup's registers to the
  /// consumers (three warpgroups: 40 + 2 x 232 per lane instead of 168).
  bool hasRegisterHandOff() const {
    return p.hiddenProducer && p.threads == 3 * kThreads;
  }

  /// Producer thread: every step i's w2 tiles, then G[ll] where i is
  /// hiddenGLoadStep(ll) (ll >= 2), then step i - 1's w1 tile, each after
  /// its empty barrier says the consumers retired the slot's previous use:
  /// w2(i) after S(i - stages), w1(i - 1) after acc(i - 1 - stages),
  /// which retires with S(i + 1 - stages); so no wait of iteration i needs
  /// a consumer step >= i, and none delays a load needed sooner by much.
  void emitHiddenProducer() {
    const MonarchSpec &u = p.up;
    w.line("// Producer: G, w2 and w1 tiles as the consumers free them.");
    emitHiddenPreloads(/*ring=*/false);
    std::string i = w.fresh("i");
    w.open("scf.for " + i + " = " + w.index(0) + " to " + w.index(p.t1) +
           " step " + w.index(1));
    emitWaitEmpty(remc(i, p.stages1, "w2_slot"), divc(i, p.stages1, "round"));
    emitLoadHiddenW2(i);
    for (int64_t ll = 2; ll < u.l; ++ll) {
      std::string now =
          w.def("g_now", "arith.cmpi eq, " + i + ", " +
                             w.index(hiddenGLoadStep(ll)) + " : index");
      w.open("scf.if " + now);
      emitWaitEmpty(w.index(2 * p.stages1 + ll % 2), w.index(ll / 2));
      emitLoadHiddenG(w.index(ll));
      w.close();
    }
    std::string hasPrev = w.def("w1_prev", "arith.cmpi uge, " + i + ", " +
                                               w.index(1) + " : index");
    w.open("scf.if " + hasPrev);
    emitProducerW1(
        w.def("w1_step", "arith.subi " + i + ", " + w.index(1) + " : index"));
    w.close();
    w.close();
    emitProducerW1(w.index(p.t1 - 1));
  }

  int64_t hiddenGLoadStep(int64_t ll) const {
    return monarchHiddenGLoadStep(p.hiddenChunks, p.stages1, ll);
  }

  /// Producer: step `step`'s w1 tile once its half of the slot is free.
  void emitProducerW1(const std::string &step) {
    emitWaitEmpty(addc(remc(step, p.stages1, "w1_slot"), p.stages1, "w1_empty"),
                  divc(step, p.stages1, "round"));
    emitLoadHiddenW1(step);
  }

  /// Producer: waits until the consumers released round `round` - 1 of
  /// empty barrier `bar` (round 0: a fresh barrier's phase "before" counts
  /// as complete, so that wait returns at once).
  void emitWaitEmpty(const std::string &bar, const std::string &round) {
    std::string odd = w.def("round_odd", "arith.andi " + round + ", " +
                                             w.index(1) + " : index");
    std::string parity = w.def("free_parity", "arith.cmpi eq, " + odd + ", " +
                                                  w.index(0) + " : index");
    w.line("nvgpu.mbarrier.try_wait.parity " + empty + "[" + bar + "], " +
           parity + ", " + w.index(kMbarrierSpinTicks) + " : " + t.barsEmpty);
  }

  /// The hidden kernel's steps for this warpgroup's rows (see
  /// emitHiddenToGlobal), then its h' stores.
  void emitHiddenSteps() {
    // Named barrier of this warpgroup's 128 threads (0 is the CTA's).
    hiddenBarrierId =
        w.def("wg_bar", "arith.index_cast " + addc(warpgroup, 1, "wg_bar_idx") +
                            " : index to i32");
    if (p.hiddenPingPong) {
      // Warpgroup 0 goes first: warpgroup 1 hands it the first turn.
      turnMine = w.def("turn_mine", "arith.index_cast " +
                                        addc(wgUniform, kFirstTurnBarrier) +
                                        " : index to i32");
      turnOther =
          w.def("turn_other",
                "arith.index_cast " +
                    w.def("turn_other_idx", "arith.subi " +
                                                w.index(kFirstTurnBarrier + 1) +
                                                ", " + wgUniform + " : index") +
                    " : index to i32");
      emitTurnEndIn(1);
    }

    HiddenStepHead first = emitHiddenStepHead(w.index(0));
    emitTurnBegin();
    std::string firstScores = emitHiddenScores(first, /*wait=*/true);
    emitTurnEnd();
    emitHiddenStepTail(first, firstScores);

    auto [accOut, st, accIn] =
        openAccumulatorLoop("acc_h", "st", 1, w.index(p.t1), t.acc1);
    HiddenStepHead head = emitHiddenStepHead(st);
    // (A structured binding cannot be captured before C++20.)
    auto previous = [&, step = st] {
      return w.def("st_prev",
                   "arith.subi " + step + ", " + w.index(1) + " : index");
    };
    // Ping-pong: no warpgroup waits for data while it holds the turn.
    std::string prev;
    if (p.hiddenPingPong) {
      prev = previous();
      emitWaitHiddenW1(prev);
    }
    emitTurnBegin();
    std::string scoresInFlight = emitHiddenScores(head, /*wait=*/false);
    if (!p.hiddenPingPong) {
      prev = previous();
      emitWaitHiddenW1(prev);
    }
    std::string acc = emitHiddenAccumulate(accIn, prev, /*depth=*/2);
    emitTurnEnd();
    // The acc groups (kWgmmaK steps of one k-tile) may stay in flight.
    std::string scores = detail::wgmmaWaitForResults(
        w, scoresInFlight, kHiddenScores, kTileK / kWgmmaK);
    emitHiddenStepTail(head, scores);
    w.line("scf.yield " + acc + " : " + t.acc1);
    w.close();
    emitWaitHiddenW1(w.index(p.t1 - 1));
    emitTurnBegin();
    std::string last =
        emitHiddenAccumulate(accOut, w.index(p.t1 - 1), /*depth=*/1);
    // The last turn of warpgroup 1 has no taker.
    if (p.hiddenPingPong)
      emitTurnEndIn(0);
    w.line("nvvm.wgmma.wait.group.sync.aligned 0");
    // The G buffers are free after the last step's S.
    emitHPrimeStores(last, gOff, p.gBytes);
  }

  /// Ping-pong: wait for this warpgroup's turn to issue wgmmas / hand the
  /// turn to the other warpgroup (both consumer warpgroups count).
  void emitTurnBegin() {
    if (p.hiddenPingPong)
      w.line("nvvm.barrier id = " + turnMine +
             " number_of_threads = " + w.i32(2 * kThreads));
  }
  void emitTurnEnd() {
    if (p.hiddenPingPong)
      w.line("nvvm.barrier.arrive id = " + turnOther +
             " number_of_threads = " + w.i32(2 * kThreads));
  }
  /// emitTurnEnd in warpgroup `wg` only.
  void emitTurnEndIn(int64_t wg) {
    std::string is = w.def("is_wg", "arith.cmpi eq, " + wgUniform + ", " +
                                        w.index(wg) + " : index");
    w.open("scf.if " + is);
    emitTurnEnd();
    w.close();
  }

  /// What a hidden step's code shares between its S and its tail.
  struct HiddenStepHead {
    std::string st, ll, c, gBuf, slotBase;
    std::vector<std::string> biasPairs, colsumPairs;
  };

  /// Step `st`'s indices, its chunk's bias (16-bit) and colsum pairs
  /// (stored blocked like the up projection's output, column ll*s + ss;
  /// loaded before the waits), then the waits for G[ll] (first chunk of
  /// ll) and for the step's w2 tiles.
  HiddenStepHead emitHiddenStepHead(const std::string &st) {
    const MonarchSpec &u = p.up;
    HiddenStepHead h;
    h.st = st;
    h.ll = divc(st, p.hiddenChunks, "ll");
    h.c = remc(st, p.hiddenChunks, "chunk");
    std::string base = add(
        add(add(mulc(h.ll, u.s), mulc(kkFixed, s.p / u.l)), mulc(h.c, kTileK)),
        colPair, "bias_base");
    std::string elemPair = "vector<2x" + t.elem + ">";
    std::string biasType = "memref<" + str(u.l * u.s) + "x" + t.elem + ">";
    std::string colsumType = "memref<" + str(u.l * u.s) + "xf32>";
    for (int64_t jg = 0; jg < kTileK / 8; ++jg) {
      std::string at = addc(base, 8 * jg, "bias_i");
      h.biasPairs.push_back(w.def("bias_raw", "vector.load %bias[" + at +
                                                  "] {alignment = 4 : i64} : " +
                                                  biasType + ", " + elemPair));
      if (u.layerNormInput)
        h.colsumPairs.push_back(
            w.def("colsum_pair", "vector.load %colsum[" + at +
                                     "] {alignment = 8 : i64} : " + colsumType +
                                     ", vector<2xf32>"));
    }
    std::string firstChunk = w.def("ll_first", "arith.cmpi eq, " + h.c + ", " +
                                                   w.index(0) + " : index");
    h.gBuf = remc(h.ll, 2, "g_buf");
    w.open("scf.if " + firstChunk);
    w.line("nvgpu.mbarrier.try_wait.parity " + bars2 + "[" + h.gBuf + "], " +
           parityOf(h.ll, 2) + ", " + w.index(kMbarrierSpinTicks) + " : " +
           t.bars2);
    w.close();
    std::string slot = remc(st, p.stages1, "slot");
    std::string parity = parityOf(st, p.stages1);
    w.line("nvgpu.mbarrier.try_wait.parity " + bars1 + "[" + slot + "], " +
           parity + ", " + w.index(kMbarrierSpinTicks) + " : " + t.bars1);
    h.slotBase = add(ring1, mulc(slot, p.slot1), "slot_base");
    return h;
  }

  /// acc += H(st) . w1(st)^T: waits for step st's w1 tile and issues the
  /// wgmmas reading this warpgroup's H[st % 2], one group per k16 step
  /// that waits for all but `depth` k-tiles of groups (in the loop 2:
  /// never blocks; after it 1, as ptxas wants groups counted before the
  /// final wait 0: with 2 there it reported C7514, reads of in-flight
  /// accumulators, for the loop's tied S wait).
  std::string emitHiddenAccumulate(const std::string &acc,
                                   const std::string &st, int64_t depth) {
    std::string slot = remc(st, p.stages1, "w1_slot");
    std::string slotBase = add(ring1, mulc(slot, p.slot1), "w1_slot_base");
    return emitTileMma(acc, add(hBufferBase(st), wgBytes, "h_base"),
                       addc(slotBase, p.kt2 * kBlockBytes, "w1_base"), t.w1Step,
                       t.descW1, "%tma_w1", t.tmaW1, t.acc1, depth);
  }

  /// Waits for step st's w1 tile (before acc += H(st) . w1(st)^T).
  void emitWaitHiddenW1(const std::string &st) {
    std::string slot = remc(st, p.stages1, "w1_slot");
    w.line("nvgpu.mbarrier.try_wait.parity " + bars1 + "[" +
           addc(slot, p.stages1, "w1_bar") + "], " + parityOf(st, p.stages1) +
           ", " + w.index(kMbarrierSpinTicks) + " : " + t.bars1);
  }

  /// Byte offset of H[st % 2] (all warpgroups' 64 x 64 tiles).
  std::string hBufferBase(const std::string &st) {
    return add(
        hOff,
        mulc(remc(st, 2, "h_buf"), p.warpgroups * kBlockBytes, "h_buf_off"),
        "h_buf_base");
  }

  /// After step st's S (`scores`, retired): what step st freed (its w2
  /// tiles, the w1 tile of step st-2, G[ll] after its last chunk) goes back
  /// -- lockstep: the CTA barrier and the leader's refills; warp-
  /// specialised: this warp's empty-barrier arrivals -- then H[st % 2] =
  /// GELU(...) in the 128-byte swizzled layout of a 64 x 64 wgmma A tile
  /// (column 8*jg + colPair of row A (+8) at chunk jg ^ (row % 8)), the
  /// proxy fence and this warpgroup's barrier (its wgmmas read all of its
  /// H). Warp-specialised, a barrier of this warpgroup before the GELU
  /// replaces the CTA barrier's guarantee that acc(st-2) has retired in
  /// every warp before H[st % 2] is overwritten (PTX promises each warp's
  /// wait for its own wgmma groups only).
  void emitHiddenStepTail(const HiddenStepHead &h, const std::string &scores) {
    if (p.hiddenProducer) {
      emitHiddenRelease(h);
      // Every warp of this warpgroup has retired acc(st-2), which read
      // H[st % 2]: the CTA barrier used to say so.
      w.line("nvvm.barrier id = " + hiddenBarrierId +
             " number_of_threads = " + w.i32(kThreads));
    } else {
      emitHiddenRefills(h);
    }
    emitHiddenH(h, scores);
  }

  /// Warp-specialised: this warp's arrivals on the empty barriers of what
  /// step st's S wait retired in it -- the w2 tiles of step st, the w1 tile
  /// of step st - 2 and (last chunk of ll) G[ll].
  void emitHiddenRelease(const HiddenStepHead &h) {
    auto arrive = [&](const std::string &bar) {
      w.def("rel_token", "nvgpu.mbarrier.arrive " + empty + "[" + bar + "] : " +
                             t.barsEmpty + " -> !nvgpu.mbarrier.token");
    };
    w.open("scf.if " + isWarpLeader);
    arrive(remc(h.st, p.stages1, "rel_w2"));
    std::string hasW1 = w.def("rel_has_w1", "arith.cmpi uge, " + h.st + ", " +
                                                w.index(2) + " : index");
    w.open("scf.if " + hasW1);
    arrive(addc(remc(w.def("rel_w1_step", "arith.subi " + h.st + ", " +
                                              w.index(2) + " : index"),
                     p.stages1, "rel_w1"),
                p.stages1, "rel_w1"));
    w.close();
    std::string lastChunk =
        w.def("ll_last", "arith.cmpi eq, " + h.c + ", " +
                             w.index(p.hiddenChunks - 1) + " : index");
    w.open("scf.if " + lastChunk);
    arrive(addc(remc(h.ll, 2, "rel_g"), 2 * p.stages1, "rel_g"));
    w.close();
    w.close();
  }

  /// Lockstep: the CTA barrier after which the leader refills what step st
  /// freed (see emitHiddenToGlobal).
  void emitHiddenRefills(const HiddenStepHead &h) {
    const MonarchSpec &u = p.up;
    w.line("gpu.barrier");
    std::string nextW2 = addc(h.st, p.stages1, "next_w2");
    w.open("scf.if " + leaderLoads(nextW2, p.t1));
    emitLoadHiddenW2(nextW2);
    w.close();
    if (p.t1 > p.stages1) {
      std::string nextW1 = addc(h.st, p.stages1 - 2, "next_w1");
      std::string hasFree = w.def("w1_free", "arith.cmpi uge, " + h.st + ", " +
                                                 w.index(2) + " : index");
      w.open("scf.if " + leaderLoads(nextW1, p.t1, hasFree));
      emitLoadHiddenW1(nextW1);
      w.close();
    }
    std::string lastChunk =
        w.def("ll_last", "arith.cmpi eq, " + h.c + ", " +
                             w.index(p.hiddenChunks - 1) + " : index");
    std::string nextG = addc(h.ll, 2, "next_g");
    w.open("scf.if " + leaderLoads(nextG, u.l, lastChunk));
    emitLoadHiddenG(nextG);
    w.close();
  }

  /// H[st % 2] = GELU(S(st) ...) in the 128-byte swizzled layout of a
  /// 64 x 64 wgmma A tile, then the proxy fence and this warpgroup's
  /// barrier (its wgmmas read all of its H).
  void emitHiddenH(const HiddenStepHead &h, const std::string &scores) {
    const MonarchSpec &u = p.up;
    std::string hFlat = "memref<" + str(p.warpgroups * kTileM * kTileK) + "x" +
                        t.elem + ", " + t.smemSpace + ">";
    std::string hView = view("h_view", hBufferBase(h.st), hFlat);
    // rowA counts the CTA's rows (64 per warpgroup): row rowA of the H
    // tiles is row rowA % 64 of this warpgroup's.
    std::string hRowPart = mulc(rowA, kTileK, "h_row_part");
    std::string flat = detail::wgmmaResultStruct(kHiddenScores);
    std::string elemPair = "vector<2x" + t.elem + ">";
    for (int64_t jg = 0; jg < kTileK / 8; ++jg) {
      std::string chunk = jg == 0
                              ? swz
                              : w.def("h_chunk", "arith.xori " + swz + ", " +
                                                     w.index(jg) + " : index");
      std::string idx =
          add(add(hRowPart, mulc(chunk, 8), "h_idx"), colPair, "h_idx");
      std::string bias =
          w.def("bias_f32", "arith.extf " + h.biasPairs[jg] + " : " + elemPair +
                                " to vector<2xf32>");
      for (int64_t half = 0; half < 2; ++half) {
        std::string pair =
            packPair(scores, flat, 4 * jg + 2 * half, bias, u.gelu,
                     u.layerNormInput ? h.colsumPairs[jg] : std::string(),
                     rowRstd[half], rowShift[half]);
        w.line("vector.store " + pair + ", " + hView + "[" +
               addc(idx, half * 8 * kTileK, "h_at") +
               "] {alignment = 4 : i64} : " + hFlat + ", " + t.pair);
      }
    }
    // wgmma (async proxy) reads H, which generic stores wrote.
    w.line("nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = "
           "#nvvm.shared_space<cta>}");
    w.line("nvvm.barrier id = " + hiddenBarrierId +
           " number_of_threads = " + w.i32(kThreads));
  }

  /// i1: this thread is the leader, `index` < `bound` and (if given)
  /// `also`: the condition of a leader's refill.
  std::string leaderLoads(const std::string &index, int64_t bound,
                          const std::string &also = "") {
    std::string ok = w.def("in_range", "arith.cmpi ult, " + index + ", " +
                                           w.index(bound) + " : index");
    if (!also.empty())
      ok = w.def("load_ok", "arith.andi " + also + ", " + ok + " : i1");
    return w.def("do_load", "arith.andi " + isLeader + ", " + ok + " : i1");
  }

  /// S = A . B^T for this warpgroup as one inline-asm block: A = the G
  /// k-tiles of step `h`'s G buffer (rows x 64 each, this warpgroup's 64
  /// rows), B = the w2 tiles of its slot (64 x 64 each); r_up/16 k16
  /// wgmmas m64n64, the first without accumulate, then commit and (`wait`)
  /// wait 0. Descriptors as nvgpu builds them, cast to i64 (+2 per k16
  /// step: 32 bytes inside the swizzled 128-byte rows).
  std::string emitHiddenScores(const HiddenStepHead &h, bool wait) {
    std::string aBase =
        add(add(gOff, mulc(h.gBuf, p.gTileBytes), "g_base"), wgBytes, "a_base");
    const std::string &bBase = h.slotBase;
    std::vector<std::string> aDesc, bDesc;
    for (int64_t kt = 0; kt < p.kt2; ++kt) {
      auto descriptor = [&](const std::string &byteOff,
                            const std::string &stepType,
                            const std::string &descType) {
        std::string v = view("s_step", byteOff, stepType);
        std::string d = w.def("s_desc", "nvgpu.warpgroup.generate.descriptor " +
                                            v + ", " + "%tma_x : " + stepType +
                                            ", " + t.tmaX + " -> " + descType);
        return w.def("s_desc_i64", "builtin.unrealized_conversion_cast " + d +
                                       " : " + descType + " to i64");
      };
      std::string a =
          descriptor(addc(aBase, kt * p.rows * kTileK * kElemBytes, "g_kt"),
                     t.aStep, t.descA);
      std::string b = descriptor(addc(bBase, kt * kBlockBytes, "w2_kt"),
                                 t.w2Step, t.descW2);
      for (int64_t ks = 0; ks < kTileK / kWgmmaK; ++ks) {
        auto step = [&](const std::string &d) {
          return ks == 0 ? d
                         : w.def("s_desc_k", "arith.addi " + d + ", " +
                                                 w.i64(2 * ks) + " : i64");
        };
        aDesc.push_back(step(a));
        bDesc.push_back(step(b));
      }
    }
    return detail::wgmmaSharedOperandsBlock(
        w,
        "wgmma.mma_async.sync.aligned.m64n64k16.f32." + t.elem + "." + t.elem,
        kHiddenScores, aDesc, bDesc, wait);
  }

  /// Leader only: G[ll] = g'[rows, ll*r_up ..] (r_up/64 boxes of rows x 64)
  /// into G buffer ll % 2.
  void emitLoadHiddenG(const std::string &ll) {
    std::string buf = remc(ll, 2, "g_buf");
    std::string base = add(gOff, mulc(buf, p.gTileBytes), "g_dst_base");
    w.line("nvgpu.mbarrier.arrive.expect_tx " + bars2 + "[" + buf + "], " +
           w.index(p.gTileBytes) + " : " + t.bars2);
    std::string col0 = mulc(ll, p.up.r, "g_col");
    for (int64_t kt = 0; kt < p.kt2; ++kt) {
      std::string dst =
          view("g_dst", addc(base, kt * p.rows * kTileK * kElemBytes), t.xSlot);
      w.line("nvgpu.tma.async.load %tma_x[" + addc(col0, kt * kTileK, "g_col") +
             ", " + row0 + "], " + bars2 + "[" + buf + "] to " + dst + " : " +
             t.tmaX + ", " + t.bars2 + " -> " + t.xSlot);
    }
  }

  /// Leader only: hidden step `step` = ll*chunks + c's w2_up tiles, rows
  /// ll*s + kk*(p/l_up) + c*64 (r_up/64 tiles of 64 x 64), into the w2 half
  /// of its ring slot (barrier slot).
  void emitLoadHiddenW2(const std::string &step) {
    HiddenStep h = decodeHiddenStep(step);
    w.line("nvgpu.mbarrier.arrive.expect_tx " + bars1 + "[" + h.slot + "], " +
           w.index(p.kt2 * kBlockBytes) + " : " + t.bars1);
    std::string row = add(add(mulc(h.ll, p.up.s), mulc(kkFixed, h.perBlock)),
                          h.col, "w2_row");
    for (int64_t kt = 0; kt < p.kt2; ++kt) {
      std::string dst =
          view("w2_dst", addc(h.slotBase, kt * kBlockBytes), t.w2Slot);
      w.line("nvgpu.tma.async.load %tma_w2[" + w.index(kt * kTileK) + ", " +
             row + "], " + bars1 + "[" + h.slot + "] to " + dst + " : " +
             t.tmaW2 + ", " + t.bars1 + " -> " + t.w2Slot);
    }
  }

  /// Hidden step `step` = ll*chunks + c: its ring slot and the slot's
  /// byte offset, ll, and c*64 (the chunk's first column of the p/l_up
  /// hidden columns of (kk, ll)).
  struct HiddenStep {
    std::string slot, slotBase, ll, col;
    int64_t perBlock;
  };
  HiddenStep decodeHiddenStep(const std::string &step) {
    HiddenStep h;
    h.perBlock = s.p / p.up.l;
    h.slot = remc(step, p.stages1, "slot");
    h.slotBase = add(ring1, mulc(h.slot, p.slot1), "slot_base");
    h.ll = divc(step, p.hiddenChunks, "ll");
    h.col = mulc(remc(step, p.hiddenChunks, "chunk"), kTileK, "c_col");
    return h;
  }

  /// Leader only: hidden step `step`'s w1_down' tile, rows kk*q .. (q x 64,
  /// K columns ll*(p/l_up) + c*64 ..), into the w1 half of its ring slot
  /// (barrier stages + slot).
  void emitLoadHiddenW1(const std::string &step) {
    HiddenStep h = decodeHiddenStep(step);
    std::string bar = addc(h.slot, p.stages1, "w1_bar");
    w.line("nvgpu.mbarrier.arrive.expect_tx " + bars1 + "[" + bar + "], " +
           w.index(p.n1 * kTileK * kElemBytes) + " : " + t.bars1);
    std::string dst =
        view("w1_dst", addc(h.slotBase, p.kt2 * kBlockBytes), t.w1Slot);
    w.line("nvgpu.tma.async.load %tma_w1[" +
           add(mulc(h.ll, h.perBlock), h.col, "w1_col") + ", " +
           mulc(kkFixed, s.q) + "], " + bars1 + "[" + bar + "] to " + dst +
           " : " + t.tmaW1 + ", " + t.bars1 + " -> " + t.w1Slot);
  }

  /// The global rows of this thread's two fragment rows (A and A + 8) and
  /// whether each is below m (stores are masked with it).
  void emitFragmentRows(const std::string &hint, std::string (&rows)[2],
                        std::string (&valid)[2]) {
    rows[0] = add(row0, rowA, hint);
    rows[1] = add(row0, addc(rowA, 8, "frag_row_b"), hint);
    for (int64_t half = 0; half < 2; ++half)
      valid[half] = w.def("row_ok", "arith.cmpi ult, " + rows[half] + ", " +
                                        w.index(s.m) + " : index");
  }

  /// Split factors, factor 2: the CTA's G (64 rows x l*r of h', in blocks
  /// of 64 columns: exactly the swizzled tiles TMA writes), group ll's r
  /// columns on barrier ll of ring 1, so that the first group's wgmmas
  /// start when its quarter of G is there (one barrier for all of G kept
  /// the whole 96 KB load of a GPT-2 CTA in front of every wgmma). Ring 2's
  /// preloaded w2 tiles are issued between the parts, each after the part
  /// of G it is multiplied with: chunk 0 of group ll is tiles ll*kt2 ...
  void emitLoadGAndPreload2() {
    w.line("// G from h' (factor 1's kernel), one barrier per group ll");
    int64_t preload = preload2Count();
    if (p.persistent) {
      // Persistent: the w2 tiles of all this CTA's row tiles,
      // ceil((rowTiles - block) / grid) >= 1 of them.
      ctaBlock = w.def("block", "gpu.block_id x");
      std::string left = w.def(
          "tiles_left", "arith.subi " + w.index(p.rowTiles + p.gridX - 1) +
                            ", " + ctaBlock + " : index");
      ctaItems = divc(left, p.gridX, "cta_tiles");
      tilesTotal = mulc(ctaItems, p.t2, "w2_tiles");
    }
    w.open("scf.if " + isLeader);
    for (int64_t ll = 0; ll < s.l; ++ll) {
      emitLoadGPart(ll, row0);
      for (int64_t i = ll * p.kt2; i < std::min((ll + 1) * p.kt2, preload); ++i)
        emitLoad2(w.index(i));
    }
    for (int64_t i = s.l * p.kt2; i < preload; ++i) {
      // Persistent: tiles past the first row tile's exist only if the CTA
      // has another.
      if (i >= p.t2) {
        w.open("scf.if " +
               w.def("preload_ok", "arith.cmpi ult, " + w.index(i) + ", " +
                                       tilesTotal + " : index"));
        emitLoad2(w.index(i));
        w.close();
      } else {
        emitLoad2(w.index(i));
      }
    }
    w.close();
  }

  /// Leader only: group ll's part of G (rows from `rowStart`) on barrier ll.
  void emitLoadGPart(int64_t ll, const std::string &rowStart) {
    w.line("nvgpu.mbarrier.arrive.expect_tx " + bars1 + "[" + w.index(ll) +
           "], " + w.index(p.gBytes / s.l) + " : " + t.bars1);
    for (int64_t blk = ll * p.kt2; blk < (ll + 1) * p.kt2; ++blk) {
      std::string dst =
          view("g_dst", addc(gOff, blk * kBlockBytes, "g_dst_off"), t.xSlot);
      w.line("nvgpu.tma.async.load %tma_x[" + w.index(blk * kTileK) + ", " +
             rowStart + "], " + bars1 + "[" + w.index(ll) + "] to " + dst +
             " : " + t.tmaX + ", " + t.bars1 + " -> " + t.xSlot);
    }
  }

  /// Split factors, factor 2: every thread waits for group ll's part of G
  /// before its first wgmma reads it (later chunks find the phase done; a
  /// persistent CTA's row tile i waits for phase i % 2).
  void emitWaitG(const std::string &ll) {
    if (p.stage != Stage::Factor2)
      return;
    std::string phase =
        p.persistent ? gParity : w.def("g_parity", "arith.constant false");
    w.line("nvgpu.mbarrier.try_wait.parity " + bars1 + "[" + ll + "], " +
           phase + ", " + w.index(kMbarrierSpinTicks) + " : " + t.bars1);
  }

  /// Persistent factor 2, leader: group `part`'s G of the next row tile,
  /// once this tile's last chunk is done with it (`when`, i1).
  void emitRefillGPart(int64_t part, const std::string &when) {
    std::string go = w.def("g_refill", "arith.andi " + when + ", " +
                                           nextTileLeader + " : i1");
    w.open("scf.if " + go);
    emitLoadGPart(part, nextRow0);
    w.close();
  }

  /// Folded LayerNorm: the statistics partials of this thread's two
  /// fragment rows from %stats (written by the row-statistics kernel or the
  /// producer of x); rows past m read row m-1 (never stored).
  void emitRowStatisticsLoads(const MonarchSpec &ln) {
    std::string type = detail::rowPartialsType(ln.m, ln.layerNormPartials);
    for (int64_t half = 0; half < 2; ++half) {
      std::string row =
          add(row0, half ? addc(rowA, 8, "frag_row_b") : rowA, "st_row");
      row = w.def("st_row",
                  "arith.minui " + row + ", " + w.index(ln.m - 1) + " : index");
      rowParts[half] =
          w.def("row_parts",
                "vector.load %stats[" + row + ", " + w.index(0) + ", " +
                    w.index(0) + "] {alignment = 8 : i64} : " + type +
                    ", vector<" + str(2 * ln.layerNormPartials) + "xf32>");
    }
  }

  /// Folded LayerNorm: the loaded partials -> (rstd, shift) per fragment
  /// row, after the leader has issued the first TMA loads (the arithmetic
  /// waits for the loads; here that wait overlaps the TMA latency).
  void emitRowStatisticsMerge(const MonarchSpec &ln) {
    for (int64_t half = 0; half < 2; ++half)
      std::tie(rowRstd[half], rowShift[half]) = detail::mergeRowPartials(
          w, rowParts[half], ln.layerNormPartials, ln.layerNormEps);
  }

  /// gelu_tanh(x) = h + h*tanh(u), h = x/2, u = sqrt(2/pi)(x + 0.044715 x^3):
  /// one tanh.approx (MUFU) and five FMA-pipe ops per value; the result is
  /// rounded to 16 bits, below tanh.approx's 2^-11 relative error.
  std::string emitGeluTanh(const std::string &x) {
    const double sqrt2OverPi = 0.7978845608028654;
    const double cubic = 0.044715;
    std::string fm = " fastmath<contract> : f32";
    std::string x2 = w.def("x2", "arith.mulf " + x + ", " + x + fm);
    std::string poly =
        w.def("poly", "math.fma " + x2 + ", " + w.f32(sqrt2OverPi * cubic) +
                          ", " + w.f32(sqrt2OverPi) + fm);
    std::string u = w.def("tanh_arg", "arith.mulf " + x + ", " + poly + fm);
    std::string th =
        w.def("tanh", "llvm.inline_asm asm_dialect = att \"tanh.approx.f32 $0, "
                      "$1;\", \"=f,f\" " +
                          u + " : (f32) -> f32");
    std::string h = w.def("half_x", "arith.mulf " + x + ", " + w.f32(0.5) + fm);
    return w.def("gelu", "math.fma " + h + ", " + th + ", " + h + fm);
  }

  /// Fragment values i and i+1 (neighbouring columns) as one vector<2x16b>.
  /// With `colsum` (a vector<2xf32> of the two columns): the folded
  /// LayerNorm's correction v * rstd + shift * colsum before the bias.
  std::string packPair(const std::string &frag, const std::string &type,
                       int64_t i, const std::string &bias = "",
                       bool gelu = false, const std::string &colsum = "",
                       const std::string &rstd = "",
                       const std::string &shift = "") {
    std::string v[2];
    for (int64_t e = 0; e < 2; ++e) {
      // nvgpu's accumulator struct nests the values; an inline-asm wgmma
      // block returns them flat.
      std::string at = type.rfind("!llvm.struct<(struct<", 0) == 0
                           ? "[0, " + str(i + e) + "]"
                           : "[" + str(i + e) + "]";
      v[e] = w.def("y", "llvm.extractvalue " + frag + at + " : " + type);
      if (!colsum.empty()) {
        std::string cs =
            w.def("colsum_e", "vector.extract " + colsum + "[" + str(e) +
                                  "] : f32 from vector<2xf32>");
        std::string corr =
            w.def("corr", "arith.mulf " + shift + ", " + cs + " : f32");
        v[e] = w.def("y",
                     "math.fma " + v[e] + ", " + rstd + ", " + corr + " : f32");
      }
      if (!bias.empty()) {
        std::string b =
            w.def("bias_e", "vector.extract " + bias + "[" + str(e) +
                                "] : f32 from vector<2xf32>");
        v[e] = w.def("y", "arith.addf " + v[e] + ", " + b + " : f32");
      }
      if (gelu)
        v[e] = emitGeluTanh(v[e]);
    }
    std::string f32s = w.def("pair", "vector.from_elements " + v[0] + ", " +
                                         v[1] + " : vector<2xf32>");
    return w.def("pair_t",
                 "arith.truncf " + f32s + " : vector<2xf32> to " + t.pair);
  }

  /// The k loop of factor 2 for chunk `c` and group `ll`: G[ll] (64 x r)
  /// times w2[ll, c*S.., :]^T streamed through ring 2. Returns the
  /// accumulator (wgmmas possibly still in flight).
  /// Persistent: `tile` counts on across row tiles (tileBase), and at the
  /// group's first k-tile -- whose wait and barrier retire group
  /// `refillPart`'s wgmmas in both warpgroups -- the leader reloads that
  /// group's part of G for the next row tile in the last chunk.
  std::string emitFactor2Tiles(const std::string &c, const std::string &ll,
                               int64_t depth, int64_t refillPart = -1) {
    emitWaitG(ll);
    auto [accOut, kt, accIn] =
        openAccumulatorLoop("acc_y", "kt", 0, w.index(p.kt2), t.acc2);
    std::string cl = p.blocked ? c : add(mulc(c, s.l), ll, "cl");
    std::string tile = add(mulc(cl, p.kt2), kt, "tile");
    if (p.persistent)
      tile = add(tileBase, tile, "tile");
    std::string slot = remc(tile, p.stages2, "slot");
    w.line("nvgpu.mbarrier.try_wait.parity " + bars2 + "[" + slot + "], " +
           parityOf(tile, p.stages2) + ", " + w.index(kMbarrierSpinTicks) +
           " : " + t.bars2);
    std::string bBase = add(add(ring2, mulc(slot, p.slot2)), bOff2, "b_base");
    std::string blk = p.blocked ? kt : add(mulc(ll, p.kt2), kt, "g_blk");
    std::string aBase = add(add(gOff, mulc(blk, p.warpgroups * kBlockBytes)),
                            wgBytes, "a_base");
    std::string acc = emitTileMma(accIn, aBase, bBase, t.w2Step, t.descW2,
                                  "%tma_w2", t.tmaW2, t.acc2, depth);
    w.line("gpu.barrier");
    std::string next = addc(tile, p.stages2 - depth, "next");
    std::string inRange =
        w.def("in_range", "arith.cmpi ult, " + next + ", " +
                              (p.persistent ? tilesTotal : w.index(p.t2)) +
                              " : index");
    std::string doLoad =
        w.def("do_load", "arith.andi " + isLeader + ", " + inRange + " : i1");
    w.open("scf.if " + doLoad);
    emitLoad2(next);
    w.close();
    if (refillPart >= 0) {
      std::string first = w.def("kt_first", "arith.cmpi eq, " + kt + ", " +
                                                w.index(0) + " : index");
      emitRefillGPart(refillPart,
                      w.def("refill_now", "arith.andi " + first + ", " +
                                              lastChunk + " : i1"));
    }
    w.line("scf.yield " + acc + " : " + t.acc2);
    w.close();
    return accOut;
  }

  /// Natural output without staging (Plan::directStores): per chunk, the l
  /// groups' accumulators are all live; a thread's columns n, n+1 of every
  /// ll are y columns n*l .. n*l + 2l - 1 -- contiguous -- so each (row,
  /// column pair) is one 4l-byte global store, bias one vector load.
  void emitFactor2Direct(int64_t depth) {
    int64_t width = 2 * s.l;
    std::string vf16 = "vector<" + str(width) + "x" + t.elem + ">";
    std::string vf32 = "vector<" + str(width) + "xf32>";
    std::string align = " {alignment = " + str(width * kElemBytes) + " : i64}";
    std::string rows[2], valid[2];
    emitFragmentRows("y_row", rows, valid);
    std::string c = w.fresh("c");
    // Row statistics: (mean, variance) of rows A and B so far.
    std::string stats = w.fresh("row_st");
    std::vector<std::string> statsIn;
    if (s.rowStatistics) {
      std::string inits;
      for (int64_t i = 0; i < 4; ++i) {
        statsIn.push_back(w.fresh(i % 2 ? "var_in" : "mean_in"));
        inits += (i ? ", " : "") + statsIn.back() + " = " + w.f32(0.0);
      }
      w.open(stats + ":4 = scf.for " + c + " = " + w.index(0) + " to " +
             w.index(p.chunks) + " step " + w.index(1) + " iter_args(" + inits +
             ") -> (f32, f32, f32, f32)");
    } else {
      w.open("scf.for " + c + " = " + w.index(0) + " to " + w.index(p.chunks) +
             " step " + w.index(1));
    }
    // y column of fragment column pair jg: (c*S + 8*jg + colPair)*l.
    std::string colBase = mulc(
        add(add(mulc(c, p.tileS), nCol2), colPair, "pair_col"), s.l, "y_col0");
    std::vector<std::string> bias;
    for (int64_t jg = 0; jg < p.tileSw / 8 && s.bias; ++jg) {
      std::string raw = w.def(
          "bias_raw", "vector.load %bias[" + addc(colBase, 8 * jg * s.l) + "]" +
                          align + " : " + t.globalBias + ", " + vf16);
      bias.push_back(raw); // 16-bit until used: half the registers
    }
    // The residual tile, loaded before the chunk's wgmmas so that its
    // latency hides behind them; rows past m read row m-1 (never stored).
    std::vector<std::string> residual;
    for (int64_t half = 0; half < 2 && s.residual; ++half) {
      std::string clamped =
          w.def("res_row", "arith.minui " + rows[half] + ", " +
                               w.index(s.m - 1) + " : index");
      for (int64_t jg = 0; jg < p.tileSw / 8; ++jg)
        residual.push_back(
            w.def("res", "vector.load %res[" + clamped + ", " +
                             addc(colBase, 8 * jg * s.l, "y_col") + "]" +
                             align + " : " + t.globalY + ", " + vf16));
    }
    if (p.persistent)
      lastChunk = w.def("last_chunk", "arith.cmpi eq, " + c + ", " +
                                          w.index(p.chunks - 1) + " : index");
    std::vector<std::string> frags;
    for (int64_t ll = 0; ll < s.l; ++ll) {
      std::string acc =
          emitFactor2Tiles(c, w.index(ll), depth, p.persistent ? ll - 1 : -1);
      frags.push_back(acc);
    }
    w.line("nvvm.wgmma.wait.group.sync.aligned 0");
    if (p.persistent) {
      // Both warpgroups' last wgmmas (group l-1) retired: its part is free.
      w.line("gpu.barrier");
      emitRefillGPart(s.l - 1, lastChunk);
    }
    for (std::string &f : frags)
      f = w.def("frag_y", "builtin.unrealized_conversion_cast " + f + " : " +
                              t.acc2 + " to " + t.acc2Struct);
    std::vector<std::string> stored[2]; // rounded values, for the statistics
    for (int64_t jg = 0; jg < p.tileSw / 8; ++jg) {
      std::string col = addc(colBase, 8 * jg * s.l, "y_col");
      std::string biasF32;
      if (s.bias)
        biasF32 = w.def("bias_f32", "arith.extf " + bias[jg] + " : " + vf16 +
                                        " to " + vf32);
      for (int64_t half = 0; half < 2; ++half) {
        std::vector<std::string> vals;
        for (int64_t e = 0; e < 2; ++e)
          for (int64_t ll = 0; ll < s.l; ++ll) {
            std::string v = w.def("y", "llvm.extractvalue " + frags[ll] +
                                           "[0, " + str(4 * jg + 2 * half + e) +
                                           "] : " + t.acc2Struct);
            if (s.bias) {
              std::string b = w.def("bias_e", "vector.extract " + biasF32 +
                                                  "[" + str(e * s.l + ll) +
                                                  "] : f32 from " + vf32);
              v = w.def("y", "arith.addf " + v + ", " + b + " : f32");
            }
            if (s.gelu)
              v = emitGeluTanh(v);
            vals.push_back(v);
          }
        std::string list;
        for (const std::string &v : vals)
          list += (list.empty() ? "" : ", ") + v;
        std::string packed =
            w.def("out", "vector.from_elements " + list + " : " + vf32);
        if (s.residual) {
          // The residual add after everything else, in f32 (one rounding).
          std::string res = w.def(
              "res_f32", "arith.extf " + residual[half * (p.tileSw / 8) + jg] +
                             " : " + vf16 + " to " + vf32);
          packed =
              w.def("out", "arith.addf " + packed + ", " + res + " : " + vf32);
        }
        packed = w.def("out_t",
                       "arith.truncf " + packed + " : " + vf32 + " to " + vf16);
        stored[half].push_back(packed);
        w.open("scf.if " + valid[half]);
        w.line("vector.store " + packed + ", %y[" + rows[half] + ", " + col +
               "]" + align + " : " + t.globalY + ", " + vf16);
        w.close();
      }
    }
    if (!s.rowStatistics) {
      w.close(); // c
      return;
    }
    // Chan's update with equal chunks: after c chunks (mean_a, var_a), the
    // chunk's (mean_b, var_b): mean = mean_a + d / (c + 1), var = var_a +
    // (var_b - var_a) / (c + 1) + d^2 c / (c + 1)^2, d = mean_b - mean_a.
    std::string cf = w.def(
        "c_f", "arith.uitofp " +
                   w.def("c_i", "arith.index_cast " + c + " : index to i32") +
                   " : i32 to f32");
    std::string inv =
        w.def("c_inv", "arith.divf " + w.f32(1.0) + ", " +
                           w.def("c_next", "arith.addf " + cf + ", " +
                                               w.f32(1.0) + " : f32") +
                           " : f32");
    std::string yields;
    for (int64_t half = 0; half < 2; ++half) {
      std::vector<std::string> exact;
      for (const std::string &v : stored[half])
        exact.push_back(
            w.def("st_v", "arith.extf " + v + " : " + vf16 + " to " + vf32));
      auto [meanB, varB] =
          detail::sliceMeanVariance(w, exact, vf32, {1, 2}, p.tileSw * s.l);
      auto f = [&](const std::string &op, const std::string &a,
                   const std::string &b) {
        return w.def("chan", "arith." + op + " " + a + ", " + b + " : f32");
      };
      const std::string &meanA = statsIn[2 * half];
      const std::string &varA = statsIn[2 * half + 1];
      std::string d = f("subf", meanB, meanA);
      std::string mean = f("addf", meanA, f("mulf", d, inv));
      std::string var =
          f("addf", f("addf", varA, f("mulf", f("subf", varB, varA), inv)),
            f("mulf", f("mulf", d, d), f("mulf", cf, f("mulf", inv, inv))));
      yields += (half ? ", " : "") + mean + ", " + var;
    }
    w.line("scf.yield " + yields + " : f32, f32, f32, f32");
    w.close(); // c
    // Lane 0 of each quad writes its warpgroup's partial of rows A and B.
    std::string first = w.def("st_first", "arith.cmpi eq, " + laneCol + ", " +
                                              w.index(0) + " : index");
    for (int64_t half = 0; half < 2; ++half) {
      std::string pair =
          w.def("st_pair", "vector.from_elements " + stats + "#" +
                               str(2 * half) + ", " + stats + "#" +
                               str(2 * half + 1) + " : vector<2xf32>");
      std::string write = w.def("st_write", "arith.andi " + first + ", " +
                                                valid[half] + " : i1");
      w.open("scf.if " + write);
      w.line("vector.store " + pair + ", %stats_out[" + rows[half] + ", " +
             warpgroup + ", " + w.index(0) + "] {alignment = 8 : i64} : " +
             t.globalStatsOut + ", vector<2xf32>");
      w.close();
    }
  }

  /// Split factor 2, persistent (Plan::persistent): this CTA's row tiles
  /// block, block + grid, ...; the first one's G and w2 tiles were loaded
  /// by emitLoadGAndPreload2 with row0.
  void emitFactor2Persistent(int64_t depth) {
    w.line("// Persistent: row tiles block, block + " + str(p.gridX) + ", ...");
    std::string grid = w.index(p.gridX);
    std::string item = w.fresh("item");
    w.open("scf.for " + item + " = " + w.index(0) + " to " + ctaItems +
           " step " + w.index(1));
    std::string rt = add(ctaBlock, mulc(item, p.gridX, "rt_off"), "rt");
    tileBase = mulc(item, p.t2, "tile_base");
    gParity =
        w.def("g_parity", "arith.cmpi ne, " +
                              w.def("item_odd", "arith.andi " + item + ", " +
                                                    w.index(1) + " : index") +
                              ", " + w.index(0) + " : index");
    std::string nextRt = add(rt, grid, "next_rt");
    std::string hasNext =
        w.def("has_next", "arith.cmpi ult, " + nextRt + ", " +
                              w.index(p.rowTiles) + " : index");
    nextTileLeader = w.def("next_leader",
                           "arith.andi " + isLeader + ", " + hasNext + " : i1");
    nextRow0 = mulc(nextRt, kTileM, "next_row0");
    std::string savedRow0 = row0;
    row0 = mulc(rt, kTileM, "row0");
    emitFactor2Direct(depth);
    row0 = savedRow0;
    w.close();
  }

  void emitFactor2() {
    int64_t depth = depthFor(p.stages2);
    if (p.directStores) {
      w.line("// Factor 2: per chunk of S outputs, all l groups, stored "
             "straight from registers");
      if (p.stage != Stage::Factor2) { // else preloaded with G
        w.open("scf.if " + isLeader);
        emitPreload2();
        w.close();
      }
      if (p.persistent)
        emitFactor2Persistent(depth);
      else
        emitFactor2Direct(depth);
      return;
    }
    w.line("// Factor 2: per chunk of S outputs and per ll, G[ll] . w2[ll]^T");
    if (!p.blocked && p.stage != Stage::Factor2) { // else preloaded with G
      w.open("scf.if " + isLeader);
      emitPreload2();
      w.close();
    }

    std::string c = w.fresh("c");
    w.open("scf.for " + c + " = " + w.index(0) + " to " + w.index(p.chunks) +
           " step " + w.index(1));
    std::string ll = llFixed;
    if (!p.blocked) {
      ll = w.fresh("ll");
      w.open("scf.for " + ll + " = " + w.index(0) + " to " + w.index(s.l) +
             " step " + w.index(1));
    }
    // TMA store: chunk c writes staging buffer c % 2, which the store of
    // chunk c - 2 may still be reading: the leader waits for that read here
    // and the k loop's barriers publish it before anyone writes the buffer.
    std::string bufferOff;
    if (p.tmaStore) {
      w.open("scf.if " + isLeader);
      w.line("nvvm.cp.async.bulk.wait_group " + str(kStagingBuffers - 1) +
             " {read}");
      w.close();
      bufferOff =
          add(stagingBase,
              mulc(remc(c, kStagingBuffers, "buf"), p.stagingBufferBytes),
              "staging_off");
      stagingView = view("staging", bufferOff, t.staging);
    }
    // Blocked: this chunk's bias pairs (bias stored blocked, so a thread's
    // two columns are neighbours), loaded before the k loop so that their
    // latency hides behind the wgmmas.
    std::vector<std::string> biasPairs, colsumPairs;
    if (p.blocked && s.bias) {
      std::string base =
          add(add(mulc(llFixed, s.s), mulc(c, p.tileS)), colPair, "bias_base");
      for (int64_t jg = 0; jg < p.tileS / 8; ++jg) {
        std::string raw = w.def(
            "bias_raw", "vector.load %bias[" + addc(base, 8 * jg, "bias_i") +
                            "] {alignment = 4 : i64} : " + t.globalBias + ", " +
                            t.pair);
        biasPairs.push_back(
            w.def("bias_f32",
                  "arith.extf " + raw + " : " + t.pair + " to vector<2xf32>"));
        if (s.layerNormInput)
          colsumPairs.push_back(
              w.def("colsum_pair",
                    "vector.load %colsum[" + addc(base, 8 * jg, "colsum_i") +
                        "] {alignment = 8 : i64} : " + t.globalColsum +
                        ", vector<2xf32>"));
      }
    }
    std::string accOut = emitFactor2Tiles(c, ll, depth);

    w.line("nvvm.wgmma.wait.group.sync.aligned 0");
    // Fragment column n (0..S) of this ll is y column (c*S + n)*l + ll, i.e.
    // staging column n*l + ll (blocked: staging column n).
    std::string frag =
        w.def("frag_y", "builtin.unrealized_conversion_cast " + accOut + " : " +
                            t.acc2 + " to " + t.acc2Struct);
    int64_t colScale = p.blocked ? 1 : s.l;
    std::string colT =
        p.blocked ? colPair : add(mulc(colPair, s.l), ll, "st_col");
    std::string biasBase;
    if (s.bias)
      biasBase = add(mulc(c, p.tileS * s.l),
                     p.blocked ? add(mulc(colPair, s.l), ll, "bias_col") : colT,
                     "bias_base");
    std::string rowB = addc(rowA, 8, "frag_row_b");
    // TMA store: column 8*jg + colPair lies in box jg / 8 (rows
    // box*rows ..) at 16-byte chunk (jg % 8) ^ (row % 8), row % 8 == swz
    // for both fragment rows: a warp's 32 stores hit 32 distinct banks.
    std::string swzCol[8];
    for (int64_t j = 0; j < 8 && p.tmaStore; ++j) {
      std::string chunk = j == 0
                              ? swz
                              : w.def("y_chunk", "arith.xori " + swz + ", " +
                                                     w.index(j) + " : index");
      swzCol[j] = add(mulc(chunk, 8), colPair, "y_swz_col");
    }
    for (int64_t jg = 0; jg < p.tileS / 8 && p.blocked; ++jg) {
      // Neighbouring columns: one 32-bit staging store per pair.
      std::string col =
          p.tmaStore ? swzCol[jg % 8] : addc(colT, 8 * jg, "st_c");
      std::string colsum = s.layerNormInput ? colsumPairs[jg] : "";
      for (int64_t half = 0; half < 2; ++half) {
        std::string pair =
            packPair(frag, t.acc2Struct, 4 * jg + 2 * half,
                     s.bias ? biasPairs[jg] : std::string(), s.gelu, colsum,
                     rowRstd[half], rowShift[half]);
        std::string row = half ? rowB : rowA;
        if (p.tmaStore)
          row = addc(row, jg / 8 * p.rows, "y_box_row");
        w.line("vector.store " + pair + ", " + stagingView + "[" + row + ", " +
               col + "] {alignment = 4 : i64} : " + t.staging + ", " + t.pair);
      }
    }
    if (p.tmaStore) {
      emitStagingTmaStore(c, bufferOff);
      w.close(); // c
      // The CTA's shared memory must outlive the last stores' reads.
      w.open("scf.if " + isLeader);
      w.line("nvvm.cp.async.bulk.wait_group 0");
      w.close();
      return;
    }
    for (int64_t jg = 0; jg < p.tileS / 8 && !p.blocked; ++jg) {
      for (int64_t e = 0; e < 2; ++e) {
        std::string col = addc(colT, (8 * jg + e) * colScale, "st_c");
        std::string b;
        if (s.bias) {
          std::string bi = addc(biasBase, (8 * jg + e) * s.l, "bias_i");
          std::string braw = w.def("bias_raw", "memref.load %bias[" + bi +
                                                   "] : " + t.globalBias);
          b = w.def("bias_f32",
                    "arith.extf " + braw + " : " + t.elem + " to f32");
        }
        for (int64_t half = 0; half < 2; ++half) {
          std::string v = w.def("y", "llvm.extractvalue " + frag + "[0, " +
                                         str(4 * jg + 2 * half + e) +
                                         "] : " + t.acc2Struct);
          if (s.bias)
            v = w.def("y", "arith.addf " + v + ", " + b + " : f32");
          if (s.gelu)
            v = emitGeluTanh(v);
          std::string yv =
              w.def("y_t", "arith.truncf " + v + " : f32 to " + t.elem);
          w.line("memref.store " + yv + ", " + stagingView + "[" +
                 (half ? rowB : rowA) + ", " + col + "] : " + t.staging);
        }
      }
    }
    if (!p.blocked)
      w.close(); // ll

    // Copy the staging tile (64 rows x S*l contiguous y columns; blocked:
    // S columns of this ll's segment) out.
    w.line("gpu.barrier");
    int64_t rowElems = p.tileS * colScale;
    int64_t perRow = rowElems / kVector;
    std::string ve = "vector<" + str(kVector) + "x" + t.elem + ">";
    std::string rowsLeft = w.def("rows_left", "arith.subi " + w.index(s.m) +
                                                  ", " + row0 + " : index");
    std::string rows = w.def("rows", "arith.minsi " + rowsLeft + ", " +
                                         w.index(p.rows) + " : index");
    std::string total = mulc(rows, perRow, "copy_total");
    std::string colBase = mulc(c, rowElems, "y_col0");
    if (p.blocked)
      colBase = add(colBase, mulc(llFixed, s.s), "y_col0");
    std::string i = w.fresh("i");
    w.open("scf.for " + i + " = " + tid + " to " + total + " step " +
           w.index(p.threads));
    std::string r = divc(i, perRow, "cr");
    std::string cc = mulc(remc(i, perRow, "cv"), kVector, "cc");
    std::string v = w.def(
        "out_v", "vector.load " + stagingView + "[" + r + ", " + cc +
                     "] {alignment = 16 : i64} : " + t.staging + ", " + ve);
    std::string yRow = add(row0, r, "y_row");
    std::string yCol = add(colBase, cc, "y_col");
    w.line("vector.store " + v + ", %y[" + yRow + ", " + yCol +
           "] {alignment = 16 : i64} : " + t.globalY + ", " + ve);
    w.close();
    w.line("gpu.barrier");
    w.close(); // c
  }

  /// TMA store of chunk `c`'s staging buffer (at byte `bufferOff`): every
  /// thread's generic stores are made visible to the async proxy, then the
  /// leader stores each warpgroup's 64 rows per 64-column box and commits
  /// them as one bulk group (waited for two chunks later).
  void emitStagingTmaStore(const std::string &c, const std::string &bufferOff) {
    w.line("nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = "
           "#nvvm.shared_space<cta>}");
    w.line("gpu.barrier");
    w.open("scf.if " + isLeader);
    std::string col0 = add(mulc(llFixed, s.s), mulc(c, p.tileS), "y_store_col");
    for (int64_t box = 0; box < p.tileS / kTileK; ++box) {
      for (int64_t g = 0; g < p.warpgroups; ++g) {
        int64_t byteOff = (box * p.rows + g * kTileM) * kTileK * kElemBytes;
        std::string src =
            view("y_box", addc(bufferOff, byteOff, "y_box_off"), t.stagingBox);
        w.line("nvgpu.tma.async.store " + src + " to %tma_y[" +
               addc(col0, box * kTileK, "y_store_col") + ", " +
               addc(row0, g * kTileM, "y_store_row") + "] : " + t.stagingBox +
               " -> " + t.tmaY);
      }
    }
    w.line("nvvm.cp.async.bulk.commit.group");
    w.close();
  }

  /// Leader only: the first factor-1 tiles.
  void emitPreload1() {
    int64_t preload = std::min(p.stages1 - factor1Depth(), p.t1);
    for (int64_t i = 0; i < preload; ++i)
      emitLoad1(w.index(i));
  }

  /// Leader only: the first factor-2 tiles.
  void emitPreload2() {
    for (int64_t i = 0; i < preload2Count(); ++i)
      emitLoad2(w.index(i));
  }
  /// How many factor-2 tiles are loaded before the first wgmma.
  int64_t preload2Count() const {
    int64_t ahead = p.stages2 - depthFor(p.stages2);
    return p.persistent ? ahead : std::min(ahead, p.t2);
  }

  /// k-tiles whose wgmmas may still run when the next tile's are issued
  /// (1: the slot refilled after tile t is tile t-1's; 2: tile t-2's, one
  /// prefetch less, which needs a ring of 3 or more).
  int64_t depthFor(int64_t stages) const {
    return inFlight >= 2 && stages >= 3 ? 2 : 1;
  }
  /// Ring 1's depth: split factor 1 with a ring of two slots waits for
  /// each k-tile's wgmmas before refilling its slot, so that both slots are
  /// loading from the start (with depth 1 only one tile is ahead: the MLP's
  /// factor 1, 3 k-tiles per CTA, then paid three load latencies in a row).
  int64_t factor1Depth() const {
    return p.stage == Stage::Factor1 && p.stages1 == 2 ? 0
                                                       : depthFor(p.stages1);
  }

  const Plan &p;
  const MonarchSpec &s;
  const Types &t;
  FuncWriter w;
  int64_t inFlight;
  std::string tid, row0, isLeader, smem, gOff, work, ring1, ring2, bars1, bars2;
  std::string llFixed; // blocked output: the ll this CTA computes
  std::string kkFixed; // split factors, factor 1: the CTA's block kk
  std::string rowA, swz, colPair, gRowPart, gView, stagingView, stagingBase;
  std::string hOff;            // Monarch MLP hidden kernel: the H tiles
  std::string hiddenBarrierId; // and its warpgroup's named barrier (i32)
  // Warp-specialised hidden kernel: the empty barriers, this thread's
  // (uniform) warpgroup and warp leader flag, and (ping-pong) the named
  // barriers of this warpgroup's turn and of the other's (i32 ids).
  std::string empty, wgUniform, isWarpLeader, turnMine, turnOther;
  // Folded LayerNorm: (rstd, -mean*rstd) of the fragment rows A, B.
  std::string rowParts[2], rowRstd[2], rowShift[2];
  std::string wgBytes; // this warpgroup's offset in a 64W-row tile
  std::string nCol1, nCol2, bOff1, bOff2; // N split (see emitSetup)
  std::string laneCol, warpgroup;
  // Persistent factor 2 (emitFactor2Persistent): this row tile's first
  // global w2 tile and G parity, the CTA's w2 tiles in all, whether the
  // leader loads a next row tile (and its first row), the last-chunk flag.
  std::string ctaBlock, ctaItems, tileBase, gParity, tilesTotal, nextTileLeader,
      nextRow0, lastChunk;
};

//===----------------------------------------------------------------------===//
// Host side
//===----------------------------------------------------------------------===//

/// A TMA descriptor of the 2-D memref `value` with boxes of boxRows x 64,
/// as the !llvm.ptr the kernels take.
std::string emitDescriptor(FuncWriter &w, const std::string &hint,
                           const std::string &value, const std::string &type,
                           int64_t boxRows, const std::string &tmaType,
                           const std::string &unranked) {
  std::string any = w.def(hint + "_any", "memref.cast " + value + " : " + type +
                                             " to " + unranked);
  // Box dims are outermost first.
  std::string tma = w.def(hint, "nvgpu.tma.create.descriptor " + any + " box[" +
                                    w.index(boxRows) + ", " + w.index(kTileK) +
                                    "] : " + unranked + " -> " + tmaType);
  return w.def(hint + "_ptr", "builtin.unrealized_conversion_cast " + tma +
                                  " : " + tmaType + " to !llvm.ptr");
}

/// gpu.launch_func's operands after the kernel symbol for plan `p` (its
/// kernel in gpu.module `module`, by default the spec's own).
std::string launchOf(FuncWriter &w, const Plan &p, const std::string &args,
                     const std::string &module = "") {
  return "@" + (module.empty() ? monarchKernelModuleName(p.spec) : module) +
         "::@" + kernelFunctionName(p) + " blocks in (" + w.index(p.gridX) +
         ", " + w.index(1) + ", " + w.index(1) + ") threads in (" +
         w.index(p.threads) + ", " + w.index(1) + ", " + w.index(1) +
         ") dynamic_shared_memory_size " + w.i32(p.dynamicSmemBytes) + " " +
         args;
}

/// The launcher (or, with repeats, the benchmark function): TMA descriptors
/// and the launch; with split factors (`p` then factor 2's plan, `p1` and
/// `t1` factor 1's) h' is allocated here, written by the factor-1 kernel
/// and read by the factor-2 kernel, which run back to back on the stream.
std::string emitHostFunction(const Plan &p, const Types &t,
                             const std::string &name, int64_t repeats,
                             const Plan *p1 = nullptr,
                             const Types *t1 = nullptr) {
  FuncWriter w(/*indent=*/1);
  std::string unranked = "memref<*x" + t.elem + ">";
  std::string w1Flat = w.def(
      "w1_flat", "memref.collapse_shape %w1 [[0, 1], [2]] : " + t.globalW1 +
                     " into " + t.globalW1Flat);
  std::string w2Flat = w.def(
      "w2_flat", "memref.collapse_shape %w2 [[0, 1], [2]] : " + t.globalW2 +
                     " into " + t.globalW2Flat);
  // Split factors: x and w1 go to factor 1 (its plan's boxes), which writes
  // h' to device memory (the runtime's pool: at least 256-byte aligned, TMA
  // wants 16, released after the factor-2 launch in stream order); factor 2
  // then reads h' where the fused kernel reads x.
  const Plan &f1 = p1 ? *p1 : p;
  const Types &ft1 = t1 ? *t1 : t;
  std::string tx =
      emitDescriptor(w, "tma_x", "%x", t.globalX, f1.rows, ft1.tmaX, unranked);
  std::string tw1 = emitDescriptor(w, "tma_w1", w1Flat, t.globalW1Flat, f1.n1,
                                   ft1.tmaW1, unranked);
  std::vector<std::string> launches;
  std::string h, factor2Args;
  if (p1) {
    h = w.def("h", "gpu.alloc () : " + t.globalH);
    launches.push_back(launchOf(w, f1,
                                "args(" + tx + " : !llvm.ptr, " + tw1 +
                                    " : !llvm.ptr, " + h + " : " + t.globalH +
                                    ")"));
    factor2Args =
        emitDescriptor(w, "tma_h", h, t.globalH, p.rows, t.tmaX, unranked) +
        " : !llvm.ptr";
  } else {
    factor2Args = tx + " : !llvm.ptr, " + tw1 + " : !llvm.ptr";
  }
  std::string tw2 = emitDescriptor(w, "tma_w2", w2Flat, t.globalW2Flat, p.tileS,
                                   t.tmaW2, unranked);
  std::string descriptors = factor2Args + ", " + tw2 + " : !llvm.ptr";
  if (p.tmaStore)
    descriptors +=
        ", " +
        emitDescriptor(w, "tma_y", "%y", t.globalY, kTileM, t.tmaY, unranked) +
        " : !llvm.ptr";
  launches.push_back(launchOf(
      w, p,
      "args(" + descriptors + detail::joinArgs(bufferArgs(p, t), " : ") + ")"));
  detail::emitLaunches(w, launches, repeats);
  if (p1)
    w.line("gpu.dealloc " + h + " : " + t.globalH);
  w.line("return");

  std::ostringstream os;
  os << "  func.func private @" << name << "(%x: " << t.globalX
     << ", %w1: " << t.globalW1 << ", %w2: " << t.globalW2
     << detail::joinArgs(bufferArgs(p, t), ": ") << ") {\n";
  os << w.finish() << "  }\n";
  return os.str();
}

/// The Monarch MLP's kernels (emitMonarchMlp): the up projection's factor 1
/// alone (split factor 1 of its shape, into g') and the down projection's
/// factor 2 alone (split factor 2, from h', with its epilogue).
MonarchSpec mlpFactor1Spec(const MonarchSpec &up) {
  MonarchSpec s;
  s.m = up.m;
  s.k = up.k, s.q = up.q, s.p = up.p, s.l = up.l, s.s = up.s, s.r = up.r;
  s.elementType = up.elementType;
  s.splitFactors = true;
  return s;
}
MonarchSpec mlpFactor2Spec(const MonarchSpec &down) {
  MonarchSpec s = down;
  s.inputBlocks = 0;
  s.splitFactors = true;
  return s;
}

/// The Monarch MLP's launcher (or, with repeats, benchmark function): g'
/// and h' come from the runtime's pool and the three kernels run back to
/// back on the stream (see emitMonarchMlp).
std::string emitMlpHostFunction(const Plan &p0, const Types &t0, const Plan &ph,
                                const Types &th, const Plan &p2,
                                const Types &t2, const std::string &module,
                                const std::string &name, int64_t repeats) {
  FuncWriter w(/*indent=*/1);
  std::string unranked = "memref<*x" + t0.elem + ">";
  // A weight [blocks, rows, cols] as the 2-D [blocks*rows, cols] its TMA
  // descriptor (boxes of boxRows x 64) reads.
  auto weightDescriptor = [&](const std::string &name, const std::string &value,
                              const std::string &from, const std::string &to,
                              int64_t boxRows, const std::string &tma) {
    std::string flat =
        w.def(name + "_flat", "memref.collapse_shape " + value +
                                  " [[0, 1], [2]] : " + from + " into " + to);
    return emitDescriptor(w, "tma_" + name, flat, to, boxRows, tma, unranked);
  };
  std::vector<std::string> launches;
  // Factor 1 of the up projection: x -> g' (blocked by ll).
  std::string tx =
      emitDescriptor(w, "tma_x", "%x", t0.globalX, p0.rows, t0.tmaX, unranked);
  std::string tw1 = weightDescriptor("w1", "%w1", t0.globalW1, t0.globalW1Flat,
                                     p0.n1, t0.tmaW1);
  std::string g = w.def("g", "gpu.alloc () : " + t0.globalH);
  launches.push_back(launchOf(w, p0,
                              "args(" + tx + " : !llvm.ptr, " + tw1 +
                                  " : !llvm.ptr, " + g + " : " + t0.globalH +
                                  ")",
                              module));
  // The hidden kernel: g' -> h'.
  std::string tg =
      emitDescriptor(w, "tma_g", g, t0.globalH, ph.rows, th.tmaX, unranked);
  std::string tw1d = weightDescriptor("w1d", "%w1_down", th.globalW1,
                                      th.globalW1Flat, ph.n1, th.tmaW1);
  std::string tw2u = weightDescriptor("w2u", "%w2", t0.globalW2,
                                      t0.globalW2Flat, kTileK, th.tmaW2);
  std::string h = w.def("h", "gpu.alloc () : " + th.globalH);
  std::vector<std::pair<std::string, std::string>> upArgs =
      hiddenBufferArgs(ph);
  upArgs[0].first = "%bias_up";
  launches.push_back(launchOf(w, ph,
                              "args(" + tg + " : !llvm.ptr, " + tw1d +
                                  " : !llvm.ptr, " + tw2u + " : !llvm.ptr" +
                                  detail::joinArgs(upArgs, " : ") + ", " + h +
                                  " : " + th.globalH + ")",
                              module));
  // Factor 2 of the down projection: h' -> y (+ its epilogue).
  std::string th2 =
      emitDescriptor(w, "tma_h", h, th.globalH, p2.rows, t2.tmaX, unranked);
  std::string tw2d = weightDescriptor("w2d", "%w2_down", t2.globalW2,
                                      t2.globalW2Flat, p2.tileS, t2.tmaW2);
  launches.push_back(
      launchOf(w, p2,
               "args(" + th2 + " : !llvm.ptr, " + tw2d + " : !llvm.ptr" +
                   detail::joinArgs(bufferArgs(p2, t2), " : ") + ")",
               module));
  detail::emitLaunches(w, launches, repeats);
  w.line("gpu.dealloc " + g + " : " + t0.globalH);
  w.line("gpu.dealloc " + h + " : " + th.globalH);
  w.line("return");

  std::ostringstream os;
  os << "  func.func private @" << name << "(%x: " << t0.globalX
     << ", %w1: " << t0.globalW1 << ", %w2: " << t0.globalW2
     << detail::joinArgs(upArgs, ": ") << ", %w1_down: " << th.globalW1
     << ", %w2_down: " << t2.globalW2
     << detail::joinArgs(bufferArgs(p2, t2), ": ") << ") {\n";
  os << w.finish() << "  }\n";
  return os.str();
}

} // namespace

//===----------------------------------------------------------------------===//
// Public API
//===----------------------------------------------------------------------===//

std::string verifyMonarchSpec(const MonarchSpec &s) {
  if (s.elementType != "f16" && s.elementType != "bf16")
    return "element type '" + s.elementType +
           "' is not supported (expected f16 or bf16)";
  if (s.m < 1)
    return "m=" + str(s.m) + " must be at least 1";
  if (s.k < 1 || s.q < 1 || s.p < 1 || s.l < 1 || s.s < 1 || s.r < 1)
    return "every dimension of w1[k,q,p] and w2[l,s,r] must be positive";
  if (s.l * s.r != s.k * s.q)
    return "l*r=" + str(s.l * s.r) + " must equal k*q=" + str(s.k * s.q);
  if (s.p % kTileK)
    return "p=" + str(s.p) + " must be a multiple of " + str(kTileK);
  if (s.r % kTileK)
    return "r=" + str(s.r) + " must be a multiple of " + str(kTileK);
  if (s.q % 8 || s.q > 256)
    return "q=" + str(s.q) +
           " must be a multiple of 8 and at most 256 (wgmma N of factor 1)";
  if (s.s % 8)
    return "s=" + str(s.s) + " must be a multiple of 8";
  if (s.blockedOutput && (s.q % s.l || (s.q / s.l) % 8 || s.q / s.l < 8))
    return "blocked output needs q=" + str(s.q) + " to be l=" + str(s.l) +
           " times a multiple of 8 (wgmma N of factor 1 per ll)";
  if (s.inputBlocks < 0)
    return "inputBlocks must not be negative";
  if (s.layerNormInput && (!s.blockedOutput || !s.bias))
    return "a folded LayerNorm needs the blocked output (an MLP up "
           "projection) and a bias (beta is folded into it)";
  if (s.layerNormInput)
    if (std::string why = detail::verifyLayerNormFields(
            s.layerNormEps, s.layerNormPartials, s.k * s.p);
        !why.empty())
      return why;
  if (s.inputBlocks > 0 &&
      (s.p % s.inputBlocks || (s.p / s.inputBlocks) % kTileK))
    return "blocked input needs p=" + str(s.p) +
           " to be inputBlocks=" + str(s.inputBlocks) +
           " times a multiple of " + str(kTileK);
  if (s.m > kMaxTmaCoordinate || s.k * s.p > kMaxTmaCoordinate ||
      s.k * s.q > kMaxTmaCoordinate || s.l * s.s > kMaxTmaCoordinate)
    return "sizes must stay below 2^31 (TMA coordinates are i32)";
  if (s.splitFactors) {
    if (s.blockedOutput || s.layerNormInput)
      return "split factors need the natural output (not blocked, no folded "
             "LayerNorm)";
    if (s.q % s.l || (s.q / s.l) % 8)
      return "split factors need q=" + str(s.q) + " to be l=" + str(s.l) +
             " times a multiple of 8 (runs of h' columns per ll)";
    if (!Plan(s, /*factor1=*/true).valid)
      return "factor 1's TMA ring (x and w1 tiles of q=" + str(s.q) +
             " rows) does not fit the shared memory of an sm_90 CTA";
  }
  Plan p(s);
  if (p.valid && s.residual && !p.directStores)
    return "a residual add needs the natural output stored from registers "
           "(l of 1, 2 or 4, not blocked)";
  if (p.valid && s.rowStatistics && !p.directStores)
    return "row statistics need the natural output stored from registers "
           "(l of 1, 2 or 4, not blocked)";
  if (!p.valid)
    return "g tile of " + str(kTileM) + " rows x k*q=" + str(s.k * s.q) +
           " columns plus the TMA rings and the output staging tile do not "
           "fit the " +
           str(kMaxDynamicSmem) + " bytes of shared memory of an sm_90 CTA";
  return "";
}

bool monarchSplitFactorsPay(const MonarchSpec &s) {
  return !s.blockedOutput && ceilDiv(s.m, kTileM) <= kSplitMaxRowTiles;
}

std::string monarchKernelName(const MonarchSpec &s) {
  std::string name = "fly_monarch_m" + str(s.m) + "_k" + str(s.k) + "q" +
                     str(s.q) + "p" + str(s.p) + "_l" + str(s.l) + "s" +
                     str(s.s) + "r" + str(s.r) + "_" + s.elementType;
  if (s.bias)
    name += "_bias";
  if (s.gelu)
    name += "_gelu";
  if (s.residual)
    name += "_res";
  if (s.blockedOutput)
    name += "_bo";
  if (s.inputBlocks > 0)
    name += "_bi" + str(s.inputBlocks);
  if (s.layerNormInput)
    name += "_ln" + detail::symbolNumber(s.layerNormEps);
  if (s.layerNormInput && s.layerNormPartials != 1)
    name += "_p" + str(s.layerNormPartials);
  if (s.rowStatistics)
    name += "_rs";
  if (s.splitFactors)
    name += "_split";
  return name;
}

int64_t monarchRowStatisticsPartials(const MonarchSpec &spec) {
  MonarchSpec s = spec;
  s.rowStatistics = true;
  if (!verifyMonarchSpec(s).empty())
    return 0;
  return Plan(s).nSplit;
}

std::pair<int64_t, int64_t> monarchKernelW1Source(const MonarchSpec &s,
                                                  int64_t qq, int64_t pp) {
  if ((s.blockedOutput || s.splitFactors) && s.l > 0 && s.q % s.l == 0) {
    // Kernel row ll*(q/l) + i is w1 row i*l + ll (h column i*l + ll of the
    // block is g[ll, ...]).
    int64_t per = s.q / s.l;
    qq = (qq % per) * s.l + qq / per;
  }
  if (s.inputBlocks > 0 && s.p % s.inputBlocks == 0) {
    // Kernel column ll*(p/L) + i reads x column ll*(n/L) + kk*(p/L) + i,
    // which holds logical column kk*p + i*L + ll.
    int64_t per = s.p / s.inputBlocks;
    pp = (pp % per) * s.inputBlocks + pp / per;
  }
  return {qq, pp};
}

std::string monarchKernelModuleName(const MonarchSpec &s) {
  return detail::moduleNameOf(monarchKernelName(s));
}
std::string monarchLauncherName(const MonarchSpec &s) {
  return detail::launcherNameOf(monarchKernelName(s));
}
std::string monarchBenchmarkName(const MonarchSpec &s) {
  return detail::benchmarkNameOf(monarchKernelName(s));
}

namespace {
/// `why` (a spec check's answer), or else what is wrong with `options`.
std::string checkEmit(std::string why, const MonarchEmitOptions &options) {
  if (why.empty() && options.benchmarkRepeats < 0)
    why = "benchmarkRepeats must not be negative";
  return why;
}
} // namespace

std::string emitMonarchMatmul(const MonarchSpec &spec, std::string &error,
                              const MonarchEmitOptions &options) {
  error = checkEmit(verifyMonarchSpec(spec), options);
  if (!error.empty())
    return "";
  Plan plan(spec);
  Types types(plan);
  // Split factors: factor 1's kernel too (the spec's plan is factor 2's).
  std::optional<Plan> plan1;
  std::optional<Types> types1;
  if (spec.splitFactors) {
    plan1.emplace(spec, /*factor1=*/true, options.factor1Warpgroups,
                  options.factor1Stages);
    if (!plan1->valid) {
      error =
          "factor 1 with factor1Warpgroups=" + str(options.factor1Warpgroups) +
          " and factor1Stages=" + str(options.factor1Stages) +
          " has no plan (two warpgroups need m > 64, a ring at least 2 "
          "slots that fit the shared memory)";
      return "";
    }
    types1.emplace(*plan1);
  }
  std::ostringstream os;
  os << "// " << monarchKernelName(spec)
     << ": y = " << (spec.gelu ? "gelu_tanh(" : "") << "monarch(x, w1, w2)"
     << (spec.bias ? " + bias" : "") << (spec.gelu ? ")" : "") << "; ";
  if (plan1)
    os << "factor 1: " << plan1->rows << "-row CTAs of " << plan1->threads
       << " threads x k, N=" << plan1->n1 << " (" << plan1->stages1
       << " stages), " << plan1->dynamicSmemBytes << " B dynamic smem, grid "
       << plan1->gridX << "; factor 2 from h': ";
  os << plan.rows << "-row CTAs of " << plan.threads << " threads"
     << (spec.blockedOutput ? " x l (blocked output)" : "")
     << (spec.inputBlocks ? ", blocked input" : "")
     << (spec.rowStatistics ? ", row statistics out" : "");
  if (!plan1)
    os << ", factor-1 N=" << plan.n1 << " (" << plan.stages1 << " stages)";
  os << ", factor-2 N=" << plan.tileS << " (" << plan.stages2 << " stages), "
     << plan.dynamicSmemBytes << " B dynamic smem, grid " << plan.gridX << "\n";
  os << "module attributes {gpu.container_module} {\n";
  os << "  gpu.module @" << monarchKernelModuleName(spec) << " {\n";
  os << "    llvm.mlir.global external @" << dynamicSmemSymbol()
     << "() {addr_space = 3 : i32, alignment = 16 : i64} : "
        "!llvm.array<0 x i8>\n";
  int64_t inFlight = options.wgmmaTilesInFlight > 0 ? options.wgmmaTilesInFlight
                                                    : kDefaultTilesInFlight;
  if (plan1)
    os << KernelEmitter(*plan1, *types1, inFlight).emit();
  os << KernelEmitter(plan, types, inFlight).emit();
  os << "  }\n";
  const Plan *p1 = plan1 ? &*plan1 : nullptr;
  const Types *t1 = types1 ? &*types1 : nullptr;
  os << emitHostFunction(plan, types, monarchLauncherName(spec), 0, p1, t1);
  if (options.benchmarkRepeats > 0)
    os << emitHostFunction(plan, types, monarchBenchmarkName(spec),
                           options.benchmarkRepeats, p1, t1);
  os << "}\n";
  return os.str();
}

std::string verifyMonarchMlpSpec(const MonarchMlpSpec &spec) {
  const MonarchSpec &u = spec.up, &d = spec.down;
  if (!u.blockedOutput || !u.bias || !u.gelu || u.residual || u.rowStatistics ||
      u.splitFactors || u.inputBlocks)
    return "the up projection must be a blocked-output Monarch kernel with "
           "bias and GELU only (and optionally a folded LayerNorm)";
  if (d.blockedOutput || d.gelu || d.layerNormInput || !d.splitFactors ||
      d.inputBlocks != u.l)
    return "the down projection must be a natural-output Monarch kernel "
           "with split factors reading the up projection's blocked output";
  if (u.m != d.m || u.elementType != d.elementType)
    return "both projections need the same rows and element type";
  if (u.l * u.s != d.k * d.p)
    return "the up projection's " + str(u.l * u.s) +
           " outputs must be the down projection's k*p=" + str(d.k * d.p) +
           " inputs";
  if (d.p % (u.l * kTileK))
    return "the down projection's p=" + str(d.p) + " must be a multiple of " +
           str(u.l * kTileK) + " (64-column chunks of every up block)";
  for (const MonarchSpec &part : {u, d, mlpFactor1Spec(u), mlpFactor2Spec(d)})
    if (std::string why = verifyMonarchSpec(part); !why.empty())
      return why;
  if (!Plan(u, d, spec.hiddenSchedule).valid)
    return "the hidden kernel's G buffers, weight ring and H tiles do not "
           "fit the shared memory of an sm_90 CTA";
  return "";
}

std::string monarchMlpKernelName(const MonarchMlpSpec &spec) {
  // Both kernel names without their common "fly_monarch_" prefix.
  const std::string prefix = "fly_monarch_";
  // The default schedule (MonarchMlpSpec) adds nothing.
  std::string schedule =
      spec.hiddenSchedule == MonarchMlpSpec().hiddenSchedule
          ? ""
          : "__" + monarchHiddenScheduleName(spec.hiddenSchedule);
  return "fly_monarch_mlp_" + monarchKernelName(spec.up).substr(prefix.size()) +
         "__" + monarchKernelName(spec.down).substr(prefix.size()) + schedule;
}

int64_t monarchHiddenGLoadStep(int64_t chunks, int64_t stages, int64_t ll) {
  return std::min(chunks * (ll - 1) - 1 + stages, chunks * ll - 1);
}

std::string monarchHiddenScheduleName(MonarchHiddenSchedule schedule) {
  switch (schedule) {
  case MonarchHiddenSchedule::Lockstep:
    return "lockstep";
  case MonarchHiddenSchedule::Producer:
    return "producer";
  case MonarchHiddenSchedule::PingPong:
    return "pingpong";
  }
  return "lockstep";
}

constexpr MonarchHiddenSchedule kHiddenSchedules[] = {
    MonarchHiddenSchedule::Lockstep, MonarchHiddenSchedule::Producer,
    MonarchHiddenSchedule::PingPong};

std::optional<MonarchHiddenSchedule>
parseMonarchHiddenSchedule(const std::string &name) {
  for (MonarchHiddenSchedule s : kHiddenSchedules)
    if (monarchHiddenScheduleName(s) == name)
      return s;
  return std::nullopt;
}

std::string monarchHiddenScheduleChoices() {
  std::string text;
  size_t n = std::size(kHiddenSchedules);
  for (size_t i = 0; i < n; ++i)
    text += (i == 0       ? ""
             : i + 1 == n ? " or "
                          : ", ") +
            monarchHiddenScheduleName(kHiddenSchedules[i]);
  return text;
}
std::string monarchMlpKernelModuleName(const MonarchMlpSpec &spec) {
  return detail::moduleNameOf(monarchMlpKernelName(spec));
}
std::string monarchMlpLauncherName(const MonarchMlpSpec &spec) {
  return detail::launcherNameOf(monarchMlpKernelName(spec));
}
std::string monarchMlpBenchmarkName(const MonarchMlpSpec &spec) {
  return detail::benchmarkNameOf(monarchMlpKernelName(spec));
}
int64_t monarchMlpRowStatisticsPartials(const MonarchMlpSpec &spec) {
  return monarchRowStatisticsPartials(mlpFactor2Spec(spec.down));
}

std::string emitMonarchMlp(const MonarchMlpSpec &spec, std::string &error,
                           const MonarchEmitOptions &options) {
  error = checkEmit(verifyMonarchMlpSpec(spec), options);
  if (!error.empty())
    return "";
  // Factor 1 of the up projection has r/64 k-tiles per CTA (3 in GPT-2):
  // a ring of 2 slots lets two CTAs share an SM, one storing g' while the
  // other loads.
  Plan p0(mlpFactor1Spec(spec.up), /*factor1=*/true, /*factor1Warpgroups=*/0,
          kMlpFactor1Stages);
  Plan ph(spec.up, spec.down, spec.hiddenSchedule);
  Plan p2(mlpFactor2Spec(spec.down));
  Types t0(p0), th(ph), t2(p2);
  std::string module = monarchMlpKernelModuleName(spec);
  std::ostringstream os;
  os << "// " << monarchMlpKernelName(spec)
     << ": y = monarch_down(gelu_tanh(monarch_up(x) + bias_up)); factor 1 of "
        "the up projection into g' ("
     << p0.rows << "-row CTAs, grid " << p0.gridX << ", " << p0.dynamicSmemBytes
     << " B dynamic smem); hidden kernel into h' (" << ph.rows
     << "-row CTAs of " << ph.threads << " threads, grid " << ph.gridX << ", "
     << ph.t1 << " steps, " << ph.stages1 << " stages, " << ph.dynamicSmemBytes
     << " B dynamic smem); factor 2 of the down "
        "projection ("
     << p2.rows << "-row CTAs, grid " << p2.gridX << ", " << p2.dynamicSmemBytes
     << " B dynamic smem)\n";
  os << "module attributes {gpu.container_module} {\n";
  os << "  gpu.module @" << module << " {\n";
  os << "    llvm.mlir.global external @" << dynamicSmemSymbol()
     << "() {addr_space = 3 : i32, alignment = 16 : i64} : "
        "!llvm.array<0 x i8>\n";
  int64_t inFlight = options.wgmmaTilesInFlight > 0 ? options.wgmmaTilesInFlight
                                                    : kDefaultTilesInFlight;
  os << KernelEmitter(p0, t0, inFlight).emit();
  os << KernelEmitter(ph, th, inFlight).emit();
  os << KernelEmitter(p2, t2, inFlight).emit();
  os << "  }\n";
  os << emitMlpHostFunction(p0, t0, ph, th, p2, t2, module,
                            monarchMlpLauncherName(spec), 0);
  if (options.benchmarkRepeats > 0)
    os << emitMlpHostFunction(p0, t0, ph, th, p2, t2, module,
                              monarchMlpBenchmarkName(spec),
                              options.benchmarkRepeats);
  os << "}\n";
  return os.str();
}

} // namespace fly::gpu
