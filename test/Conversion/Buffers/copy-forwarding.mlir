// RUN: fly-opt %s --fly-memref-copy-to-linalg --split-input-file | FileCheck %s

// A result computed into a fresh buffer and then copied into the output
// argument (what bufferization leaves of a destination-passing entry point
// around a kernel call) is written into the output directly: the alloc
// becomes a view of the output, the copy and the deallocation go.
func.func private @kernel(memref<6x64xf16>, memref<6x64xf16>)
// CHECK-LABEL: func.func @forwarded(
// CHECK-SAME: %[[IN:.*]]: memref<6x64xf16>, %[[OUT:.*]]: memref<2x3x64xf16>)
// CHECK: %[[VIEW:.*]] = memref.collapse_shape %[[OUT]] {{\[\[}}0, 1], [2]] : memref<2x3x64xf16> into memref<6x64xf16>
// CHECK: call @kernel(%[[IN]], %[[VIEW]])
// CHECK-NOT: alloc
// CHECK-NOT: copy
// CHECK-NOT: dealloc
// CHECK: return
func.func @forwarded(%in: memref<6x64xf16>, %out: memref<2x3x64xf16>) {
  %a = memref.alloc() {alignment = 128 : i64} : memref<6x64xf16>
  call @kernel(%in, %a) : (memref<6x64xf16>, memref<6x64xf16>) -> ()
  %e = memref.expand_shape %a [[0, 1], [2]] output_shape [2, 3, 64]
      : memref<6x64xf16> into memref<2x3x64xf16>
  memref.copy %e, %out : memref<2x3x64xf16> to memref<2x3x64xf16>
  memref.dealloc %a : memref<6x64xf16>
  return
}

// -----

// Not forwarded: the output is also read before the copy (it must keep its
// old contents until then), the buffer is used after the copy, or the copy
// is conditional. The copies become linalg.copy.
func.func private @kernel(memref<6x64xf16>, memref<6x64xf16>)
// CHECK-LABEL: func.func @kept(
// CHECK: memref.alloc
// CHECK: linalg.copy
// CHECK: memref.alloc
// CHECK: linalg.copy
// CHECK: scf.if
// CHECK: linalg.copy
func.func @kept(%in: memref<6x64xf16>, %out: memref<6x64xf16>,
                %out2: memref<6x64xf16>, %out3: memref<6x64xf16>, %c: i1) {
  %a = memref.alloc() : memref<6x64xf16>
  call @kernel(%out, %a) : (memref<6x64xf16>, memref<6x64xf16>) -> ()
  memref.copy %a, %out : memref<6x64xf16> to memref<6x64xf16>
  %b = memref.alloc() : memref<6x64xf16>
  call @kernel(%in, %b) : (memref<6x64xf16>, memref<6x64xf16>) -> ()
  memref.copy %b, %out2 : memref<6x64xf16> to memref<6x64xf16>
  call @kernel(%b, %in) : (memref<6x64xf16>, memref<6x64xf16>) -> ()
  scf.if %c {
    memref.copy %in, %out3 : memref<6x64xf16> to memref<6x64xf16>
  }
  return
}
